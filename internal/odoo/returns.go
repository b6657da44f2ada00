package odoo

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/waybill-hub/waybill"
)

// Returns (waybill.Returns) are Odoo return transfers made with the stock.return.picking wizard,
// as the Return button of a done delivery makes them, and credit notes (account.move out_refund)
// for what came back.
//
// Markers. The return transfer's origin is overwritten with "waybill:<return hub ref>" right after
// the wizard made it (the wizard sets "Return of WH/OUT/..."; the link to the delivery stays in
// return_id), and the credit note's ref carries the same marker. CreateReturn and ReturnStatus
// search these markers before they create anything, so retries never make a second return or
// credit note. The wizard takes no origin of its own (it copies the delivery with explicit
// values), so a hub crash or a lost reply between the wizard's create call and the marker write
// leaves one unmarked return transfer, which a retry does not find: a warehouse user sees a
// duplicate ready receipt "Return of ..." and cancels it. That window is one round trip wide; the
// marker write itself is retried at once on transient errors, being idempotent.
//
// Odoo does not refuse a return above the delivered quantity (stock takes anything back from a
// customer location), so CreateReturn checks it: the done moves of the order's deliveries, less
// what their returns (origin_returned_move_id) took back or hold open, must cover the request.

var _ waybill.Returns = (*Client)(nil)

// returnMove is a done delivery move and what may still be returned of it.
type returnMove struct {
	id, picking, product, saleLine int64
	left                           waybill.Decimal
}

// CreateReturn finds (by r.HubRef) or creates the return transfer(s) of r: one per delivery the
// quantities are taken from, oldest delivery first. The result's Delivery is the first return
// transfer; State is approved (refused when Odoo cancelled every transfer found). EINVALID for a
// malformed request, ENOTFOUND when the order does not exist, EREJECTED when a quantity is above
// what was delivered and not yet returned, or Odoo refuses the return.
func (c *Client) CreateReturn(ctx context.Context, r waybill.ReturnRequest) (waybill.ReturnResult, error) {
	if err := checkReturn(r); err != nil {
		return waybill.ReturnResult{}, err
	}
	r.Lines = append([]waybill.ReturnRequestLine(nil), r.Lines...)
	if err := c.lineProducts(ctx, r.Lines); err != nil {
		return waybill.ReturnResult{}, err
	}
	found, err := c.findReturns(ctx, r.HubRef)
	if err != nil {
		return waybill.ReturnResult{}, fmt.Errorf("finding the returns of %s: %w", r.HubRef, err)
	}
	want, err := c.notYetReturned(ctx, r, found)
	if err != nil {
		return waybill.ReturnResult{}, err
	}
	if len(found) > 0 && len(want) == 0 {
		return returnResult(found), nil
	}
	moves, err := c.returnableMoves(ctx, r.Order)
	if err != nil {
		return waybill.ReturnResult{}, err
	}
	plan, err := allocateReturn(want, moves)
	if err != nil {
		return waybill.ReturnResult{}, err
	}
	pickings := make([]int64, 0, len(plan))
	for p := range plan {
		pickings = append(pickings, p)
	}
	sort.Slice(pickings, func(i, j int) bool { return pickings[i] < pickings[j] })
	for _, p := range pickings {
		if _, err := c.returnPicking(ctx, p, plan[p], r.HubRef); err != nil {
			return waybill.ReturnResult{}, fmt.Errorf("returning delivery %d for %s: %w", p, r.HubRef, err)
		}
	}
	if found, err = c.findReturns(ctx, r.HubRef); err != nil {
		return waybill.ReturnResult{}, fmt.Errorf("reading the returns of %s: %w", r.HubRef, err)
	}
	res := returnResult(found)
	res.Created = true
	return res, nil
}

