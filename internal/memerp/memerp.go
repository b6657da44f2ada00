// Package memerp is an in-memory ERP implementing waybill.ERP, for the core's own tests,
// benchmarks and fault tests. It can be served over HTTP (Handler) and reached through Client, so
// that a test can kill the hub while the ERP, in another process, keeps the truth about what was
// written: every create is keyed on the hub reference, and CreateCalls counts how many times each
// reference was actually created (it must never exceed one).
package memerp

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/waybill-hub/waybill"
)

// ERP is an in-memory ERP. The zero value is not usable; call New. It is safe for concurrent use.
type ERP struct {
	mu         sync.Mutex
	customers  map[string]waybill.Customer // by code
	products   map[string]waybill.Product  // by SKU
	orders     map[string]*order           // by hub ref
	byID       map[int64]*order
	nextID     int64
	created    map[string]int // creates per hub ref
	calls      int
	down       bool
	latency    time.Duration
	autoCreate bool
	orderSeq   int
}

type order struct {
	draft     waybill.OrderDraft
	ref       waybill.ERPRef
	state     string
	confirmed bool
}

var _ waybill.ERP = (*ERP)(nil)

// New returns an ERP that knows the given customers (by Code) and products (by SKU). Unknown
// customers and products are created on first lookup when autoCreate is true, which suits load
// tests that do not care about master data.
func New(autoCreate bool) *ERP {
	e := &ERP{customers: map[string]waybill.Customer{}, products: map[string]waybill.Product{},
		orders: map[string]*order{}, byID: map[int64]*order{}, created: map[string]int{}, nextID: 1}
	e.autoCreate = autoCreate
	return e
}

// AddCustomer registers a customer account under its code.
func (e *ERP) AddCustomer(code, name string) waybill.Customer {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addCustomerLocked(code, name)
}

func (e *ERP) addCustomerLocked(code, name string) waybill.Customer {
	c := waybill.Customer{Ref: waybill.ERPRef{Model: "res.partner", ID: e.id(), Name: name}, Code: code, Name: name, Currency: "USD"}
	e.customers[code] = c
	return c
}

// AddProduct registers a product under its SKU.
func (e *ERP) AddProduct(sku, gtin string, price waybill.Decimal) waybill.Product {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.addProductLocked(sku, gtin, price)
}

func (e *ERP) addProductLocked(sku, gtin string, price waybill.Decimal) waybill.Product {
	p := waybill.Product{Ref: waybill.ERPRef{Model: "product.product", ID: e.id(), Name: sku}, SKU: sku, GTIN: gtin, Name: sku,
		UOM: "EA", Storable: true, ListPrice: price}
	e.products[sku] = p
	return p
}

func (e *ERP) id() int64 { e.nextID++; return e.nextID }

// SetDown makes every call fail with EUNAVAILABLE until SetDown(false).
func (e *ERP) SetDown(down bool) { e.mu.Lock(); e.down = down; e.mu.Unlock() }

// SetLatency adds a delay to every call.
func (e *ERP) SetLatency(d time.Duration) { e.mu.Lock(); e.latency = d; e.mu.Unlock() }

// Stats is what the ERP saw.
type Stats struct {
	Orders       int            // distinct orders held
	Confirmed    int            // confirmed orders
	Calls        int            // calls of any method
	MaxCreates   int            // the most times one hub reference was created (must be ≤ 1)
	DoubleWrites []string       // hub references created more than once
	CreatesByRef map[string]int `json:"-"`
}

// Stats returns a snapshot.
func (e *ERP) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := Stats{Orders: len(e.orders), Calls: e.calls}
	for ref, n := range e.created {
		if n > s.MaxCreates {
			s.MaxCreates = n
		}
		if n > 1 {
			s.DoubleWrites = append(s.DoubleWrites, ref)
		}
	}
	sort.Strings(s.DoubleWrites)
	for _, o := range e.orders {
		if o.confirmed {
			s.Confirmed++
		}
	}
	return s
}

func (e *ERP) enter(ctx context.Context) error {
	e.mu.Lock()
	e.calls++
	down, lat := e.down, e.latency
	e.mu.Unlock()
	if lat > 0 {
		select {
		case <-time.After(lat):
		case <-ctx.Done():
			return waybill.Unavailable(ctx.Err(), "erp call interrupted")
		}
	}
	if down {
		return waybill.Errorf(waybill.EUNAVAILABLE, "erp_down", "the ERP is down")
	}
	return nil
}

