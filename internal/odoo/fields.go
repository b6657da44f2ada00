package odoo

import (
	"context"
	"errors"
	"sync"
	"time"
)

// fieldNames holds the field names that differ between Odoo versions.
//
//	                         17.0                  18.0                  19.0
//	storable product         type='product'        type='consu'+is_storable  type='consu'+is_storable
//	sale.order.line UoM      product_uom           product_uom           product_uom_id
//	done quantity            stock.move quantity + picked (17 replaced quantity_done)
//	picking moves            stock.picking.move_ids (16 replaced move_lines)
//	stock context key        warehouse             warehouse_id          warehouse_id
//	return wizard method     create_returns        action_create_returns action_create_returns
type fieldNames struct {
	storableFlag string // "is_storable" (18+), or "" when storable means type == "product"
	lineUOM      string // sale.order.line unit of measure
	moveDone     string // stock.move done quantity
	movePicked   bool   // whether stock.move has picked
	pickingMoves string // stock.picking one2many of stock.move
	returnMethod string // stock.return.picking method that makes the return transfer
}

func fieldsFor(v version) fieldNames {
	f := fieldNames{
		storableFlag: "is_storable",
		lineUOM:      "product_uom_id",
		moveDone:     "quantity",
		movePicked:   true,
		pickingMoves: "move_ids",
		returnMethod: "action_create_returns",
	}
	if v.Major < 19 {
		f.lineUOM = "product_uom"
	}
	if v.Major < 18 {
		f.storableFlag = ""
		f.returnMethod = "create_returns" // 18.0 renamed it when it added action_create_returns_all
	}
	if v.Major < 17 {
		f.moveDone, f.movePicked = "quantity_done", false
	}
	if v.Major < 16 {
		f.pickingMoves = "move_lines"
	}
	return f
}

// StorableProductVals returns the product values that make a product storable (stock-tracked)
// in the connected Odoo version: {type: consu, is_storable: true} from 18, {type: product} before.
func (c *Client) StorableProductVals() map[string]any {
	if c.fields.storableFlag != "" {
		return map[string]any{"type": "consu", c.fields.storableFlag: true}
	}
	return map[string]any{"type": "product"}
}

// SaleLineUOMField returns the name of sale.order.line's unit of measure field.
func (c *Client) SaleLineUOMField() string { return c.fields.lineUOM }

// MoveDoneFields returns the stock.move values that record qty as done (picked) in the
// connected version: {quantity: qty, picked: true} from 17, {quantity_done: qty} before.
func (c *Client) MoveDoneFields(qty float64) map[string]any {
	if c.fields.movePicked {
		return map[string]any{c.fields.moveDone: qty, "picked": true}
	}
	return map[string]any{c.fields.moveDone: qty}
}

// modelFields caches which fields a model has (fields_get), for fields that only exist when a
// module is installed (carrier_tracking_ref needs stock_delivery, delivery_status sale_stock).
type modelFields struct {
	mu sync.Mutex
	m  map[string]*fieldSet
}

// fieldSet is one model's fields, or the fields_get call still reading them: done is closed once
// has or err is set.
type fieldSet struct {
	done chan struct{}
	has  map[string]bool
	err  error
}

// hasField reports whether model has field, asking Odoo once per model and process: callers that
// ask while the answer is on its way wait for it rather than asking again (a burst of order
// status reads on a fresh process would otherwise send one fields_get each). A failed fields_get
// is returned to the callers that waited for it and forgotten, so the next caller asks again;
// when it failed only because its caller gave up (its context ended), the waiters ask again.
func (c *Client) hasField(ctx context.Context, model, field string) (bool, error) {
	mf := &c.cache.fields
	mf.mu.Lock()
	fs, ok := mf.m[model]
	if !ok {
		fs = &fieldSet{done: make(chan struct{})}
		if mf.m == nil {
			mf.m = map[string]*fieldSet{}
		}
		mf.m[model] = fs
	}
	mf.mu.Unlock()
	if ok {
		select {
		case <-fs.done:
		case <-ctx.Done():
			return false, ctx.Err()
		}
		if errors.Is(fs.err, context.Canceled) || errors.Is(fs.err, context.DeadlineExceeded) {
			return c.hasField(ctx, model, field) // the asker gave up, not Odoo: ask again
		}
		if fs.err != nil {
			return false, fs.err
		}
		return fs.has[field], nil
	}
	v, err := c.Call(ctx, model, "fields_get", nil, map[string]any{"attributes": []any{"type"}})
	if err != nil {
		fs.err = err
		mf.mu.Lock()
		delete(mf.m, model)
		mf.mu.Unlock()
		close(fs.done)
		return false, err
	}
	m, _ := v.(map[string]any)
	fs.has = make(map[string]bool, len(m))
	for k := range m {
		fs.has[k] = true
	}
	close(fs.done)
	return fs.has[field], nil
}

// optionalFields returns the fields of want that model has.
func (c *Client) optionalFields(ctx context.Context, model string, want ...string) ([]string, error) {
	var out []string
	for _, f := range want {
		ok, err := c.hasField(ctx, model, f)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, f)
		}
	}
	return out, nil
}

// cache holds master data for a TTL.
type cache struct {
	ttl    time.Duration
	mu     sync.Mutex
	items  map[string]cacheItem
	fields modelFields
	now    func() time.Time
}

type cacheItem struct {
	v       any
	expires time.Time
}

func newCache(ttl time.Duration) *cache {
	return &cache{ttl: ttl, items: map[string]cacheItem{}, now: time.Now}
}

func (c *cache) get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[key]
	if !ok || c.now().After(it.expires) {
		return nil, false
	}
	return it.v, true
}

func (c *cache) put(key string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.items) > 100_000 {
		c.items = map[string]cacheItem{}
	}
	c.items[key] = cacheItem{v: v, expires: c.now().Add(c.ttl)}
}

// Forget empties the master data cache (products, customers, pricelists, warehouses).
func (c *Client) Forget() {
	c.cache.mu.Lock()
	c.cache.items = map[string]cacheItem{}
	c.cache.mu.Unlock()
}
