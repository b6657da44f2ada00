package memerp

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/waybill-hub/waybill"
)

// PortalERP is an in-memory ERP with the customer portal's optional capabilities: a catalog with
// customer prices and quantity rules, stock levels, deliveries, invoices, statements and returns.
// Tests drive it with SetPrice, SetRules, SetStock, Ship and Invoice. It is safe for concurrent use.
type PortalERP struct {
	*ERP
	rules      map[string]waybill.CatalogItem                // by SKU
	prices     map[int64]map[string][]waybill.PriceAgreement // customer id → SKU → breaks
	hidden     map[int64]map[string]bool                     // customer id → SKUs it may not buy
	stock      map[string]waybill.Decimal                    // SKU → free to promise
	deliveries map[int64][]waybill.Delivery                  // sale order id → deliveries
	delivered  map[int64]map[string]waybill.Decimal          // sale order id → line number → delivered
	invoices   map[int64][]waybill.ERPInvoice                // customer id → invoices
	limits     map[int64]waybill.Decimal                     // customer id → credit limit
	returns    map[string]waybill.ReturnResult               // hub ref → return
}

var (
	_ waybill.ERP     = (*PortalERP)(nil)
	_ waybill.Catalog = (*PortalERP)(nil)
	_ waybill.Billing = (*PortalERP)(nil)
	_ waybill.Returns = (*PortalERP)(nil)
)

// NewPortal wraps e with the portal capabilities. Every product of e is in every customer's
// catalog at its list price, with 1000 free to promise, until told otherwise.
func NewPortal(e *ERP) *PortalERP {
	return &PortalERP{ERP: e, rules: map[string]waybill.CatalogItem{}, prices: map[int64]map[string][]waybill.PriceAgreement{},
		hidden: map[int64]map[string]bool{}, stock: map[string]waybill.Decimal{}, deliveries: map[int64][]waybill.Delivery{},
		delivered: map[int64]map[string]waybill.Decimal{}, invoices: map[int64][]waybill.ERPInvoice{}, limits: map[int64]waybill.Decimal{},
		returns: map[string]waybill.ReturnResult{}}
}

func (p *PortalERP) customerID(code string) int64 {
	c, ok := p.customers[code]
	if !ok {
		panic("memerp: unknown customer " + code)
	}
	return c.Ref.ID
}

// SetRules sets a product's catalog details: description, category, pack size and quantity rules
// (the Product and Prices fields of item are ignored).
func (p *PortalERP) SetRules(sku string, item waybill.CatalogItem) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules[sku] = item
}

// SetPrice gives a customer its own price breaks for a product (MinQuantity ascending).
func (p *PortalERP) SetPrice(customerCode, sku string, breaks ...waybill.PriceAgreement) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := p.customerID(customerCode)
	if p.prices[id] == nil {
		p.prices[id] = map[string][]waybill.PriceAgreement{}
	}
	p.prices[id][sku] = breaks
}

// Hide takes a product out of a customer's catalog.
func (p *PortalERP) Hide(customerCode, sku string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := p.customerID(customerCode)
	if p.hidden[id] == nil {
		p.hidden[id] = map[string]bool{}
	}
	p.hidden[id][sku] = true
}

// SetStock sets a product's free-to-promise quantity.
func (p *PortalERP) SetStock(sku string, qty waybill.Decimal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stock[sku] = qty
}

// SetCreditLimit sets a customer's credit limit.
func (p *PortalERP) SetCreditLimit(customerCode string, limit waybill.Decimal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.limits[p.customerID(customerCode)] = limit
}

func (p *PortalERP) breaksLocked(customer int64, prod waybill.Product) []waybill.PriceAgreement {
	if b := p.prices[customer][prod.SKU]; len(b) > 0 {
		return b
	}
	return []waybill.PriceAgreement{{SKU: prod.SKU, Product: prod.Ref, Currency: "USD", UnitPrice: prod.ListPrice, Rule: "list price"}}
}

func (p *PortalERP) productByID(id int64) (waybill.Product, bool) {
	for _, pr := range p.products {
		if pr.Ref.ID == id {
			return pr, true
		}
	}
	return waybill.Product{}, false
}

func priceFor(breaks []waybill.PriceAgreement, qty waybill.Decimal) waybill.PriceAgreement {
	it := waybill.CatalogItem{Prices: breaks}
	pa, _ := it.PriceFor(qty)
	return pa
}

// CatalogFor implements waybill.Catalog.
func (p *PortalERP) CatalogFor(ctx context.Context, customer waybill.ERPRef) ([]waybill.CatalogItem, error) {
	if err := p.enter(ctx); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	known := false
	for _, c := range p.customers {
		known = known || c.Ref.ID == customer.ID
	}
	if !known {
		return nil, waybill.Errorf(waybill.ENOTFOUND, "unknown_customer", "no customer %d", customer.ID)
	}
	var out []waybill.CatalogItem
	for sku, prod := range p.products {
		if p.hidden[customer.ID][sku] {
			continue
		}
		it := p.rules[sku]
		it.Product = prod
		it.Prices = p.breaksLocked(customer.ID, prod)
		for i := range it.Prices {
			it.Prices[i].Customer, it.Prices[i].Product, it.Prices[i].SKU = customer, prod.Ref, sku
		}
		out = append(out, it)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Product.SKU < out[j].Product.SKU })
	return out, nil
}

