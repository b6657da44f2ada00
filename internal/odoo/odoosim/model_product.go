package odoosim

import (
	"math"
	"sort"

	"github.com/shopspring/decimal"
)

// productTypes returns the type selection and whether is_storable exists:
// 17.0 has type/detailed_type 'product' for storable goods; 18.0 and 19.0
// have type 'consu' with is_storable.
func (s *Server) productTypes() []string {
	if s.major == 17 {
		return []string{"consu", "service", "product"}
	}
	return []string{"consu", "service", "combo"}
}

// templateFields are stored on product.template and read through
// product_tmpl_id on product.product.
func (s *Server) templateFields() []*field {
	fs := []*field{
		char("name").req(), char("default_code").str("Internal Reference"), char("barcode"),
		selection("type", s.productTypes()...).str("Product Type").defaultValue("consu"),
		float("list_price").str("Sales Price").defaultValue(1.0), float("standard_price").str("Cost"),
		m2o("uom_id", "uom.uom").str("Unit").defaultValue(1), m2o("categ_id", "product.category").defaultValue(1),
		boolean("sale_ok").defaultValue(true), boolean("purchase_ok").defaultValue(true),
		m2m("taxes_id", "account.tax").str("Sales Taxes").withDefault(func(e *env) any { return e.defaultSaleTaxes() }),
		m2m("supplier_taxes_id", "account.tax").str("Purchase Taxes"),
		selection("invoice_policy", "order", "delivery").str("Invoicing Policy").defaultValue("order"),
		text("description_sale"), float("weight"), integer("sale_delay").str("Customer Lead Time"),
	}
	if s.major == 17 {
		fs = append(fs, selection("detailed_type", s.productTypes()...).str("Product Type").defaultValue("consu"))
	} else {
		fs = append(fs, boolean("is_storable").str("Track Inventory"))
	}
	if s.major < 19 {
		fs = append(fs, m2o("uom_po_id", "uom.uom").str("Purchase Unit").defaultValue(1))
	}
	return fs
}

func (s *Server) templateModel() *modelDef {
	m := newModel("product.template", "Product")
	m.order = "is_favorite desc, name, id"
	m.add(s.templateFields()...)
	m.add(boolean("active").defaultValue(true), boolean("is_favorite"),
		o2m("product_variant_ids", "product.product", "product_tmpl_id").str("Products"),
		m2o("product_variant_id", "product.product").computed(func(e *env, r record) any {
			if ids := e.children("product.product", "product_tmpl_id", r["id"].(int)); len(ids) > 0 {
				return ids[0]
			}
			return nil
		}),
		float("qty_available").computed(func(e *env, r record) any { return e.templateQty(r, "qty_available") }).str("Quantity On Hand"),
		float("virtual_available").computed(func(e *env, r record) any { return e.templateQty(r, "virtual_available") }).str("Forecasted Quantity"),
	)
	m.displayName = productName
	m.writeGroups = append(append(append([]string{}, salesGroups...), stockGroups...), purchaseGroups...)
	m.beforeCreate = func(e *env, vals map[string]any) error { return e.s.syncProductType(vals) }
	m.afterCreate = func(e *env, id int) error {
		if truthy(e.ctx["__no_variant"]) {
			return nil
		}
		_, err := e.create(e.s.models["product.product"], map[string]any{"product_tmpl_id": id})
		return err
	}
	m.afterWrite = func(e *env, ids []int, vals map[string]any) error { return nil }
	return m
}

// syncProductType keeps 17.0's type and detailed_type equal.
func (s *Server) syncProductType(vals map[string]any) error {
	if s.major != 17 {
		return nil
	}
	if v, ok := vals["detailed_type"]; ok {
		vals["type"] = v
	} else if v, ok := vals["type"]; ok {
		vals["detailed_type"] = v
	}
	return nil
}

func productName(e *env, r record) string {
	m := e.s.models["product.template"]
	tr := r
	if tid, ok := r["product_tmpl_id"].(int); ok {
		tr = e.rec("product.template", tid)
	}
	if tr == nil {
		return ""
	}
	name := asString(tr["name"])
	if code := asString(e.get(m, tr, "default_code")); code != "" {
		return "[" + code + "] " + name
	}
	return name
}

