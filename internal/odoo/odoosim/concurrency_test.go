package odoosim

import (
	"fmt"
	"sync"
	"testing"
)

// TestReadersBesideWriters runs calls that only read (which share the server's lock) beside
// calls that create and confirm orders (which hold it alone). Run with -race, it shows that
// what readers build lazily (indexes, reserved sums) is guarded; without it, that every reader
// sees each order either before or after a call, never half-written.
func TestReadersBesideWriters(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	c := adminJSON2(url)
	const writers, readers, orders = 2, 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, writers+readers)
	done := make(chan struct{})
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range orders {
				res, err := c.call("sale.order", "create", nil, map[string]any{"vals_list": []any{map[string]any{
					"partner_id": d.Customers[0].ID, "client_order_ref": fmt.Sprintf("W%d-%d", w, i),
					"order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[i%len(d.Products)].ID, "product_uom_qty": 1.0}}}}}})
				if err != nil {
					errs <- fmt.Errorf("create: %w", err)
					return
				}
				so := idList(res)
				if _, err := c.call("sale.order", "action_confirm", so, nil); err != nil {
					errs <- fmt.Errorf("confirm: %w", err)
					return
				}
				// A failed call rolls back and drops the indexes of what it touched: readers
				// build them again, beside each other.
				if _, err := c.call("sale.order", "create", nil, map[string]any{"vals_list": []any{map[string]any{
					"partner_id": d.Customers[0].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": 99999}}}}}}); err == nil {
					errs <- fmt.Errorf("an order of an unknown product was created")
					return
				}
			}
		}()
	}
	var rg sync.WaitGroup
	for r := range readers {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for n := 0; ; n++ {
				select {
				case <-done:
					return
				default:
				}
				var err error
				switch (r + n) % 6 {
				case 0:
					var res any
					res, err = c.call("sale.order", "search_read", nil, map[string]any{"domain": []any{[]any{"state", "=", "sale"}},
						"fields": []any{"name", "state", "order_line", "picking_ids", "write_date"}})
					for _, o := range asList(res) {
						if len(idList(o.(map[string]any)["picking_ids"])) == 0 {
							err = fmt.Errorf("confirmed order %v read without its delivery", o.(map[string]any)["name"])
						}
					}
				case 1:
					_, err = c.call("product.product", "search_read", nil, map[string]any{"domain": []any{},
						"fields": []any{"qty_available", "free_qty", "virtual_available"}})
				case 2:
					_, err = c.call("stock.move", "search_read", nil, map[string]any{"domain": []any{[]any{"sale_line_id", "!=", false}},
						"fields": []any{"sale_line_id", "product_uom_qty", "quantity", "state"}})
				case 3:
					_, err = c.call("stock.picking", "search_read", nil, map[string]any{"domain": []any{[]any{"sale_id", "!=", false}},
						"fields": []any{"name", "state", "sale_id"}})
				case 4: // through the index of order_id
					_, err = c.call("sale.order.line", "search_read", nil, map[string]any{"domain": []any{[]any{"order_id", "in", []any{1, 2, 3, n % 40}}},
						"fields": []any{"product_uom_qty", "qty_delivered"}})
				case 5: // through the index of name
					_, err = c.call("sale.order", "search_read", nil, map[string]any{"domain": []any{[]any{"name", "=", fmt.Sprintf("S%05d", n%40)}},
						"fields": []any{"name"}})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	rg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	res, err := c.call("sale.order", "search_count", nil, map[string]any{"domain": []any{[]any{"state", "=", "sale"}}})
	if err != nil {
		t.Fatal(err)
	}
	if n := intOf(res); n != writers*orders {
		t.Errorf("%d confirmed orders, want %d", n, writers*orders)
	}
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// idList reads a list of ids from a JSON answer.
func idList(v any) []int {
	ids, _ := asIDs(v)
	return ids
}
