package odoosim

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// purchaseLineTaxes is taxes_id before 19.0 and tax_ids on 19.0.
func (s *Server) purchaseLineTaxes() string {
	if s.major >= 19 {
		return "tax_ids"
	}
	return "taxes_id"
}

func (s *Server) purchaseOrderModel() *modelDef {
	m := newModel("purchase.order", "Purchase Order")
	m.order = "priority desc, id desc"
	sum := func(which string) func(e *env, r record) any {
		return func(e *env, r record) any {
			var untaxed, tax decimal.Decimal
			for _, lid := range e.children("purchase.order.line", "order_id", r["id"].(int)) {
				l := e.rec("purchase.order.line", lid)
				st, tx := e.lineAmounts(asFloat(l["product_qty"]), asFloat(l["price_unit"]), asFloat(l["discount"]), ids(l[e.s.purchaseLineTaxes()]))
				untaxed, tax = untaxed.Add(st), tax.Add(tx)
			}
			switch which {
			case "untaxed":
				return round2(untaxed)
			case "tax":
				return round2(tax)
			}
			return round2(untaxed.Add(tax))
		}
	}
	states := []string{"draft", "sent", "to approve", "purchase", "cancel"}
	if s.major == 17 {
		states = []string{"draft", "sent", "to approve", "purchase", "done", "cancel"}
	}
	m.add(char("name").str("Order Reference").defaultValue("New"), m2o("partner_id", "res.partner").req().str("Vendor"),
		char("partner_ref").str("Vendor Reference"), char("origin").str("Source"), selection("priority", "0", "1").defaultValue("0"),
		datetime("date_order").withDefault(func(e *env) any { return formatDatetime(e.now) }), datetime("date_approve"), datetime("date_planned"),
		selection("state", states...).defaultValue("draft"), m2o("currency_id", "res.currency").defaultValue(1),
		m2o("company_id", "res.company").defaultValue(1), m2o("picking_type_id", "stock.picking.type").defaultValue(1),
		o2m("order_line", "purchase.order.line", "order_id").str("Order Lines"),
		monetary("amount_untaxed").computed(sum("untaxed")), monetary("amount_tax").computed(sum("tax")), monetary("amount_total").computed(sum("total")),
		o2m("picking_ids", "stock.picking", "purchase_id").str("Receptions"),
		selection("receipt_status", "pending", "partial", "full").computed(func(e *env, r record) any {
			var done, open int
			for _, p := range e.children("stock.picking", "purchase_id", r["id"].(int)) {
				switch asString(e.rec("stock.picking", p)["state"]) {
				case "done":
					done++
				case "cancel":
				default:
					open++
				}
			}
			switch {
			case done == 0 && open == 0:
				return nil
			case open == 0:
				return "full"
			case done > 0:
				return "partial"
			}
			return "pending"
		}))
	m.readGroups = purchaseGroups
	m.writeGroups = purchaseGroups
	m.beforeCreate = func(e *env, vals map[string]any) error {
		if !truthy(vals["name"]) || vals["name"] == "New" {
			vals["name"] = fmt.Sprintf("P%05d", e.nextSeq("purchase.order"))
		}
		return nil
	}
	m.recordAction("button_confirm", func(c *call) (any, error) {
		for _, id := range c.ids {
			po := c.mut("purchase.order", id)
			if st := asString(po["state"]); st != "draft" && st != "sent" {
				continue
			}
			po["state"] = "purchase"
			po["date_approve"] = formatDatetime(c.now)
			c.touch("purchase.order", id)
			c.receive(id)
		}
		return true, nil
	})
	m.recordAction("button_cancel", func(c *call) (any, error) {
		for _, id := range c.ids {
			for _, p := range c.children("stock.picking", "purchase_id", id) {
				c.cancelPicking(p)
			}
			c.mut("purchase.order", id)["state"] = "cancel"
			c.touch("purchase.order", id)
		}
		return true, nil
	})
	return m
}

// receive creates the receipt (WH/IN) of a confirmed purchase order.
func (e *env) receive(orderID int) {
	po := e.rec("purchase.order", orderID)
	sub := *e
	sub.uid = 1
	var picking int
	var moves []int
	for _, lid := range e.children("purchase.order.line", "order_id", orderID) {
		l := e.rec("purchase.order.line", lid)
		product := intOf(l["product_id"])
		if product == 0 || !e.isGoods(product) {
			continue
		}
		if picking == 0 {
			picking, _ = sub.create(e.s.models["stock.picking"], map[string]any{
				"picking_type_id": po["picking_type_id"], "partner_id": po["partner_id"], "origin": po["name"],
				"purchase_id": orderID, "scheduled_date": firstNonEmpty(asString(po["date_planned"]), formatDatetime(e.now)), "state": "confirmed",
			})
		}
		mid, _ := sub.create(e.s.models["stock.move"], map[string]any{
			"name": l["name"], "product_id": product, "product_uom_qty": l["product_qty"], "product_uom": l[e.s.lineUoM()],
			"picking_id": picking, "purchase_line_id": lid, "origin": po["name"], "partner_id": po["partner_id"], "state": "confirmed",
		})
		moves = append(moves, mid)
	}
	if picking != 0 {
		e.reserve(moves)
		e.updatePickingState(picking)
	}
}

func (s *Server) purchaseLineModel() *modelDef {
	m := newModel("purchase.order.line", "Purchase Order Line")
	m.order = "order_id, sequence, id"
	m.add(m2o("order_id", "purchase.order").req(), integer("sequence").defaultValue(10), m2o("product_id", "product.product"),
		text("name").str("Description"), float("product_qty").str("Quantity").defaultValue(1.0), m2o(s.lineUoM(), "uom.uom").str("Unit"),
		float("price_unit").str("Unit Price"), float("discount").str("Discount (%)"), m2m(s.purchaseLineTaxes(), "account.tax").str("Taxes"),
		datetime("date_planned").str("Expected Arrival"),
		float("qty_received").computed(func(e *env, r record) any {
			var q float64
			t := e.table("stock.move")
			for _, id := range sortedKeys(t.recs) {
				mv := t.recs[id]
				if intOf(mv["purchase_line_id"]) == r["id"].(int) && asString(mv["state"]) == "done" {
					q += asFloat(mv["quantity"])
				}
			}
			return q
		}),
		monetary("price_subtotal").computed(func(e *env, r record) any {
			st, _ := e.lineAmounts(asFloat(r["product_qty"]), asFloat(r["price_unit"]), asFloat(r["discount"]), ids(r[e.s.purchaseLineTaxes()]))
			return round2(st)
		}))
	m.readGroups = purchaseGroups
	m.writeGroups = purchaseGroups
	m.beforeCreate = func(e *env, vals map[string]any) error {
		p := e.rec("product.product", intOf(normalizeID(vals["product_id"])))
		if p == nil {
			return nil
		}
		pm := e.s.models["product.product"]
		if !truthy(vals["name"]) {
			vals["name"] = productName(e, p)
		}
		if !truthy(vals[e.s.lineUoM()]) {
			vals[e.s.lineUoM()] = e.get(pm, p, "uom_id")
		}
		if _, ok := vals["price_unit"]; !ok {
			vals["price_unit"] = e.get(pm, p, "standard_price")
		}
		return nil
	}
	return m
}
