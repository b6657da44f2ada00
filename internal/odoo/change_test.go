package odoo

import (
	"testing"

	"github.com/waybill-hub/waybill"
)

// TestChangeOrder changes a confirmed order's quantities and price, as an 860 does, on every
// simulated version, and over the real Odoo when configured.
func TestChangeOrder(t *testing.T) {
	for _, ver := range []string{"17.0", "18.0", "19.0"} {
		t.Run(ver, func(t *testing.T) {
			b := setup(t, ver, ProtocolAuto)
			_, stock, _ := b.warehouse()
			p1, p2 := b.product("c1", 10, 5), b.product("c2", 20, 9)
			b.setStock(p1, stock, 100)
			b.setStock(p2, stock, 100)
			cust := b.create("res.partner", map[string]any{"name": "Change test " + b.uniq, "is_company": true, "ref": "CHG-" + b.uniq}, nil)
			res, err := b.c.CreateOrders(b.ctx, []waybill.OrderDraft{{HubRef: "chg-" + b.uniq, PONumber: "PO-CHG-" + b.uniq,
				Customer: waybill.ERPRef{ID: cust}, Lines: []waybill.DraftLine{
					{LineNumber: "1", Product: p1, Quantity: dec("5"), UOM: "EA"},
					{LineNumber: "2", Product: p2, Quantity: dec("3"), UOM: "EA"}}}})
			b.must(err)
			b.must(res[0].Err)
			conf, err := b.c.ConfirmOrders(b.ctx, []waybill.ERPRef{res[0].Order})
			b.must(err)
			b.must(conf[0].Err)
			price := dec("18.5")
			lines, err := b.c.ChangeOrder(b.ctx, res[0].Order, []waybill.LineChange{
				{LineNumber: "1", ERPLine: conf[0].Lines[0].Ref, Product: p1, Quantity: dec("8")},
				{LineNumber: "2", Product: p2, Quantity: dec("3"), UnitPrice: &price}})
			b.must(err)
			eq(t, "lines", len(lines), 2)
			eq(t, "line 1 quantity", lines[0].Quantity.String(), "8")
			eq(t, "line 2 price", lines[1].UnitPrice.String(), "18.5")
			_, err = b.c.ChangeOrder(b.ctx, res[0].Order, []waybill.LineChange{{LineNumber: "9", Product: waybill.ERPRef{ID: 999999}, Quantity: dec("1")}})
			wantCode(t, "unknown line", err, waybill.EREJECTED)
		})
	}
}
