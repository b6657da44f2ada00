package odoosim

import (
	"fmt"
	"math"
	"strings"
)

// The return wizard (stock.return.picking) as Odoo 17, 18 and 19 have it. It is opened on a done
// transfer (context active_model stock.picking and active_id, or picking_id in the values);
// creating it fills product_return_moves with one line per move of the transfer: on 17.0 with the
// quantity still returnable, from 18.0 on with 0 (the form has "Return All" to fill them). The
// method that makes the return is create_returns on 17.0 and action_create_returns (and
// action_create_returns_all) from 18.0; it copies the transfer into a draft return of the operation
// type's return type (Receipts for deliveries), origin "Return of WH/OUT/00001", return_id set, one
// move per line with a non-zero quantity (origin_returned_move_id, sale_line_id kept), confirms and
// reserves it, and returns the window action opening it (res_id).
//
// Like Odoo, the wizard does not refuse a quantity above what was delivered: stock checks nothing
// when goods come back from a customer location. Callers check returnable quantities themselves.

func (s *Server) returnWizardModel() *modelDef {
	m := newModel("stock.return.picking", "Return Picking")
	m.transient = true
	m.add(m2o("picking_id", "stock.picking").withDefault(func(e *env) any {
		if asString(e.ctx["active_model"]) != "stock.picking" {
			return nil
		}
		if id, ok := asInt(e.ctx["active_id"]); ok && e.rec("stock.picking", id) != nil {
			return id
		}
		return nil
	}),
		o2m("product_return_moves", "stock.return.picking.line", "wizard_id").str("Moves"),
		m2o("company_id", "res.company").defaultValue(1))
	m.readGroups = stockReaders
	m.writeGroups = stockReaders
	m.beforeCreate = func(e *env, vals map[string]any) error {
		if ids, _ := asIDs(e.ctx["active_ids"]); len(ids) > 1 && asString(e.ctx["active_model"]) == "stock.picking" {
			return userError("You may only return one picking at a time.")
		}
		return nil
	}
	m.afterCreate = func(e *env, id int) error { return e.returnLines(id) }
	if s.major == 17 {
		m.recordAction("create_returns", createReturns)
	} else {
		m.recordAction("action_create_returns", createReturns)
		m.recordAction("action_create_returns_all", func(c *call) (any, error) {
			for _, wid := range c.ids {
				for _, lid := range c.children("stock.return.picking.line", "wizard_id", wid) {
					l := c.mut("stock.return.picking.line", lid)
					if mv := intOf(l["move_id"]); mv != 0 {
						l["quantity"] = c.returnable(mv, false)
					}
				}
			}
			return createReturns(c)
		})
	}
	return m
}

func (s *Server) returnLineModel() *modelDef {
	m := newModel("stock.return.picking.line", "Return Picking Line")
	m.add(m2o("product_id", "product.product").req().str("Product"), float("quantity").req().defaultValue(1.0),
		m2o("uom_id", "uom.uom").str("Unit of Measure"), m2o("wizard_id", "stock.return.picking").str("Wizard"),
		m2o("move_id", "stock.move").str("Move"))
	if s.major >= 18 {
		m.add(float("move_quantity").str("Move Quantity").computed(func(e *env, r record) any {
			if mv := e.rec("stock.move", intOf(r["move_id"])); mv != nil {
				return asFloat(mv["quantity"])
			}
			return 0.0
		}))
	}
	m.displayName = func(e *env, r record) string { return productName(e, e.rec("product.product", intOf(r["product_id"]))) }
	m.readGroups = stockReaders
	m.writeGroups = stockReaders
	return m
}

// returnLines is the compute of product_return_moves: a wizard created on a transfer without
// lines gets one line per move that is not cancelled.
func (e *env) returnLines(wizard int) error {
	w := e.rec("stock.return.picking", wizard)
	pid := intOf(w["picking_id"])
	if pid == 0 || len(e.children("stock.return.picking.line", "wizard_id", wizard)) > 0 {
		return nil
	}
	if asString(e.rec("stock.picking", pid)["state"]) != "done" {
		return userError("You may only return Done pickings.")
	}
	sub := *e
	sub.uid = 1
	n := 0
	for _, mid := range e.children("stock.move", "picking_id", pid) {
		mv := e.rec("stock.move", mid)
		if asString(mv["state"]) == "cancel" {
			continue
		}
		qty := 0.0
		if e.s.major == 17 {
			qty = e.returnable(mid, true)
		}
		if _, err := sub.create(e.s.models["stock.return.picking.line"], map[string]any{
			"wizard_id": wizard, "product_id": mv["product_id"], "quantity": qty, "move_id": mid, "uom_id": mv["product_uom"],
		}); err != nil {
			return err
		}
		n++
	}
	if n == 0 {
		return userError("No products to return (only lines in Done state and not fully returned yet can be returned).")
	}
	return nil
}

