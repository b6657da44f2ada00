package edi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/odoo"
)

// TestOrderToCashOdooSim runs the fulfilment half through the Odoo connector and the Odoo 19
// simulator: a partial delivery with a backorder and a tracking reference, the backorder, the
// invoice wizard and posting; change capture (PollChanges) brings each step to the hub, which
// sends two 856s and then one 810 whose totals are Odoo's to the cent.
func TestOrderToCashOdooSim(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		c, _ := odooERP(t)
		b := setupWith(t, backend, c)
		b.receive(t, "acme", []byte(strings.Replace(string(read(t, "acme_850.x12")), "PO1*2*4*CS*", "PO1*2*4*EA*", 1)))
		b.eventually(t, 20*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 })
		so := b.order(t, "PO-1001").Order.ERP
		// await polls Odoo's changes until cond holds. Odoo's write_date has whole seconds, so a
		// write in the second of the last poll shows only to the reconcile sweep (as in production).
		await := func(cond func() bool) {
			t.Helper()
			last := time.Time{}
			b.eventually(t, 20*time.Second, func() bool {
				if time.Since(last) > 300*time.Millisecond {
					last = time.Now()
					_, err := b.app.Hub.PollChanges(ctx)
					require.NoError(t, err)
					_, err = b.app.Hub.ReconcileOpen(ctx, 0, 100)
					require.NoError(t, err)
				}
				return cond()
			})
		}

		pickings, err := c.SearchRead(ctx, "stock.picking", []any{[]any{"sale_id", "=", so.ID}}, []string{"id"}, nil)
		require.NoError(t, err)
		require.Len(t, pickings, 1)
		pick := odooID(pickings[0]["id"])
		require.NoError(t, c.Write(ctx, "stock.picking", []int64{pick}, map[string]any{"carrier_tracking_ref": "1Z999AA10123456784"}))
		odooDeliver(t, c, pick, map[string]float64{"SKU-1": 6})
		b.eventually(t, 20*time.Second, func() bool { return len(b.out.byDoc("856")) == 1 })
		first := string(b.out.byDoc("856")[0].Payload)
		require.Contains(t, first, "REF*CN*1Z999AA10123456784~")
		require.Contains(t, first, "SN1*1*6*EA**10*EA~")
		require.Contains(t, first, "SN1*2*4*EA**4*EA~")

		rest, err := c.SearchRead(ctx, "stock.picking", []any{[]any{"sale_id", "=", so.ID}, []any{"state", "!=", "done"}}, []string{"id"}, nil)
		require.NoError(t, err)
		require.Len(t, rest, 1, "Odoo made a backorder")
		odooDeliver(t, c, odooID(rest[0]["id"]), nil)
		await(func() bool { return len(b.out.byDoc("856")) == 2 })
		require.Contains(t, string(b.out.byDoc("856")[1].Payload), "SN1*1*4*EA**10*EA~")

		inv := odooInvoice(t, c, so.ID)
		_, err = c.Call(ctx, "account.move", "action_post", []any{[]any{inv}}, nil)
		require.NoError(t, err)
		await(func() bool { return len(b.out.byDoc("810")) == 1 })
		rs, err := c.SearchRead(ctx, "account.move", []any{[]any{"id", "=", inv}}, []string{"amount_total", "amount_untaxed"}, nil)
		require.NoError(t, err)
		total, untaxed := odooCents(rs[0]["amount_total"]), odooCents(rs[0]["amount_untaxed"])
		out := string(b.out.byDoc("810")[0].Payload)
		require.Contains(t, out, fmt.Sprintf("TDS*%d*%d~", total, untaxed), "the 810's totals are Odoo's to the cent:\n%s", out)
		for _, m := range append(b.out.byDoc("856"), b.out.byDoc("810")...) {
			requireValidX12(t, m.Payload)
		}
		require.Len(t, b.out.byDoc("856"), 2)

		// Acme owes a 997 for each 856 within 4 hours: none has come, so both are overdue then.
		overdue, err := b.db.OverdueEDIOutbound(ctx, fixedNow.Add(5*time.Hour), 0)
		require.NoError(t, err)
		n856 := 0
		for _, o := range overdue {
			if o.SetID == "856" {
				n856++
			}
		}
		require.Equal(t, 2, n856, "both 856s are overdue past the partner's 4h SLA")
	})
}

func odooDeliver(t *testing.T, c *odoo.Client, picking int64, qty map[string]float64) {
	t.Helper()
	ctx := context.Background()
	ms, err := c.SearchRead(ctx, "stock.move", []any{[]any{"picking_id", "=", picking}}, []string{"id", "product_id", "product_uom_qty"}, nil)
	require.NoError(t, err)
	for _, m := range ms {
		pid := odooID(m["product_id"].([]any)[0])
		ps, err := c.SearchRead(ctx, "product.product", []any{[]any{"id", "=", pid}}, []string{"default_code"}, nil)
		require.NoError(t, err)
		q, ok := qty[fmt.Sprint(ps[0]["default_code"])]
		if !ok {
			q = odooFloat(m["product_uom_qty"])
		}
		require.NoError(t, c.Write(ctx, "stock.move", []int64{odooID(m["id"])}, c.MoveDoneFields(q)))
	}
	res, err := c.Call(ctx, "stock.picking", "button_validate", []any{[]any{picking}}, nil)
	require.NoError(t, err)
	if act, ok := res.(map[string]any); ok { // the backorder wizard
		wctx, _ := act["context"].(map[string]any)
		ids, err := c.Create(ctx, act["res_model"].(string), []map[string]any{{}}, wctx)
		require.NoError(t, err)
		_, err = c.Call(ctx, act["res_model"].(string), "process", []any{[]any{ids[0]}}, map[string]any{"context": wctx})
		require.NoError(t, err)
	}
}

