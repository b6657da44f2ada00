package odoo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
)

// HubRef returns the value stored in the hub reference field for a hub order id ("waybill:<id>").
func (c *Client) HubRef(hubRef string) string { return c.cfg.HubRefPrefix + hubRef }

func (c *Client) hubRefOf(stored string) string {
	s, ok := strings.CutPrefix(stored, c.cfg.HubRefPrefix)
	if !ok {
		return ""
	}
	return s
}

func (c *Client) orderVals(d waybill.OrderDraft, uoms []int64) map[string]any {
	v := map[string]any{
		"partner_id":       d.Customer.ID,
		"client_order_ref": d.PONumber,
		c.cfg.HubRefField:  c.HubRef(d.HubRef),
	}
	if d.ShipTo.ID != 0 {
		v["partner_shipping_id"] = d.ShipTo.ID
	}
	if d.BillTo.ID != 0 {
		v["partner_invoice_id"] = d.BillTo.ID
	}
	if d.Pricelist.ID != 0 {
		v["pricelist_id"] = d.Pricelist.ID
	}
	if !d.RequestedDate.IsZero() {
		v["commitment_date"] = d.RequestedDate.UTC().Format(odooDatetime)
	}
	if d.Notes != "" {
		v["note"] = d.Notes
	}
	lines := make([]any, 0, len(d.Lines))
	for j, l := range d.Lines {
		lv := map[string]any{"product_id": l.Product.ID, "product_uom_qty": dec2f(l.Quantity)}
		if j < len(uoms) && uoms[j] != 0 {
			lv[c.fields.lineUOM] = uoms[j]
		}
		if l.Price != nil {
			lv["price_unit"] = dec2f(*l.Price)
		}
		lines = append(lines, []any{0, 0, lv})
	}
	v["order_line"] = lines
	return v
}

func checkDraft(d waybill.OrderDraft) error {
	switch {
	case d.HubRef == "":
		return waybill.Errorf(waybill.EINVALID, "order_draft", "order draft without a hub reference")
	case d.Customer.ID == 0:
		return waybill.Errorf(waybill.EINVALID, "order_draft", "order %s has no resolved customer", d.HubRef)
	case len(d.Lines) == 0:
		return waybill.Errorf(waybill.EINVALID, "order_draft", "order %s has no lines", d.HubRef)
	}
	for _, l := range d.Lines {
		if l.Product.ID == 0 {
			return waybill.Errorf(waybill.EINVALID, "order_draft", "order %s line %s has no resolved product", d.HubRef, l.LineNumber)
		}
	}
	return nil
}

// findOrders returns the sale orders holding the given hub references, by hub reference.
func (c *Client) findOrders(ctx context.Context, hubRefs []string) (map[string]waybill.ERPRef, error) {
	vals := make([]any, len(hubRefs))
	for i, h := range hubRefs {
		vals[i] = c.HubRef(h)
	}
	rs, err := c.searchRead(ctx, "sale.order", []any{[]any{c.cfg.HubRefField, "in", vals}}, []string{"id", "name", c.cfg.HubRefField}, map[string]any{"order": "id"})
	if err != nil {
		return nil, err
	}
	out := map[string]waybill.ERPRef{}
	for _, r := range rs {
		h := c.hubRefOf(r.Str(c.cfg.HubRefField))
		if _, dup := out[h]; !dup && h != "" {
			out[h] = waybill.ERPRef{Model: "sale.order", ID: r.ID(), Name: r.Str("name")}
		}
	}
	return out, nil
}

