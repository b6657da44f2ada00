package odoosim

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func adminJSON2(url string) caller { return &json2Client{url: url, key: AdminAPIKey} }

func TestPricelist(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	c := adminJSON2(url)
	cases := []struct {
		name     string
		customer int
		product  int
		qty      float64
		want     float64
	}{
		{"fixed price rule", 0, 0, 5, 11.00},
		{"quantity break", 0, 0, 100, 10.00},
		{"global percentage", 0, 1, 1, 16.20},
		{"default pricelist: sales price", 1, 0, 5, 12.50},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": []any{map[string]any{
				"partner_id": d.Customers[tc.customer].ID,
				"order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[tc.product].ID, "product_uom_qty": tc.qty}}}}}}))
			order := readOne(t, c, "sale.order", so, "order_line", "pricelist_id")
			line := readOne(t, c, "sale.order.line", firstID(t, order["order_line"]), "price_unit")
			if asFloat(line["price_unit"]) != tc.want {
				t.Errorf("price_unit %v, want %v", line["price_unit"], tc.want)
			}
		})
	}
	// A dated rule applies only inside its dates.
	mustCall(t, c, "product.pricelist.item", "create", nil, map[string]any{"vals_list": map[string]any{
		"pricelist_id": d.Pricelist, "product_id": d.Products[2].ID, "fixed_price": 50.0, "min_quantity": 0,
		"date_start": "2020-01-01 00:00:00", "date_end": "2020-12-31 23:59:59"}})
	so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
		"partner_id": d.Customers[0].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[2].ID}}}}}))
	line := readOne(t, c, "sale.order.line", firstID(t, readOne(t, c, "sale.order", so, "order_line")["order_line"]), "price_unit")
	if asFloat(line["price_unit"]) != 89.10 {
		t.Errorf("expired dated rule applied: %v", line["price_unit"])
	}
}

func TestFailedCallRollsBack(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	c := adminJSON2(url)
	_, err := c.call("sale.order", "create", nil, map[string]any{"vals_list": []any{
		map[string]any{"partner_id": d.Customers[0].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[0].ID}}}},
		map[string]any{"partner_id": d.Customers[0].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": 9999}}}},
	}})
	if err == nil {
		t.Fatal("create with a missing product succeeded")
	}
	if n := mustCall(t, c, "sale.order", "search_count", nil, map[string]any{"domain": []any{}}); n != 0 {
		t.Fatalf("%v orders left after a failed create", n)
	}
	if n := mustCall(t, c, "sale.order.line", "search_count", nil, map[string]any{"domain": []any{}}); n != 0 {
		t.Fatalf("%v lines left after a failed create", n)
	}
	so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{"partner_id": d.Customers[0].ID}}))
	if name := readOne(t, c, "sale.order", so, "name")["name"]; name != "S00001" {
		t.Fatalf("sequence consumed by the failed call: %v", name)
	}
}

func TestAccessRights(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	s.AddUser("clerk", "clerk", "clerk-key")
	clerk := &json2Client{url: url, key: "clerk-key"}
	sales := &json2Client{url: url, key: "sim-sales-key"}
	if _, err := clerk.call("res.partner", "search", nil, map[string]any{"domain": []any{}}); err != nil {
		t.Errorf("internal user cannot read partners: %v", err)
	}
	_, err := clerk.call("sale.order", "create", nil, map[string]any{"vals_list": map[string]any{"partner_id": d.Customers[0].ID}})
	if e, ok := err.(*rpcError); !ok || e.Status != 403 || e.Name != "odoo.exceptions.AccessError" {
		t.Errorf("clerk creating an order: %v", err)
	}
	so := firstID(t, mustCall(t, sales, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
		"partner_id": d.Customers[0].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[0].ID, "product_uom_qty": 1}}}}}))
	if res := mustCall(t, sales, "sale.order", "action_confirm", []int{so}, nil); res != true {
		t.Errorf("salesperson confirm = %v", res)
	}
	_, err = sales.call("stock.quant", "create", nil, map[string]any{"vals_list": map[string]any{"product_id": d.Products[0].ID, "location_id": d.Stock, "inventory_quantity": 1}})
	if e, ok := err.(*rpcError); !ok || e.Status != 403 {
		t.Errorf("salesperson adjusting stock: %v", err)
	}
}

