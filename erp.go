package waybill

import (
	"context"
	"time"
)

// ERP is the port the workflows use to reach the system of record. Odoo implements it
// (internal/odoo); a second ERP may serve some partners during a phased cutover.
//
// Every method is safe for concurrent use. Errors are coded: EUNAVAILABLE for transient faults
// (the pipeline retries), ENOTFOUND for a missing record, EREJECTED for a business rejection
// carrying the ERP's message, EUNAUTHORIZED/EFORBIDDEN for credentials and rights. Batch methods
// return one result per input, in input order, with per-item errors, so one bad order never fails
// the others; the method's own error is for faults that hit the whole batch.
type ERP interface {
	// FindCustomer resolves a customer account by the first of key's fields that is set.
	FindCustomer(ctx context.Context, key PartyKey) (Customer, error)
	// FindAddress resolves a delivery or invoice address belonging to customer.
	FindAddress(ctx context.Context, customer ERPRef, key PartyKey) (ERPRef, error)
	// FindProducts resolves products; a key that matches nothing has a zero Product and ENOTFOUND.
	FindProducts(ctx context.Context, keys []ProductKey) ([]ProductResult, error)
	// Prices returns the customer's net prices as the ERP computes them from its pricelist.
	Prices(ctx context.Context, customer ERPRef, reqs []PriceRequest) ([]PriceResult, error)
	// Stock returns positions for products in a warehouse ("" is the default warehouse).
	Stock(ctx context.Context, products []ERPRef, warehouse string) ([]InventoryPosition, error)

	// CreateOrders finds or creates one sale order per draft, keyed on HubRef: a retry after a
	// crash or time-out returns the existing order (Created false) instead of making a second.
	CreateOrders(ctx context.Context, drafts []OrderDraft) ([]OrderResult, error)
	// ConfirmOrders confirms sale orders (idempotent: a confirmed order is reported as such) and
	// returns the lines as the ERP accepted them.
	ConfirmOrders(ctx context.Context, orders []ERPRef) ([]Confirmation, error)
	// CancelOrder cancels a sale order; EREJECTED when the ERP refuses (e.g. already delivered).
	CancelOrder(ctx context.Context, order ERPRef) error
	// OrderStatus reads a sale order with its lines, deliveries and invoices.
	OrderStatus(ctx context.Context, order ERPRef) (OrderStatus, error)
}

// ChangeFeed is an optional capability of an ERP: change capture. Changes returns records of
// the given kinds changed since cursor (an opaque value, "" for the beginning), oldest first, at
// most limit, and the cursor to pass next. It may return a change more than once (overlap
// windows); it never skips one.
type ChangeFeed interface {
	Changes(ctx context.Context, cursor string, limit int) ([]Change, string, error)
}

// PartyKey identifies a customer or address: by the ERP's reference, by GLN, or by the code a
// partner uses for it. Partner scopes Code.
type PartyKey struct {
	Ref     string `json:"ref,omitempty"`
	GLN     string `json:"gln,omitempty"`
	Code    string `json:"code,omitempty"`
	Partner string `json:"partner,omitempty"`
	Name    string `json:"name,omitempty"`
}

// Customer is a resolved customer account.
type Customer struct {
	Ref       ERPRef `json:"ref"`
	Code      string `json:"code,omitempty"` // the ERP's own reference field
	Name      string `json:"name"`
	Pricelist ERPRef `json:"pricelist,omitzero"`
	Currency  string `json:"currency,omitempty"`
	Terms     Terms  `json:"terms,omitzero"`
}

// ProductKey identifies a product by SKU (default_code), GTIN (barcode) or the customer's own
// item code, tried in that order.
type ProductKey struct {
	SKU          string `json:"sku,omitempty"`
	GTIN         string `json:"gtin,omitempty"`
	CustomerItem string `json:"customer_item,omitempty"`
	Customer     ERPRef `json:"customer,omitzero"`
}

// Product is a resolved product.
type Product struct {
	Ref       ERPRef  `json:"ref"`
	SKU       string  `json:"sku"`
	GTIN      string  `json:"gtin,omitempty"`
	Name      string  `json:"name"`
	UOM       string  `json:"uom"`
	Storable  bool    `json:"storable"`
	ListPrice Decimal `json:"list_price"`
}

// ProductResult is the answer to one ProductKey.
type ProductResult struct {
	Product Product
	Err     error
}

// PriceRequest asks the net price of a quantity of a product on a date.
type PriceRequest struct {
	Product  ERPRef    `json:"product"`
	Quantity Decimal   `json:"quantity"`
	UOM      string    `json:"uom,omitempty"`
	Date     time.Time `json:"date,omitzero"`
}

// PriceResult answers one PriceRequest.
type PriceResult struct {
	Price PriceAgreement
	Err   error
}

// OrderDraft is what the hub asks the ERP to create for an accepted-to-be order.
type OrderDraft struct {
	HubRef        string      `json:"hub_ref"`   // the hub's order id; find-before-create key
	PONumber      string      `json:"po_number"` // client_order_ref in Odoo
	PODate        time.Time   `json:"po_date,omitzero"`
	Customer      ERPRef      `json:"customer"`
	ShipTo        ERPRef      `json:"ship_to,omitzero"`
	BillTo        ERPRef      `json:"bill_to,omitzero"`
	Pricelist     ERPRef      `json:"pricelist,omitzero"`
	RequestedDate time.Time   `json:"requested_date,omitzero"`
	Notes         string      `json:"notes,omitempty"`
	Lines         []DraftLine `json:"lines"`
}

