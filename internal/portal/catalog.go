package portal

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/conditional"
	"golang.org/x/sync/singleflight"

	"github.com/waybill-hub/waybill"
)

// catalogCache holds, per customer account, the resolved ERP customer and its catalog, and the
// availability of products per warehouse. Catalogs expire after ttl (a stale one is served while
// the ERP is unreachable); availability is refreshed in the background (refreshLoop).
type catalogCache struct {
	erp   waybill.ERP
	ttl   time.Duration
	sf    singleflight.Group
	mu    sync.RWMutex
	cust  map[string]custEntry
	cats  map[string]*accountCatalog
	avail map[availKey]*availEntry
}

type custEntry struct {
	c  waybill.Customer
	at time.Time
}

// accountCatalog is one account's catalog as fetched at a moment.
type accountCatalog struct {
	items   []waybill.CatalogItem // by SKU
	bySKU   map[string]int
	version string // digest of the items, part of every ETag
	at      time.Time
}

type availKey struct{ sku, warehouse string }

type availEntry struct {
	product waybill.ERPRef
	pos     waybill.InventoryPosition
	at      time.Time
}

func newCatalogCache(erp waybill.ERP, ttl time.Duration) *catalogCache {
	return &catalogCache{erp: erp, ttl: ttl, cust: map[string]custEntry{}, cats: map[string]*accountCatalog{},
		avail: map[availKey]*availEntry{}}
}

// customer resolves an account to the ERP's customer.
func (c *catalogCache) customer(ctx context.Context, account string) (waybill.Customer, error) {
	c.mu.RLock()
	e, ok := c.cust[account]
	c.mu.RUnlock()
	if ok && time.Since(e.at) < 10*c.ttl {
		return e.c, nil
	}
	v, err, _ := c.sf.Do("cust:"+account, func() (any, error) {
		return c.erp.FindCustomer(ctx, waybill.PartyKey{Code: account, Ref: account})
	})
	if err != nil {
		if ok {
			return e.c, nil // stale beats nothing while the ERP is away
		}
		return waybill.Customer{}, err
	}
	cu := v.(waybill.Customer)
	c.mu.Lock()
	c.cust[account] = custEntry{c: cu, at: time.Now()}
	c.mu.Unlock()
	return cu, nil
}

// catalog returns the account's catalog, from the cache while it is fresh.
func (c *catalogCache) catalog(ctx context.Context, account string) (*accountCatalog, error) {
	cat, ok := c.erp.(waybill.Catalog)
	if !ok {
		return nil, problem(http.StatusNotImplemented, ProbNotImplemented, "the ERP offers no catalog")
	}
	c.mu.RLock()
	e := c.cats[account]
	c.mu.RUnlock()
	if e != nil && time.Since(e.at) < c.ttl {
		return e, nil
	}
	if e != nil && time.Since(e.at) < 5*c.ttl { // stale: serve it and refresh once in the background
		go func() { _, _ = c.fetch(context.WithoutCancel(ctx), cat, account) }()
		return e, nil
	}
	ac, err := c.fetch(ctx, cat, account)
	if err != nil {
		if e != nil && waybill.Code(err) == waybill.EUNAVAILABLE {
			return e, nil
		}
		return nil, err
	}
	return ac, nil
}