func TestShortStockAndCancelBackorder(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	c := adminJSON2(url)
	wrap := d.Products[4] // no stock
	so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
		"partner_id": d.Customers[2].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": wrap.ID, "product_uom_qty": 10}}}}}))
	mustCall(t, c, "sale.order", "action_confirm", []int{so}, nil)
	pick := firstID(t, readOne(t, c, "sale.order", so, "picking_ids")["picking_ids"])
	if st := readOne(t, c, "stock.picking", pick, "state")["state"]; st != "confirmed" {
		t.Fatalf("picking without stock is %v, want confirmed", st)
	}
	if _, err := c.call("stock.picking", "button_validate", []int{pick}, nil); err == nil || !strings.Contains(err.Error(), "no quantities are reserved") {
		t.Fatalf("validate without stock: %v", err)
	}
	// Stock arrives: the waiting delivery is reserved (partially).
	q := firstID(t, mustCall(t, c, "stock.quant", "create", nil, map[string]any{"vals_list": map[string]any{"product_id": wrap.ID, "location_id": d.Stock, "inventory_quantity": 4}, "context": map[string]any{"inventory_mode": true}}))
	mustCall(t, c, "stock.quant", "action_apply_inventory", []int{q}, nil)
	p := readOne(t, c, "stock.picking", pick, "state", "move_ids")
	mv := readOne(t, c, "stock.move", firstID(t, p["move_ids"]), "quantity", "state")
	if p["state"] != "assigned" || asFloat(mv["quantity"]) != 4 || mv["state"] != "partially_available" {
		t.Fatalf("after stock arrived: picking %v move %v", p, mv)
	}
	if free := readOne(t, c, "product.product", wrap.ID, "free_qty", "virtual_available"); asFloat(free["free_qty"]) != 0 || asFloat(free["virtual_available"]) != -6 {
		t.Fatalf("quantities %v", free)
	}
	action := mustCall(t, c, "stock.picking", "button_validate", []int{pick}, nil).(map[string]any)
	ctx := action["context"].(map[string]any)
	w := firstID(t, mustCall(t, c, "stock.backorder.confirmation", "create", nil, map[string]any{"vals_list": map[string]any{}, "context": ctx}))
	mustCall(t, c, "stock.backorder.confirmation", "process_cancel_backorder", []int{w}, map[string]any{"context": ctx})
	order := readOne(t, c, "sale.order", so, "picking_ids", "delivery_status", "order_line")
	line := readOne(t, c, "sale.order.line", firstID(t, order["order_line"]), "qty_delivered")
	if len(order["picking_ids"].([]any)) != 1 || order["delivery_status"] != "full" || asFloat(line["qty_delivered"]) != 4 {
		t.Fatalf("after cancelling the backorder: %v %v", order, line)
	}
}

func TestOrderCancelAndPurchase(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	c := adminJSON2(url)
	so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
		"partner_id": d.Customers[0].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[2].ID, "product_uom_qty": 40}}}}}))
	mustCall(t, c, "sale.order", "action_confirm", []int{so}, nil)
	if free := readOne(t, c, "product.product", d.Products[2].ID, "free_qty")["free_qty"]; asFloat(free) != 0 {
		t.Fatalf("free_qty %v after reserving everything", free)
	}
	mustCall(t, c, "sale.order", "action_cancel", []int{so}, nil)
	order := readOne(t, c, "sale.order", so, "state", "picking_ids", "delivery_status")
	pick := readOne(t, c, "stock.picking", firstID(t, order["picking_ids"]), "state")
	if order["state"] != "cancel" || pick["state"] != "cancel" || order["delivery_status"] != false {
		t.Fatalf("after cancel: %v %v", order, pick)
	}
	po := firstID(t, mustCall(t, c, "purchase.order", "create", nil, map[string]any{"vals_list": map[string]any{
		"partner_id": d.Customers[1].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[4].ID, "product_qty": 12}}}}}))
	mustCall(t, c, "purchase.order", "button_confirm", []int{po}, nil)
	porder := readOne(t, c, "purchase.order", po, "name", "state", "picking_ids", "amount_untaxed")
	if porder["name"] != "P00001" || porder["state"] != "purchase" || asFloat(porder["amount_untaxed"]) != 168 {
		t.Fatalf("purchase order %v", porder)
	}
	receipt := firstID(t, porder["picking_ids"])
	if r := readOne(t, c, "stock.picking", receipt, "name", "state"); r["name"] != "WH/IN/00001" || r["state"] != "assigned" {
		t.Fatalf("receipt %v", r)
	}
	mustCall(t, c, "stock.picking", "button_validate", []int{receipt}, nil)
	if q := readOne(t, c, "product.product", d.Products[4].ID, "qty_available")["qty_available"]; asFloat(q) != 12 {
		t.Fatalf("qty_available %v after the receipt", q)
	}
}

