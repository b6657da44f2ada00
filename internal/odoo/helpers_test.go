package odoo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
)

// bundle is what setup returns: a Client on the simulator or on the real Odoo named by the
// WAYBILL_ODOO_* variables, and the test-only operations (creating products, stock, validating
// deliveries, invoicing, paying) done through the same Client.Call so they run on both.
type bundle struct {
	t    *testing.T
	ctx  context.Context
	c    *Client
	cfg  Config
	sim  *odoosim.Server // nil on a real Odoo
	uniq string          // makes this run's records unique
}

// realOdoo returns the configuration of a real Odoo from the environment, if there is one.
func realOdoo() (Config, bool) {
	u := os.Getenv("WAYBILL_ODOO_URL")
	if u == "" {
		return Config{}, false
	}
	cfg := Config{URL: u, Database: os.Getenv("WAYBILL_ODOO_DB"), User: os.Getenv("WAYBILL_ODOO_USER"),
		APIKey: os.Getenv("WAYBILL_ODOO_API_KEY"), Protocol: Protocol(os.Getenv("WAYBILL_ODOO_PROTOCOL"))}
	return cfg, true
}

// setup starts a simulator of version (unless a real Odoo is configured) and returns a Client
// speaking proto to it.
func setup(t *testing.T, ver string, proto Protocol) *bundle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	b := &bundle{t: t, ctx: ctx, uniq: fmt.Sprintf("%d%04d", time.Now().Unix()%100000, rand.IntN(10000))}
	if cfg, ok := realOdoo(); ok {
		b.cfg = cfg
	} else {
		b.sim = odoosim.New(odoosim.Options{Version: ver})
		srv := httptest.NewServer(b.sim)
		t.Cleanup(srv.Close)
		t.Cleanup(b.sim.Close)
		b.cfg = Config{URL: srv.URL, Database: "sim", User: "admin", APIKey: odoosim.AdminAPIKey, Protocol: proto}
	}
	b.cfg.RetryBase = 5 * time.Millisecond
	if b.sim != nil {
		b.cfg.RetryMaxWait = 20 * time.Millisecond // the simulator's Retry-After is 1 s
	}
	c, err := New(ctx, b.cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	b.c = c
	return b
}

// with returns a copy of b reporting to t (a subtest).
func (b *bundle) with(t *testing.T) *bundle {
	c := *b
	c.t = t
	return &c
}

