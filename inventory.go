package waybill

import "time"

// InventoryPosition is the stock of one product in one warehouse at a moment: what is on hand,
// what the ERP forecasts after incoming and outgoing moves, and what is free to promise to a new
// order (on hand less reservations).
type InventoryPosition struct {
	Product       ERPRef    `json:"product,omitzero"`
	SKU           string    `json:"sku"`
	GTIN          string    `json:"gtin,omitempty"`
	Warehouse     string    `json:"warehouse"`
	OnHand        Decimal   `json:"on_hand"`
	Forecast      Decimal   `json:"forecast"`
	FreeToPromise Decimal   `json:"free_to_promise"`
	UOM           string    `json:"uom,omitempty"`
	AsOf          time.Time `json:"as_of"`
}

// PriceAgreement is the net price a customer pays for a product, as the ERP's pricelist computes
// it, with the rule that produced it and how long it holds.
type PriceAgreement struct {
	Account     string    `json:"account,omitempty"`
	Customer    ERPRef    `json:"customer,omitzero"`
	Product     ERPRef    `json:"product,omitzero"`
	SKU         string    `json:"sku"`
	Currency    string    `json:"currency"`
	UnitPrice   Decimal   `json:"unit_price"`
	MinQuantity Decimal   `json:"min_quantity,omitzero"` // quantity break this price starts at
	UOM         string    `json:"uom,omitempty"`
	Rule        string    `json:"rule,omitempty"` // which pricelist rule produced it
	ValidFrom   time.Time `json:"valid_from,omitzero"`
	ValidUntil  time.Time `json:"valid_until,omitzero"`
}

// ReturnState is the state of a return authorisation.
type ReturnState string

const (
	ReturnRequested ReturnState = "requested" // Asked for by the customer; awaiting a decision.
	ReturnApproved  ReturnState = "approved"  // Approved; a return delivery exists in the ERP.
	ReturnReceived  ReturnState = "received"  // Goods received back.
	ReturnCredited  ReturnState = "credited"  // A credit note is posted.
	ReturnRefused   ReturnState = "refused"   // Refused, with a reason.
)

// ReturnAuthorization (RMA) asks to send shipped goods back.
type ReturnAuthorization struct {
	ID        string       `json:"id,omitempty"`
	Number    string       `json:"number,omitempty"`
	Account   string       `json:"account"`
	OrderID   string       `json:"order_id"`
	PONumber  string       `json:"po_number,omitempty"`
	Lines     []ReturnLine `json:"lines"`
	State     ReturnState  `json:"state"`
	Reason    string       `json:"reason,omitempty"`
	CreatedAt time.Time    `json:"created_at,omitzero"`
	ERP       ERPRef       `json:"erp,omitzero"` // the return delivery
	Credit    ERPRef       `json:"credit,omitzero"`
}

// ReturnLine is one returned quantity of a shipped order line.
type ReturnLine struct {
	LineNumber string  `json:"line_number"`
	VendorItem string  `json:"vendor_item,omitempty"`
	Quantity   Decimal `json:"quantity"`
	UOM        string  `json:"uom,omitempty"`
	Reason     string  `json:"reason,omitempty"`
}

// Partner is a trading partner or portal client as the hub's domain sees it. Transport and
// mapping details live in the adapters' own profiles.
type Partner struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Account         string          `json:"account,omitempty"` // the customer account its orders belong to
	Channels        []Channel       `json:"channels,omitempty"`
	Customer        ERPRef          `json:"customer,omitzero"`
	Pricelist       ERPRef          `json:"pricelist,omitzero"`
	DuplicatePolicy DuplicatePolicy `json:"duplicate_policy,omitempty"`
	TimeZone        string          `json:"time_zone,omitempty"` // IANA zone applied at the edges
}

// DuplicatePolicy is what happens to a purchase order whose business key was seen before.
type DuplicatePolicy string

const (
	DuplicateReject    DuplicatePolicy = "reject"    // Refuse the second one (default).
	DuplicateFlag      DuplicatePolicy = "flag"      // Hold it for a person to decide.
	DuplicateSupersede DuplicatePolicy = "supersede" // Replace the first if not yet accepted.
)