// Prices applies the customer's breaks.
func (p *PortalERP) Prices(ctx context.Context, customer waybill.ERPRef, reqs []waybill.PriceRequest) ([]waybill.PriceResult, error) {
	if err := p.enter(ctx); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]waybill.PriceResult, len(reqs))
	for i, r := range reqs {
		prod, ok := p.productByID(r.Product.ID)
		if !ok {
			out[i].Err = waybill.Errorf(waybill.ENOTFOUND, "unknown_item", "no product %d", r.Product.ID)
			continue
		}
		out[i].Price = priceFor(p.breaksLocked(customer.ID, prod), r.Quantity)
	}
	return out, nil
}

// Stock reports the free-to-promise set by SetStock (1000 by default).
func (p *PortalERP) Stock(ctx context.Context, products []waybill.ERPRef, warehouse string) ([]waybill.InventoryPosition, error) {
	if err := p.enter(ctx); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if warehouse == "" {
		warehouse = "WH"
	}
	out := make([]waybill.InventoryPosition, len(products))
	for i, ref := range products {
		prod, _ := p.productByID(ref.ID)
		q, ok := p.stock[prod.SKU]
		if !ok {
			q = waybill.DecimalFromInt(1000)
		}
		out[i] = waybill.InventoryPosition{Product: ref, SKU: prod.SKU, Warehouse: warehouse, OnHand: q, Forecast: q, FreeToPromise: q,
			UOM: prod.UOM, AsOf: time.Now().UTC()}
	}
	return out, nil
}

// ConfirmOrders prices lines the draft left unpriced from the customer's breaks.
func (p *PortalERP) ConfirmOrders(ctx context.Context, refs []waybill.ERPRef) ([]waybill.Confirmation, error) {
	confs, err := p.ERP.ConfirmOrders(ctx, refs)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range confs {
		c := &confs[i]
		o := p.byID[c.Order.ID]
		if c.Err != nil || o == nil {
			continue
		}
		c.Untaxed = waybill.Zero
		for j := range c.Lines {
			l := &c.Lines[j]
			if j < len(o.draft.Lines) && o.draft.Lines[j].Price == nil {
				if prod, ok := p.productByID(l.Product.ID); ok {
					l.UnitPrice = priceFor(p.breaksLocked(o.draft.Customer.ID, prod), l.Quantity).UnitPrice
					l.SKU = prod.SKU
				}
			}
			l.Subtotal = l.UnitPrice.Mul(l.Quantity).Round(2)
			c.Untaxed = c.Untaxed.Add(l.Subtotal)
		}
		c.Total = c.Untaxed
	}
	return confs, nil
}

// Ship records a done delivery of an order with the given quantities per line number.
func (p *PortalERP) Ship(order waybill.ERPRef, carrier, tracking string, qty map[string]waybill.Decimal) waybill.Delivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.byID[order.ID]
	if o == nil {
		panic(fmt.Sprintf("memerp: no sale order %d", order.ID))
	}
	if p.delivered[order.ID] == nil {
		p.delivered[order.ID] = map[string]waybill.Decimal{}
	}
	now := time.Now().UTC().Truncate(time.Second)
	d := waybill.Delivery{Ref: waybill.ERPRef{Model: "stock.picking", ID: p.id(), Name: fmt.Sprintf("WH/OUT/%05d", len(p.deliveries[order.ID])+1)},
		State: "done", Carrier: carrier, TrackingRef: tracking, DoneAt: now, Scheduled: now}
	for _, l := range o.draft.Lines {
		q, ok := qty[l.LineNumber]
		if !ok {
			continue
		}
		prod, _ := p.productByID(l.Product.ID)
		d.Moves = append(d.Moves, waybill.DeliveryMove{Product: l.Product, SKU: prod.SKU, Demand: q, Done: q, UOM: l.UOM})
		p.delivered[order.ID][l.LineNumber] = p.delivered[order.ID][l.LineNumber].Add(q)
	}
	p.deliveries[order.ID] = append(p.deliveries[order.ID], d)
	return d
}

