package odoo

import (
	"context"
	"fmt"

	"github.com/waybill-hub/waybill"
)

var _ waybill.OrderChanger = (*Client)(nil)

// ChangeOrder applies a buyer's change request to a sale order in one write, so Odoo applies all
// of it or none: each line's ordered quantity (0 to cancel the line: Odoo keeps the lines of a
// confirmed order) and, when given, its unit price. Lines are found by their sale order line id,
// or by product when the id is unknown. Odoo itself adjusts the delivery of a confirmed order.
// Quantities are absolute, so a retried call changes nothing more. It returns the order's lines
// as Odoo holds them afterwards; Odoo's refusals (a delivered line, a locked order) are EREJECTED.
func (c *Client) ChangeOrder(ctx context.Context, order waybill.ERPRef, changes []waybill.LineChange) ([]waybill.ERPLine, error) {
	if order.ID == 0 {
		return nil, &Error{Kind: KindValidation, Message: "a change needs the sale order's id"}
	}
	if order.Name == "" {
		order.Name = fmt.Sprint(order.ID)
	}
	current, err := c.orderLines(ctx, []int64{order.ID})
	if err != nil {
		return nil, fmt.Errorf("reading the lines of %s: %w", order.Name, err)
	}
	byProduct := map[int64]int64{}
	for _, l := range current[order.ID] {
		if _, seen := byProduct[l.Product.ID]; !seen {
			byProduct[l.Product.ID] = l.Ref.ID
		}
	}
	var cmds []any
	for _, ch := range changes {
		id := ch.ERPLine.ID
		if id == 0 {
			id = byProduct[ch.Product.ID]
		}
		if id == 0 {
			return nil, &Error{Kind: KindValidation, Message: fmt.Sprintf("line %s is not on sale order %s", ch.LineNumber, order.Name)}
		}
		vals := map[string]any{"product_uom_qty": ch.Quantity.Float()}
		if ch.Cancel {
			vals["product_uom_qty"] = 0.0
		}
		if ch.UnitPrice != nil {
			vals["price_unit"] = ch.UnitPrice.Float()
		}
		cmds = append(cmds, []any{1, id, vals})
	}
	if err := c.Write(ctx, "sale.order", []int64{order.ID}, map[string]any{"order_line": cmds}); err != nil {
		return nil, fmt.Errorf("changing sale order %s: %w", order.Name, err)
	}
	after, err := c.orderLines(ctx, []int64{order.ID})
	if err != nil {
		return nil, fmt.Errorf("reading the lines of %s: %w", order.Name, err)
	}
	return after[order.ID], nil
}
