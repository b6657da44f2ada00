package odoosim

import (
	"fmt"
	"math"
	"sort"
)

func (s *Server) locationModel() *modelDef {
	m := newModel("stock.location", "Inventory Locations")
	m.order = "complete_name, id"
	m.add(char("name").req(), m2o("location_id", "stock.location").str("Parent Location"),
		selection("usage", "supplier", "view", "internal", "customer", "inventory", "production", "transit").defaultValue("internal"),
		boolean("active").defaultValue(true), m2o("company_id", "res.company").defaultValue(1),
		char("complete_name").computed(func(e *env, r record) any { return locationName(e, r) }))
	m.displayName = func(e *env, r record) string { return locationName(e, r) }
	m.writeGroups = []string{GroupStockManager}
	return m
}

// locationName is stock.location.complete_name: the parent's complete name
// and the location's own, except below view locations without parent.
func locationName(e *env, r record) string {
	name := asString(r["name"])
	if p := e.rec("stock.location", intOf(r["location_id"])); p != nil && asString(r["usage"]) != "view" {
		return locationName(e, p) + "/" + name
	}
	return name
}

func (s *Server) warehouseModel() *modelDef {
	m := newModel("stock.warehouse", "Warehouse")
	m.add(char("name").req(), char("code").str("Short Name"), m2o("lot_stock_id", "stock.location").str("Location Stock"),
		m2o("view_location_id", "stock.location"), m2o("in_type_id", "stock.picking.type"), m2o("out_type_id", "stock.picking.type"),
		m2o("partner_id", "res.partner").str("Address").defaultValue(1), m2o("company_id", "res.company").defaultValue(1),
		boolean("active").defaultValue(true))
	m.writeGroups = []string{GroupStockManager}
	return m
}

func (s *Server) pickingTypeModel() *modelDef {
	m := newModel("stock.picking.type", "Operation Type")
	m.add(char("name").req(), selection("code", "incoming", "outgoing", "internal").str("Type of Operation"),
		char("sequence_code"), m2o("warehouse_id", "stock.warehouse"),
		m2o("default_location_src_id", "stock.location"), m2o("default_location_dest_id", "stock.location"),
		selection("create_backorder", "ask", "always", "never").defaultValue("ask"), boolean("active").defaultValue(true),
		m2o("return_picking_type_id", "stock.picking.type").str("Operation Type for Returns"))
	m.displayName = func(e *env, r record) string {
		if wh := e.rec("stock.warehouse", intOf(r["warehouse_id"])); wh != nil {
			return asString(wh["name"]) + ": " + asString(r["name"])
		}
		return asString(r["name"])
	}
	m.writeGroups = []string{GroupStockManager}
	return m
}

func (s *Server) quantModel() *modelDef {
	m := newModel("stock.quant", "Quants")
	m.add(m2o("product_id", "product.product").req(), m2o("location_id", "stock.location").req(),
		float("quantity"), float("inventory_quantity").str("Counted Quantity"), boolean("inventory_quantity_set"),
		float("inventory_diff_quantity").computed(func(e *env, r record) any {
			if !truthy(r["inventory_quantity_set"]) {
				return 0.0
			}
			return asFloat(r["inventory_quantity"]) - asFloat(r["quantity"])
		}),
		float("reserved_quantity").computed(func(e *env, r record) any { return e.reservedAt(intOf(r["product_id"]), intOf(r["location_id"])) }),
		float("available_quantity").computed(func(e *env, r record) any {
			return asFloat(r["quantity"]) - e.reservedAt(intOf(r["product_id"]), intOf(r["location_id"]))
		}),
		m2o("company_id", "res.company").defaultValue(1), date("in_date"))
	m.displayName = func(e *env, r record) string {
		return productName(e, e.rec("product.product", intOf(r["product_id"])))
	}
	m.readGroups = stockReaders
	m.writeGroups = stockGroups
	m.addMethod(&method{name: "create", modelLevel: true, write: true, params: []param{{name: "vals_list", required: true}}, fn: quantCreate})
	m.recordAction("action_apply_inventory", quantApplyInventory)
	return m
}

