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
	// Refused up front from the Odoo catalog: nothing reaches Odoo's sale orders.
	r := b.call(t, "acme", "POST", "/v1/orders", order("PO-ODOO-2", line("NO-SUCH", "1"), line("WID-10", "5", "unit_price", "12.50")), "Idempotency-Key", "k1")
	require.Equal(t, http.StatusUnprocessableEntity, r.Status, "%s", r.Body)
	p := r.problem(t)
	require.Equal(t, portal.ProblemBase+portal.ProbOrderRejected, p.Type)
	require.Len(t, p.Errors, 2)
	require.Equal(t, "body.lines[0].sku", p.Errors[0].Location)
	require.Equal(t, "body.lines[1].unit_price", p.Errors[1].Location, "12.50 is the list price; ACME's pricelist says 11")
}

func TestOdooCatalogAndBilling(t *testing.T) {
	t.Parallel()
	b, _ := setupOdoo(t)
	var it portal.CatalogItem
	r := b.call(t, "acme", "GET", "/v1/catalog/WID-10", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.json(t, &it)
	require.Equal(t, "11", it.Price.UnitPrice)
	require.Len(t, it.PriceBreaks, 2)
	require.Equal(t, "100", it.PriceBreaks[1].MinQuantity)
	require.Equal(t, "10", it.PriceBreaks[1].UnitPrice)
	require.Contains(t, it.Price.Rule, "product.pricelist.item/")
	// GLOBEX has no pricelist: list prices.
	b.call(t, "globex", "GET", "/v1/catalog/WID-10", nil).json(t, &it)
	require.Equal(t, "12.5", it.Price.UnitPrice)

	var av struct{ Items []portal.Availability }
	b.call(t, "acme", "GET", "/v1/availability?sku=WID-10,PAL-WRP", nil).json(t, &av)
	require.Len(t, av.Items, 2)

	var invs struct{ Items []portal.Invoice }
	g := b.call(t, "acme", "GET", "/v1/invoices", nil)
	require.Equal(t, http.StatusOK, g.Status, "%s", g.Body)
	g.json(t, &invs)
	var st portal.Statement
	s := b.call(t, "acme", "GET", "/v1/statement", nil)
	require.Equal(t, http.StatusOK, s.Status, "%s", s.Body)
	s.json(t, &st)
	require.Equal(t, "0.00", st.Balance)
}
