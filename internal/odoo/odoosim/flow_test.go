package odoosim

import (
	"testing"
	"time"
)

// TestDistributionFlow runs the whole distribution flow of the Odoo notes
// over each protocol: partner, product, stock, sale order, confirmation,
// partial delivery with backorder, full delivery, tracking, invoice, post,
// payment.
func TestDistributionFlow(t *testing.T) {
	t.Parallel()
	for _, proto := range []string{"json2", "jsonrpc", "xmlrpc"} {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			now := time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)
			s, url := setup(t, Options{Now: func() time.Time { return now }})
			var c caller
			for _, x := range clients(url, s.Database()) {
				if x.name() == proto {
					c = x
				}
			}
			partner := firstID(t, mustCall(t, c, "res.partner", "create", nil, map[string]any{"vals_list": []any{map[string]any{
				"name": "Acme", "is_company": true, "ref": "ACME", "email": "a@example.com", "street": "1 Main", "city": "Springfield", "zip": "62701", "country_id": 233}}}))
			product := firstID(t, mustCall(t, c, "product.product", "create", nil, map[string]any{"vals_list": map[string]any{
				"name": "Widget", "default_code": "WID", "barcode": "0012345000019", "type": "consu", "is_storable": true, "list_price": 12.5, "standard_price": 6.0}}))
			wh := mustCall(t, c, "stock.warehouse", "search_read", nil, map[string]any{"domain": []any{}, "fields": []any{"lot_stock_id"}, "limit": 1}).([]any)[0].(map[string]any)
			stock := firstID(t, wh["lot_stock_id"])
			quant := firstID(t, mustCall(t, c, "stock.quant", "create", nil, map[string]any{
				"vals_list": map[string]any{"product_id": product, "location_id": stock, "inventory_quantity": 100},
				"context":   map[string]any{"inventory_mode": true}}))
			_, err := c.call("stock.quant", "action_apply_inventory", []int{quant}, nil)
			if proto == "xmlrpc" {
				if !isNoneFault(err) {
					t.Fatalf("action_apply_inventory over XML-RPC: want the None fault, got %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := readOne(t, c, "product.product", product, "qty_available")["qty_available"]; asFloat(got) != 100 {
				t.Fatalf("qty_available = %v, want 100", got)
			}
			so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
				"partner_id": partner, "client_order_ref": "PO-850-1",
				"order_line": []any{[]any{0, 0, map[string]any{"product_id": product, "product_uom_qty": 5, "price_unit": 12.5}}}}}))
			if res := mustCall(t, c, "sale.order", "action_confirm", []int{so}, nil); res != true {
				t.Fatalf("action_confirm = %#v", res)
			}
			order := readOne(t, c, "sale.order", so, "name", "state", "picking_ids", "amount_total", "amount_tax")
			if order["name"] != "S00001" || order["state"] != "sale" || asFloat(order["amount_total"]) != 71.88 {
				t.Fatalf("order = %#v", order)
			}
			pick := firstID(t, order["picking_ids"])
			p := readOne(t, c, "stock.picking", pick, "name", "state", "move_ids", "origin")
			if p["name"] != "WH/OUT/00001" || p["state"] != "assigned" || p["origin"] != "S00001" {
				t.Fatalf("picking = %#v", p)
			}
			move := firstID(t, p["move_ids"])
			// Partial delivery: 3 of 5 → backorder wizard → process.
			mustCall(t, c, "stock.move", "write", []int{move}, map[string]any{"vals": map[string]any{"quantity": 3, "picked": true}})
			action, ok := mustCall(t, c, "stock.picking", "button_validate", []int{pick}, nil).(map[string]any)
			if !ok || action["res_model"] != "stock.backorder.confirmation" {
				t.Fatalf("button_validate = %#v, want the backorder wizard", action)
			}
			actx := action["context"].(map[string]any)
			wiz := firstID(t, mustCall(t, c, "stock.backorder.confirmation", "create", nil, map[string]any{"vals_list": map[string]any{}, "context": actx}))
			if res := mustCall(t, c, "stock.backorder.confirmation", "process", []int{wiz}, map[string]any{"context": actx}); res != true {
				t.Fatalf("process = %#v", res)
			}
			order = readOne(t, c, "sale.order", so, "picking_ids", "delivery_status", "order_line")
			if order["delivery_status"] != "partial" || len(order["picking_ids"].([]any)) != 2 {
				t.Fatalf("after partial delivery: %#v", order)
			}
			back := mustCall(t, c, "stock.picking", "search_read", nil, map[string]any{
				"domain": []any{[]any{"backorder_id", "=", pick}}, "fields": []any{"name", "state", "move_ids"}}).([]any)
			if len(back) != 1 || back[0].(map[string]any)["name"] != "WH/OUT/00002" || back[0].(map[string]any)["state"] != "assigned" {
				t.Fatalf("backorder = %#v", back)
			}
			bpick := firstID(t, back[0].(map[string]any)["id"])
			bmove := firstID(t, back[0].(map[string]any)["move_ids"])
			mustCall(t, c, "stock.move", "write", []int{bmove}, map[string]any{"vals": map[string]any{"quantity": 2, "picked": true}})
			if res := mustCall(t, c, "stock.picking", "button_validate", []int{bpick}, nil); res != true {
				t.Fatalf("button_validate backorder = %#v", res)
			}
			mustCall(t, c, "stock.picking", "write", []int{bpick}, map[string]any{"vals": map[string]any{"carrier_tracking_ref": "1Z999"}})
			line := readOne(t, c, "sale.order.line", firstID(t, order["order_line"]), "qty_delivered", "qty_invoiced", s.lineUoM(), s.lineTaxes())
			if asFloat(line["qty_delivered"]) != 5 {
				t.Fatalf("line = %#v", line)
			}
			order = readOne(t, c, "sale.order", so, "delivery_status", "invoice_status")
			if order["delivery_status"] != "full" || order["invoice_status"] != "to invoice" {
				t.Fatalf("after delivery: %#v", order)
			}
			if q := readOne(t, c, "product.product", product, "qty_available")["qty_available"]; asFloat(q) != 95 {
				t.Fatalf("qty_available after delivery = %v", q)
			}
			// Invoice through the wizard.
			ictx := map[string]any{"active_model": "sale.order", "active_ids": []any{so}, "active_id": so}
			w := firstID(t, mustCall(t, c, "sale.advance.payment.inv", "create", nil, map[string]any{"vals_list": map[string]any{"advance_payment_method": "delivered"}, "context": ictx}))
			_, err = c.call("sale.advance.payment.inv", "create_invoices", []int{w}, map[string]any{"context": ictx})
			if proto == "xmlrpc" {
				if !isNoneFault(err) {
					t.Fatalf("create_invoices over XML-RPC: want the None fault, got %v", err)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			order = readOne(t, c, "sale.order", so, "invoice_ids", "invoice_status")
			inv := firstID(t, order["invoice_ids"])
			if order["invoice_status"] != "invoiced" {
				t.Fatalf("invoice_status = %v", order["invoice_status"])
			}
			draft := readOne(t, c, "account.move", inv, "name", "state")
			if draft["name"] != "/" || draft["state"] != "draft" {
				t.Fatalf("draft invoice = %#v", draft)
			}
			if res := mustCall(t, c, "account.move", "action_post", []int{inv}, nil); res != false {
				t.Fatalf("action_post = %#v, want false", res)
			}
			posted := readOne(t, c, "account.move", inv, "name", "state", "payment_state", "invoice_origin", "ref", "amount_total", "amount_residual")
			if posted["name"] != "INV/2026/00001" || posted["state"] != "posted" || posted["payment_state"] != "not_paid" ||
				posted["invoice_origin"] != "S00001" || posted["ref"] != "PO-850-1" || asFloat(posted["amount_total"]) != 71.88 {
				t.Fatalf("posted invoice = %#v", posted)
			}
			pctx := map[string]any{"active_model": "account.move", "active_ids": []any{inv}}
			pw := firstID(t, mustCall(t, c, "account.payment.register", "create", nil, map[string]any{"vals_list": map[string]any{}, "context": pctx}))
			mustCall(t, c, "account.payment.register", "action_create_payments", []int{pw}, map[string]any{"context": pctx})
			paid := readOne(t, c, "account.move", inv, "payment_state", "amount_residual")
			if paid["payment_state"] != "paid" || asFloat(paid["amount_residual"]) != 0 {
				t.Fatalf("paid invoice = %#v", paid)
			}
		})
	}
}
