package waybill

import "context"

// OrderChanger is an optional capability of an ERP, found by type assertion: applying a buyer's
// change request (X12 860, a portal change) to a confirmed sale order whose stock is not yet
// reserved. ChangeOrder applies every change or none and returns the order's lines as the ERP holds
// them afterwards. Quantities are absolute (the line's new quantity), so a retried call changes
// nothing more. EREJECTED carries the ERP's refusal (the order moved on, a line is delivered).
type OrderChanger interface {
	ChangeOrder(ctx context.Context, order ERPRef, changes []LineChange) ([]ERPLine, error)
}

// LineChange is one change to one sale order line.
type LineChange struct {
	LineNumber string   `json:"line_number"`          // the buyer's line number
	ERPLine    ERPRef   `json:"erp_line,omitzero"`    // the sale order line
	Product    ERPRef   `json:"product,omitzero"`     // its product
	Quantity   Decimal  `json:"quantity"`             // the new quantity (ignored with Cancel)
	UnitPrice  *Decimal `json:"unit_price,omitempty"` // the new price; nil keeps the ERP's
	Cancel     bool     `json:"cancel,omitempty"`     // remove the line (quantity 0)
}