func TestX2ManyCommands(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	c := adminJSON2(url)
	so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
		"partner_id": d.Customers[0].ID, "order_line": []any{
			[]any{0, 0, map[string]any{"product_id": d.Products[0].ID}},
			[]any{0, 0, map[string]any{"product_id": d.Products[1].ID}},
		}}}))
	lines := readOne(t, c, "sale.order", so, "order_line")["order_line"].([]any)
	l1, l2 := firstID(t, lines[0]), firstID(t, lines[1])
	mustCall(t, c, "sale.order", "write", []int{so}, map[string]any{"vals": map[string]any{"order_line": []any{
		[]any{1, l1, map[string]any{"product_uom_qty": 3}}, []any{2, l2}, []any{0, 0, map[string]any{"product_id": d.Products[3].ID, "price_unit": 1.5}}}}})
	got := readOne(t, c, "sale.order", so, "order_line", "amount_untaxed")
	if n := len(got["order_line"].([]any)); n != 2 || asFloat(got["amount_untaxed"]) != 34.5 {
		t.Fatalf("after commands 1, 2, 0: %v", got)
	}
	tax := s.lineTaxes()
	mustCall(t, c, "sale.order.line", "write", []int{l1}, map[string]any{"vals": map[string]any{tax: []any{[]any{5}}}})
	if v := readOne(t, c, "sale.order.line", l1, tax)[tax]; len(v.([]any)) != 0 {
		t.Fatalf("(5,) left %v", v)
	}
	mustCall(t, c, "sale.order.line", "write", []int{l1}, map[string]any{"vals": map[string]any{tax: []any{[]any{4, 1}}}})
	mustCall(t, c, "sale.order.line", "write", []int{l1}, map[string]any{"vals": map[string]any{tax: []any{[]any{6, 0, []any{1, 2}}}}})
	mustCall(t, c, "sale.order.line", "write", []int{l1}, map[string]any{"vals": map[string]any{tax: []any{[]any{3, 2}}}})
	if v := readOne(t, c, "sale.order.line", l1, tax)[tax].([]any); len(v) != 1 || firstID(t, v) != 1 {
		t.Fatalf("after 4, 6, 3: %v", v)
	}
}

func TestWriteDateMovesWithWorkflow(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func() { mu.Lock(); now = now.Add(time.Minute); mu.Unlock() }
	s, url := setup(t, Options{Now: clock})
	d := s.SeedDemo()
	c := adminJSON2(url)
	so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
		"partner_id": d.Customers[0].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[0].ID, "product_uom_qty": 2}}}}}))
	mustCall(t, c, "sale.order", "action_confirm", []int{so}, nil)
	pick := firstID(t, readOne(t, c, "sale.order", so, "picking_ids")["picking_ids"])
	advance()
	mustCall(t, c, "stock.picking", "button_validate", []int{pick}, nil)
	got := mustCall(t, c, "sale.order", "search_read", nil, map[string]any{
		"domain": []any{[]any{"write_date", ">", "2026-11-26 10:00:00"}}, "fields": []any{"write_date", "delivery_status"}, "order": "write_date asc, id asc"}).([]any)
	if len(got) != 1 || got[0].(map[string]any)["write_date"] != "2026-11-26 10:01:00" {
		t.Fatalf("orders changed after validation: %v", got)
	}
}

func TestMoveLines(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	c := adminJSON2(url)
	so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
		"partner_id": d.Customers[0].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[1].ID, "product_uom_qty": 6}}}}}))
	mustCall(t, c, "sale.order", "action_confirm", []int{so}, nil)
	pick := readOne(t, c, "stock.picking", firstID(t, readOne(t, c, "sale.order", so, "picking_ids")["picking_ids"]), "move_line_ids", "move_ids")
	ml := readOne(t, c, "stock.move.line", firstID(t, pick["move_line_ids"]), "quantity", "picked", "location_id", "state")
	if asFloat(ml["quantity"]) != 6 || ml["picked"] != false || firstID(t, ml["location_id"]) != d.Stock || ml["state"] != "assigned" {
		t.Fatalf("reserved move line %v", ml)
	}
	mustCall(t, c, "stock.move.line", "write", []int{firstID(t, ml["id"])}, map[string]any{"vals": map[string]any{"quantity": 4, "picked": true}})
	mv := readOne(t, c, "stock.move", firstID(t, pick["move_ids"]), "quantity", "picked", "state")
	if asFloat(mv["quantity"]) != 4 || mv["picked"] != true || mv["state"] != "partially_available" {
		t.Fatalf("move after its line changed: %v", mv)
	}
	action, ok := mustCall(t, c, "stock.picking", "button_validate", []int{firstID(t, pick["id"])}, nil).(map[string]any)
	if !ok || action["res_model"] != "stock.backorder.confirmation" {
		t.Fatalf("validate: %v", action)
	}
	mustCall(t, c, "stock.move", "write", []int{firstID(t, pick["move_ids"])}, map[string]any{"vals": map[string]any{"quantity": 6}})
	if q := readOne(t, c, "stock.move.line", firstID(t, ml["id"]), "quantity")["quantity"]; asFloat(q) != 6 {
		t.Fatalf("line after its move changed: %v", q)
	}
	if res := mustCall(t, c, "stock.picking", "button_validate", []int{firstID(t, pick["id"])}, nil); res != true {
		t.Fatalf("validate all: %v", res)
	}
	if st := readOne(t, c, "stock.move.line", firstID(t, ml["id"]), "state")["state"]; st != "done" {
		t.Fatalf("line state %v", st)
	}
}

