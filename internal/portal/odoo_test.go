package portal_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/odoo"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
	"github.com/waybill-hub/waybill/internal/portal"
)

// setupOdoo runs the portal over the Odoo connector talking to the Odoo simulator (Odoo 19,
// JSON-2, demo data: customers ACME, GLOBEX, INITECH; products WID-10, WID-20, GAD-PRO, ...).
func setupOdoo(t *testing.T) (*bundle, *odoosim.Server) {
	t.Helper()
	sim := odoosim.New(odoosim.Options{Version: "19.0", Database: "sim"})
	sim.SeedDemo()
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	oc := odoo.Default()
	oc.URL, oc.Database, oc.User, oc.APIKey = srv.URL, "sim", "admin", "sim-admin-key"
	c, err := odoo.New(context.Background(), oc)
	require.NoError(t, err)
	return setupWith(t, "sqlite", c), sim
}

func TestOdooOrderAccepted(t *testing.T) {
	t.Parallel()
	b, _ := setupOdoo(t)
	r := b.call(t, "acme", "POST", "/v1/orders", order("PO-ODOO-1", line("WID-10", "5"), line("BLT-M8", "10")), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var o orderView
	r.json(t, &o)
	require.Equal(t, "accepted", o.State)
	require.Regexp(t, `^S\d+`, o.ERPOrder, "an Odoo sale order name")
	require.Equal(t, "11", o.Lines[0].UnitPrice, "ACME's pricelist price of WID-10, as Odoo computed it")

	// Tracking goes to Odoo for the sale order's deliveries.
	g := b.call(t, "acme", "GET", "/v1/orders/"+o.ID, nil)
	require.Equal(t, http.StatusOK, g.Status, "%s", g.Body)
	var got orderView
	g.json(t, &got)
	require.False(t, got.TrackingStale)

	// An idempotent retry gives the same sale order.
	again := b.call(t, "acme", "POST", "/v1/orders", order("PO-ODOO-1", line("WID-10", "5"), line("BLT-M8", "10")), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusCreated, again.Status)
	var o2 orderView
	again.json(t, &o2)
	require.Equal(t, o.ERPOrder, o2.ERPOrder)
}

func TestOdooOrderRejected(t *testing.T) {
	t.Parallel()
	b, _ := setupOdoo(t)
	// The connector offers no catalog yet, so the portal cannot refuse the unknown item up front:
	// the hub asks Odoo, which knows no such product, and the order is held and reported.
	r := b.call(t, "acme", "POST", "/v1/orders", order("PO-ODOO-2", line("NO-SUCH", "1")), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
	p := r.problem(t)
	require.Equal(t, portal.ProblemBase+portal.ProbOrderOnHold, p.Type)
	require.Contains(t, p.Detail, "NO-SUCH")
}