// CreateOrders finds or creates one sale order per draft (see waybill.ERP). It makes one
// search_read for the hub references of the whole batch, then one create with a vals_list for
// the drafts not found. When that batch create is refused with a business error it creates the
// drafts one by one, so one bad draft fails alone. A transient failure of the create leaves it
// unknown whether Odoo committed: every draft not found gets the EUNAVAILABLE error, and the
// retry finds what was committed. Created orders carry their id; their name is read by
// ConfirmOrders and OrderStatus.
func (c *Client) CreateOrders(ctx context.Context, drafts []waybill.OrderDraft) ([]waybill.OrderResult, error) {
	out := make([]waybill.OrderResult, len(drafts))
	var refs []string
	for i, d := range drafts {
		out[i].HubRef = d.HubRef
		if err := checkDraft(d); err != nil {
			out[i].Err = err
			continue
		}
		refs = append(refs, d.HubRef)
	}
	if len(refs) == 0 {
		return out, nil
	}
	existing, err := c.findOrders(ctx, refs)
	if err != nil {
		return nil, fmt.Errorf("finding sale orders by hub reference: %w", err)
	}
	var todo []int // indexes of drafts to create
	first := map[string]int{}
	for i, d := range drafts {
		if out[i].Err != nil {
			continue
		}
		if ref, ok := existing[d.HubRef]; ok {
			out[i].Order = ref
			continue
		}
		if j, dup := first[d.HubRef]; dup { // the same hub reference twice in one batch
			out[i].Err = waybill.Errorf(waybill.ECONFLICT, "duplicate_hub_ref", "hub reference %s appears twice in the batch (first at %d)", d.HubRef, j)
			continue
		}
		first[d.HubRef] = i
		todo = append(todo, i)
	}
	if len(todo) == 0 {
		return out, nil
	}
	uoms, uerrs, err := c.resolveUOMs(ctx, drafts)
	if err != nil {
		return nil, err
	}
	var vals []map[string]any
	kept := todo[:0]
	for _, i := range todo {
		if uerrs[i] != nil {
			out[i].Err = uerrs[i]
			continue
		}
		kept = append(kept, i)
		vals = append(vals, c.orderVals(drafts[i], uoms[i]))
	}
	todo = kept
	if len(todo) == 0 {
		return out, nil
	}
	ids, err := c.Create(ctx, "sale.order", vals, nil)
	if err == nil {
		for k, i := range todo {
			out[i].Order = waybill.ERPRef{Model: "sale.order", ID: ids[k]}
			out[i].Created = true
		}
		return out, nil
	}
	if len(todo) == 1 || !isBusiness(err) {
		for _, i := range todo {
			out[i].Err = fmt.Errorf("creating sale order for %s: %w", drafts[i].HubRef, err)
		}
		return out, nil
	}
	for k, i := range todo { // find the culprit: one create per draft
		ids, err := c.Create(ctx, "sale.order", vals[k:k+1], nil)
		if err != nil {
			out[i].Err = fmt.Errorf("creating sale order for %s: %w", drafts[i].HubRef, err)
			continue
		}
		out[i].Order = waybill.ERPRef{Model: "sale.order", ID: ids[0]}
		out[i].Created = true
	}
	return out, nil
}

// isBusiness reports whether err concerns the records rather than Odoo as a whole: a
// validation, missing-record or invalid-call error, which per-record calls can isolate.
func isBusiness(err error) bool {
	return IsKind(err, KindValidation) || IsKind(err, KindMissing) || IsKind(err, KindInvalid) || IsKind(err, KindInternal)
}

var orderFields = []string{"id", "name", "state", "amount_untaxed", "amount_tax", "amount_total"}

func (c *Client) lineFields() []string {
	return []string{"id", "order_id", "sequence", "product_id", "product_uom_qty", c.fields.lineUOM, "price_unit", "discount",
		"price_subtotal", "qty_delivered", "qty_invoiced", "display_type"}
}

func (c *Client) toLine(r record) waybill.ERPLine {
	prod := r.M2O("product_id", "product.product")
	return waybill.ERPLine{
		Ref:       waybill.ERPRef{Model: "sale.order.line", ID: r.ID()},
		Product:   prod,
		SKU:       skuOf(prod.Name),
		Quantity:  r.Dec("product_uom_qty"),
		UOM:       r.M2O(c.fields.lineUOM, "uom.uom").Name,
		UnitPrice: r.Dec("price_unit"),
		Discount:  r.Dec("discount"),
		Subtotal:  r.Dec("price_subtotal"),
		Delivered: r.Dec("qty_delivered"),
		Invoiced:  r.Dec("qty_invoiced"),
	}
}