func odooInvoice(t *testing.T, c *odoo.Client, order int64) int64 {
	t.Helper()
	ctx := context.Background()
	wctx := map[string]any{"active_model": "sale.order", "active_ids": []any{order}, "active_id": order}
	ids, err := c.Create(ctx, "sale.advance.payment.inv", []map[string]any{{"advance_payment_method": "delivered"}}, wctx)
	require.NoError(t, err)
	_, err = c.Call(ctx, "sale.advance.payment.inv", "create_invoices", []any{[]any{ids[0]}}, map[string]any{"context": wctx})
	require.NoError(t, err)
	rs, err := c.SearchRead(ctx, "account.move", []any{[]any{"invoice_origin", "!=", false}}, []string{"id"}, map[string]any{"order": "id desc", "limit": 1})
	require.NoError(t, err)
	return odooID(rs[0]["id"])
}

func odooFloat(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case json.Number:
		f, _ := n.Float64()
		return f
	case int64:
		return float64(n)
	}
	return 0
}

func odooID(v any) int64 { return int64(odooFloat(v)) }

// odooCents reads an Odoo monetary field as whole cents, through its decimal text (never a float
// sum).
func odooCents(v any) int64 {
	d := waybill.MustDecimal(fmt.Sprint(v))
	return d.Round(2).MulInt(100).IntPart()
}

// TestPOChangeOdooSim applies an 860 through the Odoo connector: the sale order's lines change in
// Odoo (quantity of line 1, line 2 cancelled to 0) and the partner gets an 865 accepting them.
func TestPOChangeOdooSim(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, _ := odooERP(t)
	create := func(model string, vals map[string]any) int64 {
		ids, err := c.Create(ctx, model, []map[string]any{vals}, nil)
		require.NoError(t, err)
		return ids[0]
	}
	globex := create("res.partner", map[string]any{"name": "Globex Stores", "ref": "GLOBEX", "is_company": true})
	create("res.partner", map[string]any{"name": "Globex Store 12", "ref": "GLOBEX-STORE-12", "parent_id": globex, "type": "delivery"})
	create("product.product", map[string]any{"name": "Sprocket", "default_code": "SKU-3", "barcode": "00012345678912", "list_price": 5.0,
		"type": "consu", "is_storable": true})
	b := setupWith(t, "sqlite", c)
	b.receive(t, "globex", read(t, "globex_850.x12"))
	b.eventually(t, 20*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 })
	so := b.order(t, "G-5001").Order.ERP
	// SKU-3 has no stock in Odoo: its line is acknowledged as backordered, with Odoo's date.
	ack855 := string(b.out.byDoc("855")[0].Payload)
	require.Contains(t, ack855, "BAK|00|AC|G-5001|", ack855)
	require.Regexp(t, `ACK\|IB\|2\|EA\|068\|\d{8}~`, ack855)
	require.Equal(t, "2", b.order(t, "G-5001").Order.Lines[1].Qty.Backordered.String())
	b.receive(t, "globex", po860("000000601", "1"))
	b.eventually(t, 20*time.Second, func() bool { return len(b.out.byDoc("865")) == 1 })
	ack := string(b.out.byDoc("865")[0].Payload)
	require.Contains(t, ack, "BCA|04|AT|G-5001||1|", ack)
	lines, err := c.SearchRead(ctx, "sale.order.line", []any{[]any{"order_id", "=", so.ID}}, []string{"product_uom_qty"}, map[string]any{"order": "sequence, id"})
	require.NoError(t, err)
	require.Len(t, lines, 2)
	require.Equal(t, 9.0, odooFloat(lines[0]["product_uom_qty"]), "Odoo holds the changed quantity")
	require.Equal(t, 0.0, odooFloat(lines[1]["product_uom_qty"]), "the deleted line is at 0 in Odoo")

	// Odoo has reserved the stock: change capture sees the order allocated, and a second change
	// is refused without reaching Odoo.
	b.eventually(t, 20*time.Second, func() bool {
		_, err := b.app.Hub.PollChanges(ctx)
		require.NoError(t, err)
		_, err = b.app.Hub.ReconcileOpen(ctx, 0, 100)
		require.NoError(t, err)
		return b.state(t, "G-5001") == waybill.OrderAllocated
	})
	b.receive(t, "globex", po860("000000602", "2"))
	b.eventually(t, 20*time.Second, func() bool { return len(b.out.byDoc("865")) == 2 })
	refused := string(b.out.byDoc("865")[1].Payload)
	require.Contains(t, refused, "BCA|04|RJ|G-5001||2|", refused)
	after, err := c.SearchRead(ctx, "sale.order.line", []any{[]any{"order_id", "=", so.ID}}, []string{"product_uom_qty"}, map[string]any{"order": "sequence, id"})
	require.NoError(t, err)
	require.Equal(t, 9.0, odooFloat(after[0]["product_uom_qty"]), "Odoo's order is unchanged")
}
