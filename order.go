package waybill

import "time"

// Channel is the way a message reached the hub or leaves it.
type Channel string

const (
	ChannelAS2    Channel = "as2"    // EDI over AS2 (RFC 4130).
	ChannelSFTP   Channel = "sftp"   // Files through the built-in mailbox or a polled partner server.
	ChannelHTTP   Channel = "http"   // Documents posted to the authenticated intake endpoint.
	ChannelFolder Channel = "folder" // A watched folder of an on-premise integration.
	ChannelPortal Channel = "portal" // The customer portal REST API.
	ChannelERP    Channel = "erp"    // Change capture from the ERP.
	ChannelCLI    Channel = "cli"    // An operator's command (demo traffic, manual submission).
)

// Order is the canonical purchase order, whichever channel it came from.
//
// ID, CorrelationID, Partner and State belong to the hub; the rest is what the customer asked for.
// ERP is the ERP's sale order once accepted.
type Order struct {
	ID            string     `json:"id,omitempty"`
	CorrelationID string     `json:"correlation_id,omitempty"`
	Partner       string     `json:"partner"`           // trading partner or portal client the order came from
	Account       string     `json:"account,omitempty"` // customer account; the same across channels
	Channel       Channel    `json:"channel,omitempty"`
	PONumber      string     `json:"po_number"`
	PODate        time.Time  `json:"po_date,omitzero"`
	Purpose       string     `json:"purpose,omitempty"` // "original", "replace", "confirmation", ...
	Type          string     `json:"type,omitempty"`    // "standalone", "blanket", "dropship", ...
	Currency      string     `json:"currency,omitempty"`
	Terms         Terms      `json:"terms,omitzero"`
	RequestedShip time.Time  `json:"requested_ship,omitzero"`
	RequestedDlv  time.Time  `json:"requested_delivery,omitzero"`
	CancelAfter   time.Time  `json:"cancel_after,omitzero"`
	SoldTo        Party      `json:"sold_to,omitzero"`
	ShipTo        Party      `json:"ship_to,omitzero"`
	BillTo        Party      `json:"bill_to,omitzero"`
	Carrier       string     `json:"carrier,omitempty"` // requested carrier SCAC
	Charges       []Charge   `json:"charges,omitempty"`
	Notes         []string   `json:"notes,omitempty"`
	Lines         []Line     `json:"lines"`
	State         OrderState `json:"state,omitempty"`
	ERP           ERPRef     `json:"erp,omitzero"`
	Customer      ERPRef     `json:"customer,omitzero"`  // resolved sold-to in the ERP
	Pricelist     ERPRef     `json:"pricelist,omitzero"` // resolved pricelist, when the partner names one
}

// Line is one line of an order. Qty tracks what happened to the ordered quantity, so partial
// shipments and backorders are exact.
type Line struct {
	Number        string     `json:"number"`                // the buyer's line number (PO101)
	BuyerItem     string     `json:"buyer_item,omitempty"`  // the buyer's part number
	VendorItem    string     `json:"vendor_item,omitempty"` // the distributor's SKU (Odoo default_code)
	GTIN          string     `json:"gtin,omitempty"`        // GTIN-14, GTIN-13 or UPC-A (GTIN-12)
	Description   string     `json:"description,omitempty"`
	Quantity      Decimal    `json:"quantity"`
	UOM           string     `json:"uom"` // X12 unit code (EA, CA, ...)
	UnitPrice     Decimal    `json:"unit_price,omitzero"`
	HasUnitPrice  bool       `json:"has_unit_price,omitempty"` // false when the buyer left the price to the ERP
	PackSize      Decimal    `json:"pack_size,omitzero"`
	RequestedShip time.Time  `json:"requested_ship,omitzero"`
	RequestedDlv  time.Time  `json:"requested_delivery,omitzero"`
	PromisedShip  time.Time  `json:"promised_ship,omitzero"` // when the ERP expects to ship a backordered part
	Charges       []Charge   `json:"charges,omitempty"`
	Qty           LineQty    `json:"qty,omitzero"`
	Status        LineStatus `json:"status,omitempty"`
	Product       ERPRef     `json:"product,omitzero"` // resolved ERP product
	ERPLine       ERPRef     `json:"erp_line,omitzero"`
}

// LineQty is the line-level account of an ordered quantity. Accepted + Cancelled never exceeds
// Ordered; Shipped never exceeds Accepted; Invoiced never exceeds Shipped (CheckQty verifies it).
type LineQty struct {
	Ordered     Decimal `json:"ordered"`
	Accepted    Decimal `json:"accepted"`
	Backordered Decimal `json:"backordered"`
	Allocated   Decimal `json:"allocated"`
	Shipped     Decimal `json:"shipped"`
	Invoiced    Decimal `json:"invoiced"`
	Cancelled   Decimal `json:"cancelled"`
}

// LineStatus is how the ERP answered a line; it becomes the 855 ACK01 or the portal line status.
type LineStatus string

const (
	LineAccepted        LineStatus = "accepted"         // Accepted as ordered.
	LinePriceChanged    LineStatus = "price_changed"    // Accepted at another price.
	LineQtyChanged      LineStatus = "quantity_changed" // Accepted for another quantity.
	LineDateChanged     LineStatus = "date_changed"     // Accepted for another date.
	LineBackordered     LineStatus = "backordered"      // Accepted; part or all ships later.
	LineRejected        LineStatus = "rejected"         // Refused (unknown item, discontinued, ...).
	LinePendingDecision LineStatus = ""                 // Not answered yet.
)

// Terms are payment terms as stated on a document.
type Terms struct {
	Code        string  `json:"code,omitempty"` // ERP payment term or X12 ITD01
	Description string  `json:"description,omitempty"`
	NetDays     int     `json:"net_days,omitempty"`
	DiscountPct Decimal `json:"discount_pct,omitzero"`
	DiscountDay int     `json:"discount_days,omitempty"`
}

// ChargeKind tells a charge from an allowance.
type ChargeKind string

const (
	KindCharge    ChargeKind = "charge"    // Adds to the amount (freight, handling).
	KindAllowance ChargeKind = "allowance" // Reduces it (promotional, volume discount).
)

// Charge is a charge or allowance at header or line level. Amount is positive; Kind gives the sign.
type Charge struct {
	Kind        ChargeKind `json:"kind"`
	Code        string     `json:"code,omitempty"` // X12 SAC02 code (e.g. D240 freight)
	Description string     `json:"description,omitempty"`
	Amount      Decimal    `json:"amount,omitzero"`
	Percent     Decimal    `json:"percent,omitzero"`
}

// Signed returns the amount with its sign: negative for an allowance.
func (c Charge) Signed() Decimal {
	if c.Kind == KindAllowance {
		return c.Amount.Neg()
	}
	return c.Amount
}

// LineByNumber returns the line with the given buyer line number, or nil.
func (o *Order) LineByNumber(n string) *Line {
	for i := range o.Lines {
		if o.Lines[i].Number == n {
			return &o.Lines[i]
		}
	}
	return nil
}

// BusinessKey is the key duplicate purchase orders are detected by across every channel: the
// customer account and the PO number (the partner when no account is known).
func (o *Order) BusinessKey() string {
	if o.Account != "" {
		return o.Account + "/" + o.PONumber
	}
	return o.Partner + "/" + o.PONumber
}
