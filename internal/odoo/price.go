package odoo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
)

// Odoo keeps the pricelist computation private (product.pricelist._get_product_price cannot be
// called remotely), so Prices reads the rules over the API and applies them as Odoo's
// product.pricelist.item._compute_price does: the first applicable rule in the order
// "applied_on, min_quantity desc, categ_id desc, id desc" wins (a variant rule before a product
// rule before a category rule, the category or any of its parents, before a global rule); a rule
// applies when the quantity reaches min_quantity and the date is within date_start..date_end;
// fixed gives fixed_price; percentage and formula start from the base (sales price, cost, or
// another pricelist); formula then applies price_discount, price_round, price_surcharge and the
// margins. No applicable rule gives the sales price. The result is rounded to the "Product
// Price" precision (Config.PriceDigits), as sale.order.line.price_unit is. The conformance suite
// proves the result equals the net price Odoo puts on a sale order line.

type pricelistRule struct {
	id                                  int64
	appliedOn                           string
	product, template, categ            int64
	minQty                              waybill.Decimal
	start, end                          time.Time
	compute, base                       string
	basePricelist                       int64
	fixed, percent, discount, surcharge waybill.Decimal
	round, minMargin, maxMargin         waybill.Decimal
}

type pricelistData struct {
	id       int64
	name     string
	currency string
	rules    []pricelistRule
}

type priceProduct struct {
	id, template int64
	categs       []int64 // the category and its parents
	sku, uom     string
	list, cost   waybill.Decimal
}

var ruleFields = []string{"id", "applied_on", "product_id", "product_tmpl_id", "categ_id", "min_quantity", "date_start", "date_end",
	"compute_price", "fixed_price", "percent_price", "base", "base_pricelist_id", "price_discount", "price_surcharge",
	"price_round", "price_min_margin", "price_max_margin"}

func (c *Client) pricelist(ctx context.Context, id int64) (*pricelistData, error) {
	key := "pricelist:" + itoa(id)
	if v, ok := c.cache.get(key); ok {
		return v.(*pricelistData), nil
	}
	ps, err := c.read(ctx, "product.pricelist", []int64{id}, []string{"id", "name", "currency_id"}, nil)
	if err != nil {
		return nil, fmt.Errorf("reading pricelist %d: %w", id, err)
	}
	if len(ps) == 0 {
		return nil, waybill.Errorf(waybill.ENOTFOUND, "unknown_pricelist", "no Odoo pricelist %d", id)
	}
	fields, err := c.optionalFields(ctx, "product.pricelist.item", ruleFields...) // margins and rounding vary by version
	if err != nil {
		return nil, fmt.Errorf("reading pricelist %d rules: %w", id, err)
	}
	rs, err := c.searchRead(ctx, "product.pricelist.item", []any{[]any{"pricelist_id", "=", id}}, fields, nil)
	if err != nil {
		return nil, fmt.Errorf("reading pricelist %d rules: %w", id, err)
	}
	pl := &pricelistData{id: id, name: ps[0].Str("name"), currency: ps[0].M2O("currency_id", "res.currency").Name}
	for _, r := range rs {
		pl.rules = append(pl.rules, pricelistRule{
			id: r.ID(), appliedOn: r.Str("applied_on"),
			product: r.M2O("product_id", "").ID, template: r.M2O("product_tmpl_id", "").ID, categ: r.M2O("categ_id", "").ID,
			minQty: r.Dec("min_quantity"), start: r.Time("date_start"), end: r.Time("date_end"),
			compute: r.Str("compute_price"), base: r.Str("base"), basePricelist: r.M2O("base_pricelist_id", "").ID,
			fixed: r.Dec("fixed_price"), percent: r.Dec("percent_price"), discount: r.Dec("price_discount"),
			surcharge: r.Dec("price_surcharge"), round: r.Dec("price_round"),
			minMargin: r.Dec("price_min_margin"), maxMargin: r.Dec("price_max_margin"),
		})
	}
	sort.SliceStable(pl.rules, func(i, j int) bool {
		a, b := pl.rules[i], pl.rules[j]
		if a.appliedOn != b.appliedOn {
			return a.appliedOn < b.appliedOn
		}
		if a.minQty != b.minQty {
			return a.minQty.Cmp(b.minQty) > 0
		}
		if a.categ != b.categ {
			return a.categ > b.categ
		}
		return a.id > b.id
	})
	c.cache.put(key, pl)
	return pl, nil
}