// fetch reads an account's catalog from the ERP into the cache, once at a time per account.
func (c *catalogCache) fetch(ctx context.Context, cat waybill.Catalog, account string) (*accountCatalog, error) {
	v, err, _ := c.sf.Do("cat:"+account, func() (any, error) {
		cu, err := c.customer(ctx, account)
		if err != nil {
			return nil, err
		}
		items, err := cat.CatalogFor(ctx, cu.Ref)
		if err != nil {
			return nil, err
		}
		sort.Slice(items, func(i, j int) bool { return items[i].Product.SKU < items[j].Product.SKU })
		ac := &accountCatalog{items: items, bySKU: make(map[string]int, len(items)), at: time.Now()}
		h := sha256.New()
		for i, it := range items {
			ac.bySKU[it.Product.SKU] = i
			b, _ := json.Marshal(it)
			h.Write(b)
		}
		ac.version = hex.EncodeToString(h.Sum(nil))[:16]
		c.mu.Lock()
		c.cats[account] = ac
		c.mu.Unlock()
		return ac, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*accountCatalog), nil
}

// item returns the catalog item with the SKU, if the account may buy it.
func (ac *accountCatalog) item(sku string) (waybill.CatalogItem, bool) {
	i, ok := ac.bySKU[sku]
	if !ok {
		return waybill.CatalogItem{}, false
	}
	return ac.items[i], true
}

// availability returns the positions of items in a warehouse, fetching those not cached.
func (c *catalogCache) availability(ctx context.Context, items []waybill.CatalogItem, warehouse string) ([]availEntry, error) {
	out := make([]availEntry, len(items))
	var missing []int
	c.mu.RLock()
	for i, it := range items {
		if e := c.avail[availKey{it.Product.SKU, warehouse}]; e != nil {
			out[i] = *e
		} else {
			missing = append(missing, i)
		}
	}
	c.mu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	refs := make([]waybill.ERPRef, len(missing))
	for j, i := range missing {
		refs[j] = items[i].Product.Ref
	}
	pos, err := c.erp.Stock(ctx, refs, warehouse)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	c.mu.Lock()
	for j, i := range missing {
		if j >= len(pos) {
			break
		}
		e := &availEntry{product: refs[j], pos: pos[j], at: now}
		c.avail[availKey{items[i].Product.SKU, warehouse}] = e
		out[i] = *e
	}
	c.mu.Unlock()
	return out, nil
}

// refresh re-reads every cached position from the ERP, a warehouse at a time.
func (c *catalogCache) refresh(ctx context.Context) error {
	c.mu.RLock()
	byWH := map[string][]availKey{}
	refs := map[availKey]waybill.ERPRef{}
	for k, e := range c.avail {
		byWH[k.warehouse] = append(byWH[k.warehouse], k)
		refs[k] = e.product
	}
	c.mu.RUnlock()
	for wh, keys := range byWH {
		for start := 0; start < len(keys); start += 200 {
			chunk := keys[start:min(start+200, len(keys))]
			prods := make([]waybill.ERPRef, len(chunk))
			for i, k := range chunk {
				prods[i] = refs[k]
			}
			pos, err := c.erp.Stock(ctx, prods, wh)
			if err != nil {
				return err
			}
			now := time.Now().UTC()
			c.mu.Lock()
			for i, k := range chunk {
				if i < len(pos) {
					c.avail[k] = &availEntry{product: prods[i], pos: pos[i], at: now}
				}
			}
			c.mu.Unlock()
		}
	}
	return nil
}

// invalidate drops an account's catalog and every cached position (tests, change capture).
func (c *catalogCache) invalidate() {
	c.mu.Lock()
	clear(c.cats)
	clear(c.avail)
	c.mu.Unlock()
}

func (s *Server) refreshLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.AvailabilityRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.restock:
		}
		if err := s.cat.refresh(ctx); err != nil && ctx.Err() == nil {
			s.log.Debug("refreshing availability", "error", err)
		}
	}
}

// InvalidateCache drops cached catalogs and availability, so the next read asks the ERP.
func (s *Server) InvalidateCache() { s.cat.invalidate() }

// RefreshAvailability has the cached availability re-read from the ERP in the background, soon;
// until then requests keep the figures they have, with the time they were read. Change capture
// calls it when the ERP reports stock moving (a reservation, a delivery): dropping the cache
// instead would make the next order wait for the ERP's stock figures.
func (s *Server) RefreshAvailability() {
	select {
	case s.restock <- struct{}{}:
	default: // one is pending already
	}
}

// Price is a customer's net price for a quantity break.
type Price struct {
	UnitPrice   string    `json:"unit_price" doc:"Net unit price, decimal string" example:"12.50"`
	Currency    string    `json:"currency" example:"USD"`
	MinQuantity string    `json:"min_quantity" doc:"Quantity from which this price applies" example:"0"`
	Rule        string    `json:"rule,omitempty" doc:"The pricelist rule that produced the price"`
	ValidUntil  time.Time `json:"valid_until,omitzero" doc:"Until when the price holds; absent when open-ended"`
}

