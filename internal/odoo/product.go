package odoo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
)

func (c *Client) productFields() []string {
	f := []string{"id", "name", "default_code", "barcode", "uom_id", "lst_price", "type"}
	if c.fields.storableFlag != "" {
		f = append(f, c.fields.storableFlag)
	}
	return f
}

func (c *Client) toProduct(r record) waybill.Product {
	p := waybill.Product{
		Ref:       waybill.ERPRef{Model: "product.product", ID: r.ID(), Name: r.Str("name")},
		SKU:       r.Str("default_code"),
		GTIN:      r.Str("barcode"),
		Name:      r.Str("name"),
		UOM:       r.M2O("uom_id", "uom.uom").Name,
		ListPrice: r.Dec("lst_price"),
	}
	if c.fields.storableFlag != "" {
		p.Storable = r.Bool(c.fields.storableFlag)
	} else {
		p.Storable = r.Str("type") == "product"
	}
	return p
}

// gtinVariants returns the forms a GTIN may be stored in as a barcode: GTIN-14, EAN-13 and
// UPC-A differ only by leading zeros.
func gtinVariants(g string) []string {
	g = strings.TrimSpace(g)
	t := strings.TrimLeft(g, "0")
	out := []string{g}
	for n := 8; n <= 14; n++ {
		if len(t) <= n {
			v := strings.Repeat("0", n-len(t)) + t
			if v != g && (n == 8 || n >= 12) {
				out = append(out, v)
			}
		}
	}
	return out
}

// FindProducts resolves products by SKU (default_code), then GTIN (barcode, in its 12, 13 and
// 14 digit forms). Odoo has no standard field for a customer's own item code, so a key with only
// CustomerItem is ENOTFOUND: the hub resolves those through its cross-reference first. It makes
// at most two search_read calls for the whole batch (one for SKUs, one for GTINs), and caches
// what it finds for Config.CacheTTL.
func (c *Client) FindProducts(ctx context.Context, keys []waybill.ProductKey) ([]waybill.ProductResult, error) {
	out := make([]waybill.ProductResult, len(keys))
	found := map[string]waybill.Product{} // "sku:X" or "gtin:X"
	var skus, gtins []any
	for _, k := range keys {
		switch {
		case k.SKU != "":
			if v, ok := c.cache.get("product:sku:" + k.SKU); ok {
				found["sku:"+k.SKU] = v.(waybill.Product)
			} else {
				skus = append(skus, k.SKU)
			}
		case k.GTIN != "":
			if v, ok := c.cache.get("product:gtin:" + k.GTIN); ok {
				found["gtin:"+k.GTIN] = v.(waybill.Product)
			} else {
				for _, g := range gtinVariants(k.GTIN) {
					gtins = append(gtins, g)
				}
			}
		}
	}
	if len(skus) > 0 {
		rs, err := c.searchRead(ctx, "product.product", []any{[]any{"default_code", "in", skus}}, c.productFields(), nil)
		if err != nil {
			return nil, fmt.Errorf("finding products by SKU: %w", err)
		}
		for _, r := range rs {
			p := c.toProduct(r)
			found["sku:"+p.SKU] = p
			c.cache.put("product:sku:"+p.SKU, p)
		}
	}
	if len(gtins) > 0 {
		rs, err := c.searchRead(ctx, "product.product", []any{[]any{"barcode", "in", gtins}}, c.productFields(), nil)
		if err != nil {
			return nil, fmt.Errorf("finding products by GTIN: %w", err)
		}
		for _, r := range rs {
			p := c.toProduct(r)
			for _, k := range keys {
				if k.SKU == "" && k.GTIN != "" {
					for _, g := range gtinVariants(k.GTIN) {
						if g == p.GTIN {
							found["gtin:"+k.GTIN] = p
							c.cache.put("product:gtin:"+k.GTIN, p)
						}
					}
				}
			}
		}
	}
	for i, k := range keys {
		switch {
		case k.SKU != "":
			if p, ok := found["sku:"+k.SKU]; ok {
				out[i].Product = p
			} else {
				out[i].Err = waybill.Errorf(waybill.ENOTFOUND, "unknown_item", "no Odoo product with internal reference %s", k.SKU)
			}
		case k.GTIN != "":
			if p, ok := found["gtin:"+k.GTIN]; ok {
				out[i].Product = p
			} else {
				out[i].Err = waybill.Errorf(waybill.ENOTFOUND, "unknown_item", "no Odoo product with barcode %s", k.GTIN)
			}
		case k.CustomerItem != "":
			out[i].Err = waybill.Errorf(waybill.ENOTFOUND, "unknown_item", "customer item %s has no cross-reference to an Odoo product", k.CustomerItem)
		default:
			out[i].Err = waybill.Errorf(waybill.EINVALID, "item_key", "no SKU, GTIN or customer item given")
		}
	}
	return out, nil
}

// Stock returns on hand (qty_available), forecast (virtual_available) and free to promise
// (free_qty) of products in a warehouse, given by code or name; "" is Config.Warehouse, and when
// that is empty too, every warehouse of the company.
func (c *Client) Stock(ctx context.Context, products []waybill.ERPRef, warehouse string) ([]waybill.InventoryPosition, error) {
	if warehouse == "" {
		warehouse = c.cfg.Warehouse
	}
	var kw map[string]any
	if warehouse != "" {
		wh, err := c.warehouseID(ctx, warehouse)
		if err != nil {
			return nil, err
		}
		// 18+ read warehouse_id, 17 warehouse: both are sent, each version ignores the other.
		kw = map[string]any{"context": map[string]any{"warehouse_id": wh, "warehouse": wh}}
	}
	ids := make([]int64, len(products))
	for i, p := range products {
		ids[i] = p.ID
	}
	rs, err := c.read(ctx, "product.product", ids, []string{"id", "default_code", "barcode", "name", "uom_id", "qty_available", "virtual_available", "free_qty"}, kw)
	if err != nil {
		return nil, fmt.Errorf("reading stock: %w", err)
	}
	byID := map[int64]record{}
	for _, r := range rs {
		byID[r.ID()] = r
	}
	now := time.Now().UTC()
	out := make([]waybill.InventoryPosition, 0, len(products))
	for _, p := range products {
		r, ok := byID[p.ID]
		if !ok {
			continue
		}
		out = append(out, waybill.InventoryPosition{
			Product:       waybill.ERPRef{Model: "product.product", ID: p.ID, Name: r.Str("name")},
			SKU:           r.Str("default_code"),
			GTIN:          r.Str("barcode"),
			Warehouse:     warehouse,
			OnHand:        r.Dec("qty_available"),
			Forecast:      r.Dec("virtual_available"),
			FreeToPromise: r.Dec("free_qty"),
			UOM:           r.M2O("uom_id", "uom.uom").Name,
			AsOf:          now,
		})
	}
	return out, nil
}

func (c *Client) warehouseID(ctx context.Context, wh string) (int64, error) {
	if v, ok := c.cache.get("warehouse:" + wh); ok {
		return v.(int64), nil
	}
	rs, err := c.searchRead(ctx, "stock.warehouse", []any{"|", []any{"code", "=", wh}, []any{"name", "=", wh}}, []string{"id"}, map[string]any{"limit": 1})
	if err != nil {
		return 0, fmt.Errorf("finding warehouse %s: %w", wh, err)
	}
	if len(rs) == 0 {
		return 0, waybill.Errorf(waybill.ENOTFOUND, "unknown_warehouse", "no Odoo warehouse with code or name %s", wh)
	}
	c.cache.put("warehouse:"+wh, rs[0].ID())
	return rs[0].ID(), nil
}
