package odoosim

import (
	"strings"
	"testing"
)

// TestReturnAndCreditNote returns part of a delivery through the return wizard, with the method
// name of each version, receives it, and posts a credit note reversing the invoice.
func TestReturnAndCreditNote(t *testing.T) {
	t.Parallel()
	for _, v := range []struct{ version, method, other string }{
		{"17.0", "create_returns", "action_create_returns"},
		{"18.0", "action_create_returns", "create_returns"},
		{"19.0", "action_create_returns", "create_returns"},
	} {
		t.Run(v.version, func(t *testing.T) {
			t.Parallel()
			s, url := setup(t, Options{Version: v.version})
			d := s.SeedDemo()
			c := &jsonrpcClient{url: url, db: s.Database(), password: AdminPassword, uid: AdminUID}
			widget := d.Products[0]
			so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
				"partner_id": d.Customers[1].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": widget.ID, "product_uom_qty": 5, "price_unit": 10}}}}}))
			mustCall(t, c, "sale.order", "action_confirm", []int{so}, nil)
			pick := firstID(t, readOne(t, c, "sale.order", so, "picking_ids")["picking_ids"])
			wctx := map[string]any{"active_model": "stock.picking", "active_id": pick, "active_ids": []any{pick}}
			if _, err := c.call("stock.return.picking", "create", nil, map[string]any{"vals_list": map[string]any{}, "context": wctx}); err == nil ||
				!strings.Contains(err.Error(), "You may only return Done pickings") {
				t.Fatalf("return of an open delivery: %v", err)
			}
			mustCall(t, c, "stock.picking", "button_validate", []int{pick}, nil)

			w := firstID(t, mustCall(t, c, "stock.return.picking", "create", nil, map[string]any{"vals_list": map[string]any{}, "context": wctx}))
			wiz := readOne(t, c, "stock.return.picking", w, "picking_id", "product_return_moves")
			if firstID(t, wiz["picking_id"]) != pick {
				t.Fatalf("wizard picking %v, want %d (from the context)", wiz["picking_id"], pick)
			}
			line := readOne(t, c, "stock.return.picking.line", firstID(t, wiz["product_return_moves"]), "product_id", "quantity", "move_id")
			want := 0.0
			if v.version == "17.0" {
				want = 5
			}
			if asFloat(line["quantity"]) != want || firstID(t, line["product_id"]) != widget.ID {
				t.Fatalf("default return line %v, want quantity %v", line, want)
			}
			if _, err := c.call("stock.return.picking", v.other, []int{w}, map[string]any{"context": wctx}); err == nil {
				t.Fatalf("%s exists on %s", v.other, v.version)
			}
			if v.version != "17.0" { // from 18.0 the lines start at 0
				if _, err := c.call("stock.return.picking", v.method, []int{w}, map[string]any{"context": wctx}); err == nil || !strings.Contains(err.Error(), "at least one non-zero quantity") {
					t.Fatalf("return of nothing: %v", err)
				}
			} else {
				mustCall(t, c, "stock.return.picking", v.method, []int{w}, map[string]any{"context": wctx})
			}
			if v.version == "17.0" { // the 17.0 default returned everything: undo it
				w = firstID(t, mustCall(t, c, "stock.return.picking", "create", nil, map[string]any{"vals_list": map[string]any{}, "context": wctx}))
				again := readOne(t, c, "stock.return.picking.line", firstID(t, readOne(t, c, "stock.return.picking", w, "product_return_moves")["product_return_moves"]), "quantity")
				if asFloat(again["quantity"]) != 0 {
					t.Fatalf("17.0 proposes %v after a full return is open, want 0", again["quantity"])
				}
				first := mustCall(t, c, "stock.picking", "search", nil, map[string]any{"domain": []any{[]any{"return_id", "=", pick}}})
				mustCall(t, c, "stock.picking", "action_cancel", []int{firstID(t, first)}, nil)
				w = firstID(t, mustCall(t, c, "stock.return.picking", "create", nil, map[string]any{"vals_list": map[string]any{}, "context": wctx}))
			}
			lid := firstID(t, readOne(t, c, "stock.return.picking", w, "product_return_moves")["product_return_moves"])
			mustCall(t, c, "stock.return.picking.line", "write", []int{lid}, map[string]any{"vals": map[string]any{"quantity": 2}})
			action := mustCall(t, c, "stock.return.picking", v.method, []int{w}, map[string]any{"context": wctx}).(map[string]any)
			ret := firstID(t, action["res_id"])
			rp := readOne(t, c, "stock.picking", ret, "name", "origin", "return_id", "picking_type_code", "state", "move_ids")
			if !strings.HasPrefix(asString(rp["name"]), "WH/IN/") || rp["origin"] != "Return of WH/OUT/00001" || firstID(t, rp["return_id"]) != pick ||
				rp["picking_type_code"] != "incoming" || rp["state"] != "assigned" {
				t.Fatalf("return picking %v", rp)
			}
			mv := readOne(t, c, "stock.move", firstID(t, rp["move_ids"]), "product_uom_qty", "origin_returned_move_id", "sale_line_id")
			if asFloat(mv["product_uom_qty"]) != 2 || firstID(t, mv["origin_returned_move_id"]) != firstID(t, line["move_id"]) {
				t.Fatalf("return move %v", mv)
			}
			mustCall(t, c, "stock.picking", "button_validate", []int{ret}, nil)
			sl := firstID(t, readOne(t, c, "sale.order", so, "order_line")["order_line"])
			if q := readOne(t, c, "sale.order.line", sl, "qty_delivered")["qty_delivered"]; asFloat(q) != 3 {
				t.Fatalf("qty_delivered after the return %v, want 3", q)
			}
			if q := readOne(t, c, "product.product", widget.ID, "qty_available")["qty_available"]; asFloat(q) != widget.OnHand-3 {
				t.Fatalf("on hand after the return %v, want %v", q, widget.OnHand-3)
			}

			refund := firstID(t, mustCall(t, c, "account.move", "create", nil, map[string]any{"vals_list": map[string]any{
				"move_type": "out_refund", "partner_id": d.Customers[1].ID, "ref": "waybill:rma-1",
				"invoice_line_ids": []any{[]any{0, 0, map[string]any{"product_id": widget.ID, "quantity": 2, "price_unit": 10,
					"sale_line_ids": []any{[]any{6, 0, []any{sl}}}}}}}}))
			mustCall(t, c, "account.move", "action_post", []int{refund}, nil)
			r := readOne(t, c, "account.move", refund, "name", "state", "amount_untaxed", "reversed_entry_id")
			if !strings.HasPrefix(asString(r["name"]), "RINV/") || r["state"] != "posted" || asFloat(r["amount_untaxed"]) != 20 {
				t.Fatalf("credit note %v", r)
			}
		})
	}
}
