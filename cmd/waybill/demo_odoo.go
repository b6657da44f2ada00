package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/waybill-hub/waybill/internal/odoo"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
)

// demoOdoo is the Odoo simulator the demo runs on loopback, and the connector to it.
type demoOdoo struct {
	sim    *odoosim.Server
	srv    *http.Server
	url    string
	client *odoo.Client
}

// startDemoOdoo serves an Odoo 19 simulator on a loopback port and connects to it over JSON-2,
// exactly as the hub connects to a real Odoo.
func startDemoOdoo(ctx context.Context) (*demoOdoo, error) {
	sim := odoosim.New(odoosim.Options{Version: "19.0"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d := &demoOdoo{sim: sim, srv: &http.Server{Handler: sim}, url: "http://" + ln.Addr().String()}
	go func() {
		if err := d.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Println("odoo simulator:", err)
		}
	}()
	cfg := odoo.Default()
	cfg.URL, cfg.Database, cfg.User, cfg.APIKey = d.url, "sim", odoosim.AdminLogin, odoosim.AdminAPIKey
	if d.client, err = odoo.New(ctx, cfg); err != nil {
		d.srv.Close()
		return nil, err
	}
	return d, nil
}

func (d *demoOdoo) close() { d.srv.Close() }

// demoMasterData is what the sample partners order: customers (by ref), their delivery
// addresses, and storable products (by SKU, with barcodes, list prices and stock).
var demoCustomers = []struct{ ref, name, delivery string }{
	{"ACME", "Acme Retail Inc.", "ACME-DC-1234"},
	{"GLOBEX", "Globex Stores LLC", "GLOBEX-STORE-12"},
}

var demoItems = []struct {
	sku, barcode string
	price        float64
}{
	{"SKU-1", "00012345678905", 12.50},
	{"SKU-2", "", 3.10},
	{"SKU-3", "00012345678912", 5.00},
	{"WID-100", "00012345000017", 4.25},
	{"WID-200", "00012345000024", 12.00},
	{"GAD-300", "00012345000031", 39.90},
}

// seed creates the demo's master data in Odoo through the external API.
func (d *demoOdoo) seed(ctx context.Context) error {
	c := d.client
	for _, cu := range demoCustomers {
		ids, err := c.Create(ctx, "res.partner", []map[string]any{{"name": cu.name, "ref": cu.ref, "is_company": true}}, nil)
		if err != nil {
			return fmt.Errorf("seeding customer %s: %w", cu.ref, err)
		}
		if _, err := c.Create(ctx, "res.partner", []map[string]any{{"name": cu.name + " (" + cu.delivery + ")", "ref": cu.delivery,
			"type": "delivery", "parent_id": ids[0]}}, nil); err != nil {
			return fmt.Errorf("seeding address %s: %w", cu.delivery, err)
		}
	}
	// A new Odoo has no case unit; a distributor selling cases creates one.
	units, err := c.SearchRead(ctx, "uom.uom", []any{[]any{"name", "=", "Units"}}, []string{"id"}, nil)
	if err != nil || len(units) == 0 {
		return fmt.Errorf("reading the Units unit of measure: %v", err)
	}
	if _, err := c.Create(ctx, "uom.uom", []map[string]any{{"name": "Cases", "relative_factor": 12.0, "relative_uom_id": num(units[0]["id"])}}, nil); err != nil {
		return fmt.Errorf("creating the Cases unit: %w", err)
	}
	wh, err := c.SearchRead(ctx, "stock.warehouse", nil, []string{"id", "lot_stock_id"}, map[string]any{"limit": 1})
	if err != nil || len(wh) == 0 {
		return fmt.Errorf("reading the warehouse: %v", err)
	}
	stock := wh[0]["lot_stock_id"].([]any)[0]
	for _, it := range demoItems {
		vals := c.StorableProductVals()
		vals["name"], vals["default_code"], vals["list_price"] = "Demo "+it.sku, it.sku, it.price
		vals["invoice_policy"] = "delivery"
		if it.barcode != "" {
			vals["barcode"] = it.barcode
		}
		ids, err := c.Create(ctx, "product.product", []map[string]any{vals}, nil)
		if err != nil {
			return fmt.Errorf("seeding product %s: %w", it.sku, err)
		}
		inv := map[string]any{"inventory_mode": true}
		q, err := c.Create(ctx, "stock.quant", []map[string]any{{"product_id": ids[0], "location_id": stock, "inventory_quantity": 500}}, inv)
		if err != nil {
			return fmt.Errorf("seeding stock of %s: %w", it.sku, err)
		}
		if _, err := c.Call(ctx, "stock.quant", "action_apply_inventory", []any{[]any{q[0]}}, map[string]any{"context": inv}); err != nil {
			return fmt.Errorf("applying stock of %s: %w", it.sku, err)
		}
	}
	return nil
}

// fulfil delivers, invoices and posts the sale orders named, as a warehouse and an accountant
// would in Odoo, so that change capture has something to report.
func (d *demoOdoo) fulfil(ctx context.Context, orders []int64) error {
	c := d.client
	for _, so := range orders {
		picks, err := c.SearchRead(ctx, "stock.picking", []any{[]any{"sale_id", "=", so}, []any{"state", "!=", "done"}}, []string{"id"}, nil)
		if err != nil {
			return err
		}
		for _, p := range picks {
			pid := num(p["id"])
			moves, err := c.SearchRead(ctx, "stock.move", []any{[]any{"picking_id", "=", pid}}, []string{"id", "product_uom_qty"}, nil)
			if err != nil {
				return err
			}
			for _, m := range moves {
				if err := c.Write(ctx, "stock.move", []int64{num(m["id"])}, c.MoveDoneFields(flt(m["product_uom_qty"]))); err != nil {
					return err
				}
			}
			if err := c.Write(ctx, "stock.picking", []int64{pid}, map[string]any{"carrier_tracking_ref": fmt.Sprintf("1Z%08d", pid)}); err != nil {
				return err
			}
			if _, err := c.Call(ctx, "stock.picking", "button_validate", []any{[]any{pid}}, nil); err != nil {
				return err
			}
		}
		wctx := map[string]any{"active_model": "sale.order", "active_ids": []any{so}, "active_id": so}
		w, err := c.Create(ctx, "sale.advance.payment.inv", []map[string]any{{"advance_payment_method": "delivered"}}, wctx)
		if err != nil {
			return err
		}
		if _, err := c.Call(ctx, "sale.advance.payment.inv", "create_invoices", []any{[]any{w[0]}}, map[string]any{"context": wctx}); err != nil {
			return err
		}
		invs, err := c.SearchRead(ctx, "account.move", []any{[]any{"state", "=", "draft"}, []any{"move_type", "=", "out_invoice"}}, []string{"id"}, nil)
		if err != nil {
			return err
		}
		for _, inv := range invs {
			if _, err := c.Call(ctx, "account.move", "action_post", []any{[]any{num(inv["id"])}}, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func flt(v any) float64 {
	switch n := v.(type) {
	case float64:
		return n
	case interface{ Float64() (float64, error) }:
		f, _ := n.Float64()
		return f
	case int64:
		return float64(n)
	}
	return 0
}

func num(v any) int64 { return int64(flt(v)) }
