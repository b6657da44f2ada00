package odoo

import (
	"context"
	"fmt"
	"time"

	"github.com/waybill-hub/waybill"
)

// PurchaseDraft is a purchase order the hub asks Odoo to create at a supplier. HubRef is the
// find-before-create key, stored like a sale order's in the hub reference field.
type PurchaseDraft struct {
	HubRef      string
	Vendor      waybill.ERPRef
	VendorRef   string // partner_ref: the supplier's own order reference, if known
	PlannedDate time.Time
	Lines       []PurchaseLine
}

// PurchaseLine is one line of a PurchaseDraft; a nil Price lets Odoo take the vendor price.
type PurchaseLine struct {
	Product  waybill.ERPRef
	Quantity waybill.Decimal
	Price    *waybill.Decimal
}

// Purchaser is the supplier-side capability of the Odoo client; the waybill.ERP port does not
// need it yet.
type Purchaser interface {
	CreatePurchaseOrders(ctx context.Context, drafts []PurchaseDraft) ([]waybill.OrderResult, error)
	ConfirmPurchaseOrders(ctx context.Context, orders []waybill.ERPRef) ([]waybill.Confirmation, error)
}

var _ Purchaser = (*Client)(nil)

// CreatePurchaseOrders finds or creates one purchase.order per draft (one search_read, one create
// with a vals_list), like CreateOrders.
func (c *Client) CreatePurchaseOrders(ctx context.Context, drafts []PurchaseDraft) ([]waybill.OrderResult, error) {
	out := make([]waybill.OrderResult, len(drafts))
	var refs []any
	for i, d := range drafts {
		out[i].HubRef = d.HubRef
		if d.HubRef == "" || d.Vendor.ID == 0 || len(d.Lines) == 0 {
			out[i].Err = waybill.Errorf(waybill.EINVALID, "purchase_draft", "purchase draft %q needs a hub reference, a vendor and lines", d.HubRef)
			continue
		}
		refs = append(refs, c.HubRef(d.HubRef))
	}
	if len(refs) == 0 {
		return out, nil
	}
	rs, err := c.searchRead(ctx, "purchase.order", []any{[]any{c.cfg.HubRefField, "in", refs}}, []string{"id", "name", c.cfg.HubRefField}, nil)
	if err != nil {
		return nil, fmt.Errorf("finding purchase orders by hub reference: %w", err)
	}
	found := map[string]waybill.ERPRef{}
	for _, r := range rs {
		found[c.hubRefOf(r.Str(c.cfg.HubRefField))] = waybill.ERPRef{Model: "purchase.order", ID: r.ID(), Name: r.Str("name")}
	}
	var todo []int
	var vals []map[string]any
	for i, d := range drafts {
		if out[i].Err != nil {
			continue
		}
		if ref, ok := found[d.HubRef]; ok {
			out[i].Order = ref
			continue
		}
		v := map[string]any{"partner_id": d.Vendor.ID, c.cfg.HubRefField: c.HubRef(d.HubRef)}
		if d.VendorRef != "" {
			v["partner_ref"] = d.VendorRef
		}
		var lines []any
		for _, l := range d.Lines {
			lv := map[string]any{"product_id": l.Product.ID, "product_qty": dec2f(l.Quantity)}
			if l.Price != nil {
				lv["price_unit"] = dec2f(*l.Price)
			}
			if !d.PlannedDate.IsZero() {
				lv["date_planned"] = d.PlannedDate.UTC().Format(odooDatetime)
			}
			lines = append(lines, []any{0, 0, lv})
		}
		v["order_line"] = lines
		todo, vals = append(todo, i), append(vals, v)
		found[d.HubRef] = waybill.ERPRef{} // a duplicate in the batch is created once
	}
	if len(todo) == 0 {
		return out, nil
	}
	ids, err := c.Create(ctx, "purchase.order", vals, nil)
	if err != nil && len(todo) > 1 && isBusiness(err) {
		for k, i := range todo {
			one, err := c.Create(ctx, "purchase.order", vals[k:k+1], nil)
			if err != nil {
				out[i].Err = fmt.Errorf("creating purchase order for %s: %w", drafts[i].HubRef, err)
				continue
			}
			out[i].Order, out[i].Created = waybill.ERPRef{Model: "purchase.order", ID: one[0]}, true
		}
		return out, nil
	}
	for k, i := range todo {
		if err != nil {
			out[i].Err = fmt.Errorf("creating purchase order for %s: %w", drafts[i].HubRef, err)
			continue
		}
		out[i].Order, out[i].Created = waybill.ERPRef{Model: "purchase.order", ID: ids[k]}, true
	}
	return out, nil
}

// ConfirmPurchaseOrders confirms purchase orders with button_confirm (per order when the batch is
// refused) and returns their state and totals.
func (c *Client) ConfirmPurchaseOrders(ctx context.Context, orders []waybill.ERPRef) ([]waybill.Confirmation, error) {
	out := make([]waybill.Confirmation, len(orders))
	ids := make([]int64, len(orders))
	for i, o := range orders {
		out[i].Order, ids[i] = o, o.ID
	}
	perr := map[int64]error{}
	if _, err := c.Method(ctx, "purchase.order", "button_confirm", ids, nil); err != nil {
		if !isBusiness(err) {
			return nil, fmt.Errorf("confirming purchase orders: %w", err)
		}
		for _, id := range ids {
			if _, err := c.Method(ctx, "purchase.order", "button_confirm", []int64{id}, nil); err != nil {
				perr[id] = err
			}
		}
	}
	rs, err := c.searchRead(ctx, "purchase.order", []any{[]any{"id", "in", idsAny(ids)}}, orderFields, nil)
	if err != nil {
		return nil, fmt.Errorf("reading purchase orders: %w", err)
	}
	byID := map[int64]record{}
	for _, r := range rs {
		byID[r.ID()] = r
	}
	for i, o := range orders {
		h, ok := byID[o.ID]
		switch {
		case !ok:
			out[i].Err = waybill.Errorf(waybill.ENOTFOUND, "unknown_order", "no Odoo purchase order %d", o.ID)
			continue
		case perr[o.ID] != nil && h.Str("state") != "purchase" && h.Str("state") != "done":
			out[i].Err = fmt.Errorf("confirming purchase order %d: %w", o.ID, perr[o.ID])
		}
		out[i].Order = waybill.ERPRef{Model: "purchase.order", ID: o.ID, Name: h.Str("name")}
		out[i].State = h.Str("state")
		out[i].Untaxed, out[i].Tax, out[i].Total = h.Dec("amount_untaxed"), h.Dec("amount_tax"), h.Dec("amount_total")
	}
	return out, nil
}
