package odoo

import (
	"testing"

	"github.com/waybill-hub/waybill"
)

// TestConformanceReturns returns part of a delivered and invoiced order: the return transfer is
// found again on retry, a quantity above what is left to return is refused, and once the goods
// are back the credit note covers exactly the returned quantity, made once.
func TestConformanceReturns(t *testing.T) {
	t.Parallel()
	for _, tg := range targets() {
		t.Run(tg.name(), func(t *testing.T) {
			t.Parallel()
			runReturns(t, setup(t, tg.version, tg.proto))
		})
	}
}

func runReturns(t *testing.T, b *bundle) {
	cust := b.create("res.partner", map[string]any{"name": "Waybill Returns " + b.uniq, "is_company": true}, nil)
	pa, pb := b.product("A", 10, 4), b.product("B", 20, 8)
	_, stockLoc, _ := b.warehouse()
	b.setStock(pa, stockLoc, 100)
	b.setStock(pb, stockLoc, 100)
	draft := waybill.OrderDraft{HubRef: "r1-" + b.uniq, PONumber: "PO-R-" + b.uniq, Customer: waybill.ERPRef{ID: cust},
		Lines: []waybill.DraftLine{{LineNumber: "1", Product: pa, Quantity: dec("5"), Price: ptr(dec("10"))},
			{LineNumber: "2", Product: pb, Quantity: dec("3"), Price: ptr(dec("20"))}}}
	created, err := b.c.CreateOrders(b.ctx, []waybill.OrderDraft{draft})
	b.must(err)
	b.must(created[0].Err)
	order := created[0].Order
	conf, err := b.c.ConfirmOrders(b.ctx, []waybill.ERPRef{order})
	b.must(err)
	b.must(conf[0].Err)
	lineA := conf[0].Lines[0].Ref

	req := waybill.ReturnRequest{HubRef: "rma-" + b.uniq, Customer: waybill.ERPRef{ID: cust}, Order: order, Reason: "damaged",
		Lines: []waybill.ReturnRequestLine{{SaleLine: lineA, Product: pa, Quantity: dec("2")}}}
	_, err = b.c.CreateReturn(b.ctx, req)
	wantCode(t, "return before delivery", err, waybill.EREJECTED)

	st, err := b.c.OrderStatus(b.ctx, order)
	b.must(err)
	eq(t, "backorder wizard", b.deliver(st.Deliveries[0].Ref.ID, nil), false)
	invs := b.invoice(order.ID)
	if len(invs) != 1 {
		t.Fatalf("%d invoices", len(invs))
	}
	b.call("account.move", "action_post", []any{[]any{invs[0]}}, nil)

	first, err := b.c.CreateReturn(b.ctx, req)
	b.must(err)
	eq(t, "state", first.State, waybill.ReturnApproved)
	eq(t, "created", first.Created, true)
	eq(t, "delivery model", first.Delivery.Model, "stock.picking")
	if first.Delivery.ID == 0 || first.Delivery.Name == "" {
		t.Fatalf("return transfer %+v", first.Delivery)
	}
	again, err := b.c.CreateReturn(b.ctx, req)
	b.must(err)
	eq(t, "created again", again.Created, false)
	eq(t, "same return transfer", again.Delivery.ID, first.Delivery.ID)
	rp := b.searchRead("stock.picking", []any{[]any{"id", "=", first.Delivery.ID}}, []string{"picking_type_code", "return_id", "state"}, nil)
	eq(t, "return type", rp[0].Str("picking_type_code"), "incoming")
	eq(t, "return of", rp[0].M2O("return_id", "").ID, st.Deliveries[0].Ref.ID)

	// 5 delivered, 2 on their way back: 4 more is too many, and nothing is made for it.
	over := req
	over.HubRef = "rma2-" + b.uniq
	over.Lines = []waybill.ReturnRequestLine{{SaleLine: lineA, Quantity: dec("4")}} // the product is read from the sale line
	_, err = b.c.CreateReturn(b.ctx, over)
	wantCode(t, "return above delivered", err, waybill.EREJECTED)
	_, err = b.c.ReturnStatus(b.ctx, over.HubRef)
	wantCode(t, "status of a refused return", err, waybill.ENOTFOUND)

	res, err := b.c.ReturnStatus(b.ctx, req.HubRef)
	b.must(err)
	eq(t, "status before receipt", res.State, waybill.ReturnApproved)

	// The warehouse receives the goods.
	eq(t, "wizard on the return", b.deliver(first.Delivery.ID, nil), false)
	res, err = b.c.ReturnStatus(b.ctx, req.HubRef)
	b.must(err)
	eq(t, "status after receipt", res.State, waybill.ReturnCredited)
	eq(t, "credit model", res.Credit.Model, "account.move")
	cn := b.searchRead("account.move", []any{[]any{"id", "=", res.Credit.ID}},
		[]string{"move_type", "state", "amount_untaxed", "amount_tax", "amount_total", "reversed_entry_id", "name"}, nil)
	eq(t, "credit note type", cn[0].Str("move_type"), "out_refund")
	eq(t, "credit note state", cn[0].Str("state"), "posted")
	eq(t, "credit note number", cn[0].Str("name"), res.Credit.Name)
	eq(t, "reverses", cn[0].M2O("reversed_entry_id", "").ID, invs[0])
	eq(t, "credit untaxed", cn[0].Dec("amount_untaxed"), dec("20"))
	il := b.searchRead("account.move.line", []any{[]any{"move_id", "=", invs[0]}, []any{"product_id", "=", pa.ID}}, []string{"tax_ids"}, nil)
	rate := waybill.Zero
	if taxes := il[0].IDs("tax_ids"); len(taxes) > 0 {
		for _, tx := range b.searchRead("account.tax", []any{[]any{"id", "in", idsAny(taxes)}}, []string{"amount"}, nil) {
			rate = rate.Add(tx.Dec("amount"))
		}
	}
	eq(t, "credit tax", cn[0].Dec("amount_tax"), dec("20").Mul(rate).Div(dec("100")).Round(2))
	eq(t, "credit total", cn[0].Dec("amount_total"), cn[0].Dec("amount_untaxed").Add(cn[0].Dec("amount_tax")))

	again2, err := b.c.ReturnStatus(b.ctx, req.HubRef)
	b.must(err)
	eq(t, "credited again", again2.State, waybill.ReturnCredited)
	eq(t, "same credit note", again2.Credit.ID, res.Credit.ID)
	n := b.searchRead("account.move", []any{[]any{"move_type", "=", "out_refund"}, []any{"ref", "=", b.c.HubRef(req.HubRef)}}, []string{"id"}, nil)
	eq(t, "credit notes", len(n), 1)
	st, err = b.c.OrderStatus(b.ctx, order)
	b.must(err)
	eq(t, "line A delivered after the return", st.Lines[0].Delivered, dec("3"))
}