// returnable is a move's quantity less what its returns took back: returns done count their
// quantity; on 17.0's default (open) reserved returns count theirs too.
func (e *env) returnable(moveID int, countOpen bool) float64 {
	q := asFloat(e.rec("stock.move", moveID)["quantity"])
	for _, rid := range e.table("stock.move").referrers("origin_returned_move_id", moveID) {
		r := e.rec("stock.move", rid)
		switch st := asString(r["state"]); {
		case st == "done":
			q -= asFloat(r["quantity"])
		case countOpen && (st == "assigned" || st == "partially_available"):
			q -= asFloat(r["quantity"])
		}
	}
	return math.Round(q*1e6) / 1e6
}

// createReturns is create_returns (17.0) / action_create_returns (18.0+).
func createReturns(c *call) (any, error) {
	if len(c.ids) != 1 && c.s.major >= 18 {
		return nil, valueError("Expected singleton: stock.return.picking(%s)", joinInts(c.ids))
	}
	var last int
	for _, wid := range c.ids {
		id, err := c.createReturn(wid)
		if err != nil {
			return nil, err
		}
		last = id
	}
	view := "form"
	if c.s.major == 17 {
		view = "form,tree,calendar"
	}
	return map[string]any{"name": "Returned Picking", "view_mode": view, "res_model": "stock.picking", "res_id": last,
		"type": "ir.actions.act_window", "context": cloneVals(c.ctx)}, nil
}

// createReturn makes the return transfer of one wizard and returns its id.
func (c *call) createReturn(wizard int) (int, error) {
	w := c.rec("stock.return.picking", wizard)
	orig := c.rec("stock.picking", intOf(w["picking_id"]))
	if orig == nil {
		return 0, userError("You may only return Done pickings.")
	}
	lines := c.children("stock.return.picking.line", "wizard_id", wizard)
	for _, lid := range lines {
		if intOf(c.rec("stock.return.picking.line", lid)["move_id"]) == 0 {
			return 0, userError("You have manually created product lines, please delete them to proceed.")
		}
	}
	pt := c.rec("stock.picking.type", intOf(orig["picking_type_id"]))
	rt := c.rec("stock.picking.type", intOf(pt["return_picking_type_id"]))
	if rt == nil {
		rt = pt
	}
	dest := orig["location_id"]
	if asString(rt["code"]) == "incoming" && truthy(rt["default_location_dest_id"]) {
		dest = rt["default_location_dest_id"]
	}
	sub := *c.env
	sub.uid = 1
	sub.ctx = map[string]any{}
	pm := c.s.models["stock.picking"]
	pid, err := sub.create(pm, map[string]any{
		"picking_type_id": rt["id"], "partner_id": orig["partner_id"], "origin": "Return of " + asString(orig["name"]),
		"return_id": orig["id"], "location_id": orig["location_dest_id"], "location_dest_id": dest, "sale_id": orig["sale_id"],
		"purchase_id": orig["purchase_id"], "move_type": orig["move_type"], "company_id": orig["company_id"], "state": "draft",
	})
	if err != nil {
		return 0, err
	}
	p := c.rec("stock.picking", pid)
	n := 0
	for _, lid := range lines {
		l := c.rec("stock.return.picking.line", lid)
		q := asFloat(l["quantity"])
		if math.Abs(q) < 1e-6 {
			continue
		}
		mv := c.rec("stock.move", intOf(l["move_id"]))
		if _, err := sub.create(c.s.models["stock.move"], map[string]any{
			"name": mv["name"], "product_id": l["product_id"], "product_uom_qty": q, "product_uom": mv["product_uom"],
			"picking_id": pid, "location_id": p["location_id"], "location_dest_id": p["location_dest_id"], "state": "draft",
			"origin_returned_move_id": mv["id"], "sale_line_id": mv["sale_line_id"], "purchase_line_id": mv["purchase_line_id"],
			"origin": mv["origin"], "partner_id": mv["partner_id"],
		}); err != nil {
			return 0, err
		}
		n++
	}
	if n == 0 {
		return 0, userError("Please specify at least one non-zero quantity.")
	}
	if _, err := pm.methods["action_confirm"].fn(&call{env: c.env, m: pm, ids: []int{pid}}); err != nil {
		return 0, err
	}
	c.touchOrigin(pid)
	return pid, nil
}

func joinInts(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, ", ")
}