func (c *Client) priceProducts(ctx context.Context, ids []int64) (map[int64]*priceProduct, error) {
	out := map[int64]*priceProduct{}
	var missing []int64
	for _, id := range ids {
		if v, ok := c.cache.get("priceproduct:" + itoa(id)); ok {
			out[id] = v.(*priceProduct)
		} else if _, seen := out[id]; !seen {
			missing = append(missing, id)
			out[id] = nil
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	rs, err := c.read(ctx, "product.product", missing, []string{"id", "product_tmpl_id", "categ_id", "default_code", "uom_id", "lst_price", "standard_price"}, nil)
	if err != nil {
		return nil, fmt.Errorf("reading products for prices: %w", err)
	}
	categIDs := map[int64]bool{}
	for _, r := range rs {
		categIDs[r.M2O("categ_id", "").ID] = true
	}
	parents := map[int64][]int64{}
	if ok, _ := c.hasField(ctx, "product.category", "parent_path"); ok && len(categIDs) > 0 {
		var ids []int64
		for id := range categIDs {
			if id != 0 {
				ids = append(ids, id)
			}
		}
		cs, err := c.read(ctx, "product.category", ids, []string{"id", "parent_path"}, nil)
		if err != nil {
			return nil, fmt.Errorf("reading product categories: %w", err)
		}
		for _, cr := range cs {
			for _, p := range strings.Split(strings.Trim(cr.Str("parent_path"), "/"), "/") {
				var n int64
				if _, err := fmt.Sscan(p, &n); err == nil && n != 0 {
					parents[cr.ID()] = append(parents[cr.ID()], n)
				}
			}
		}
	}
	for _, r := range rs {
		categ := r.M2O("categ_id", "").ID
		p := &priceProduct{
			id: r.ID(), template: r.M2O("product_tmpl_id", "").ID, sku: r.Str("default_code"),
			uom: r.M2O("uom_id", "").Name, list: r.Dec("lst_price"), cost: r.Dec("standard_price"),
			categs: parents[categ],
		}
		if len(p.categs) == 0 && categ != 0 {
			p.categs = []int64{categ}
		}
		out[p.id] = p
		c.cache.put("priceproduct:"+itoa(p.id), p)
	}
	return out, nil
}

func (c *Client) customerPricelist(ctx context.Context, customer waybill.ERPRef) (int64, error) {
	key := "partnerpricelist:" + itoa(customer.ID)
	if v, ok := c.cache.get(key); ok {
		return v.(int64), nil
	}
	rs, err := c.read(ctx, "res.partner", []int64{customer.ID}, []string{"id", "property_product_pricelist"}, nil)
	if err != nil {
		return 0, fmt.Errorf("reading customer %d pricelist: %w", customer.ID, err)
	}
	if len(rs) == 0 {
		return 0, waybill.Errorf(waybill.ENOTFOUND, "unknown_customer", "no Odoo customer %d", customer.ID)
	}
	id := rs[0].M2O("property_product_pricelist", "").ID
	c.cache.put(key, id)
	return id, nil
}

// Prices returns the customer's net unit prices as Odoo computes them from the customer's
// pricelist (see the comment at the top of price.go). Per-request errors are ENOTFOUND for an
// unknown product.
func (c *Client) Prices(ctx context.Context, customer waybill.ERPRef, reqs []waybill.PriceRequest) ([]waybill.PriceResult, error) {
	plID, err := c.customerPricelist(ctx, customer)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(reqs))
	for i, r := range reqs {
		ids[i] = r.Product.ID
	}
	prods, err := c.priceProducts(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]waybill.PriceResult, len(reqs))
	for i, rq := range reqs {
		p := prods[rq.Product.ID]
		if p == nil {
			out[i].Err = waybill.Errorf(waybill.ENOTFOUND, "unknown_item", "no Odoo product %d", rq.Product.ID)
			continue
		}
		qty := rq.Quantity
		if qty.IsZero() {
			qty = waybill.DecimalFromInt(1)
		}
		when := rq.Date
		if when.IsZero() {
			when = time.Now().UTC()
		}
		price, rule, currency, err := c.computePrice(ctx, plID, p, qty, when, 0)
		if err != nil {
			return nil, err
		}
		ag := waybill.PriceAgreement{
			Customer: customer, Product: waybill.ERPRef{Model: "product.product", ID: p.id, Name: rq.Product.Name},
			SKU: p.sku, Currency: currency, UnitPrice: price.Round(c.cfg.PriceDigits), UOM: p.uom, Rule: "list_price",
		}
		if rule != nil {
			ag.Rule = fmt.Sprintf("product.pricelist.item/%d (%s)", rule.id, rule.compute)
			ag.MinQuantity, ag.ValidFrom, ag.ValidUntil = rule.minQty, rule.start, rule.end
		}
		out[i].Price = ag
	}
	return out, nil
}

