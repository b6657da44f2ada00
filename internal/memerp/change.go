package memerp

import (
	"context"

	"github.com/waybill-hub/waybill"
)

var (
	_ waybill.OrderChanger = (*ERP)(nil)
	_ waybill.OrderChanger = (*PortalERP)(nil)
)

// ChangeOrder implements waybill.OrderChanger: it sets the quantities (0 for a cancelled line,
// which the order keeps, as Odoo does) and prices of a confirmed order's lines, all or none. A
// line is found by the buyer's line number, then by product. It refuses (EREJECTED) a cancelled
// order and a line the order does not have.
func (e *ERP) ChangeOrder(ctx context.Context, ref waybill.ERPRef, changes []waybill.LineChange) ([]waybill.ERPLine, error) {
	return e.changeOrder(ctx, ref, changes, nil, nil)
}

// lineCheck may refuse a line's new quantity; it runs under e.mu.
type lineCheck func(o *order, l waybill.DraftLine, qty waybill.Decimal) error

// linePrice prices a line as the ERP holds it; it runs under e.mu.
type linePrice func(o *order, l waybill.DraftLine) waybill.Decimal

func (e *ERP) changeOrder(ctx context.Context, ref waybill.ERPRef, changes []waybill.LineChange, check lineCheck, price linePrice) ([]waybill.ERPLine, error) {
	if err := e.enter(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.byID[ref.ID]
	switch {
	case !ok:
		return nil, waybill.Errorf(waybill.ENOTFOUND, "erp_missing", "no sale order %d", ref.ID)
	case o.state == "cancel":
		return nil, waybill.Errorf(waybill.EREJECTED, "erp_rejected", "sale order %s is cancelled", o.ref.Name)
	}
	lines := append([]waybill.DraftLine(nil), o.draft.Lines...)
	for _, ch := range changes {
		i := lineIndex(lines, ch)
		if i < 0 {
			return nil, waybill.Errorf(waybill.EREJECTED, "erp_rejected", "line %s is not on sale order %s", ch.LineNumber, o.ref.Name)
		}
		qty := ch.Quantity
		if ch.Cancel {
			qty = waybill.Zero
		}
		if check != nil {
			if err := check(o, lines[i], qty); err != nil {
				return nil, err
			}
		}
		lines[i].Quantity = qty
		if ch.UnitPrice != nil {
			p := *ch.UnitPrice
			lines[i].Price = &p
		}
	}
	o.draft.Lines = lines
	if price == nil {
		price = func(_ *order, l waybill.DraftLine) waybill.Decimal {
			if l.Price != nil {
				return *l.Price
			}
			return waybill.MustDecimal("10")
		}
	}
	out := make([]waybill.ERPLine, len(lines))
	for i, l := range lines {
		p := price(o, l)
		out[i] = waybill.ERPLine{LineNumber: l.LineNumber, Product: l.Product, Quantity: l.Quantity, UOM: l.UOM, UnitPrice: p,
			Subtotal: p.Mul(l.Quantity).Round(2)}
	}
	return out, nil
}

func lineIndex(lines []waybill.DraftLine, ch waybill.LineChange) int {
	for i, l := range lines {
		if ch.LineNumber != "" && l.LineNumber == ch.LineNumber {
			return i
		}
	}
	for i, l := range lines {
		if ch.Product.ID != 0 && l.Product.ID == ch.Product.ID {
			return i
		}
	}
	return -1
}

// ChangeOrder is ERP.ChangeOrder priced with the customer's breaks, refusing to take a line
// below what was delivered of it (Ship).
func (p *PortalERP) ChangeOrder(ctx context.Context, ref waybill.ERPRef, changes []waybill.LineChange) ([]waybill.ERPLine, error) {
	check := func(o *order, l waybill.DraftLine, qty waybill.Decimal) error {
		if done := p.delivered[o.ref.ID][l.LineNumber]; qty.Cmp(done) < 0 {
			return waybill.Errorf(waybill.EREJECTED, "erp_rejected", "%s of line %s of sale order %s are delivered; its quantity cannot go below that",
				done, l.LineNumber, o.ref.Name)
		}
		return nil
	}
	return p.changeOrder(ctx, ref, changes, check, p.linePriceLocked)
}

func (p *PortalERP) linePriceLocked(o *order, l waybill.DraftLine) waybill.Decimal {
	if l.Price != nil {
		return *l.Price
	}
	prod, _ := p.productByID(l.Product.ID)
	return priceFor(p.breaksLocked(o.draft.Customer.ID, prod), l.Quantity).UnitPrice
}

// CancelOrder refuses (EREJECTED) to cancel an order some of whose goods were delivered (Ship);
// otherwise it is ERP.CancelOrder.
func (p *PortalERP) CancelOrder(ctx context.Context, ref waybill.ERPRef) error {
	return p.cancelOrder(ctx, ref, func(o *order) error {
		for _, q := range p.delivered[ref.ID] {
			if q.Sign() > 0 {
				return waybill.Errorf(waybill.EREJECTED, "erp_rejected", "sale order %s has delivered goods and cannot be cancelled", o.ref.Name)
			}
		}
		return nil
	})
}
