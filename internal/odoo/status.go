package odoo

import (
	"context"
	"fmt"
	"slices"

	"github.com/waybill-hub/waybill"
)

var _ waybill.StatusBatcher = (*Client)(nil)

// OrderStatus reads a sale order with its lines, deliveries (with their moves) and customer
// invoices (with their product lines): six calls at most. ENOTFOUND when the order does not
// exist. Carrier and tracking reference are read only when module stock_delivery (delivery in
// 17) is installed, delivery_status only with sale_stock.
func (c *Client) OrderStatus(ctx context.Context, order waybill.ERPRef) (waybill.OrderStatus, error) {
	sts, err := c.OrderStatuses(ctx, []waybill.ERPRef{order})
	if err != nil {
		return waybill.OrderStatus{}, err
	}
	if sts[0].Err != nil {
		return waybill.OrderStatus{}, sts[0].Err
	}
	return sts[0].OrderStatus, nil
}

// OrderStatuses reads several sale orders as OrderStatus reads one, in the same six calls at
// most: change capture syncs the orders a poll found together. An order that does not exist gets
// ENOTFOUND in its result.
func (c *Client) OrderStatuses(ctx context.Context, orders []waybill.ERPRef) ([]waybill.StatusResult, error) {
	out := make([]waybill.StatusResult, len(orders))
	if len(orders) == 0 {
		return out, nil
	}
	opt, err := c.optionalFields(ctx, "sale.order", "delivery_status")
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	fields := append([]string{"id", "name", "state", "client_order_ref", c.cfg.HubRefField, "invoice_status", "picking_ids", "invoice_ids", "write_date"}, opt...)
	// search_read, not read: read fails as a whole when one of the orders is gone.
	rs, err := c.searchRead(ctx, "sale.order", []any{[]any{"id", "in", idsAny(ids)}}, fields, nil)
	if err != nil {
		return nil, fmt.Errorf("reading sale orders %v: %w", ids, err)
	}
	heads := make(map[int64]record, len(rs))
	var found, pickings, invoices []int64
	for _, h := range rs {
		heads[h.ID()] = h
		found = append(found, h.ID())
		pickings = append(pickings, h.IDs("picking_ids")...)
		invoices = append(invoices, h.IDs("invoice_ids")...)
	}
	lines, err := c.orderLines(ctx, found)
	if err != nil {
		return nil, fmt.Errorf("reading lines of sale orders %v: %w", found, err)
	}
	deliveries, err := c.deliveries(ctx, pickings)
	if err != nil {
		return nil, fmt.Errorf("reading deliveries of sale orders %v: %w", found, err)
	}
	invs, err := c.invoices(ctx, invoices)
	if err != nil {
		return nil, fmt.Errorf("reading invoices of sale orders %v: %w", found, err)
	}
	for i, o := range orders {
		h, ok := heads[o.ID]
		if !ok {
			out[i].Err = waybill.Errorf(waybill.ENOTFOUND, "unknown_order", "no Odoo sale order %d", o.ID)
			continue
		}
		st := waybill.OrderStatus{
			Order:          waybill.ERPRef{Model: "sale.order", ID: h.ID(), Name: h.Str("name")},
			HubRef:         c.hubRefOf(h.Str(c.cfg.HubRefField)),
			PONumber:       h.Str("client_order_ref"),
			State:          h.Str("state"),
			DeliveryStatus: h.Str("delivery_status"),
			InvoiceStatus:  h.Str("invoice_status"),
			WriteDate:      h.Time("write_date"),
			Lines:          lines[o.ID],
			Deliveries:     []waybill.Delivery{},
			Invoices:       []waybill.ERPInvoice{},
		}
		// In the order Odoo reads them (deliveries by id, invoices as the read returned them).
		for _, d := range deliveries {
			if slices.Contains(h.IDs("picking_ids"), d.Ref.ID) {
				st.Deliveries = append(st.Deliveries, d)
			}
		}
		for _, inv := range invs {
			if slices.Contains(h.IDs("invoice_ids"), inv.Ref.ID) {
				st.Invoices = append(st.Invoices, inv)
			}
		}
		out[i].OrderStatus = st
	}
	return out, nil
}