func (r *pricelistRule) applies(p *priceProduct, qty waybill.Decimal, when time.Time) bool {
	switch r.appliedOn {
	case "0_product_variant":
		if r.product != p.id {
			return false
		}
	case "1_product":
		if r.template != p.template {
			return false
		}
	case "2_product_category":
		found := false
		for _, c := range p.categs {
			found = found || c == r.categ
		}
		if !found {
			return false
		}
	}
	if qty.Cmp(r.minQty) < 0 {
		return false
	}
	if !r.start.IsZero() && when.Before(r.start) {
		return false
	}
	if !r.end.IsZero() && when.After(r.end) {
		return false
	}
	return true
}

func (c *Client) computePrice(ctx context.Context, plID int64, p *priceProduct, qty waybill.Decimal, when time.Time, depth int) (waybill.Decimal, *pricelistRule, string, error) {
	if plID == 0 || depth > 5 {
		return p.list, nil, "", nil
	}
	pl, err := c.pricelist(ctx, plID)
	if err != nil {
		return waybill.Zero, nil, "", err
	}
	for i := range pl.rules {
		r := &pl.rules[i]
		if !r.applies(p, qty, when) {
			continue
		}
		if r.compute == "fixed" {
			return r.fixed, r, pl.currency, nil
		}
		base := p.list
		switch r.base {
		case "standard_price":
			base = p.cost
		case "pricelist":
			base, _, _, err = c.computePrice(ctx, r.basePricelist, p, qty, when, depth+1)
			if err != nil {
				return waybill.Zero, nil, "", err
			}
		}
		hundred := waybill.DecimalFromInt(100)
		if r.compute == "percentage" {
			return base.Sub(base.Mul(r.percent).Div(hundred)), r, pl.currency, nil
		}
		price := base.Sub(base.Mul(r.discount).Div(hundred))
		if r.round.Sign() > 0 {
			price = price.Div(r.round).Round(0).Mul(r.round)
		}
		price = price.Add(r.surcharge)
		if r.minMargin.Sign() != 0 {
			price = price.Max(base.Add(r.minMargin))
		}
		if r.maxMargin.Sign() != 0 {
			price = price.Min(base.Add(r.maxMargin))
		}
		return price, r, pl.currency, nil
	}
	return p.list, nil, pl.currency, nil
}