// CatalogItem is a product the customer may buy.
type CatalogItem struct {
	SKU         string  `json:"sku" example:"SKU-1"`
	GTIN        string  `json:"gtin,omitempty"`
	Name        string  `json:"name"`
	Description string  `json:"description,omitempty"`
	Category    string  `json:"category,omitempty"`
	UOM         string  `json:"uom" example:"EA"`
	PackSize    string  `json:"pack_size,omitempty" doc:"Units per pack"`
	MinQuantity string  `json:"min_quantity,omitempty" doc:"Smallest quantity per order line"`
	MaxQuantity string  `json:"max_quantity,omitempty" doc:"Largest quantity per order line"`
	Multiple    string  `json:"multiple,omitempty" doc:"Quantities must be a multiple of this"`
	Price       *Price  `json:"price,omitempty" doc:"The price of the first quantity break"`
	PriceBreaks []Price `json:"price_breaks" doc:"Every quantity break, ascending"`
}

func viewItem(it waybill.CatalogItem) CatalogItem {
	v := CatalogItem{SKU: it.Product.SKU, GTIN: it.Product.GTIN, Name: it.Product.Name, Description: it.Description,
		Category: it.Category, UOM: it.Product.UOM, PackSize: decStr(it.PackSize), MinQuantity: decStr(it.MinQty),
		MaxQuantity: decStr(it.MaxQty), Multiple: decStr(it.Multiple), PriceBreaks: []Price{}}
	for _, p := range it.Prices {
		v.PriceBreaks = append(v.PriceBreaks, viewPrice(p))
	}
	if len(v.PriceBreaks) > 0 {
		p := v.PriceBreaks[0]
		v.Price = &p
	}
	return v
}

func viewPrice(p waybill.PriceAgreement) Price {
	return Price{UnitPrice: p.UnitPrice.String(), Currency: p.Currency, MinQuantity: p.MinQuantity.String(), Rule: p.Rule,
		ValidUntil: p.ValidUntil}
}

func decStr(d waybill.Decimal) string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// Page is the paging part of every list response.
type Page struct {
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor to get the next page; absent on the last page"`
}

// ListParams are the paging parameters of every list.
type ListParams struct {
	Cursor string `query:"cursor" doc:"Opaque cursor from the previous page's next_cursor"`
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50" doc:"Page size"`
}

// AccountParam names the account for keys allowed several accounts.
type AccountParam struct {
	Account string `header:"Waybill-Account" doc:"The customer account to act for; required only for keys allowed several accounts"`
}

type catalogListInput struct {
	AccountParam
	ListParams
	conditional.Params
	Q        string `query:"q" doc:"Search in SKU, name and description (case-insensitive)"`
	Category string `query:"category" doc:"Only this category"`
}

type catalogListOutput struct {
	ETag string `header:"ETag"`
	Body struct {
		Items []CatalogItem `json:"items"`
		Page
	}
}

type catalogGetInput struct {
	AccountParam
	conditional.Params
	SKU string `path:"sku"`
}

type catalogGetOutput struct {
	ETag string `header:"ETag"`
	Body CatalogItem
}

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", problem(http.StatusBadRequest, ProbBadRequest, "cursor is not valid", &huma.ErrorDetail{Location: "query.cursor", Message: "not a cursor from this API"})
	}
	return string(b), nil
}

func etag(parts ...string) string {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return `"` + hex.EncodeToString(h[:])[:20] + `"`
}