func checkReturn(r waybill.ReturnRequest) error {
	switch {
	case r.HubRef == "":
		return waybill.Errorf(waybill.EINVALID, "return_request", "return request without a hub reference")
	case r.Order.ID == 0:
		return waybill.Errorf(waybill.EINVALID, "return_request", "return %s names no Odoo sale order", r.HubRef)
	case len(r.Lines) == 0:
		return waybill.Errorf(waybill.EINVALID, "return_request", "return %s has no lines", r.HubRef)
	}
	for _, l := range r.Lines {
		if l.Product.ID == 0 && l.SaleLine.ID == 0 || l.Quantity.Sign() <= 0 {
			return waybill.Errorf(waybill.EINVALID, "return_request", "return %s: every line needs a product or sale line and a positive quantity", r.HubRef)
		}
	}
	return nil
}

// lineProducts fills in the product of the lines that name only their sale order line.
func (c *Client) lineProducts(ctx context.Context, lines []waybill.ReturnRequestLine) error {
	var ids []int64
	for _, l := range lines {
		if l.Product.ID == 0 {
			ids = append(ids, l.SaleLine.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rs, err := c.read(ctx, "sale.order.line", ids, []string{"id", "product_id"}, nil)
	if err != nil {
		return fmt.Errorf("reading the products of the returned lines: %w", err)
	}
	prod := map[int64]waybill.ERPRef{}
	for _, r := range rs {
		prod[r.ID()] = r.M2O("product_id", "product.product")
	}
	for i := range lines {
		if lines[i].Product.ID == 0 {
			if lines[i].Product = prod[lines[i].SaleLine.ID]; lines[i].Product.ID == 0 {
				return waybill.Errorf(waybill.EINVALID, "return_request", "no Odoo sale order line %d", lines[i].SaleLine.ID)
			}
		}
	}
	return nil
}

// findReturns returns the return transfers marked with hubRef, oldest first.
func (c *Client) findReturns(ctx context.Context, hubRef string) ([]record, error) {
	return c.searchRead(ctx, "stock.picking", []any{[]any{"origin", "=", c.HubRef(hubRef)}}, []string{"id", "name", "state", "return_id"},
		map[string]any{"order": "id"})
}

// returnResult summarises the marked return transfers: refused when all are cancelled, received
// when all the others are done, approved otherwise.
func returnResult(found []record) waybill.ReturnResult {
	res := waybill.ReturnResult{State: waybill.ReturnRefused, Reason: "the return was cancelled in Odoo"}
	open := false
	for _, p := range found {
		switch p.Str("state") {
		case "cancel":
			continue
		case "done":
		default:
			open = true
		}
		if res.Delivery.IsZero() {
			res.Delivery = waybill.ERPRef{Model: "stock.picking", ID: p.ID(), Name: p.Str("name")}
		}
		res.State, res.Reason = waybill.ReturnReceived, ""
	}
	if open {
		res.State = waybill.ReturnApproved
	}
	if res.Delivery.IsZero() && len(found) > 0 {
		res.Delivery = waybill.ERPRef{Model: "stock.picking", ID: found[0].ID(), Name: found[0].Str("name")}
	}
	return res
}

// notYetReturned returns the lines of r less what the marked transfers already hold (by product,
// cancelled transfers aside): what is left to create after an earlier attempt stopped half-way.
func (c *Client) notYetReturned(ctx context.Context, r waybill.ReturnRequest, found []record) ([]waybill.ReturnRequestLine, error) {
	var ids []int64
	for _, p := range found {
		if p.Str("state") != "cancel" {
			ids = append(ids, p.ID())
		}
	}
	if len(found) > 0 && len(ids) == 0 {
		return nil, nil // all cancelled in Odoo: the answer is refused, not a new return
	}
	held := map[int64]waybill.Decimal{}
	if len(ids) > 0 {
		ms, err := c.searchRead(ctx, "stock.move", []any{[]any{"picking_id", "in", idsAny(ids)}, []any{"state", "!=", "cancel"}},
			[]string{"product_id", "product_uom_qty"}, nil)
		if err != nil {
			return nil, fmt.Errorf("reading the moves of the returns of %s: %w", r.HubRef, err)
		}
		for _, m := range ms {
			p := m.M2O("product_id", "").ID
			held[p] = held[p].Add(m.Dec("product_uom_qty"))
		}
	}
	var out []waybill.ReturnRequestLine
	for _, l := range r.Lines {
		take := held[l.Product.ID].Min(l.Quantity)
		held[l.Product.ID] = held[l.Product.ID].Sub(take)
		if rest := l.Quantity.Sub(take); rest.Sign() > 0 {
			l.Quantity = rest
			out = append(out, l)
		}
	}
	return out, nil
}

// returnableMoves reads the done moves of the order's done deliveries, oldest first, with what
// their returns have not taken back yet (open returns count as taken).
func (c *Client) returnableMoves(ctx context.Context, order waybill.ERPRef) ([]returnMove, error) {
	so, err := c.read(ctx, "sale.order", []int64{order.ID}, []string{"id", "picking_ids"}, nil)
	if err != nil {
		return nil, fmt.Errorf("reading sale order %d: %w", order.ID, err)
	}
	if len(so) == 0 {
		return nil, waybill.Errorf(waybill.ENOTFOUND, "unknown_order", "no Odoo sale order %d", order.ID)
	}
	ps, err := c.read(ctx, "stock.picking", so[0].IDs("picking_ids"), []string{"id", "state", "picking_type_code"}, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the deliveries of sale order %d: %w", order.ID, err)
	}
	var done []any
	for _, p := range ps {
		if p.Str("state") == "done" && p.Str("picking_type_code") == "outgoing" {
			done = append(done, p.ID())
		}
	}
	if len(done) == 0 {
		return nil, waybill.Errorf(waybill.EREJECTED, "not_delivered", "sale order %d has no done delivery to return", order.ID)
	}
	ms, err := c.searchRead(ctx, "stock.move", []any{[]any{"picking_id", "in", done}, []any{"state", "=", "done"}},
		[]string{"id", "picking_id", "product_id", "sale_line_id", c.fields.moveDone}, map[string]any{"order": "picking_id, id"})
	if err != nil {
		return nil, fmt.Errorf("reading the delivered moves of sale order %d: %w", order.ID, err)
	}
	out := make([]returnMove, 0, len(ms))
	idx := map[int64]int{}
	var ids []any
	for _, m := range ms {
		idx[m.ID()] = len(out)
		ids = append(ids, m.ID())
		out = append(out, returnMove{id: m.ID(), picking: m.M2O("picking_id", "").ID, product: m.M2O("product_id", "").ID,
			saleLine: m.M2O("sale_line_id", "").ID, left: m.Dec(c.fields.moveDone)})
	}
	if len(ids) == 0 {
		return out, nil
	}
	rs, err := c.searchRead(ctx, "stock.move", []any{[]any{"origin_returned_move_id", "in", ids}, []any{"state", "!=", "cancel"}},
		[]string{"origin_returned_move_id", "state", "product_uom_qty", c.fields.moveDone}, nil)
	if err != nil {
		return nil, fmt.Errorf("reading the returns of sale order %d: %w", order.ID, err)
	}
	for _, m := range rs {
		i, ok := idx[m.M2O("origin_returned_move_id", "").ID]
		if !ok {
			continue
		}
		q := m.Dec("product_uom_qty")
		if m.Str("state") == "done" {
			q = m.Dec(c.fields.moveDone)
		}
		out[i].left = out[i].left.Sub(q)
	}
	return out, nil
}

// allocateReturn takes each line's quantity from the delivered moves of its product (and sale
// line, when given), oldest first, and returns it by picking and move. EREJECTED names every line
// asking for more than is left to return.
func allocateReturn(lines []waybill.ReturnRequestLine, moves []returnMove) (map[int64]map[int64]waybill.Decimal, error) {
	plan := map[int64]map[int64]waybill.Decimal{}
	var short []string
	for _, l := range lines {
		need := l.Quantity
		for i := range moves {
			m := &moves[i]
			if m.product != l.Product.ID || l.SaleLine.ID != 0 && m.saleLine != 0 && m.saleLine != l.SaleLine.ID || m.left.Sign() <= 0 {
				continue
			}
			take := need.Min(m.left)
			if take.Sign() <= 0 {
				break
			}
			if plan[m.picking] == nil {
				plan[m.picking] = map[int64]waybill.Decimal{}
			}
			plan[m.picking][m.id] = plan[m.picking][m.id].Add(take)
			m.left, need = m.left.Sub(take), need.Sub(take)
		}
		if need.Sign() > 0 {
			name := l.Product.Name
			if name == "" {
				name = fmt.Sprintf("product %d", l.Product.ID)
			}
			short = append(short, fmt.Sprintf("%s: %s asked, %s delivered and not yet returned", name, l.Quantity, l.Quantity.Sub(need)))
		}
	}
	if len(short) > 0 {
		return nil, waybill.Errorf(waybill.EREJECTED, "return_above_delivered", "cannot return more than was delivered: %s", strings.Join(short, "; "))
	}
	return plan, nil
}

// returnPicking runs the return wizard on a done delivery with the given quantities by move (the
// other lines at 0), marks the new return transfer with hubRef and returns its id.
func (c *Client) returnPicking(ctx context.Context, picking int64, qty map[int64]waybill.Decimal, hubRef string) (int64, error) {
	wctx := map[string]any{"active_model": "stock.picking", "active_id": picking, "active_ids": []any{picking}}
	w, err := c.Create(ctx, "stock.return.picking", []map[string]any{{"picking_id": picking}}, wctx)
	if err != nil {
		return 0, fmt.Errorf("opening the return wizard: %w", err)
	}
	lines, err := c.searchRead(ctx, "stock.return.picking.line", []any{[]any{"wizard_id", "=", w[0]}}, []string{"id", "move_id", "quantity"}, nil)
	if err != nil {
		return 0, fmt.Errorf("reading the return wizard's lines: %w", err)
	}
	byQty := map[string][]int64{} // one write per distinct quantity
	var order []string
	for _, l := range lines {
		q := qty[l.M2O("move_id", "").ID]
		if l.Dec("quantity").Cmp(q) == 0 {
			continue
		}
		k := q.String()
		if _, ok := byQty[k]; !ok {
			order = append(order, k)
		}
		byQty[k] = append(byQty[k], l.ID())
	}
	for _, k := range order {
		if err := c.Write(ctx, "stock.return.picking.line", byQty[k], map[string]any{"quantity": dec2f(waybill.MustDecimal(k))}); err != nil {
			return 0, fmt.Errorf("setting the return quantities: %w", err)
		}
	}
	res, err := c.Method(ctx, "stock.return.picking", c.fields.returnMethod, w, wctx)
	if err != nil {
		return 0, fmt.Errorf("creating the return (%s): %w", c.fields.returnMethod, err)
	}
	act, _ := res.(map[string]any)
	id, _ := asInt(act["res_id"])
	if id == 0 {
		return 0, &Error{Kind: KindInternal, Model: "stock.return.picking", Method: c.fields.returnMethod, Message: "the return wizard opened no transfer"}
	}
	for attempt := 0; ; attempt++ {
		err = c.Write(ctx, "stock.picking", []int64{id}, map[string]any{"origin": c.HubRef(hubRef)})
		if err == nil || !IsKind(err, KindTransient) || attempt == 2 {
			break
		}
		if serr := c.sleep(ctx, c.cfg.RetryBase<<attempt); serr != nil {
			break
		}
	}
	if err != nil {
		return 0, fmt.Errorf("marking return transfer %d with %s: %w", id, hubRef, err)
	}
	return id, nil
}

// ReturnStatus reads the return transfers marked with hubRef (ENOTFOUND when there are none).
// Once all are done (received), it finds or creates and posts the credit note for the quantities
// that came back and were invoiced (State credited, Credit set); a return of goods not invoiced
// yet stays received, as the invoice Odoo makes later bills only what was kept.
func (c *Client) ReturnStatus(ctx context.Context, hubRef string) (waybill.ReturnResult, error) {
	found, err := c.findReturns(ctx, hubRef)
	if err != nil {
		return waybill.ReturnResult{}, fmt.Errorf("finding the returns of %s: %w", hubRef, err)
	}
	if len(found) == 0 {
		return waybill.ReturnResult{}, waybill.Errorf(waybill.ENOTFOUND, "unknown_return", "no Odoo return transfer for %s", hubRef)
	}
	res := returnResult(found)
	if res.State != waybill.ReturnReceived {
		return res, nil
	}
	credit, err := c.creditReturn(ctx, hubRef, found)
	if err != nil {
		return res, fmt.Errorf("crediting return %s: %w", hubRef, err)
	}
	if !credit.IsZero() {
		res.State, res.Credit = waybill.ReturnCredited, credit
	}
	return res, nil
}

// creditLine is what a credit note takes back of one sale order line.
type creditLine struct {
	saleLine int64
	qty      waybill.Decimal
	inv      record // the posted invoice line it reverses
}

// creditReturn finds (by ref = marker) or makes and posts the credit note of a received return.
// Per sale line it credits the quantity returned, bounded by what is invoiced (posted invoices
// less credit notes) beyond what is still delivered, at the invoice line's price, discount and
// taxes. It returns the zero ERPRef when there is nothing to credit.
func (c *Client) creditReturn(ctx context.Context, hubRef string, found []record) (waybill.ERPRef, error) {
	marker := c.HubRef(hubRef)
	ex, err := c.searchRead(ctx, "account.move", []any{[]any{"move_type", "=", "out_refund"}, []any{"ref", "=", marker}, []any{"state", "!=", "cancel"}},
		[]string{"id", "name", "state"}, map[string]any{"order": "id", "limit": 1})
	if err != nil {
		return waybill.ERPRef{}, fmt.Errorf("finding the credit note: %w", err)
	}
	if len(ex) > 0 {
		return c.postCredit(ctx, ex[0])
	}
	lines, partner, reversed, origin, err := c.creditLines(ctx, found)
	if err != nil || len(lines) == 0 {
		return waybill.ERPRef{}, err
	}
	cmds := make([]any, 0, len(lines))
	for _, l := range lines {
		lv := map[string]any{
			"product_id": l.inv.M2O("product_id", "").ID, "quantity": dec2f(l.qty), "price_unit": dec2f(l.inv.Dec("price_unit")),
			"discount": dec2f(l.inv.Dec("discount")), "tax_ids": []any{[]any{6, 0, idsAny(l.inv.IDs("tax_ids"))}},
			"sale_line_ids": []any{[]any{6, 0, []any{l.saleLine}}},
		}
		if name := l.inv.Str("name"); name != "" {
			lv["name"] = name
		}
		if u := l.inv.M2O("product_uom_id", "").ID; u != 0 {
			lv["product_uom_id"] = u
		}
		cmds = append(cmds, []any{0, 0, lv})
	}
	vals := map[string]any{"move_type": "out_refund", "partner_id": partner, "ref": marker, "invoice_origin": origin, "invoice_line_ids": cmds}
	if reversed != 0 {
		vals["reversed_entry_id"] = reversed
	}
	ids, err := c.Create(ctx, "account.move", []map[string]any{vals}, map[string]any{"default_move_type": "out_refund"})
	if err != nil {
		return waybill.ERPRef{}, fmt.Errorf("creating the credit note: %w", err)
	}
	return c.postCredit(ctx, record{"id": ids[0], "state": "draft"})
}

// postCredit posts a draft credit note (a crash may have left one) and returns it with its number.
func (c *Client) postCredit(ctx context.Context, mv record) (waybill.ERPRef, error) {
	if mv.Str("state") == "draft" {
		if _, err := c.Method(ctx, "account.move", "action_post", []int64{mv.ID()}, nil); err != nil {
			return waybill.ERPRef{}, fmt.Errorf("posting credit note %d: %w", mv.ID(), err)
		}
		rs, err := c.read(ctx, "account.move", []int64{mv.ID()}, []string{"id", "name", "state"}, nil)
		if err != nil || len(rs) == 0 {
			return waybill.ERPRef{}, fmt.Errorf("reading credit note %d: %w", mv.ID(), err)
		}
		mv = rs[0]
	}
	return waybill.ERPRef{Model: "account.move", ID: mv.ID(), Name: mv.Str("name")}, nil
}

// creditLines works out what to credit for the done return transfers found: the quantities
// returned by sale line, the order's posted invoice lines and credit notes, and the lines'
// delivered quantities. It also returns the partner, the invoice reversed and the order's name.
func (c *Client) creditLines(ctx context.Context, found []record) (out []creditLine, partner, reversed int64, origin string, err error) {
	var done []any
	for _, p := range found {
		if p.Str("state") == "done" {
			done = append(done, p.ID())
		}
	}
	ms, err := c.searchRead(ctx, "stock.move", []any{[]any{"picking_id", "in", done}, []any{"state", "=", "done"}},
		[]string{"sale_line_id", c.fields.moveDone}, map[string]any{"order": "id"})
	if err != nil {
		return nil, 0, 0, "", fmt.Errorf("reading the returned moves: %w", err)
	}
	returned := map[int64]waybill.Decimal{}
	var sls []int64
	for _, m := range ms {
		sl := m.M2O("sale_line_id", "").ID
		if sl == 0 {
			continue // not from a sale order line: nothing to price it with
		}
		if _, ok := returned[sl]; !ok {
			sls = append(sls, sl)
		}
		returned[sl] = returned[sl].Add(m.Dec(c.fields.moveDone))
	}
	if len(sls) == 0 {
		return nil, 0, 0, "", nil
	}
	lines, err := c.read(ctx, "sale.order.line", sls, []string{"id", "order_id", "qty_delivered"}, nil)
	if err != nil || len(lines) == 0 {
		return nil, 0, 0, "", fmt.Errorf("reading the returned sale order lines: %w", err)
	}
	so, err := c.read(ctx, "sale.order", []int64{lines[0].M2O("order_id", "").ID}, []string{"id", "name", "partner_invoice_id", "invoice_ids"}, nil)
	if err != nil || len(so) == 0 {
		return nil, 0, 0, "", fmt.Errorf("reading the returned sale order: %w", err)
	}
	origin, partner = so[0].Str("name"), so[0].M2O("partner_invoice_id", "").ID
	moves, err := c.read(ctx, "account.move", so[0].IDs("invoice_ids"), []string{"id", "move_type", "state", "partner_id"}, nil)
	if err != nil {
		return nil, 0, 0, "", fmt.Errorf("reading the order's invoices: %w", err)
	}
	kind := map[int64]record{}
	var mids []any
	for _, mv := range moves {
		kind[mv.ID()] = mv
		mids = append(mids, mv.ID())
	}
	if len(mids) == 0 {
		return nil, 0, 0, "", nil
	}
	ils, err := c.searchRead(ctx, "account.move.line", []any{[]any{"move_id", "in", mids}, []any{"display_type", "=", "product"}},
		[]string{"id", "move_id", "product_id", "name", "quantity", "price_unit", "discount", "tax_ids", "sale_line_ids", "product_uom_id"},
		map[string]any{"order": "move_id, id"})
	if err != nil {
		return nil, 0, 0, "", fmt.Errorf("reading the order's invoice lines: %w", err)
	}
	invoiced := map[int64]waybill.Decimal{}
	priced := map[int64]record{}
	for _, il := range ils {
		mv := kind[il.M2O("move_id", "").ID]
		for _, sl := range il.IDs("sale_line_ids") {
			switch {
			case mv.Str("move_type") == "out_invoice" && mv.Str("state") == "posted":
				invoiced[sl] = invoiced[sl].Add(il.Dec("quantity"))
				priced[sl] = il
			case mv.Str("move_type") == "out_refund" && mv.Str("state") != "cancel":
				invoiced[sl] = invoiced[sl].Sub(il.Dec("quantity"))
			}
		}
	}
	for _, l := range lines {
		sl := l.ID()
		gap := invoiced[sl].Sub(l.Dec("qty_delivered"))
		q := returned[sl].Min(gap)
		if q.Sign() <= 0 || priced[sl] == nil {
			continue
		}
		out = append(out, creditLine{saleLine: sl, qty: q, inv: priced[sl]})
		if reversed == 0 {
			inv := kind[priced[sl].M2O("move_id", "").ID]
			reversed = inv.ID()
			if p := inv.M2O("partner_id", "").ID; p != 0 {
				partner = p
			}
		}
	}
	return out, partner, reversed, origin, nil
}