func (s *Server) productModel() *modelDef {
	m := newModel("product.product", "Product Variant")
	m.order = "default_code, name, id"
	m.add(m2o("product_tmpl_id", "product.template").req().str("Product Template"), boolean("active").defaultValue(true))
	for _, f := range s.templateFields() {
		f.delegate = "product_tmpl_id"
		f.required = false
		f.def = nil
		m.add(f)
	}
	m.add(
		float("lst_price").str("Sales Price").computed(func(e *env, r record) any {
			return e.get(e.s.models["product.product"], r, "list_price")
		}),
		float("qty_available").computed(func(e *env, r record) any { return e.productQty(r["id"].(int), "qty_available") }).str("Quantity On Hand"),
		float("virtual_available").computed(func(e *env, r record) any { return e.productQty(r["id"].(int), "virtual_available") }).str("Forecasted Quantity"),
		float("free_qty").computed(func(e *env, r record) any { return e.productQty(r["id"].(int), "free_qty") }).str("Free To Use Quantity"),
		float("incoming_qty").computed(func(e *env, r record) any { return e.productQty(r["id"].(int), "incoming_qty") }).str("Incoming"),
		float("outgoing_qty").computed(func(e *env, r record) any { return e.productQty(r["id"].(int), "outgoing_qty") }).str("Outgoing"),
	)
	m.displayName = productName
	m.writeGroups = append(append(append([]string{}, salesGroups...), stockGroups...), purchaseGroups...)
	m.beforeCreate = func(e *env, vals map[string]any) error {
		if truthy(vals["product_tmpl_id"]) {
			return nil
		}
		tvals := map[string]any{}
		for name, f := range m.fields {
			if v, ok := vals[name]; ok && f.delegate != "" {
				tvals[name] = v
				delete(vals, name)
			}
		}
		sub := *e
		sub.ctx = cloneVals(e.ctx)
		sub.ctx["__no_variant"] = true
		tid, err := sub.create(e.s.models["product.template"], tvals)
		if err != nil {
			return err
		}
		vals["product_tmpl_id"] = tid
		return nil
	}
	return m
}

// isStorable reports whether a product's stock is tracked.
func (e *env) isStorable(productID int) bool {
	m := e.s.models["product.product"]
	r := e.rec("product.product", productID)
	if r == nil {
		return false
	}
	if e.s.major == 17 {
		return asString(e.get(m, r, "type")) == "product"
	}
	return truthy(e.get(m, r, "is_storable"))
}

// isGoods reports whether a product moves through stock (not a service).
func (e *env) isGoods(productID int) bool {
	m := e.s.models["product.product"]
	r := e.rec("product.product", productID)
	if r == nil {
		return false
	}
	t := asString(e.get(m, r, "type"))
	return t == "consu" || t == "product"
}

// internalLocations returns the internal locations the context selects
// (context location or warehouse, else every internal location).
func (e *env) internalLocations() []int {
	var root int
	if id, ok := asInt(e.ctx["location"]); ok {
		root = id
	} else if id, ok := asInt(e.ctx["warehouse"]); ok {
		if wh := e.rec("stock.warehouse", id); wh != nil {
			root, _ = wh["view_location_id"].(int)
		}
	} else if id, ok := asInt(e.ctx["warehouse_id"]); ok {
		if wh := e.rec("stock.warehouse", id); wh != nil {
			root, _ = wh["view_location_id"].(int)
		}
	}
	t := e.table("stock.location")
	var out []int
	for _, id := range sortedKeys(t.recs) {
		r := t.recs[id]
		if asString(r["usage"]) != "internal" {
			continue
		}
		if root == 0 || e.locationUnder(id, root) {
			out = append(out, id)
		}
	}
	return out
}