func (b *bundle) must(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

func (b *bundle) call(model, method string, args []any, kw map[string]any) any {
	b.t.Helper()
	v, err := b.c.Call(b.ctx, model, method, args, kw)
	b.must(err)
	return v
}

func (b *bundle) create(model string, vals map[string]any, ctx map[string]any) int64 {
	b.t.Helper()
	ids, err := b.c.Create(b.ctx, model, []map[string]any{vals}, ctx)
	b.must(err)
	return ids[0]
}

func (b *bundle) searchRead(model string, domain []any, fields []string, opts map[string]any) []record {
	b.t.Helper()
	rs, err := b.c.searchRead(b.ctx, model, domain, fields, opts)
	b.must(err)
	return rs
}

// product creates a storable product, with the fields of the connected version.
func (b *bundle) product(suffix string, list, cost float64) waybill.ERPRef {
	b.t.Helper()
	vals := b.c.StorableProductVals()
	vals["name"] = "Waybill test " + b.uniq + " " + suffix
	vals["default_code"] = "WB-" + b.uniq + "-" + suffix
	vals["barcode"] = b.barcode(suffix)
	vals["list_price"] = list
	vals["standard_price"] = cost
	if ok, _ := b.c.hasField(b.ctx, "product.product", "invoice_policy"); ok {
		vals["invoice_policy"] = "delivery"
	}
	id := b.create("product.product", vals, nil)
	return waybill.ERPRef{Model: "product.product", ID: id, Name: vals["name"].(string)}
}

// barcode is a unique 13-digit barcode for this run.
func (b *bundle) barcode(suffix string) string {
	return fmt.Sprintf("29%09s%02d", b.uniq, int(suffix[0])%100)[:13]
}

// warehouse returns the first warehouse and its stock location.
func (b *bundle) warehouse() (id, stock int64, code string) {
	b.t.Helper()
	rs := b.searchRead("stock.warehouse", nil, []string{"id", "code", "lot_stock_id"}, map[string]any{"limit": 1, "order": "id"})
	if len(rs) == 0 {
		b.t.Fatal("no warehouse")
	}
	return rs[0].ID(), rs[0].M2O("lot_stock_id", "").ID, rs[0].Str("code")
}

// setStock sets the on-hand quantity of product in location as an inventory adjustment would.
func (b *bundle) setStock(product waybill.ERPRef, location int64, qty float64) {
	b.t.Helper()
	inv := map[string]any{"inventory_mode": true}
	q := b.create("stock.quant", map[string]any{"product_id": product.ID, "location_id": location, "inventory_quantity": qty}, inv)
	b.call("stock.quant", "action_apply_inventory", []any{[]any{q}}, map[string]any{"context": inv}) // None over XML-RPC
}

// deliver sets done quantities on a delivery's moves (by product id) and validates it,
// answering the backorder wizard with "create backorder". It returns whether a wizard came.
func (b *bundle) deliver(picking int64, qty map[int64]float64) bool {
	b.t.Helper()
	ms := b.searchRead("stock.move", []any{[]any{"picking_id", "=", picking}}, []string{"id", "product_id", "product_uom_qty"}, nil)
	for _, m := range ms {
		q, ok := qty[m.M2O("product_id", "").ID]
		if !ok {
			q = m.Dec("product_uom_qty").Float()
		}
		b.must(b.c.Write(b.ctx, "stock.move", []int64{m.ID()}, b.c.MoveDoneFields(q)))
	}
	res := b.call("stock.picking", "button_validate", []any{[]any{picking}}, nil)
	act, ok := res.(map[string]any)
	if !ok {
		return false
	}
	if model, _ := act["res_model"].(string); model != "stock.backorder.confirmation" {
		b.t.Fatalf("button_validate returned action %v", act)
	}
	b.must(b.c.runWizard(b.ctx, act, map[string]any{}, "process"))
	return true
}

// invoice invoices the delivered quantities of order with the sale.advance.payment.inv wizard
// (sale.order._create_invoices is private) and returns the new invoice ids.
func (b *bundle) invoice(order int64) []int64 {
	b.t.Helper()
	wctx := map[string]any{"active_model": "sale.order", "active_ids": []any{order}, "active_id": order}
	w := b.create("sale.advance.payment.inv", map[string]any{"advance_payment_method": "delivered"}, wctx)
	b.call("sale.advance.payment.inv", "create_invoices", []any{[]any{w}}, map[string]any{"context": wctx}) // None over XML-RPC
	rs, err := b.c.read(b.ctx, "sale.order", []int64{order}, []string{"invoice_ids"}, nil)
	b.must(err)
	return rs[0].IDs("invoice_ids")
}

// pay registers the full payment of a posted invoice.
func (b *bundle) pay(invoice int64) {
	b.t.Helper()
	wctx := map[string]any{"active_model": "account.move", "active_ids": []any{invoice}, "active_id": invoice}
	w := b.create("account.payment.register", map[string]any{}, wctx)
	b.call("account.payment.register", "action_create_payments", []any{[]any{w}}, map[string]any{"context": wctx})
}

func dec(s string) waybill.Decimal { return waybill.MustDecimal(s) }

// eq fails the test when got != want, printing both.
func eq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func wantCode(t *testing.T, what string, err error, code waybill.ErrorCode) {
	t.Helper()
	if got := waybill.Code(err); got != code {
		t.Errorf("%s: code %q, want %q (err: %v)", what, got, code, err)
	}
}