// DraftLine is one line of an OrderDraft. A nil Price lets the ERP price the line itself.
type DraftLine struct {
	LineNumber  string   `json:"line_number"`
	Product     ERPRef   `json:"product"`
	Quantity    Decimal  `json:"quantity"`
	UOM         string   `json:"uom,omitempty"`
	Price       *Decimal `json:"price,omitempty"`
	Description string   `json:"description,omitempty"`
}

// OrderResult answers one OrderDraft.
type OrderResult struct {
	HubRef  string
	Order   ERPRef
	Created bool // false when an existing order with this HubRef was found
	Err     error
}

// Confirmation answers one ConfirmOrders entry.
type Confirmation struct {
	Order               ERPRef
	State               string // the ERP's order state after the call ("sale")
	Lines               []ERPLine
	Untaxed, Tax, Total Decimal
	Err                 error
}

// ERPLine is a sale order line as the ERP holds it, in the order the draft gave its lines.
type ERPLine struct {
	Ref          ERPRef    `json:"ref"`
	LineNumber   string    `json:"line_number,omitempty"`
	Product      ERPRef    `json:"product"`
	SKU          string    `json:"sku,omitempty"`
	Quantity     Decimal   `json:"quantity"`
	UOM          string    `json:"uom,omitempty"`
	UnitPrice    Decimal   `json:"unit_price"`
	Discount     Decimal   `json:"discount,omitzero"` // percent
	Subtotal     Decimal   `json:"subtotal"`
	Delivered    Decimal   `json:"delivered"`
	Invoiced     Decimal   `json:"invoiced"`
	PromisedDate time.Time `json:"promised_date,omitzero"`
	// Backordered is the part of the line the ERP could not reserve when it confirmed the order;
	// it ships later, around PromisedDate.
	Backordered Decimal `json:"backordered,omitzero"`
}

// OrderStatus is the ERP's view of a sale order.
type OrderStatus struct {
	Order          ERPRef       `json:"order"`
	HubRef         string       `json:"hub_ref,omitempty"`
	PONumber       string       `json:"po_number,omitempty"`
	State          string       `json:"state"`           // draft, sent, sale, done, cancel
	DeliveryStatus string       `json:"delivery_status"` // pending, started, partial, full
	InvoiceStatus  string       `json:"invoice_status"`  // upselling, invoiced, to invoice, no
	Lines          []ERPLine    `json:"lines"`
	Deliveries     []Delivery   `json:"deliveries"`
	Invoices       []ERPInvoice `json:"invoices"`
	WriteDate      time.Time    `json:"write_date,omitzero"`
}

// Delivery is an ERP delivery (Odoo stock.picking) of a sale order.
type Delivery struct {
	Ref         ERPRef         `json:"ref"`
	State       string         `json:"state"` // draft, waiting, confirmed, assigned, done, cancel
	Carrier     string         `json:"carrier,omitempty"`
	TrackingRef string         `json:"tracking_ref,omitempty"`
	DoneAt      time.Time      `json:"done_at,omitzero"`
	Scheduled   time.Time      `json:"scheduled,omitzero"`
	BackorderOf ERPRef         `json:"backorder_of,omitzero"`
	Moves       []DeliveryMove `json:"moves"`
}

// DeliveryMove is the quantity of one product in a delivery.
type DeliveryMove struct {
	Product  ERPRef  `json:"product"`
	SKU      string  `json:"sku,omitempty"`
	GTIN     string  `json:"gtin,omitempty"`
	SaleLine ERPRef  `json:"sale_line,omitzero"`
	Demand   Decimal `json:"demand"`
	Done     Decimal `json:"done"`
	UOM      string  `json:"uom,omitempty"`
}

// ERPInvoice is an ERP customer invoice of a sale order.
type ERPInvoice struct {
	Ref          ERPRef        `json:"ref"`
	Number       string        `json:"number"`
	State        string        `json:"state"` // draft, posted, cancel
	PaymentState PaymentState  `json:"payment_state"`
	Date         time.Time     `json:"date,omitzero"`
	DueDate      time.Time     `json:"due_date,omitzero"`
	Currency     string        `json:"currency,omitempty"`
	Untaxed      Decimal       `json:"untaxed"`
	Tax          Decimal       `json:"tax"`
	Total        Decimal       `json:"total"`
	Residual     Decimal       `json:"residual"`
	Lines        []InvoiceLine `json:"lines"`
}

// ChangeKind is what kind of ERP record changed.
type ChangeKind string

const (
	ChangeOrder    ChangeKind = "order"
	ChangeDelivery ChangeKind = "delivery"
	ChangeInvoice  ChangeKind = "invoice"
)

// Change is one changed ERP record seen by change capture.
type Change struct {
	Kind      ChangeKind `json:"kind"`
	Ref       ERPRef     `json:"ref"`
	Order     ERPRef     `json:"order,omitzero"` // the sale order it belongs to
	HubRef    string     `json:"hub_ref,omitempty"`
	WriteDate time.Time  `json:"write_date"`
}
