package waybill

import (
	"context"
	"fmt"
)

// ChangeRefusal says why a buyer's change or cancellation of o can no longer be applied through
// the ERP, or returns "" when it can: the ERP accepted the order and has not reserved its stock
// yet (OrderAccepted). Every channel that takes change requests (X12 860, the portal) decides by
// it, so they refuse the same orders with the same words.
func (o *Order) ChangeRefusal() string {
	switch {
	case o.State == OrderAccepted:
		return ""
	case o.State.Final():
		return fmt.Sprintf("order %s is %s", o.PONumber, o.State)
	case o.ERP.IsZero():
		return fmt.Sprintf("order %s is not accepted by the ERP yet (it is %s); send the change again later", o.PONumber, o.State)
	default:
		return fmt.Sprintf("order %s is %s; the stock is reserved, so changes are refused", o.PONumber, o.State)
	}
}

// NewChange returns a change of the line that leaves it as it is: the caller sets Quantity,
// Cancel or UnitPrice.
func (l *Line) NewChange() LineChange {
	return LineChange{LineNumber: l.Number, ERPLine: l.ERPLine, Product: l.Product, Quantity: l.Quantity}
}

// ChangeLines applies changes to the sale order through erp's OrderChanger and returns the
// order's lines as the ERP holds them afterwards. The error is EREJECTED when the ERP refuses the
// change or cannot change lines at all (it lacks OrderChanger); its Message is written for the
// buyer. Any other error is the ERP's (EUNAVAILABLE: try again later), and nothing was changed.
func ChangeLines(ctx context.Context, erp ERP, order ERPRef, changes []LineChange) ([]ERPLine, error) {
	changer, ok := erp.(OrderChanger)
	if !ok {
		return nil, Errorf(EREJECTED, "change_unsupported", "the ERP connector cannot change order lines; only cancellations are applied")
	}
	lines, err := changer.ChangeOrder(ctx, order, changes)
	if err != nil {
		return nil, fmt.Errorf("changing %s in the ERP: %w", order.Name, err)
	}
	return lines, nil
}

// FollowERPLines makes o's lines follow the ERP's after it applied changes (ChangeLines): a
// changed line takes the ERP's quantity and price; a cancelled line, or one the ERP now holds at
// zero, keeps nothing accepted. ERP lines are matched by the buyer's line number, then by the
// sale order line. Lines that no change names are left alone.
func (o *Order) FollowERPLines(erpLines []ERPLine, changes []LineChange) {
	byNumber, byRef := map[string]ERPLine{}, map[int64]ERPLine{}
	for _, el := range erpLines {
		if el.LineNumber != "" {
			byNumber[el.LineNumber] = el
		}
		if el.Ref.ID != 0 {
			byRef[el.Ref.ID] = el
		}
	}
	for _, ch := range changes {
		l := o.LineByNumber(ch.LineNumber)
		if l == nil {
			continue
		}
		el, found := byNumber[l.Number]
		if !found && l.ERPLine.ID != 0 {
			el, found = byRef[l.ERPLine.ID]
		}
		switch {
		case ch.Cancel || (found && el.Quantity.IsZero()):
			l.Qty.Cancelled, l.Qty.Accepted = l.Qty.Cancelled.Add(l.Qty.Accepted), Zero
			l.Status = LineRejected
		case found:
			l.Quantity, l.Qty.Ordered, l.Qty.Accepted = el.Quantity, el.Quantity, el.Quantity
			l.UnitPrice, l.HasUnitPrice = el.UnitPrice, true
		}
	}
}