func (e *ERP) FindCustomer(ctx context.Context, key waybill.PartyKey) (waybill.Customer, error) {
	if err := e.enter(ctx); err != nil {
		return waybill.Customer{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	code := key.Code
	if code == "" {
		code = key.Ref
	}
	if c, ok := e.customers[code]; ok {
		return c, nil
	}
	if e.autoCreate && code != "" {
		return e.addCustomerLocked(code, code), nil
	}
	return waybill.Customer{}, waybill.Errorf(waybill.ENOTFOUND, "unknown_customer", "no customer with code %q", code)
}

func (e *ERP) FindAddress(ctx context.Context, customer waybill.ERPRef, key waybill.PartyKey) (waybill.ERPRef, error) {
	if err := e.enter(ctx); err != nil {
		return waybill.ERPRef{}, err
	}
	return customer, nil
}

func (e *ERP) FindProducts(ctx context.Context, keys []waybill.ProductKey) ([]waybill.ProductResult, error) {
	if err := e.enter(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]waybill.ProductResult, len(keys))
	for i, k := range keys {
		p, ok := e.products[k.SKU]
		if !ok {
			for _, q := range e.products {
				if k.GTIN != "" && q.GTIN == k.GTIN {
					p, ok = q, true
					break
				}
			}
		}
		switch {
		case ok:
			out[i].Product = p
		case e.autoCreate && k.SKU != "":
			out[i].Product = e.addProductLocked(k.SKU, k.GTIN, waybill.MustDecimal("10"))
		default:
			out[i].Err = waybill.Errorf(waybill.ENOTFOUND, "unknown_item", "no product with SKU %q or GTIN %q", k.SKU, k.GTIN)
		}
	}
	return out, nil
}

func (e *ERP) Prices(ctx context.Context, customer waybill.ERPRef, reqs []waybill.PriceRequest) ([]waybill.PriceResult, error) {
	if err := e.enter(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]waybill.PriceResult, len(reqs))
	for i, r := range reqs {
		for _, p := range e.products {
			if p.Ref.ID == r.Product.ID {
				out[i].Price = waybill.PriceAgreement{Customer: customer, Product: p.Ref, SKU: p.SKU, Currency: "USD",
					UnitPrice: p.ListPrice, Rule: "list price"}
			}
		}
		if out[i].Price.SKU == "" {
			out[i].Err = waybill.Errorf(waybill.ENOTFOUND, "unknown_item", "no product %d", r.Product.ID)
		}
	}
	return out, nil
}

func (e *ERP) Stock(ctx context.Context, products []waybill.ERPRef, warehouse string) ([]waybill.InventoryPosition, error) {
	if err := e.enter(ctx); err != nil {
		return nil, err
	}
	out := make([]waybill.InventoryPosition, len(products))
	for i, p := range products {
		out[i] = waybill.InventoryPosition{Product: p, SKU: p.Name, Warehouse: "WH", OnHand: waybill.DecimalFromInt(1000),
			Forecast: waybill.DecimalFromInt(1000), FreeToPromise: waybill.DecimalFromInt(1000), AsOf: time.Now().UTC()}
	}
	return out, nil
}

func (e *ERP) CreateOrders(ctx context.Context, drafts []waybill.OrderDraft) ([]waybill.OrderResult, error) {
	if err := e.enter(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]waybill.OrderResult, len(drafts))
	for i, d := range drafts {
		out[i].HubRef = d.HubRef
		if o, ok := e.orders[d.HubRef]; ok { // find before create
			out[i].Order = o.ref
			continue
		}
		if len(d.Lines) == 0 {
			out[i].Err = waybill.Errorf(waybill.EREJECTED, "erp_rejected", "an order needs at least one line")
			continue
		}
		id := e.id()
		e.orderSeq++
		o := &order{draft: d, ref: waybill.ERPRef{Model: "sale.order", ID: id, Name: fmt.Sprintf("S%05d", e.orderSeq)}, state: "draft"}
		e.orders[d.HubRef] = o
		e.byID[id] = o
		e.created[d.HubRef]++
		out[i].Order, out[i].Created = o.ref, true
	}
	return out, nil
}

func (e *ERP) ConfirmOrders(ctx context.Context, refs []waybill.ERPRef) ([]waybill.Confirmation, error) {
	if err := e.enter(ctx); err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]waybill.Confirmation, len(refs))
	for i, r := range refs {
		o, ok := e.byID[r.ID]
		if !ok {
			out[i].Err = waybill.Errorf(waybill.ENOTFOUND, "erp_missing", "no sale order %d", r.ID)
			continue
		}
		o.state, o.confirmed = "sale", true
		out[i] = waybill.Confirmation{Order: o.ref, State: o.state}
		for _, l := range o.draft.Lines {
			price := waybill.MustDecimal("10")
			if l.Price != nil {
				price = *l.Price
			}
			sub := price.Mul(l.Quantity)
			out[i].Lines = append(out[i].Lines, waybill.ERPLine{LineNumber: l.LineNumber, Product: l.Product, Quantity: l.Quantity,
				UOM: l.UOM, UnitPrice: price, Subtotal: sub})
			out[i].Untaxed = out[i].Untaxed.Add(sub)
		}
		out[i].Total = out[i].Untaxed
	}
	return out, nil
}

func (e *ERP) CancelOrder(ctx context.Context, ref waybill.ERPRef) error {
	return e.cancelOrder(ctx, ref, nil)
}

// cancelOrder cancels the order unless check, run under e.mu, refuses.
func (e *ERP) cancelOrder(ctx context.Context, ref waybill.ERPRef, check func(o *order) error) error {
	if err := e.enter(ctx); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.byID[ref.ID]
	if !ok {
		return waybill.Errorf(waybill.ENOTFOUND, "erp_missing", "no sale order %d", ref.ID)
	}
	if check != nil {
		if err := check(o); err != nil {
			return err
		}
	}
	o.state = "cancel"
	return nil
}

func (e *ERP) OrderStatus(ctx context.Context, ref waybill.ERPRef) (waybill.OrderStatus, error) {
	if err := e.enter(ctx); err != nil {
		return waybill.OrderStatus{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	o, ok := e.byID[ref.ID]
	if !ok {
		return waybill.OrderStatus{}, waybill.Errorf(waybill.ENOTFOUND, "erp_missing", "no sale order %d", ref.ID)
	}
	return waybill.OrderStatus{Order: o.ref, HubRef: o.draft.HubRef, PONumber: o.draft.PONumber, State: o.state,
		DeliveryStatus: "pending", InvoiceStatus: "no"}, nil
}