// skuOf reads the internal reference from a product display name "[SKU] Name".
func skuOf(display string) string {
	if strings.HasPrefix(display, "[") {
		if i := strings.IndexByte(display, ']'); i > 0 {
			return display[1:i]
		}
	}
	return ""
}

// orderLines reads the product lines of orders, grouped by order, in Odoo's line order.
func (c *Client) orderLines(ctx context.Context, ids []int64) (map[int64][]waybill.ERPLine, error) {
	rs, err := c.searchRead(ctx, "sale.order.line", []any{[]any{"order_id", "in", idsAny(ids)}}, c.lineFields(), map[string]any{"order": "order_id, sequence, id"})
	if err != nil {
		return nil, err
	}
	out := map[int64][]waybill.ERPLine{}
	for _, r := range rs {
		if r.Str("display_type") != "" {
			continue // section or note
		}
		oid := r.M2O("order_id", "").ID
		out[oid] = append(out[oid], c.toLine(r))
	}
	return out, nil
}

// ConfirmOrders confirms sale orders with one action_confirm on all of them, then reads their
// headers and lines (one search_read each). Orders already confirmed are reported as they are.
// When the batch confirm is refused with a business error, the orders still in draft are
// confirmed one by one so one bad order fails alone.
func (c *Client) ConfirmOrders(ctx context.Context, orders []waybill.ERPRef) ([]waybill.Confirmation, error) {
	out := make([]waybill.Confirmation, len(orders))
	ids := make([]int64, 0, len(orders))
	seen := map[int64]bool{}
	for i, o := range orders {
		out[i].Order = o
		if !seen[o.ID] {
			ids = append(ids, o.ID)
			seen[o.ID] = true
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	perr := map[int64]error{}
	_, err := c.Method(ctx, "sale.order", "action_confirm", ids, nil)
	if err != nil {
		if !isBusiness(err) {
			return nil, fmt.Errorf("confirming sale orders: %w", err)
		}
		// Some orders may be confirmed already, missing, or refused: find out which.
		rs, rerr := c.read(ctx, "sale.order", ids, []string{"id", "state"}, nil)
		if rerr != nil && !IsKind(rerr, KindMissing) {
			return nil, fmt.Errorf("reading sale order states: %w", rerr)
		}
		if rerr != nil { // some ids are missing: search those that exist
			rs, rerr = c.searchRead(ctx, "sale.order", []any{[]any{"id", "in", idsAny(ids)}}, []string{"id", "state"}, nil)
			if rerr != nil {
				return nil, fmt.Errorf("reading sale order states: %w", rerr)
			}
		}
		state := map[int64]string{}
		for _, r := range rs {
			state[r.ID()] = r.Str("state")
		}
		for _, id := range ids {
			switch s, ok := state[id]; {
			case !ok:
				perr[id] = &Error{Kind: KindMissing, Model: "sale.order", Method: "action_confirm", Name: "odoo.exceptions.MissingError", Message: fmt.Sprintf("sale order %d does not exist", id)}
			case s == "draft" || s == "sent":
				if _, err := c.Method(ctx, "sale.order", "action_confirm", []int64{id}, nil); err != nil {
					perr[id] = err
				}
			case s == "cancel":
				perr[id] = &Error{Kind: KindValidation, Model: "sale.order", Method: "action_confirm", Message: fmt.Sprintf("sale order %d is cancelled", id)}
			}
		}
	}
	heads, err := c.searchRead(ctx, "sale.order", []any{[]any{"id", "in", idsAny(ids)}}, orderFields, nil)
	if err != nil {
		return nil, fmt.Errorf("reading confirmed sale orders: %w", err)
	}
	lines, err := c.orderLines(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reading confirmed sale order lines: %w", err)
	}
	byID := map[int64]record{}
	for _, h := range heads {
		byID[h.ID()] = h
	}
	if err := c.markBackorders(ctx, lines); err != nil {
		return nil, err
	}
	for i, o := range orders {
		if e := perr[o.ID]; e != nil {
			out[i].Err = fmt.Errorf("confirming sale order %d: %w", o.ID, e)
		}
		h, ok := byID[o.ID]
		if !ok {
			if out[i].Err == nil {
				out[i].Err = waybill.Errorf(waybill.ENOTFOUND, "unknown_order", "no Odoo sale order %d", o.ID)
			}
			continue
		}
		out[i].Order = waybill.ERPRef{Model: "sale.order", ID: o.ID, Name: h.Str("name")}
		out[i].State = h.Str("state")
		out[i].Lines = lines[o.ID]
		out[i].Untaxed, out[i].Tax, out[i].Total = h.Dec("amount_untaxed"), h.Dec("amount_tax"), h.Dec("amount_total")
		if out[i].Err == nil && out[i].State != "sale" && out[i].State != "done" {
			out[i].Err = waybill.Errorf(waybill.EREJECTED, "not_confirmed", "Odoo left sale order %s in state %s", h.Str("name"), out[i].State)
		}
	}
	return out, nil
}

// CancelOrder cancels a sale order with action_cancel (context disable_cancel_warning, and the
// sale.order.cancel wizard when Odoo still asks for it). A cancelled order is left as it is.
func (c *Client) CancelOrder(ctx context.Context, order waybill.ERPRef) error {
	ctxv := map[string]any{"disable_cancel_warning": true}
	res, err := c.Method(ctx, "sale.order", "action_cancel", []int64{order.ID}, ctxv)
	if err != nil {
		return fmt.Errorf("cancelling sale order %d: %w", order.ID, err)
	}
	if act, ok := res.(map[string]any); ok {
		if err := c.runWizard(ctx, act, map[string]any{"order_id": order.ID}, "action_cancel"); err != nil {
			return fmt.Errorf("cancelling sale order %d: %w", order.ID, err)
		}
	}
	return nil
}

// runWizard completes a wizard action returned by a button: it creates the action's res_model
// with vals in the action's context and calls method on it.
func (c *Client) runWizard(ctx context.Context, act map[string]any, vals map[string]any, method string) error {
	model, _ := act["res_model"].(string)
	if model == "" {
		return nil
	}
	wctx, _ := act["context"].(map[string]any)
	if id, ok := asInt(act["res_id"]); ok && id != 0 {
		_, err := c.Method(ctx, model, method, []int64{id}, wctx)
		return err
	}
	ids, err := c.Create(ctx, model, []map[string]any{vals}, wctx)
	if err != nil {
		return err
	}
	_, err = c.Method(ctx, model, method, ids, wctx)
	return err
}

// markBackorders sets, on confirmed lines, the quantity Odoo could not reserve and the date its
// delivery is scheduled for, from the lines' open stock moves (one search_read for the batch).
// In 17.0 and later a move's quantity is what is reserved until it is picked.
func (c *Client) markBackorders(ctx context.Context, lines map[int64][]waybill.ERPLine) error {
	var ids []any
	for _, ls := range lines {
		for _, l := range ls {
			ids = append(ids, l.Ref.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	ms, err := c.searchRead(ctx, "stock.move", []any{[]any{"sale_line_id", "in", ids}, []any{"state", "not in", []any{"done", "cancel"}}},
		[]string{"sale_line_id", "product_uom_qty", "quantity", "date"}, nil)
	if err != nil {
		return fmt.Errorf("reading the reservations of confirmed lines: %w", err)
	}
	short := map[int64]waybill.Decimal{}
	when := map[int64]time.Time{}
	for _, m := range ms {
		line := m.M2O("sale_line_id", "sale.order.line").ID
		if gap := m.Dec("product_uom_qty").Sub(m.Dec("quantity")); gap.Sign() > 0 {
			short[line] = short[line].Add(gap)
			when[line] = m.Time("date")
		}
	}
	for id, ls := range lines {
		for i := range ls {
			if q, ok := short[ls[i].Ref.ID]; ok {
				ls[i].Backordered = q
				if !when[ls[i].Ref.ID].IsZero() {
					ls[i].PromisedDate = when[ls[i].Ref.ID]
				}
			}
		}
		lines[id] = ls
	}
	return nil
}
