package odoosim

import (
	"fmt"
	"time"

	"github.com/shopspring/decimal"
)

var hundred = decimal.NewFromInt(100)

// lineAmounts computes a line's subtotal and tax (rounded per line, Odoo's
// default) from its quantity, unit price, discount and percent taxes.
func (e *env) lineAmounts(qty, price, discount float64, taxes []int) (subtotal, tax decimal.Decimal) {
	base := dec(qty).Mul(dec(price)).Mul(hundred.Sub(dec(discount))).Div(hundred).Round(2)
	for _, t := range taxes {
		tax = tax.Add(base.Mul(dec(e.taxRate(t))).Div(hundred).Round(2))
	}
	return base, tax
}

func ids(v any) []int {
	x, _ := v.([]int)
	return x
}

func (s *Server) saleOrderModel() *modelDef {
	m := newModel("sale.order", "Sales Order")
	m.order = "date_order desc, id desc"
	m.notify = true
	sum := func(which string) func(e *env, r record) any {
		return func(e *env, r record) any {
			var untaxed, tax decimal.Decimal
			lm := e.s.models["sale.order.line"]
			for _, lid := range e.children("sale.order.line", "order_id", r["id"].(int)) {
				l := e.rec("sale.order.line", lid)
				st, tx := e.lineAmounts(asFloat(l["product_uom_qty"]), asFloat(l["price_unit"]), asFloat(l["discount"]), ids(e.get(lm, l, e.s.lineTaxes())))
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
	m.add(
		char("name").str("Order Reference").defaultValue("New").index(),
		m2o("partner_id", "res.partner").req().str("Customer"),
		m2o("partner_invoice_id", "res.partner").str("Invoice Address"), m2o("partner_shipping_id", "res.partner").str("Delivery Address"),
		char("client_order_ref").str("Customer Reference"), char("origin").str("Source Document").index(), text("note").str("Terms and conditions"),
		m2o("pricelist_id", "product.pricelist"), m2o("currency_id", "res.currency").defaultValue(1),
		datetime("date_order").str("Order Date").withDefault(func(e *env) any { return formatDatetime(e.now) }),
		date("validity_date").str("Expiration"), datetime("commitment_date").str("Delivery Date"),
		selection("state", "draft", "sent", "sale", "cancel").str("Status").defaultValue("draft"), boolean("locked"),
		m2o("user_id", "res.users").str("Salesperson").withDefault(func(e *env) any { return e.uid }),
		m2o("company_id", "res.company").defaultValue(1), m2o("warehouse_id", "stock.warehouse").defaultValue(1),
		m2o("carrier_id", "delivery.carrier").str("Delivery Method"),
		m2o("payment_term_id", "account.payment.term").str("Payment Terms"),
		o2m("order_line", "sale.order.line", "order_id").str("Order Lines"),
		monetary("amount_untaxed").computed(sum("untaxed")).str("Untaxed Amount"),
		monetary("amount_tax").computed(sum("tax")).str("Taxes"),
		monetary("amount_total").computed(sum("total")).str("Total"),
		o2m("picking_ids", "stock.picking", "sale_id").str("Transfers"),
		integer("delivery_count").computed(func(e *env, r record) any {
			return len(e.children("stock.picking", "sale_id", r["id"].(int)))
		}),
		m2m("invoice_ids", "account.move").computed(func(e *env, r record) any { return e.orderInvoices(r["id"].(int)) }).str("Invoices"),
		integer("invoice_count").computed(func(e *env, r record) any { return len(e.orderInvoices(r["id"].(int))) }),
		selection("delivery_status", "pending", "started", "partial", "full").computed(func(e *env, r record) any { return e.deliveryStatus(r) }),
		selection("invoice_status", "upselling", "invoiced", "to invoice", "no").computed(func(e *env, r record) any { return e.orderInvoiceStatus(r) }),
		datetime("effective_date").computed(func(e *env, r record) any {
			var first any
			for _, p := range e.children("stock.picking", "sale_id", r["id"].(int)) {
				d := e.rec("stock.picking", p)["date_done"]
				if d != nil && (first == nil || asString(d) < asString(first)) {
					first = d
				}
			}
			return first
		}),
	)
	m.readGroups = salesGroups
	m.writeGroups = salesGroups
	m.beforeCreate = func(e *env, vals map[string]any) error {
		pid := intOf(normalizeID(vals["partner_id"]))
		partner := e.rec("res.partner", pid)
		if partner == nil {
			return nil // the required check reports it
		}
		if !truthy(vals["partner_invoice_id"]) {
			vals["partner_invoice_id"] = addressOf(e, pid, "invoice")
		}
		if !truthy(vals["partner_shipping_id"]) {
			vals["partner_shipping_id"] = addressOf(e, pid, "delivery")
		}
		if _, ok := vals["pricelist_id"]; !ok {
			pl := intOf(e.rec("res.partner", intOf(commercialPartner(e, partner)))["property_product_pricelist"])
			if pl == 0 {
				pl = 1
			}
			vals["pricelist_id"] = pl
		}
		if _, ok := vals["payment_term_id"]; !ok {
			if pt := intOf(e.rec("res.partner", intOf(commercialPartner(e, partner)))["property_payment_term_id"]); pt != 0 {
				vals["payment_term_id"] = pt
			}
		}
		if !truthy(vals["name"]) || vals["name"] == "New" {
			vals["name"] = fmt.Sprintf("S%05d", e.nextSeq("sale.order"))
		}
		return nil
	}
	m.beforeUnlink = func(e *env, ids []int) error {
		for _, id := range ids {
			if st := asString(e.rec("sale.order", id)["state"]); st != "draft" && st != "cancel" {
				return userError("You can not delete a sent quotation or a confirmed sales order. You must first cancel it.")
			}
		}
		return nil
	}
	m.recordAction("action_confirm", saleConfirm)
	m.recordAction("action_cancel", func(c *call) (any, error) {
		for _, id := range c.ids {
			for _, p := range c.children("stock.picking", "sale_id", id) {
				c.cancelPicking(p)
			}
			for _, inv := range c.orderInvoices(id) {
				if asString(c.rec("account.move", inv)["state"]) == "draft" {
					c.mut("account.move", inv)["state"] = "cancel"
					c.touch("account.move", inv)
				}
			}
			c.mut("sale.order", id)["state"] = "cancel"
			c.touch("sale.order", id)
		}
		return true, nil
	})
	m.recordAction("action_draft", func(c *call) (any, error) {
		for _, id := range c.ids {
			if st := asString(c.rec("sale.order", id)["state"]); st == "cancel" || st == "sent" {
				c.mut("sale.order", id)["state"] = "draft"
				c.touch("sale.order", id)
			}
		}
		return true, nil
	})
	return m
}

// saleConfirm is sale.order.action_confirm: the order becomes a sales
// order and a delivery (WH/OUT) is created for its goods and reserved.
func saleConfirm(c *call) (any, error) {
	var bad []string
	for _, id := range c.ids {
		if st := asString(c.rec("sale.order", id)["state"]); st != "draft" && st != "sent" {
			bad = append(bad, asString(c.rec("sale.order", id)["name"]))
		}
	}
	if len(bad) > 0 {
		return nil, userError("The following orders are not in a state requiring confirmation: %s", joinNames(bad))
	}
	for _, id := range c.ids {
		so := c.mut("sale.order", id)
		so["state"] = "sale"
		so["date_order"] = formatDatetime(c.now)
		c.touch("sale.order", id)
		c.procure(id, c.children("sale.order.line", "order_id", id))
	}
	return true, nil
}

func joinNames(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += n
	}
	return out
}

// procure creates the stock moves a confirmed order's lines still need, in
// the order's open delivery or a new one, and reserves them.
func (e *env) procure(orderID int, lineIDs []int) {
	so := e.rec("sale.order", orderID)
	lm := e.s.models["sale.order.line"]
	var picking int
	for _, p := range e.children("stock.picking", "sale_id", orderID) {
		st := asString(e.rec("stock.picking", p)["state"])
		if st != "done" && st != "cancel" {
			picking = p
			break
		}
	}
	var moves []int
	for _, lid := range lineIDs {
		l := e.rec("sale.order.line", lid)
		product := intOf(l["product_id"])
		if product == 0 || !e.isGoods(product) {
			continue
		}
		need := asFloat(l["product_uom_qty"])
		for _, mv := range e.children("stock.move", "sale_line_id", lid) {
			if r := e.rec("stock.move", mv); asString(r["state"]) != "cancel" {
				need -= asFloat(r["product_uom_qty"])
			}
		}
		if need <= 0 {
			continue
		}
		sub := *e
		sub.uid = 1
		if picking == 0 {
			sched := asString(so["commitment_date"])
			if sched == "" {
				lead := asFloat(l["customer_lead"])
				t, _ := time.Parse(datetimeFormat, asString(so["date_order"]))
				sched = formatDatetime(t.Add(time.Duration(lead * float64(24*time.Hour))))
			}
			wh := e.rec("stock.warehouse", intOf(so["warehouse_id"]))
			picking, _ = sub.create(e.s.models["stock.picking"], map[string]any{
				"picking_type_id": wh["out_type_id"], "partner_id": so["partner_shipping_id"], "origin": so["name"],
				"sale_id": orderID, "scheduled_date": sched, "carrier_id": so["carrier_id"], "state": "confirmed",
			})
		}
		mid, _ := sub.create(e.s.models["stock.move"], map[string]any{
			"name": l["name"], "product_id": product, "product_uom_qty": need, "product_uom": e.get(lm, l, e.s.lineUoM()),
			"picking_id": picking, "sale_line_id": lid, "origin": so["name"], "partner_id": so["partner_shipping_id"], "state": "confirmed",
		})
		moves = append(moves, mid)
	}
	if picking != 0 {
		e.reserve(moves)
		e.updatePickingState(picking)
	}
}

// deliveryStatus is sale.order.delivery_status: false without deliveries,
// full when every delivery is done or cancelled, partial when some are
// done, started when something is picked, pending otherwise.
func (e *env) deliveryStatus(r record) any {
	var done, open, started int
	for _, p := range e.children("stock.picking", "sale_id", r["id"].(int)) {
		switch asString(e.rec("stock.picking", p)["state"]) {
		case "done":
			done++
		case "cancel":
		default:
			open++
			for _, mv := range e.children("stock.move", "picking_id", p) {
				if truthy(e.rec("stock.move", mv)["picked"]) {
					started++
				}
			}
		}
	}
	switch {
	case done == 0 && open == 0:
		return nil
	case open == 0:
		return "full"
	case done > 0:
		return "partial"
	case started > 0 && e.s.major >= 18:
		return "started"
	}
	return "pending"
}

func (e *env) orderInvoiceStatus(r record) any {
	if asString(r["state"]) != "sale" {
		return "no"
	}
	lines := e.children("sale.order.line", "order_id", r["id"].(int))
	allInvoiced := len(lines) > 0
	for _, lid := range lines {
		switch e.lineInvoiceStatus(e.rec("sale.order.line", lid)) {
		case "to invoice":
			return "to invoice"
		case "invoiced":
		default:
			allInvoiced = false
		}
	}
	if allInvoiced {
		return "invoiced"
	}
	return "no"
}

// orderInvoices returns the invoices holding lines of an order.
func (e *env) orderInvoices(orderID int) []int {
	var out []int
	for _, lid := range e.children("sale.order.line", "order_id", orderID) {
		for _, il := range e.invoiceLinesOf(lid) {
			mv := intOf(e.rec("account.move.line", il)["move_id"])
			if mv != 0 && !containsInt(out, mv) {
				out = append(out, mv)
			}
		}
	}
	return out
}

// invoiceLinesOf returns the invoice lines linked to a sale order line.
func (e *env) invoiceLinesOf(lineID int) []int {
	return e.table("account.move.line").referrers("sale_line_ids", lineID)
}

func (e *env) qtyDelivered(lineID int) float64 {
	var q float64
	for _, mv := range e.children("stock.move", "sale_line_id", lineID) {
		r := e.rec("stock.move", mv)
		if asString(r["state"]) != "done" {
			continue
		}
		if e.rec("stock.location", intOf(r["location_dest_id"]))["usage"] == "customer" {
			q += asFloat(r["quantity"])
		} else if e.rec("stock.location", intOf(r["location_id"]))["usage"] == "customer" {
			q -= asFloat(r["quantity"]) // returns
		}
	}
	return q
}

func (e *env) qtyInvoiced(lineID int) float64 {
	var q float64
	for _, il := range e.invoiceLinesOf(lineID) {
		l := e.rec("account.move.line", il)
		mv := e.rec("account.move", intOf(l["move_id"]))
		if mv == nil || asString(mv["state"]) == "cancel" {
			continue
		}
		sign := 1.0
		if asString(mv["move_type"]) == "out_refund" {
			sign = -1
		}
		q += sign * asFloat(l["quantity"])
	}
	return q
}

func (e *env) qtyToInvoice(l record) float64 {
	if asString(e.rec("sale.order", intOf(l["order_id"]))["state"]) != "sale" || l["display_type"] != nil {
		return 0
	}
	id := l["id"].(int)
	policy := "order"
	if p := e.rec("product.product", intOf(l["product_id"])); p != nil {
		policy = asString(e.get(e.s.models["product.product"], p, "invoice_policy"))
	}
	if policy == "delivery" {
		return e.qtyDelivered(id) - e.qtyInvoiced(id)
	}
	return asFloat(l["product_uom_qty"]) - e.qtyInvoiced(id)
}

func (e *env) lineInvoiceStatus(l record) string {
	if asString(e.rec("sale.order", intOf(l["order_id"]))["state"]) != "sale" {
		return "no"
	}
	if e.qtyToInvoice(l) > 0.00001 {
		return "to invoice"
	}
	if e.qtyInvoiced(l["id"].(int)) >= asFloat(l["product_uom_qty"]) && asFloat(l["product_uom_qty"]) > 0 {
		return "invoiced"
	}
	return "no"
}

func (s *Server) saleLineModel() *modelDef {
	m := newModel("sale.order.line", "Sales Order Line")
	m.order = "order_id, sequence, id"
	amount := func(which string) func(e *env, r record) any {
		return func(e *env, r record) any {
			st, tx := e.lineAmounts(asFloat(r["product_uom_qty"]), asFloat(r["price_unit"]), asFloat(r["discount"]), ids(r[e.s.lineTaxes()]))
			switch which {
			case "subtotal":
				return round2(st)
			case "tax":
				return round2(tx)
			}
			return round2(st.Add(tx))
		}
	}
	m.add(
		m2o("order_id", "sale.order").req().str("Order Reference"), integer("sequence").defaultValue(10),
		m2o("product_id", "product.product"), text("name").str("Description"),
		float("product_uom_qty").str("Quantity").defaultValue(1.0), m2o(s.lineUoM(), "uom.uom").str("Unit"),
		float("price_unit").str("Unit Price"), float("discount").str("Discount (%)"),
		m2m(s.lineTaxes(), "account.tax").str("Taxes"), float("customer_lead").str("Lead Time"),
		selection("display_type", "line_section", "line_note"),
		float("qty_delivered").computed(func(e *env, r record) any { return e.qtyDelivered(r["id"].(int)) }).str("Delivery Quantity"),
		float("qty_invoiced").computed(func(e *env, r record) any { return e.qtyInvoiced(r["id"].(int)) }).str("Invoiced Quantity"),
		float("qty_to_invoice").computed(func(e *env, r record) any { return e.qtyToInvoice(r) }).str("Quantity To Invoice"),
		monetary("price_subtotal").computed(amount("subtotal")).str("Subtotal"),
		monetary("price_tax").computed(amount("tax")).str("Total Tax"),
		monetary("price_total").computed(amount("total")).str("Total"),
		selection("invoice_status", "upselling", "invoiced", "to invoice", "no").computed(func(e *env, r record) any { return e.lineInvoiceStatus(r) }),
		selection("state", "draft", "sent", "sale", "cancel").computed(func(e *env, r record) any {
			return e.rec("sale.order", intOf(r["order_id"]))["state"]
		}),
		o2m("move_ids", "stock.move", "sale_line_id").str("Stock Moves"),
		m2m("invoice_lines", "account.move.line").computed(func(e *env, r record) any { return e.invoiceLinesOf(r["id"].(int)) }),
		m2o("order_partner_id", "res.partner").computed(func(e *env, r record) any {
			return e.rec("sale.order", intOf(r["order_id"]))["partner_id"]
		}),
		m2o("currency_id", "res.currency").defaultValue(1), m2o("company_id", "res.company").defaultValue(1),
	)
	m.displayName = func(e *env, r record) string {
		return asString(e.rec("sale.order", intOf(r["order_id"]))["name"]) + " - " + firstLine(asString(r["name"]))
	}
	m.readGroups = salesGroups
	m.writeGroups = salesGroups
	m.beforeCreate = func(e *env, vals map[string]any) error {
		order := e.rec("sale.order", intOf(normalizeID(vals["order_id"])))
		if order == nil {
			return nil
		}
		if st := asString(order["state"]); st == "cancel" {
			return userError("You cannot add lines to a cancelled order.")
		}
		pid := intOf(normalizeID(vals["product_id"]))
		p := e.rec("product.product", pid)
		if p == nil {
			if !truthy(vals["display_type"]) {
				return validationError("Missing required product and UoM on accountable sale order line.")
			}
			return nil
		}
		pm := e.s.models["product.product"]
		if !truthy(vals["name"]) {
			name := productName(e, p)
			if d := asString(e.get(pm, p, "description_sale")); d != "" {
				name += "\n" + d
			}
			vals["name"] = name
		}
		if !truthy(vals[e.s.lineUoM()]) {
			vals[e.s.lineUoM()] = e.get(pm, p, "uom_id")
		}
		if _, ok := vals[e.s.lineTaxes()]; !ok {
			vals[e.s.lineTaxes()] = intsToAny(ids(e.get(pm, p, "taxes_id")))
		}
		if _, ok := vals["customer_lead"]; !ok {
			vals["customer_lead"] = asFloat(e.get(pm, p, "sale_delay"))
		}
		if _, ok := vals["price_unit"]; !ok {
			qty := 1.0
			if q, ok := vals["product_uom_qty"]; ok {
				qty = asFloat(q)
			}
			price := e.price(intOf(order["pricelist_id"]), pid, qty, asString(order["date_order"]), 0)
			vals["price_unit"] = floatOf(price)
			vals["__auto_price"] = true
		}
		return nil
	}
	m.fields["__auto_price"] = &field{name: "__auto_price", kind: tBool}
	m.afterCreate = func(e *env, id int) error {
		l := e.rec("sale.order.line", id)
		order := intOf(l["order_id"])
		if asString(e.rec("sale.order", order)["state"]) == "sale" {
			e.procure(order, []int{id})
		}
		e.touch("sale.order", order)
		return nil
	}
	m.afterWrite = func(e *env, lineIDs []int, vals map[string]any) error {
		for _, id := range lineIDs {
			l := e.mut("sale.order.line", id)
			order := e.rec("sale.order", intOf(l["order_id"]))
			if _, qty := vals["product_uom_qty"]; qty {
				if _, price := vals["price_unit"]; !price && truthy(l["__auto_price"]) && e.qtyInvoiced(id) == 0 {
					l["price_unit"] = floatOf(e.price(intOf(order["pricelist_id"]), intOf(l["product_id"]), asFloat(l["product_uom_qty"]), asString(order["date_order"]), 0))
				}
				if asString(order["state"]) == "sale" {
					e.procure(intOf(l["order_id"]), []int{id})
				}
			}
			if _, price := vals["price_unit"]; price {
				l["__auto_price"] = false
			}
			e.touch("sale.order", intOf(l["order_id"]))
		}
		return nil
	}
	return m
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}

func (s *Server) advancePaymentModel() *modelDef {
	m := newModel("sale.advance.payment.inv", "Sales Advance Payment Invoice")
	m.transient = true
	m.add(selection("advance_payment_method", "delivered", "percentage", "fixed").str("Create Invoice").defaultValue("delivered"),
		m2m("sale_order_ids", "sale.order").withDefault(func(e *env) any {
			if asString(e.ctx["active_model"]) == "sale.order" {
				ids, _ := asIDs(e.ctx["active_ids"])
				return ids
			}
			return []int{}
		}),
		float("amount").str("Down Payment"), monetary("fixed_amount"), boolean("consolidated_billing").defaultValue(true),
		integer("count").computed(func(e *env, r record) any { return len(ids(r["sale_order_ids"])) }))
	m.readGroups = salesGroups
	m.writeGroups = salesGroups
	m.recordAction("create_invoices", createInvoices)
	return m
}

// createInvoices is sale.advance.payment.inv.create_invoices for
// "delivered" (regular) invoices: one draft invoice per order with its
// invoiceable quantities. It returns None (a Fault over XML-RPC, after the
// commit). Down payments are not simulated.
func createInvoices(c *call) (any, error) {
	var orders []int
	for _, id := range c.ids {
		w := c.rec(c.m.name, id)
		if asString(w["advance_payment_method"]) != "delivered" {
			return nil, userError("The simulator does not support down payment invoices (advance_payment_method %s).", pyRepr(w["advance_payment_method"]))
		}
		orders = append(orders, ids(w["sale_order_ids"])...)
	}
	if len(orders) == 0 {
		orders, _ = asIDs(c.ctx["active_ids"])
	}
	lm := c.s.models["sale.order.line"]
	created := 0
	for _, oid := range uniqueInts(orders) {
		so := c.rec("sale.order", oid)
		if so == nil {
			return nil, missingError("sale.order", []int{oid}, c.uid)
		}
		var lines []any
		for _, lid := range c.children("sale.order.line", "order_id", oid) {
			l := c.rec("sale.order.line", lid)
			q := c.qtyToInvoice(l)
			if q <= 0.00001 {
				continue
			}
			lines = append(lines, []any{0, 0, map[string]any{
				"product_id": l["product_id"], "name": l["name"], "quantity": q, "price_unit": l["price_unit"],
				"discount": l["discount"], "tax_ids": intsToAny(ids(c.get(lm, l, c.s.lineTaxes()))),
				"product_uom_id": c.get(lm, l, c.s.lineUoM()), "sale_line_ids": []any{[]any{6, 0, []any{lid}}},
			}})
		}
		if len(lines) == 0 {
			continue
		}
		sub := *c.env
		sub.uid = 1
		sub.ctx = map[string]any{}
		if _, err := sub.create(c.s.models["account.move"], map[string]any{
			"move_type": "out_invoice", "partner_id": so["partner_invoice_id"], "partner_shipping_id": so["partner_shipping_id"],
			"invoice_origin": so["name"], "ref": so["client_order_ref"], "invoice_user_id": so["user_id"],
			"invoice_payment_term_id": so["payment_term_id"],
			"invoice_line_ids":        lines,
		}); err != nil {
			return nil, err
		}
		created++
		c.touch("sale.order", oid)
	}
	if created == 0 {
		return nil, userError("There is no invoiceable line. If a product has a Delivered quantities invoicing policy, please make sure that a quantity has been delivered.")
	}
	return nil, nil
}