func (c *Client) deliveries(ctx context.Context, ids []int64) ([]waybill.Delivery, error) {
	if len(ids) == 0 {
		return []waybill.Delivery{}, nil
	}
	opt, err := c.optionalFields(ctx, "stock.picking", "carrier_id", "carrier_tracking_ref")
	if err != nil {
		return nil, err
	}
	fields := append([]string{"id", "name", "state", "date_done", "scheduled_date", "backorder_id"}, opt...)
	ps, err := c.read(ctx, "stock.picking", ids, fields, nil)
	if err != nil {
		return nil, err
	}
	mf := []string{"id", "picking_id", "product_id", "product_uom_qty", c.fields.moveDone, "product_uom", "sale_line_id", "state"}
	ms, err := c.searchRead(ctx, "stock.move", []any{[]any{"picking_id", "in", idsAny(ids)}}, mf, map[string]any{"order": "id"})
	if err != nil {
		return nil, err
	}
	moves := map[int64][]waybill.DeliveryMove{}
	for _, m := range ms {
		prod := m.M2O("product_id", "product.product")
		dm := waybill.DeliveryMove{
			Product:  prod,
			SKU:      skuOf(prod.Name),
			SaleLine: m.M2O("sale_line_id", "sale.order.line"),
			Demand:   m.Dec("product_uom_qty"),
			UOM:      m.M2O("product_uom", "uom.uom").Name,
		}
		if m.Str("state") == "done" {
			dm.Done = m.Dec(c.fields.moveDone)
		}
		pid := m.M2O("picking_id", "").ID
		moves[pid] = append(moves[pid], dm)
	}
	out := make([]waybill.Delivery, 0, len(ps))
	for _, p := range ps {
		d := waybill.Delivery{
			Ref:         waybill.ERPRef{Model: "stock.picking", ID: p.ID(), Name: p.Str("name")},
			State:       p.Str("state"),
			Carrier:     p.M2O("carrier_id", "delivery.carrier").Name,
			TrackingRef: p.Str("carrier_tracking_ref"),
			DoneAt:      p.Time("date_done"),
			Scheduled:   p.Time("scheduled_date"),
			BackorderOf: p.M2O("backorder_id", "stock.picking"),
			Moves:       moves[p.ID()],
		}
		if d.Moves == nil {
			d.Moves = []waybill.DeliveryMove{}
		}
		out = append(out, d)
	}
	return out, nil
}

var invoiceFields = []string{"id", "name", "state", "payment_state", "move_type", "invoice_date", "invoice_date_due", "currency_id",
	"amount_untaxed", "amount_tax", "amount_total", "amount_residual"}

func (c *Client) invoices(ctx context.Context, ids []int64) ([]waybill.ERPInvoice, error) {
	if len(ids) == 0 {
		return []waybill.ERPInvoice{}, nil
	}
	is, err := c.read(ctx, "account.move", ids, invoiceFields, nil)
	if err != nil {
		return nil, err
	}
	ls, err := c.searchRead(ctx, "account.move.line", []any{[]any{"move_id", "in", idsAny(ids)}, []any{"display_type", "=", "product"}},
		[]string{"id", "move_id", "product_id", "name", "quantity", "product_uom_id", "price_unit", "price_subtotal"}, map[string]any{"order": "move_id, sequence, id"})
	if err != nil {
		return nil, err
	}
	lines := map[int64][]waybill.InvoiceLine{}
	for _, l := range ls {
		prod := l.M2O("product_id", "product.product")
		mid := l.M2O("move_id", "").ID
		lines[mid] = append(lines[mid], waybill.InvoiceLine{
			VendorItem:  skuOf(prod.Name),
			Description: l.Str("name"),
			Quantity:    l.Dec("quantity"),
			UOM:         l.M2O("product_uom_id", "").Name,
			UnitPrice:   l.Dec("price_unit"),
			Amount:      l.Dec("price_subtotal"),
		})
	}
	out := make([]waybill.ERPInvoice, 0, len(is))
	for _, r := range is {
		inv := waybill.ERPInvoice{
			Ref:          waybill.ERPRef{Model: "account.move", ID: r.ID(), Name: r.Str("name")},
			Number:       r.Str("name"),
			State:        r.Str("state"),
			PaymentState: waybill.PaymentState(r.Str("payment_state")),
			Date:         r.Time("invoice_date"),
			DueDate:      r.Time("invoice_date_due"),
			Currency:     r.M2O("currency_id", "").Name,
			Untaxed:      r.Dec("amount_untaxed"),
			Tax:          r.Dec("amount_tax"),
			Total:        r.Dec("amount_total"),
			Residual:     r.Dec("amount_residual"),
			Lines:        lines[r.ID()],
		}
		if inv.Number == "/" {
			inv.Number = "" // a draft has no number yet
		}
		if inv.Lines == nil {
			inv.Lines = []waybill.InvoiceLine{}
		}
		out = append(out, inv)
	}
	return out, nil
}