// quantCreate is stock.quant.create: in inventory mode (context
// inventory_mode) a count for a product and location that already have a
// quant is written on that quant, whose id is returned.
func quantCreate(c *call) (any, error) {
	one := false
	list, ok := c.arg("vals_list").([]any)
	if !ok {
		v, isMap := c.arg("vals_list").(map[string]any)
		if !isMap {
			return nil, valueError("create() expects a dictionary or a list of dictionaries")
		}
		list, one = []any{v}, true
	}
	inventory := truthy(c.ctx["inventory_mode"])
	var ids []any
	for _, x := range list {
		vals, _ := x.(map[string]any)
		vals = cloneVals(vals)
		if inventory {
			if _, ok := vals["inventory_quantity"]; ok {
				vals["inventory_quantity_set"] = true
				if q := c.findQuant(intOf(normalizeID(vals["product_id"])), intOf(normalizeID(vals["location_id"]))); q != 0 {
					if err := c.write(c.m, []int{q}, map[string]any{"inventory_quantity": vals["inventory_quantity"], "inventory_quantity_set": true}); err != nil {
						return nil, err
					}
					ids = append(ids, q)
					continue
				}
			}
		}
		id, err := c.create(c.m, vals)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if one {
		return ids[0], nil
	}
	return ids, nil
}

func normalizeID(v any) any {
	i, _ := asInt(v)
	return i
}

func (e *env) findQuant(product, loc int) int {
	t := e.table("stock.quant")
	for _, id := range t.referrers("product_id", product) {
		q := t.recs[id]
		if intOf(q["location_id"]) == loc {
			return id
		}
	}
	return 0
}

// quantApplyInventory applies counted quantities. It returns None, which
// XML-RPC cannot marshal: the client gets a Fault after the commit.
func quantApplyInventory(c *call) (any, error) {
	var products []int
	for _, id := range c.ids {
		q := c.mut("stock.quant", id)
		if !truthy(q["inventory_quantity_set"]) {
			continue
		}
		q["quantity"] = asFloat(q["inventory_quantity"])
		q["inventory_quantity"] = 0.0
		q["inventory_quantity_set"] = false
		q["in_date"] = formatDate(c.now)
		c.touch("stock.quant", id)
		products = append(products, intOf(q["product_id"]))
	}
	c.triggerAssign(products)
	return nil, nil
}

// adjustQuant adds delta to the quant of a storable product at an internal
// location, creating the quant when needed.
func (e *env) adjustQuant(product, loc int, delta float64) {
	if delta == 0 || !e.isInternal(loc) || !e.isStorable(product) {
		return
	}
	if q := e.findQuant(product, loc); q != 0 {
		r := e.mut("stock.quant", q)
		r["quantity"] = asFloat(r["quantity"]) + delta
		return
	}
	sub := *e
	sub.uid = 1
	sub.ctx = map[string]any{}
	sub.create(e.s.models["stock.quant"], map[string]any{"product_id": product, "location_id": loc, "quantity": delta, "in_date": formatDate(e.now)})
}

func (e *env) onHandAt(product, loc int) float64 {
	if q := e.findQuant(product, loc); q != 0 {
		return asFloat(e.rec("stock.quant", q)["quantity"])
	}
	return 0
}

func (s *Server) pickingModel() *modelDef {
	m := newModel("stock.picking", "Transfer")
	m.order = "priority desc, scheduled_date asc, id desc"
	m.notify = true
	m.add(char("name").str("Reference").defaultValue("/"), char("origin").str("Source Document"), m2o("partner_id", "res.partner").str("Contact"),
		m2o("picking_type_id", "stock.picking.type").req().str("Operation Type"),
		m2o("location_id", "stock.location").str("Source Location"), m2o("location_dest_id", "stock.location").str("Destination Location"),
		selection("state", "draft", "waiting", "confirmed", "assigned", "done", "cancel").str("Status").defaultValue("draft"),
		selection("priority", "0", "1").defaultValue("0"),
		datetime("scheduled_date").withDefault(func(e *env) any { return formatDatetime(e.now) }), datetime("date_deadline"),
		datetime("date_done").str("Date of Transfer"), datetime("date").withDefault(func(e *env) any { return formatDatetime(e.now) }),
		o2m("move_ids", "stock.move", "picking_id").str("Stock Moves"),
		o2m("move_line_ids", "stock.move.line", "picking_id").str("Operations"),
		m2o("sale_id", "sale.order").str("Sales Order"), m2o("purchase_id", "purchase.order").str("Purchase Order"),
		m2o("backorder_id", "stock.picking").str("Back Order of"), o2m("backorder_ids", "stock.picking", "backorder_id").str("Back Orders"),
		m2o("return_id", "stock.picking").str("Return of"), o2m("return_ids", "stock.picking", "return_id").str("Returns"),
		m2o("carrier_id", "delivery.carrier"), char("carrier_tracking_ref").str("Tracking Reference"),
		selection("move_type", "direct", "one").str("Shipping Policy").defaultValue("direct"),
		m2o("company_id", "res.company").defaultValue(1), m2o("user_id", "res.users").str("Responsible"), text("note"),
		selection("picking_type_code", "incoming", "outgoing", "internal").computed(func(e *env, r record) any {
			if t := e.rec("stock.picking.type", intOf(r["picking_type_id"])); t != nil {
				return t["code"]
			}
			return nil
		}),
		float("shipping_weight"),
	)
	if s.major < 19 {
		m.add(o2m("move_ids_without_package", "stock.move", "picking_id").str("Stock Moves"))
	}
	m.readGroups = stockReaders
	m.writeGroups = stockReaders
	m.beforeCreate = func(e *env, vals map[string]any) error {
		pt := e.rec("stock.picking.type", intOf(normalizeID(vals["picking_type_id"])))
		if pt == nil {
			return nil
		}
		if !truthy(vals["location_id"]) {
			vals["location_id"] = pt["default_location_src_id"]
		}
		if !truthy(vals["location_dest_id"]) {
			vals["location_dest_id"] = pt["default_location_dest_id"]
		}
		if !truthy(vals["name"]) || vals["name"] == "/" {
			vals["name"] = e.pickingName(pt)
		}
		return nil
	}
	m.recordAction("button_validate", pickingValidate)
	m.recordAction("action_assign", func(c *call) (any, error) {
		for _, id := range c.ids {
			c.reserve(c.children("stock.move", "picking_id", id))
			c.updatePickingState(id)
		}
		return true, nil
	})
	m.recordAction("action_confirm", func(c *call) (any, error) {
		for _, id := range c.ids {
			for _, mv := range c.children("stock.move", "picking_id", id) {
				if r := c.mut("stock.move", mv); asString(r["state"]) == "draft" {
					r["state"] = "confirmed"
				}
			}
			c.reserve(c.children("stock.move", "picking_id", id))
			c.updatePickingState(id)
		}
		return true, nil
	})
	m.recordAction("action_cancel", func(c *call) (any, error) {
		for _, id := range c.ids {
			c.cancelPicking(id)
		}
		return true, nil
	})
	return m
}

func (e *env) pickingName(pt record) string {
	code := asString(pt["sequence_code"])
	wh := "WH"
	if w := e.rec("stock.warehouse", intOf(pt["warehouse_id"])); w != nil {
		wh = asString(w["code"])
	}
	return fmt.Sprintf("%s/%s/%05d", wh, code, e.nextSeq("picking."+wh+"."+code))
}

func (s *Server) moveModel() *modelDef {
	m := newModel("stock.move", "Stock Move")
	m.order = "sequence, id"
	m.add(char("name").str("Description"), integer("sequence").defaultValue(10), m2o("product_id", "product.product").req(),
		float("product_uom_qty").str("Demand").defaultValue(0.0), float("quantity"), boolean("picked"),
		m2o("product_uom", "uom.uom").str("Unit").defaultValue(1),
		m2o("location_id", "stock.location").req().str("Source Location"), m2o("location_dest_id", "stock.location").req().str("Destination Location"),
		m2o("picking_id", "stock.picking").str("Transfer"), m2o("picking_type_id", "stock.picking.type"),
		selection("state", "draft", "waiting", "confirmed", "partially_available", "assigned", "done", "cancel").str("Status").defaultValue("draft"),
		m2o("sale_line_id", "sale.order.line"), m2o("purchase_line_id", "purchase.order.line"), char("origin"),
		m2o("origin_returned_move_id", "stock.move").str("Origin return move"),
		o2m("returned_move_ids", "stock.move", "origin_returned_move_id").str("All returned moves"),
		o2m("move_line_ids", "stock.move.line", "move_id").str("Operations"),
		datetime("date").withDefault(func(e *env) any { return formatDatetime(e.now) }), m2o("partner_id", "res.partner"),
		m2o("company_id", "res.company").defaultValue(1),
		char("reference").computed(func(e *env, r record) any {
			if p := e.rec("stock.picking", intOf(r["picking_id"])); p != nil {
				return p["name"]
			}
			return r["name"]
		}),
	)
	m.readGroups = stockReaders
	m.writeGroups = stockReaders
	m.beforeCreate = func(e *env, vals map[string]any) error {
		if p := e.rec("stock.picking", intOf(normalizeID(vals["picking_id"]))); p != nil {
			for _, f := range []string{"location_id", "location_dest_id", "picking_type_id"} {
				if !truthy(vals[f]) {
					vals[f] = p[f]
				}
			}
			if asString(p["state"]) != "draft" && !truthy(vals["state"]) {
				vals["state"] = "confirmed"
			}
		}
		if !truthy(vals["name"]) {
			vals["name"] = productName(e, e.rec("product.product", intOf(normalizeID(vals["product_id"]))))
		}
		return nil
	}
	m.afterWrite = func(e *env, ids []int, vals map[string]any) error {
		// Setting a quantity by hand marks a reserved move as assigned or
		// partially available, as the form does.
		_, q := vals["quantity"]
		_, p := vals["picked"]
		if !q && !p {
			return nil
		}
		for _, id := range ids {
			e.moveStateFromQuantity(id)
			e.syncMoveLine(id)
		}
		return nil
	}
	return m
}

// moveStateFromQuantity sets an open move's state from its quantity and
// its picking's state from its moves.
func (e *env) moveStateFromQuantity(id int) {
	r := e.mut("stock.move", id)
	st := asString(r["state"])
	if st == "done" || st == "cancel" || st == "draft" {
		return
	}
	q, d := asFloat(r["quantity"]), asFloat(r["product_uom_qty"])
	switch {
	case q >= d && d > 0:
		r["state"] = "assigned"
	case q > 0:
		r["state"] = "partially_available"
	default:
		r["state"] = "confirmed"
	}
	if pid := intOf(r["picking_id"]); pid != 0 {
		e.updatePickingState(pid)
	}
}

// reserve reserves stock for confirmed or partially available moves, in
// order, from the quants at each move's source location.
func (e *env) reserve(moveIDs []int) {
	for _, id := range moveIDs {
		mv := e.rec("stock.move", id)
		st := asString(mv["state"])
		if st != "confirmed" && st != "partially_available" && st != "waiting" {
			continue
		}
		mv = e.mut("stock.move", id)
		product, loc := intOf(mv["product_id"]), intOf(mv["location_id"])
		demand, have := asFloat(mv["product_uom_qty"]), asFloat(mv["quantity"])
		if !e.isInternal(loc) || !e.isStorable(product) {
			mv["quantity"] = demand
			mv["state"] = "assigned"
			e.syncMoveLine(id)
			continue
		}
		free := e.onHandAt(product, loc) - e.reservedAt(product, loc)
		take := math.Max(0, math.Min(free, demand-have))
		mv["quantity"] = have + take
		switch {
		case have+take >= demand:
			mv["state"] = "assigned"
		case have+take > 0:
			mv["state"] = "partially_available"
		default:
			mv["state"] = "confirmed"
		}
		e.syncMoveLine(id)
	}
}

// triggerAssign reserves waiting outgoing moves of products whose stock
// grew, as Odoo's _trigger_assign does after a move or an inventory.
func (e *env) triggerAssign(products []int) {
	if len(products) == 0 {
		return
	}
	t := e.table("stock.move")
	var ids []int
	pickings := map[int]bool{}
	var candidates []int
	for _, p := range uniqueInts(products) {
		candidates = append(candidates, t.referrers("product_id", p)...)
	}
	sort.Ints(candidates)
	for _, id := range candidates {
		mv := t.recs[id]
		st := asString(mv["state"])
		if st == "confirmed" || st == "partially_available" {
			ids = append(ids, id)
			if p := intOf(mv["picking_id"]); p != 0 {
				pickings[p] = true
			}
		}
	}
	e.reserve(ids)
	for _, p := range sortedKeys(pickings) {
		e.updatePickingState(p)
		e.touchOrigin(p)
	}
}

// updatePickingState computes a picking's state from its moves (shipping
// policy "as soon as possible": assigned when anything is reserved).
func (e *env) updatePickingState(id int) {
	p := e.mut("stock.picking", id)
	moves := e.children("stock.move", "picking_id", id)
	if len(moves) == 0 {
		return
	}
	all := func(states ...string) bool {
		for _, mid := range moves {
			st := asString(e.rec("stock.move", mid)["state"])
			ok := false
			for _, s := range states {
				ok = ok || st == s
			}
			if !ok {
				return false
			}
		}
		return true
	}
	any := func(states ...string) bool {
		for _, mid := range moves {
			st := asString(e.rec("stock.move", mid)["state"])
			for _, s := range states {
				if st == s {
					return true
				}
			}
		}
		return false
	}
	old := p["state"]
	switch {
	case all("cancel"):
		p["state"] = "cancel"
	case all("done", "cancel"):
		p["state"] = "done"
	case all("draft", "cancel"):
		p["state"] = "draft"
	case asString(p["move_type"]) == "one" && all("assigned", "cancel"):
		p["state"] = "assigned"
	case asString(p["move_type"]) != "one" && any("assigned", "partially_available"):
		p["state"] = "assigned"
	default:
		p["state"] = "confirmed"
	}
	if old != p["state"] {
		e.touch("stock.picking", id)
	}
}

func (e *env) cancelPicking(id int) {
	p := e.rec("stock.picking", id)
	if asString(p["state"]) == "done" {
		return
	}
	for _, mid := range e.children("stock.move", "picking_id", id) {
		mv := e.mut("stock.move", mid)
		if asString(mv["state"]) != "done" {
			mv["state"] = "cancel"
			mv["quantity"] = 0.0
			e.syncMoveLine(mid)
		}
	}
	e.mut("stock.picking", id)["state"] = "cancel"
	e.touch("stock.picking", id)
	e.touchOrigin(id)
}

// touchOrigin marks the sale order of a picking as changed (its delivery
// status and delivered quantities are computed from the picking).
func (e *env) touchOrigin(pickingID int) {
	if so := intOf(e.rec("stock.picking", pickingID)["sale_id"]); so != 0 {
		e.touch("sale.order", so)
	}
}

// pickingValidate is stock.picking.button_validate (17.0+): moves the
// picked quantities (all reserved quantities when nothing is marked
// picked) and returns True, or the stock.backorder.confirmation wizard
// action when less than the demand was picked.
func pickingValidate(c *call) (any, error) {
	var needWizard []int
	for _, id := range c.ids {
		p := c.rec("stock.picking", id)
		switch asString(p["state"]) {
		case "done":
			return nil, userError("You cannot validate a transfer that is already done.")
		case "cancel":
			return nil, userError("You cannot validate a cancelled transfer.")
		case "draft":
			if _, err := c.s.models["stock.picking"].methods["action_confirm"].fn(&call{env: c.env, m: c.m, ids: []int{id}}); err != nil {
				return nil, err
			}
		}
		moves := c.activeMoves(id)
		if len(moves) == 0 {
			return nil, userError("Please add some items to move.")
		}
		anyPicked := false
		for _, mid := range moves {
			anyPicked = anyPicked || truthy(c.rec("stock.move", mid)["picked"])
		}
		total := 0.0
		for _, mid := range moves {
			mv := c.rec("stock.move", mid)
			if !anyPicked {
				c.mut("stock.move", mid)["picked"] = true
				c.syncMoveLine(mid)
			}
			if truthy(mv["picked"]) {
				total += asFloat(mv["quantity"])
			}
		}
		if total <= 0 {
			return nil, userError("You cannot validate a transfer if no quantities are reserved nor done. You can use the info button on the top right corner of your screen to know why the stock is not available.")
		}
		if c.needsBackorder(id) {
			needWizard = append(needWizard, id)
		}
	}
	skip := truthy(c.ctx["skip_backorder"])
	notToBackorder, _ := asIDs(c.ctx["picking_ids_not_to_backorder"])
	if len(needWizard) > 0 && !skip && !truthy(c.ctx["cancel_backorder"]) {
		allAsk := true
		for _, id := range needWizard {
			pt := c.rec("stock.picking.type", intOf(c.rec("stock.picking", id)["picking_type_id"]))
			allAsk = allAsk && asString(pt["create_backorder"]) == "ask"
		}
		if allAsk {
			cmds := make([]any, len(needWizard))
			for i, id := range needWizard {
				cmds[i] = []any{4, id}
			}
			return map[string]any{
				"name":      "Create Backorder?",
				"type":      "ir.actions.act_window",
				"view_mode": "form",
				"res_model": "stock.backorder.confirmation",
				"views":     []any{[]any{false, "form"}},
				"view_id":   false,
				"target":    "new",
				"context": map[string]any{
					"button_validate_picking_ids": intsToAny(c.ids),
					"default_show_transfers":      false,
					"default_pick_ids":            cmds,
				},
			}, nil
		}
	}
	for _, id := range c.ids {
		backorder := !truthy(c.ctx["cancel_backorder"]) && !containsInt(notToBackorder, id)
		c.donePicking(id, backorder)
	}
	return true, nil
}

func (e *env) activeMoves(pickingID int) []int {
	var out []int
	for _, mid := range e.children("stock.move", "picking_id", pickingID) {
		if asString(e.rec("stock.move", mid)["state"]) != "cancel" {
			out = append(out, mid)
		}
	}
	return out
}

func (e *env) needsBackorder(pickingID int) bool {
	for _, mid := range e.activeMoves(pickingID) {
		mv := e.rec("stock.move", mid)
		q := 0.0
		if truthy(mv["picked"]) {
			q = asFloat(mv["quantity"])
		}
		if q < asFloat(mv["product_uom_qty"]) {
			return true
		}
	}
	return false
}

// donePicking moves the picked quantities, splits what remains into a
// backorder (or cancels it) and marks the picking done.
func (e *env) donePicking(id int, backorder bool) {
	p := e.mut("stock.picking", id)
	type rest struct {
		move int
		qty  float64
	}
	var remaining []rest
	var products []int
	for _, mid := range e.activeMoves(id) {
		mv := e.mut("stock.move", mid)
		q := 0.0
		if truthy(mv["picked"]) {
			q = asFloat(mv["quantity"])
		}
		demand := asFloat(mv["product_uom_qty"])
		if q < demand {
			remaining = append(remaining, rest{mid, demand - q})
		}
		if q <= 0 {
			mv["state"] = "cancel"
			mv["quantity"] = 0.0
			e.syncMoveLine(mid)
			continue
		}
		if q < demand {
			mv["product_uom_qty"] = q
		}
		mv["quantity"] = q
		mv["picked"] = true
		mv["state"] = "done"
		mv["date"] = formatDatetime(e.now)
		e.syncMoveLine(mid)
		product := intOf(mv["product_id"])
		e.adjustQuant(product, intOf(mv["location_id"]), -q)
		e.adjustQuant(product, intOf(mv["location_dest_id"]), q)
		if e.isInternal(intOf(mv["location_dest_id"])) {
			products = append(products, product)
		}
	}
	p["state"] = "done"
	p["date_done"] = formatDatetime(e.now)
	e.touch("stock.picking", id)
	if backorder && len(remaining) > 0 {
		pm := e.s.models["stock.picking"]
		sub := *e
		sub.uid = 1
		sub.ctx = map[string]any{}
		bid, _ := sub.create(pm, map[string]any{
			"picking_type_id": p["picking_type_id"], "partner_id": p["partner_id"], "origin": p["origin"],
			"location_id": p["location_id"], "location_dest_id": p["location_dest_id"], "sale_id": p["sale_id"],
			"purchase_id": p["purchase_id"], "backorder_id": id, "scheduled_date": p["scheduled_date"],
			"carrier_id": p["carrier_id"], "move_type": p["move_type"], "state": "confirmed",
		})
		var moves []int
		for _, r := range remaining {
			old := e.rec("stock.move", r.move)
			nid, _ := sub.create(e.s.models["stock.move"], map[string]any{
				"name": old["name"], "product_id": old["product_id"], "product_uom_qty": r.qty, "product_uom": old["product_uom"],
				"picking_id": bid, "sale_line_id": old["sale_line_id"], "purchase_line_id": old["purchase_line_id"],
				"origin": old["origin"], "partner_id": old["partner_id"], "state": "confirmed",
			})
			moves = append(moves, nid)
		}
		e.reserve(moves)
		e.updatePickingState(bid)
	}
	e.triggerAssign(products)
	e.touchOrigin(id)
	if po := intOf(p["purchase_id"]); po != 0 {
		e.touch("purchase.order", po)
	}
}

func (s *Server) backorderWizardModel() *modelDef {
	m := newModel("stock.backorder.confirmation", "Backorder Confirmation")
	m.transient = true
	m.add(m2m("pick_ids", "stock.picking"), boolean("show_transfers"))
	m.readGroups = stockReaders
	m.writeGroups = stockReaders
	run := func(cancel bool) func(c *call) (any, error) {
		return func(c *call) (any, error) {
			var picks []int
			for _, id := range c.ids {
				ids, _ := c.rec(c.m.name, id)["pick_ids"].([]int)
				picks = append(picks, ids...)
			}
			if ids, ok := asIDs(c.ctx["button_validate_picking_ids"]); ok && len(ids) > 0 {
				picks = ids
			}
			ctx := cloneVals(c.ctx)
			ctx["skip_backorder"] = true
			if cancel {
				ctx["picking_ids_not_to_backorder"] = intsToAny(picks)
			}
			sub := *c.env
			sub.ctx = ctx
			return pickingValidate(&call{env: &sub, m: c.s.models["stock.picking"], ids: uniqueInts(picks)})
		}
	}
	m.recordAction("process", run(false))
	m.recordAction("process_cancel_backorder", run(true))
	return m
}