// Invoice posts an invoice to the order's customer for what was delivered and not yet invoiced.
func (p *PortalERP) Invoice(order waybill.ERPRef, number string, state waybill.PaymentState, due time.Time) waybill.ERPInvoice {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.byID[order.ID]
	if o == nil {
		panic(fmt.Sprintf("memerp: no sale order %d", order.ID))
	}
	inv := waybill.ERPInvoice{Ref: waybill.ERPRef{Model: "account.move", ID: p.id(), Name: number}, Number: number, State: "posted",
		PaymentState: state, Date: time.Now().UTC().Truncate(24 * time.Hour), DueDate: due, Currency: "USD"}
	for _, l := range o.draft.Lines {
		q := p.delivered[order.ID][l.LineNumber]
		if q.IsZero() {
			continue
		}
		prod, _ := p.productByID(l.Product.ID)
		price := priceFor(p.breaksLocked(o.draft.Customer.ID, prod), l.Quantity).UnitPrice
		if l.Price != nil {
			price = *l.Price
		}
		amt := price.Mul(q).Round(2)
		inv.Lines = append(inv.Lines, waybill.InvoiceLine{LineNumber: l.LineNumber, VendorItem: prod.SKU, Quantity: q, UOM: l.UOM,
			UnitPrice: price, Amount: amt})
		inv.Untaxed = inv.Untaxed.Add(amt)
	}
	inv.Total = inv.Untaxed
	inv.Residual = inv.Total
	if state == waybill.PaymentPaid {
		inv.Residual = waybill.Zero
	}
	p.invoices[o.draft.Customer.ID] = append(p.invoices[o.draft.Customer.ID], inv)
	return inv
}

// OrderStatus adds lines, deliveries and invoices to the base status.
func (p *PortalERP) OrderStatus(ctx context.Context, ref waybill.ERPRef) (waybill.OrderStatus, error) {
	st, err := p.ERP.OrderStatus(ctx, ref)
	if err != nil {
		return st, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	o := p.byID[ref.ID]
	for _, l := range o.draft.Lines {
		prod, _ := p.productByID(l.Product.ID)
		price := priceFor(p.breaksLocked(o.draft.Customer.ID, prod), l.Quantity).UnitPrice
		if l.Price != nil {
			price = *l.Price
		}
		st.Lines = append(st.Lines, waybill.ERPLine{LineNumber: l.LineNumber, Product: l.Product, SKU: prod.SKU, Quantity: l.Quantity,
			UOM: l.UOM, UnitPrice: price, Subtotal: price.Mul(l.Quantity).Round(2), Delivered: p.delivered[ref.ID][l.LineNumber]})
	}
	st.Deliveries = append([]waybill.Delivery(nil), p.deliveries[ref.ID]...)
	if len(st.Deliveries) > 0 {
		st.DeliveryStatus = "partial"
	}
	for _, inv := range p.invoices[o.draft.Customer.ID] {
		st.Invoices = append(st.Invoices, inv)
	}
	return st, nil
}

// CustomerInvoices implements waybill.Billing.
func (p *PortalERP) CustomerInvoices(ctx context.Context, customer waybill.ERPRef) ([]waybill.ERPInvoice, error) {
	if err := p.enter(ctx); err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	invs := append([]waybill.ERPInvoice(nil), p.invoices[customer.ID]...)
	sort.SliceStable(invs, func(i, j int) bool { return invs[i].Ref.ID > invs[j].Ref.ID })
	return invs, nil
}

// Statement implements waybill.Billing.
func (p *PortalERP) Statement(ctx context.Context, customer waybill.ERPRef) (waybill.Statement, error) {
	if err := p.enter(ctx); err != nil {
		return waybill.Statement{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	st := waybill.Statement{Customer: customer, Currency: "USD", Terms: waybill.Terms{Code: "30D", Description: "30 days net", NetDays: 30},
		CreditLimit: p.limits[customer.ID], AsOf: time.Now().UTC()}
	for _, inv := range p.invoices[customer.ID] {
		if inv.Residual.Sign() > 0 {
			st.OpenItems = append(st.OpenItems, inv)
			st.Balance = st.Balance.Add(inv.Residual)
		}
	}
	return st, nil
}

// CreateReturn implements waybill.Returns: it approves a return of delivered quantities.
func (p *PortalERP) CreateReturn(ctx context.Context, r waybill.ReturnRequest) (waybill.ReturnResult, error) {
	if err := p.enter(ctx); err != nil {
		return waybill.ReturnResult{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if res, ok := p.returns[r.HubRef]; ok {
		res.Created = false
		return res, nil
	}
	if p.byID[r.Order.ID] == nil {
		return waybill.ReturnResult{}, waybill.Errorf(waybill.EREJECTED, "erp_rejected", "no sale order %d", r.Order.ID)
	}
	res := waybill.ReturnResult{State: waybill.ReturnApproved, Created: true,
		Delivery: waybill.ERPRef{Model: "stock.picking", ID: p.id(), Name: fmt.Sprintf("WH/RET/%05d", len(p.returns)+1)}}
	p.returns[r.HubRef] = res
	return res, nil
}

// ReturnStatus implements waybill.Returns.
func (p *PortalERP) ReturnStatus(ctx context.Context, hubRef string) (waybill.ReturnResult, error) {
	if err := p.enter(ctx); err != nil {
		return waybill.ReturnResult{}, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	res, ok := p.returns[hubRef]
	if !ok {
		return res, waybill.Errorf(waybill.ENOTFOUND, "no_return", "no return for %s", hubRef)
	}
	return res, nil
}
