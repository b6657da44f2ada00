package edi_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/odoo"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
)

// odooERP starts the Odoo 19 simulator with Acme's master data (customer ACME with its Columbus
// delivery address, products SKU-1 and SKU-2) and returns the Odoo connector speaking to it.
func odooERP(t *testing.T) (*odoo.Client, *odoosim.Server) {
	t.Helper()
	ctx := context.Background()
	sim := odoosim.New(odoosim.Options{Version: "19.0"})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close)
	cfg := odoo.Default()
	cfg.URL, cfg.Database, cfg.User, cfg.APIKey = srv.URL, "sim", "admin", odoosim.AdminAPIKey
	cfg.RetryBase, cfg.RetryMaxWait = 5*time.Millisecond, 20*time.Millisecond
	c, err := odoo.New(ctx, cfg)
	require.NoError(t, err)
	create := func(model string, vals map[string]any) int64 {
		ids, err := c.Create(ctx, model, []map[string]any{vals}, nil)
		require.NoError(t, err)
		return ids[0]
	}
	acme := create("res.partner", map[string]any{"name": "Acme Retail", "ref": "ACME", "is_company": true})
	create("res.partner", map[string]any{"name": "Acme DC Columbus", "ref": "ACME-DC-1234", "parent_id": acme, "type": "delivery"})
	p1 := create("product.product", map[string]any{"name": "Widget", "default_code": "SKU-1", "barcode": "00012345678905", "list_price": 12.5,
		"type": "consu", "is_storable": true})
	p2 := create("product.product", map[string]any{"name": "Gadget", "default_code": "SKU-2", "list_price": 3.1, "type": "consu", "is_storable": true})
	// Stock on hand, so that confirmation reserves it (without it Odoo backorders the lines).
	wh, err := c.SearchRead(ctx, "stock.warehouse", nil, []string{"lot_stock_id"}, map[string]any{"limit": 1})
	require.NoError(t, err)
	loc := wh[0]["lot_stock_id"].([]any)[0]
	inv := map[string]any{"inventory_mode": true}
	for _, p := range []int64{p1, p2} {
		ids, err := c.Create(ctx, "stock.quant", []map[string]any{{"product_id": p, "location_id": loc, "inventory_quantity": 1000}}, inv)
		require.NoError(t, err)
		_, err = c.Call(ctx, "stock.quant", "action_apply_inventory", []any{[]any{ids[0]}}, map[string]any{"context": inv})
		require.NoError(t, err)
	}
	return c, sim
}

// TestHappyPathOdooSim runs the Acme happy path through the Odoo connector and the simulator:
// the same 997 as with the in-memory ERP, an 855 naming Odoo's sale order, and one confirmed
// sale order in Odoo with the PO number and both lines.
func TestHappyPathOdooSim(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		c, _ := odooERP(t)
		b := setupWith(t, backend, c)
		// Odoo has no case unit unless one is configured: this PO orders line 2 in units.
		b.receive(t, "acme", []byte(strings.Replace(string(read(t, "acme_850.x12")), "PO1*2*4*CS*", "PO1*2*4*EA*", 1)))
		b.eventually(t, 20*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 && len(b.out.byDoc("997")) == 1 })
		rec := b.order(t, "PO-1001")
		require.Equal(t, waybill.OrderAccepted, rec.Order.State)
		st, err := c.OrderStatus(context.Background(), rec.Order.ERP)
		require.NoError(t, err)
		require.Equal(t, "sale", st.State)
		require.Len(t, st.Lines, 2)
		require.Equal(t, "PO-1001", st.PONumber)
		golden(t, "acme_happy_997.golden", b.out.byDoc("997")[0].Payload)
		ack := string(b.out.byDoc("855")[0].Payload)
		require.Contains(t, ack, "BAK*00*AD*PO-1001*20261126****"+rec.Order.ERP.Name)
		require.Contains(t, ack, "ACK*IA*10*EA")
		require.Contains(t, ack, "ACK*IA*4*EA")
		require.True(t, strings.HasSuffix(ack, "IEA*1*000000002~\n"))
	})
}

// TestUnknownItemOdooSim: a line Odoo does not know is refused with its 855 status; the rest of
// the order is created and confirmed in Odoo.
func TestUnknownItemOdooSim(t *testing.T) {
	t.Parallel()
	c, _ := odooERP(t)
	b := setupWith(t, "sqlite", c)
	in := strings.Replace(string(read(t, "acme_850.x12")), "PO1*2*4*CS*3.10**VP*SKU-2~", "PO1*2*4*EA*3.10**VP*SKU-404~", 1)
	b.receive(t, "acme", []byte(in))
	b.eventually(t, 20*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 })
	rec := b.order(t, "PO-1001")
	require.Equal(t, waybill.OrderAccepted, rec.Order.State)
	st, err := c.OrderStatus(context.Background(), rec.Order.ERP)
	require.NoError(t, err)
	require.Len(t, st.Lines, 1, "only the known line reaches Odoo")
	ack := string(b.out.byDoc("855")[0].Payload)
	require.Contains(t, ack, "BAK*00*AC*PO-1001")
	require.Contains(t, ack, "PO1*2*4*EA*3.1****VP*SKU-404~\nACK*IR*4*EA~")
}
