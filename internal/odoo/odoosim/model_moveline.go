package odoosim

// The simulator keeps at most one detailed operation (stock.move.line) per
// move: the move's reserved or done quantity at its source location. A
// client may work on either level: writing a move's quantity updates its
// line, writing a line's quantity or picked flag updates its move (quantity
// is the sum of the lines, picked is true when every line is picked), as in
// Odoo 17.0 and later.

func (s *Server) moveLineModel() *modelDef {
	m := newModel("stock.move.line", "Product Moves (Stock Move Line)")
	m.order = "result_package_id desc, id"
	m.add(m2o("move_id", "stock.move").str("Stock Operation"), m2o("picking_id", "stock.picking").str("Transfer"),
		m2o("product_id", "product.product"), m2o("product_uom_id", "uom.uom").str("Unit").defaultValue(1),
		float("quantity"), boolean("picked"), m2o("location_id", "stock.location").str("From"),
		m2o("location_dest_id", "stock.location").str("To"), char("lot_name").str("Lot/Serial Number Name"),
		m2o("result_package_id", "stock.quant.package").str("Destination Package"),
		datetime("date").withDefault(func(e *env) any { return formatDatetime(e.now) }),
		m2o("company_id", "res.company").defaultValue(1),
		selection("state", "draft", "waiting", "confirmed", "partially_available", "assigned", "done", "cancel").computed(func(e *env, r record) any {
			if mv := e.rec("stock.move", intOf(r["move_id"])); mv != nil {
				return mv["state"]
			}
			return nil
		}))
	delete(m.fields, "result_package_id") // packages are not simulated
	m.order = "id"
	m.readGroups = stockReaders
	m.writeGroups = stockReaders
	m.beforeCreate = func(e *env, vals map[string]any) error {
		mv := e.rec("stock.move", intOf(normalizeID(vals["move_id"])))
		if mv == nil {
			return nil
		}
		for _, f := range []string{"picking_id", "product_id", "location_id", "location_dest_id"} {
			if !truthy(vals[f]) {
				vals[f] = mv[f]
			}
		}
		return nil
	}
	m.afterCreate = func(e *env, id int) error {
		e.moveFromLines(intOf(e.rec("stock.move.line", id)["move_id"]))
		return nil
	}
	m.afterWrite = func(e *env, ids []int, vals map[string]any) error {
		_, q := vals["quantity"]
		_, p := vals["picked"]
		if !q && !p {
			return nil
		}
		done := map[int]bool{}
		for _, id := range ids {
			mid := intOf(e.rec("stock.move.line", id)["move_id"])
			if mid != 0 && !done[mid] {
				done[mid] = true
				e.moveFromLines(mid)
			}
		}
		return nil
	}
	return m
}

// moveFromLines sets a move's quantity and picked flag from its lines.
func (e *env) moveFromLines(moveID int) {
	mv := e.rec("stock.move", moveID)
	if mv == nil || asString(mv["state"]) == "done" || asString(mv["state"]) == "cancel" {
		return
	}
	lines := e.children("stock.move.line", "move_id", moveID)
	var qty float64
	picked := len(lines) > 0
	for _, l := range lines {
		r := e.rec("stock.move.line", l)
		qty += asFloat(r["quantity"])
		picked = picked && truthy(r["picked"])
	}
	mv = e.mut("stock.move", moveID)
	mv["quantity"] = qty
	mv["picked"] = picked
	e.moveStateFromQuantity(moveID)
}

// syncMoveLine makes a move's single line match the move.
func (e *env) syncMoveLine(moveID int) {
	mv := e.rec("stock.move", moveID)
	if mv == nil {
		return
	}
	lines := e.children("stock.move.line", "move_id", moveID)
	qty := asFloat(mv["quantity"])
	st := asString(mv["state"])
	if qty <= 0 || st == "cancel" {
		for _, l := range lines {
			e.save("stock.move.line", l)
			t := e.table("stock.move.line")
			t.drop(t.recs[l])
			delete(t.recs, l)
		}
		return
	}
	if len(lines) > 1 {
		return // detailed by the client: leave its lines alone
	}
	if len(lines) == 0 {
		sub := *e
		sub.uid = 1
		sub.ctx = map[string]any{}
		sub.create(e.s.models["stock.move.line"], map[string]any{
			"move_id": moveID, "picking_id": mv["picking_id"], "product_id": mv["product_id"], "product_uom_id": mv["product_uom"],
			"location_id": mv["location_id"], "location_dest_id": mv["location_dest_id"], "quantity": qty, "picked": mv["picked"],
		})
		// creating the line must not recompute the move from it
		return
	}
	l := e.mut("stock.move.line", lines[0])
	l["quantity"] = qty
	l["picked"] = truthy(mv["picked"])
}