func (s *Server) listCatalog(ctx context.Context, in *catalogListInput) (*catalogListOutput, error) {
	p := principal(ctx)
	ac, err := s.cat.catalog(ctx, p.Account)
	if err != nil {
		return nil, fromErr(err)
	}
	after, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 50
	}
	q := strings.ToLower(in.Q)
	out := &catalogListOutput{}
	out.Body.Items = []CatalogItem{}
	start := sort.Search(len(ac.items), func(i int) bool { return ac.items[i].Product.SKU > after })
	if after == "" {
		start = 0
	}
	for i := start; i < len(ac.items); i++ {
		it := ac.items[i]
		if in.Category != "" && it.Category != in.Category {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(it.Product.SKU+"\x00"+it.Product.Name+"\x00"+it.Description), q) {
			continue
		}
		if len(out.Body.Items) == limit {
			out.Body.NextCursor = encodeCursor(out.Body.Items[limit-1].SKU)
			break
		}
		out.Body.Items = append(out.Body.Items, viewItem(it))
	}
	out.ETag = etag(ac.version, in.Q, in.Category, in.Cursor, itoa(limit))
	if in.HasConditionalParams() {
		if err := in.PreconditionFailed(strings.Trim(out.ETag, `"`), time.Time{}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Server) getCatalogItem(ctx context.Context, in *catalogGetInput) (*catalogGetOutput, error) {
	p := principal(ctx)
	ac, err := s.cat.catalog(ctx, p.Account)
	if err != nil {
		return nil, fromErr(err)
	}
	it, ok := ac.item(in.SKU)
	if !ok {
		return nil, notFound("product")
	}
	out := &catalogGetOutput{Body: viewItem(it), ETag: etag(ac.version, in.SKU)}
	if in.HasConditionalParams() {
		if err := in.PreconditionFailed(strings.Trim(out.ETag, `"`), time.Time{}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Availability is the available-to-promise quantity of a product in a warehouse.
type Availability struct {
	SKU         string    `json:"sku"`
	Warehouse   string    `json:"warehouse"`
	Available   string    `json:"available" doc:"Free to promise to a new order"`
	OnHand      string    `json:"on_hand"`
	UOM         string    `json:"uom,omitempty"`
	RefreshedAt time.Time `json:"refreshed_at" doc:"When the hub last read the figure from the ERP"`
}

type availabilityInput struct {
	AccountParam
	ListParams
	SKU       []string `query:"sku" doc:"SKUs to report (comma-separated); every catalog item when absent"`
	Warehouse string   `query:"warehouse" doc:"Warehouse code; the default warehouse when absent"`
}

type availabilityOutput struct {
	Body struct {
		Items []Availability `json:"items"`
		Page
	}
}

func (s *Server) availability(ctx context.Context, in *availabilityInput) (*availabilityOutput, error) {
	p := principal(ctx)
	ac, err := s.cat.catalog(ctx, p.Account)
	if err != nil {
		return nil, fromErr(err)
	}
	var items []waybill.CatalogItem
	out := &availabilityOutput{}
	out.Body.Items = []Availability{}
	if len(in.SKU) > 0 {
		if len(in.SKU) > 200 {
			return nil, problem(http.StatusUnprocessableEntity, ProbValidation, "at most 200 SKUs per request")
		}
		for _, sku := range in.SKU {
			if it, ok := ac.item(sku); ok { // SKUs outside the catalog are simply absent
				items = append(items, it)
			}
		}
	} else {
		after, err := decodeCursor(in.Cursor)
		if err != nil {
			return nil, err
		}
		limit := in.Limit
		if limit <= 0 {
			limit = 50
		}
		start := 0
		if after != "" {
			start = sort.Search(len(ac.items), func(i int) bool { return ac.items[i].Product.SKU > after })
		}
		end := min(start+limit, len(ac.items))
		items = ac.items[start:end]
		if end < len(ac.items) && end > start {
			out.Body.NextCursor = encodeCursor(ac.items[end-1].Product.SKU)
		}
	}
	pos, err := s.cat.availability(ctx, items, in.Warehouse)
	if err != nil {
		return nil, fromErr(err)
	}
	for i, it := range items {
		e := pos[i]
		wh := e.pos.Warehouse
		if in.Warehouse != "" {
			wh = in.Warehouse
		}
		out.Body.Items = append(out.Body.Items, Availability{SKU: it.Product.SKU, Warehouse: wh, Available: e.pos.FreeToPromise.String(),
			OnHand: e.pos.OnHand.String(), UOM: it.Product.UOM, RefreshedAt: e.at})
	}
	return out, nil
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}