func (e *env) locationUnder(id, root int) bool {
	for cur, depth := id, 0; cur != 0 && depth < 32; depth++ {
		if cur == root {
			return true
		}
		r := e.rec("stock.location", cur)
		if r == nil {
			return false
		}
		cur, _ = r["location_id"].(int)
	}
	return false
}

func (e *env) isInternal(loc int) bool {
	r := e.rec("stock.location", loc)
	return r != nil && asString(r["usage"]) == "internal"
}

// qtySums are the stock figures of a product the quantity fields derive from.
type qtySums struct{ onHand, reserved, incoming, outgoing float64 }

// productQty computes one of the stock quantity fields of a variant. A read-only call reading
// several of them (qty_available, virtual_available, free_qty) sums the product's quants and
// moves once.
func (e *env) productQty(productID int, which string) float64 {
	sums, ok := e.qty[productID]
	if !ok {
		sums = e.stockSums(productID)
		if e.readOnly {
			if e.qty == nil {
				e.qty = map[int]qtySums{}
			}
			e.qty[productID] = sums
		}
	}
	switch which {
	case "qty_available":
		return sums.onHand
	case "free_qty":
		return sums.onHand - sums.reserved
	case "incoming_qty":
		return sums.incoming
	case "outgoing_qty":
		return sums.outgoing
	}
	return sums.onHand + sums.incoming - sums.outgoing
}

func (e *env) stockSums(productID int) qtySums {
	locs := e.internalLocations()
	in := func(loc int) bool { return containsInt(locs, loc) }
	var q qtySums
	qt := e.table("stock.quant")
	for _, id := range qt.referrers("product_id", productID) {
		r := qt.recs[id]
		if in(intOf(r["location_id"])) {
			q.onHand += asFloat(r["quantity"])
		}
	}
	mt := e.table("stock.move")
	for _, id := range mt.referrers("product_id", productID) {
		mv := mt.recs[id]
		state := asString(mv["state"])
		if state == "done" || state == "cancel" || state == "draft" {
			continue
		}
		src, dst := in(intOf(mv["location_id"])), in(intOf(mv["location_dest_id"]))
		qty := asFloat(mv["product_uom_qty"])
		if src && !dst {
			q.outgoing += qty
			q.reserved += asFloat(mv["quantity"])
		}
		if dst && !src {
			q.incoming += qty
		}
	}
	return q
}

func (e *env) templateQty(r record, which string) float64 {
	var sum float64
	for _, pid := range e.children("product.product", "product_tmpl_id", r["id"].(int)) {
		sum += e.productQty(pid, which)
	}
	return sum
}

func intOf(v any) int {
	i, _ := v.(int)
	return i
}

func (s *Server) pricelistModel() *modelDef {
	m := newModel("product.pricelist", "Pricelist")
	m.order = "sequence, id"
	m.add(char("name").req(), integer("sequence").defaultValue(16), boolean("active").defaultValue(true),
		m2o("currency_id", "res.currency").defaultValue(1), m2o("company_id", "res.company"),
		o2m("item_ids", "product.pricelist.item", "pricelist_id").str("Pricelist Rules"))
	m.displayName = func(e *env, r record) string {
		if cur := e.rec("res.currency", intOf(r["currency_id"])); cur != nil {
			return asString(r["name"]) + " (" + asString(cur["name"]) + ")"
		}
		return asString(r["name"])
	}
	m.writeGroups = []string{GroupSaleManager}
	return m
}

