package odoo

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/waybill-hub/waybill"
)

// The customer portal's optional capabilities (portal_erp.go): the catalog of saleable products
// with the customer's pricelist prices per quantity break, and invoices and statements. Returns
// and credit notes, the third capability, are in returns.go.

var (
	_ waybill.Catalog = (*Client)(nil)
	_ waybill.Billing = (*Client)(nil)
)

// CatalogFor returns the saleable products (sale_ok) with the customer's net prices: one price
// for quantity 1 and one per min_quantity of the pricelist rules that apply to the product, as
// Prices computes them (so they equal what Odoo puts on a sale order line).
func (c *Client) CatalogFor(ctx context.Context, customer waybill.ERPRef) ([]waybill.CatalogItem, error) {
	plID, err := c.customerPricelist(ctx, customer)
	if err != nil {
		return nil, err
	}
	rs, err := c.searchRead(ctx, "product.product", []any{[]any{"sale_ok", "=", true}}, c.productFields(), map[string]any{"order": "default_code, id"})
	if err != nil {
		return nil, fmt.Errorf("reading the catalog: %w", err)
	}
	items := make([]waybill.CatalogItem, 0, len(rs))
	ids := make([]int64, 0, len(rs))
	for _, r := range rs {
		p := c.toProduct(r)
		if p.SKU == "" {
			continue // not orderable by SKU
		}
		items = append(items, waybill.CatalogItem{Product: p})
		ids = append(ids, p.Ref.ID)
	}
	prods, err := c.priceProducts(ctx, ids)
	if err != nil {
		return nil, err
	}
	var rules []pricelistRule
	if plID != 0 {
		pl, err := c.pricelist(ctx, plID)
		if err != nil {
			return nil, err
		}
		rules = pl.rules
	}
	now := time.Now().UTC()
	var reqs []waybill.PriceRequest
	var owner []int
	for i, it := range items {
		breaks := []waybill.Decimal{waybill.DecimalFromInt(1)}
		if pp := prods[it.Product.Ref.ID]; pp != nil {
			for _, r := range rules {
				if r.minQty.Sign() > 0 && r.applies(pp, r.minQty, now) {
					breaks = append(breaks, r.minQty)
				}
			}
		}
		sort.Slice(breaks, func(a, b int) bool { return breaks[a].Cmp(breaks[b]) < 0 })
		for j, q := range breaks {
			if j > 0 && q.Cmp(breaks[j-1]) == 0 {
				continue
			}
			reqs = append(reqs, waybill.PriceRequest{Product: it.Product.Ref, Quantity: q, Date: now})
			owner = append(owner, i)
		}
	}
	prices, err := c.Prices(ctx, customer, reqs)
	if err != nil {
		return nil, err
	}
	for k, pr := range prices {
		if pr.Err != nil {
			continue
		}
		it := &items[owner[k]]
		pa := pr.Price
		if len(it.Prices) == 0 {
			pa.MinQuantity = waybill.Zero
		} else {
			pa.MinQuantity = reqs[k].Quantity
			if pa.UnitPrice.Cmp(it.Prices[len(it.Prices)-1].UnitPrice) == 0 {
				continue // the break changes nothing
			}
		}
		it.Prices = append(it.Prices, pa)
	}
	return items, nil
}

// CustomerInvoices returns the posted customer invoices and credit notes of the customer (and
// its contacts), newest first.
func (c *Client) CustomerInvoices(ctx context.Context, customer waybill.ERPRef) ([]waybill.ERPInvoice, error) {
	return c.customerMoves(ctx, customer, nil)
}

func (c *Client) customerMoves(ctx context.Context, customer waybill.ERPRef, extra []any) ([]waybill.ERPInvoice, error) {
	domain := []any{[]any{"partner_id", "child_of", customer.ID}, []any{"move_type", "in", []any{"out_invoice", "out_refund"}},
		[]any{"state", "=", "posted"}}
	domain = append(domain, extra...)
	rs, err := c.searchRead(ctx, "account.move", domain, []string{"id"}, map[string]any{"order": "invoice_date desc, id desc"})
	if err != nil {
		return nil, fmt.Errorf("reading the invoices of customer %d: %w", customer.ID, err)
	}
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.ID()
	}
	invs, err := c.invoices(ctx, ids)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(invs, func(i, j int) bool { return invs[i].Date.After(invs[j].Date) })
	return invs, nil
}

// Statement returns the open items (posted, not or partly paid), their balance, the customer's
// payment terms and credit limit.
func (c *Client) Statement(ctx context.Context, customer waybill.ERPRef) (waybill.Statement, error) {
	fields, err := c.optionalFields(ctx, "res.partner", "id", "credit_limit", "property_payment_term_id")
	if err != nil {
		return waybill.Statement{}, err
	}
	ps, err := c.read(ctx, "res.partner", []int64{customer.ID}, fields, nil)
	if err != nil {
		return waybill.Statement{}, fmt.Errorf("reading customer %d: %w", customer.ID, err)
	}
	if len(ps) == 0 {
		return waybill.Statement{}, waybill.Errorf(waybill.ENOTFOUND, "unknown_customer", "no Odoo customer %d", customer.ID)
	}
	st := waybill.Statement{Customer: customer, CreditLimit: ps[0].Dec("credit_limit"), AsOf: time.Now().UTC(),
		Terms: waybill.Terms{Description: ps[0].M2O("property_payment_term_id", "").Name}}
	open, err := c.customerMoves(ctx, customer, []any{[]any{"payment_state", "in", []any{"not_paid", "partial"}}})
	if err != nil {
		return waybill.Statement{}, err
	}
	sort.SliceStable(open, func(i, j int) bool { return open[i].Date.Before(open[j].Date) })
	for _, inv := range open {
		sign := inv.Residual
		st.Balance = st.Balance.Add(sign)
		if st.Currency == "" {
			st.Currency = inv.Currency
		}
	}
	st.OpenItems = open
	return st, nil
}
