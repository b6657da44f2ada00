package edi

import (
	"time"

	"github.com/waybill-hub/waybill"
)

// OrderAck is the canonical document an 855 is rendered from: the order as the ERP accepted it
// (or the hub rejected it), with one line per line the partner sent, in the partner's order and
// units. Its JSON form is what outbound 855 templates read; the order's own fields are at the top
// level.
type OrderAck struct {
	*waybill.Order
	// AckType is BAK02: AD (accepted as sent), AC (accepted with changes or refused lines), RD
	// (rejected with detail).
	AckType string    `json:"ack_type"`
	AckDate time.Time `json:"ack_date"`
	Lines   []AckLine `json:"lines"`
}

// AckLine is one acknowledged line: the line as sent, its status and the acknowledged quantity.
type AckLine struct {
	waybill.Line
	AckQuantity waybill.Decimal `json:"ack_quantity"`
	AckDate     time.Time       `json:"ack_date,omitzero"`
	Reason      string          `json:"reason,omitempty"`
}

// BuildAck answers o. original holds the lines as the partner sent them (units and item codes
// untranslated); rejected those refused before the ERP. A rejected order has every line rejected.
func BuildAck(o *waybill.Order, original []waybill.Line, rejected []RejectedLine, now time.Time) *OrderAck {
	a := &OrderAck{Order: o, AckDate: now.UTC().Truncate(24 * time.Hour), AckType: "AD"}
	refused := map[string]string{}
	for _, r := range rejected {
		refused[r.Number] = r.Reason
	}
	if len(original) == 0 {
		original = o.Lines
	}
	for _, ol := range original {
		l := AckLine{Line: ol}
		l.Qty, l.Product, l.ERPLine = waybill.LineQty{}, waybill.ERPRef{}, waybill.ERPRef{}
		acc := o.LineByNumber(ol.Number)
		switch {
		case o.State == waybill.OrderRejected:
			l.Status, l.AckQuantity, l.Reason = waybill.LineRejected, ol.Quantity, refused[ol.Number]
		case refused[ol.Number] != "" || acc == nil:
			l.Status, l.AckQuantity, l.Reason = waybill.LineRejected, ol.Quantity, refused[ol.Number]
		default:
			l.Status = acc.Status
			if l.Status == "" {
				l.Status = waybill.LineAccepted
			}
			l.AckQuantity = acc.Qty.Accepted
			if l.AckQuantity.IsZero() {
				l.AckQuantity = acc.Quantity
			}
			if acc.HasUnitPrice {
				l.UnitPrice, l.HasUnitPrice = acc.UnitPrice, true
			}
			if !acc.RequestedShip.IsZero() && l.Status == waybill.LineDateChanged {
				l.AckDate = acc.RequestedShip
			}
			if l.Status == waybill.LineBackordered && !acc.PromisedShip.IsZero() {
				l.AckDate = acc.PromisedShip
			}
		}
		if l.Status != waybill.LineAccepted && a.AckType == "AD" {
			a.AckType = "AC"
		}
		a.Lines = append(a.Lines, l)
	}
	if o.State == waybill.OrderRejected {
		a.AckType = "RD"
	}
	return a
}