func (s *Server) pricelistItemModel() *modelDef {
	m := newModel("product.pricelist.item", "Pricelist Rule")
	m.order = "applied_on, min_quantity desc, categ_id desc, id desc"
	m.add(m2o("pricelist_id", "product.pricelist").req(),
		selection("applied_on", "3_global", "2_product_category", "1_product", "0_product_variant").str("Apply On").defaultValue("3_global"),
		m2o("product_tmpl_id", "product.template"), m2o("product_id", "product.product"), m2o("categ_id", "product.category"),
		float("min_quantity"), datetime("date_start"), datetime("date_end"),
		selection("compute_price", "fixed", "percentage", "formula").defaultValue("fixed"),
		float("fixed_price"), float("percent_price"),
		selection("base", "list_price", "standard_price", "pricelist").defaultValue("list_price"),
		m2o("base_pricelist_id", "product.pricelist"), float("price_discount"), float("price_surcharge"),
		float("price_round"), float("price_min_margin"), float("price_max_margin"))
	m.displayName = func(e *env, r record) string { return "Pricelist Rule" }
	m.writeGroups = []string{GroupSaleManager}
	m.beforeCreate = func(e *env, vals map[string]any) error {
		// Odoo infers applied_on from the product given.
		if _, ok := vals["applied_on"]; !ok {
			switch {
			case truthy(vals["product_id"]):
				vals["applied_on"] = "0_product_variant"
			case truthy(vals["product_tmpl_id"]):
				vals["applied_on"] = "1_product"
			case truthy(vals["categ_id"]):
				vals["applied_on"] = "2_product_category"
			}
		}
		return nil
	}
	return m
}

// price computes the unit price of a product in a pricelist for a
// quantity on a date ("YYYY-MM-DD HH:MM:SS"), as _compute_price_rule does:
// the first applicable rule in the rules' order wins, else the sales price.
func (e *env) price(pricelistID, productID int, qty float64, when string, depth int) decimal.Decimal {
	pm := e.s.models["product.product"]
	p := e.rec("product.product", productID)
	if p == nil {
		return decimal.Zero
	}
	list := asDecimal(e.get(pm, p, "list_price"))
	if pricelistID == 0 || depth > 5 {
		return list
	}
	tmpl := intOf(p["product_tmpl_id"])
	categ := intOf(e.get(pm, p, "categ_id"))
	t := e.table("product.pricelist.item")
	var rules []int
	for _, id := range sortedKeys(t.recs) {
		if intOf(t.recs[id]["pricelist_id"]) == pricelistID {
			rules = append(rules, id)
		}
	}
	e.sortIDs(t.def, rules, t.def.order)
	for _, id := range rules {
		r := t.recs[id]
		switch asString(r["applied_on"]) {
		case "0_product_variant":
			if intOf(r["product_id"]) != productID {
				continue
			}
		case "1_product":
			if intOf(r["product_tmpl_id"]) != tmpl {
				continue
			}
		case "2_product_category":
			if intOf(r["categ_id"]) != categ {
				continue
			}
		}
		if qty < asFloat(r["min_quantity"]) {
			continue
		}
		if ds := asString(r["date_start"]); ds != "" && when < ds {
			continue
		}
		if de := asString(r["date_end"]); de != "" && when > de {
			continue
		}
		return e.applyRule(r, p, list, qty, when, depth)
	}
	return list
}

func (e *env) applyRule(r, p record, list decimal.Decimal, qty float64, when string, depth int) decimal.Decimal {
	pm := e.s.models["product.product"]
	hundred := decimal.NewFromInt(100)
	switch asString(r["compute_price"]) {
	case "fixed":
		return asDecimal(r["fixed_price"])
	case "percentage":
		return list.Mul(hundred.Sub(asDecimal(r["percent_price"]))).Div(hundred)
	}
	base := list
	switch asString(r["base"]) {
	case "standard_price":
		base = asDecimal(e.get(pm, p, "standard_price"))
	case "pricelist":
		base = e.price(intOf(r["base_pricelist_id"]), intOf(p["id"]), qty, when, depth+1)
	}
	price := base.Mul(hundred.Sub(asDecimal(r["price_discount"]))).Div(hundred)
	if step := asFloat(r["price_round"]); step > 0 {
		f := floatOf(price)
		price = dec(math.Round(f/step) * step)
	}
	price = price.Add(asDecimal(r["price_surcharge"]))
	if minM := asDecimal(r["price_min_margin"]); minM.IsPositive() {
		price = decimal.Max(price, base.Add(minM))
	}
	if maxM := asDecimal(r["price_max_margin"]); maxM.IsPositive() {
		price = decimal.Min(price, base.Add(maxM))
	}
	return price
}

var _ = sort.Ints
