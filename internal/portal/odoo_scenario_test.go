package portal_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/portal"
)

// shortOrderWait makes the portal answer 202 after a second without the ERP's answer.
func shortOrderWait(c *portal.Config) { c.OrderWait = time.Second }

// TestOdooOrderBackordered orders more Gadget Pro than Odoo has on hand (40): Odoo confirms the
// sale order, reserves what it has, and the answer shows the rest backordered with a later
// promise; a subscriber hears of the acceptance.
func TestOdooOrderBackordered(t *testing.T) {
	t.Parallel()
	b, _, c := setupOdooFast(t, shortOrderWait)
	r := newReceiver(t)
	b.subscribe(t, "acme", r, portal.EventOrderAccepted)
	res := b.call(t, "acme", "POST", "/v1/orders", order("PO-ODOO-BO", line("WID-10", "5"), line("GAD-PRO", "50")), "Idempotency-Key", "bo")
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	var o orderView
	res.json(t, &o)
	require.Equal(t, "accepted", o.State)
	require.Equal(t, "accepted", o.Lines[0].Status)
	require.Equal(t, "backordered", o.Lines[1].Status)
	require.Equal(t, "50", o.Lines[1].Accepted, "Odoo accepts the whole quantity")
	require.Equal(t, "10", o.Lines[1].Backordered, "of which 40 are reserved from stock")

	// Odoo holds the same: one sale order, its delivery reserving 40 of the 50.
	sos, err := c.SearchRead(t.Context(), "sale.order", []any{[]any{"name", "=", o.ERPOrder}}, []string{"state"}, nil)
	require.NoError(t, err)
	require.Len(t, sos, 1)
	require.Equal(t, "sale", sos[0]["state"])

	evs := r.waitFor(t, 1)
	require.Equal(t, portal.EventOrderAccepted, evs[0].Type)
	var got orderView
	require.NoError(t, json.Unmarshal(evs[0].Data, &got))
	require.Equal(t, o.ERPOrder, got.ERPOrder)
}

// TestOdooDownThenRecovered takes an order while Odoo is unreachable: the portal stores it and
// answers 202 with a status URL; once Odoo is back the order is accepted, exactly one sale order
// exists for it, and the client's retry with the same key gets the acceptance.
func TestOdooDownThenRecovered(t *testing.T) {
	t.Parallel()
	b, sim, c := setupOdooFast(t, shortOrderWait)
	require.Equal(t, http.StatusOK, b.call(t, "acme", "GET", "/v1/catalog", nil).Status, "catalog warm")
	sim.Faults().Down()
	res := b.call(t, "acme", "POST", "/v1/orders", order("PO-ODOO-DOWN", line("WID-10", "5")), "Idempotency-Key", "down")
	require.Equal(t, http.StatusAccepted, res.Status, "%s", res.Body)
	var o orderView
	res.json(t, &o)
	require.Equal(t, "/v1/orders/"+o.ID, res.Header.Get("Location"))

	sim.Faults().Up()
	var got orderView
	b.eventually(t, 20*time.Second, func() bool {
		b.call(t, "acme", "GET", o.StatusURL, nil).json(t, &got)
		return got.State == "accepted"
	})
	require.Regexp(t, `^S\d+`, got.ERPOrder)
	again := b.call(t, "acme", "POST", "/v1/orders", order("PO-ODOO-DOWN", line("WID-10", "5")), "Idempotency-Key", "down")
	require.Equal(t, http.StatusCreated, again.Status, "%s", again.Body)
	sos, err := c.SearchRead(t.Context(), "sale.order", []any{[]any{"origin", "=", c.HubRef(o.ID)}}, []string{"name"}, nil)
	require.NoError(t, err)
	require.Len(t, sos, 1, "one Odoo sale order for the order, however often it was tried")
}
