package waybill

import (
	"context"
	"time"
)

// The customer portal needs more of the ERP than the order workflow does: the products a customer
// may buy with its own prices and quantity rules, its invoices and statement, and return
// authorisations. Each is an optional capability of an ERP, found by type assertion
// (erp.(waybill.Catalog)); the portal answers 501 for the endpoints whose capability is missing.

// CatalogItem is a product a customer may buy, with the customer's own prices and the quantity
// rules an order line must respect.
type CatalogItem struct {
	Product     Product `json:"product"`
	Description string  `json:"description,omitempty"`
	Category    string  `json:"category,omitempty"`
	PackSize    Decimal `json:"pack_size,omitzero"` // units per pack; zero when sold by the unit
	MinQty      Decimal `json:"min_qty,omitzero"`   // smallest quantity per line; zero means none
	MaxQty      Decimal `json:"max_qty,omitzero"`   // largest quantity per line; zero means none
	Multiple    Decimal `json:"multiple,omitzero"`  // quantities must be a multiple of it; zero means any
	// Prices are the customer's net prices by quantity break, MinQuantity ascending; the first
	// applies from quantity zero. Each names the pricelist rule that produced it and how long it holds.
	Prices []PriceAgreement `json:"prices"`
}

// PriceFor returns the price agreement that applies to qty: the last break whose MinQuantity is
// not above qty. ok is false when the item has no prices.
func (c CatalogItem) PriceFor(qty Decimal) (p PriceAgreement, ok bool) {
	for _, b := range c.Prices {
		if b.MinQuantity.Cmp(qty) <= 0 || !ok {
			p, ok = b, true
		}
	}
	return p, ok
}

// Catalog is an optional capability of an ERP: the products a customer may buy.
type Catalog interface {
	// CatalogFor returns the saleable products of customer with its net prices (its pricelist
	// applied, quantity breaks included), ordered by SKU. ENOTFOUND when the customer is unknown.
	CatalogFor(ctx context.Context, customer ERPRef) ([]CatalogItem, error)
}

// Statement is a customer account's open items, ageing and balance at a moment.
type Statement struct {
	Customer    ERPRef       `json:"customer"`
	Currency    string       `json:"currency"`
	Terms       Terms        `json:"terms,omitzero"`
	CreditLimit Decimal      `json:"credit_limit"` // zero when the ERP sets no limit
	Balance     Decimal      `json:"balance"`      // sum of the open items' residuals
	OpenItems   []ERPInvoice `json:"open_items"`   // posted invoices not fully paid, oldest first
	AsOf        time.Time    `json:"as_of"`
}

// Billing is an optional capability of an ERP: invoices and statements per customer.
type Billing interface {
	// CustomerInvoices returns the posted customer invoices (and credit notes) of customer, newest
	// first.
	CustomerInvoices(ctx context.Context, customer ERPRef) ([]ERPInvoice, error)
	// Statement returns the account's open items, balance, terms and credit limit.
	Statement(ctx context.Context, customer ERPRef) (Statement, error)
}

// ReturnRequest asks the ERP for a return delivery of shipped goods. HubRef is the hub's return
// id: the ERP finds before it creates, so a retried request never makes a second return.
type ReturnRequest struct {
	HubRef   string              `json:"hub_ref"`
	Customer ERPRef              `json:"customer"`
	Order    ERPRef              `json:"order"`
	Reason   string              `json:"reason,omitempty"`
	Lines    []ReturnRequestLine `json:"lines"`
}

// ReturnRequestLine is a quantity of one sale order line to take back.
type ReturnRequestLine struct {
	SaleLine ERPRef  `json:"sale_line,omitzero"`
	Product  ERPRef  `json:"product"`
	Quantity Decimal `json:"quantity"`
}

// ReturnResult is the ERP's answer to a ReturnRequest.
type ReturnResult struct {
	State    ReturnState `json:"state"`             // approved, refused, ...
	Delivery ERPRef      `json:"delivery,omitzero"` // the return delivery (Odoo stock.picking)
	Credit   ERPRef      `json:"credit,omitzero"`   // the credit note, once posted
	Reason   string      `json:"reason,omitempty"`  // why it was refused
	Created  bool        `json:"created,omitempty"` // false when an earlier request's return was found
}

// Returns is an optional capability of an ERP: return authorisations.
type Returns interface {
	// CreateReturn finds (by HubRef) or creates the return delivery for r. EREJECTED when the ERP
	// refuses it (quantity above what was delivered, order not delivered).
	CreateReturn(ctx context.Context, r ReturnRequest) (ReturnResult, error)
	// ReturnStatus reads the state of the return created for hubRef; ENOTFOUND when there is none.
	ReturnStatus(ctx context.Context, hubRef string) (ReturnResult, error)
}