func TestPaymentTermsAndCategories(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	s, url := setup(t, Options{Now: func() time.Time { return now }})
	d := s.SeedDemo()
	c := adminJSON2(url)
	so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{"partner_id": d.Customers[0].ID,
		"order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[0].ID, "product_uom_qty": 2}}}}}))
	mustCall(t, c, "sale.order", "action_confirm", []int{so}, nil)
	mustCall(t, c, "stock.picking", "button_validate", []int{firstID(t, readOne(t, c, "sale.order", so, "picking_ids")["picking_ids"])}, nil)
	ctx := map[string]any{"active_model": "sale.order", "active_ids": []any{so}}
	w := firstID(t, mustCall(t, c, "sale.advance.payment.inv", "create", nil, map[string]any{"vals_list": map[string]any{}, "context": ctx}))
	mustCall(t, c, "sale.advance.payment.inv", "create_invoices", []int{w}, map[string]any{"context": ctx})
	inv := firstID(t, readOne(t, c, "sale.order", so, "invoice_ids")["invoice_ids"])
	if dn := readOne(t, c, "account.move", inv, "display_name")["display_name"]; dn != "Draft Invoice (* "+itoa(inv)+")" {
		t.Errorf("draft display_name %v", dn)
	}
	mustCall(t, c, "account.move", "action_post", []int{inv}, nil)
	got := readOne(t, c, "account.move", inv, "invoice_date", "invoice_date_due", "invoice_payment_term_id")
	if got["invoice_date"] != "2026-11-26" || got["invoice_date_due"] != "2026-12-26" || got["invoice_payment_term_id"].([]any)[1] != "30 Days" {
		t.Errorf("invoice dates %v", got)
	}
	sub := firstID(t, mustCall(t, c, "product.category", "create", nil, map[string]any{"vals_list": map[string]any{"name": "Fasteners", "parent_id": 1}}))
	cat := readOne(t, c, "product.category", sub, "parent_path", "display_name")
	if cat["parent_path"] != "1/"+itoa(sub)+"/" || cat["display_name"] != "All / Fasteners" {
		t.Errorf("category %v", cat)
	}
}

func TestStockContext(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	c := adminJSON2(url)
	shelf := firstID(t, mustCall(t, c, "stock.location", "create", nil, map[string]any{"vals_list": map[string]any{"name": "Shelf 2", "location_id": 7, "usage": "internal"}}))
	if name := readOne(t, c, "stock.location", shelf, "complete_name")["complete_name"]; name != "WH/Shelf 2" {
		t.Errorf("complete_name %v", name)
	}
	mustCall(t, c, "stock.quant", "create", nil, map[string]any{"vals_list": map[string]any{"product_id": d.Products[2].ID, "location_id": shelf, "quantity": 5}})
	cases := []struct {
		ctx  map[string]any
		want float64
	}{
		{nil, 45},
		{map[string]any{"location": shelf}, 5},
		{map[string]any{"location": d.Stock}, 40},
		{map[string]any{"warehouse": d.Warehouse}, 45},
	}
	for _, tc := range cases {
		rows := mustCall(t, c, "product.product", "read", []int{d.Products[2].ID}, map[string]any{"fields": []any{"qty_available", "free_qty"}, "context": tc.ctx}).([]any)
		got := rows[0].(map[string]any)
		if asFloat(got["qty_available"]) != tc.want || asFloat(got["free_qty"]) != tc.want {
			t.Errorf("context %v: %v, want %v", tc.ctx, got, tc.want)
		}
	}
}
