package odoosim

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// BenchmarkHandler measures the handler alone (no network, no latency
// profile) for the calls the connector makes most.
func BenchmarkHandler(b *testing.B) {
	s := New(Options{})
	d := s.SeedDemo()
	createBody := fmt.Sprintf(`{"vals_list":[{"partner_id":%d,"client_order_ref":"PO-1","order_line":[[0,0,{"product_id":%d,"product_uom_qty":1}],[0,0,{"product_id":%d,"product_uom_qty":2}],[0,0,{"product_id":%d,"product_uom_qty":3}]]}]}`,
		d.Customers[0].ID, d.Products[0].ID, d.Products[1].ID, d.Products[3].ID)
	do := func(b *testing.B, path, body string) string {
		req := httptest.NewRequest("POST", path, strings.NewReader(body))
		req.Header.Set("Authorization", "bearer "+AdminAPIKey)
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", path, w.Code, w.Body)
		}
		return w.Body.String()
	}
	b.Run("json2 sale.order.create 3 lines", func(b *testing.B) {
		for b.Loop() {
			do(b, "/json/2/sale.order/create", createBody)
		}
	})
	b.Run("json2 search_read by ref", func(b *testing.B) {
		for b.Loop() {
			do(b, "/json/2/sale.order/search_read", `{"domain":[["client_order_ref","=","PO-1"]],"fields":["name","state"],"limit":1}`)
		}
	})
	b.Run("json2 create+confirm", func(b *testing.B) {
		for b.Loop() {
			id := strings.Trim(do(b, "/json/2/sale.order/create", createBody), "[]")
			do(b, "/json/2/sale.order/action_confirm", `{"ids":[`+id+`]}`)
		}
	})
	b.Run("xmlrpc search", func(b *testing.B) {
		body := xmlCall("execute_kw", "<string>sim</string>", "<int>2</int>", "<string>admin</string>", "<string>res.partner</string>", "<string>search</string>",
			"<array><data><value><array><data><value><array><data><value>ref</value><value>=</value><value>ACME</value></data></array></value></data></array></value></data></array>")
		for b.Loop() {
			req := httptest.NewRequest("POST", "/xmlrpc/2/object", strings.NewReader(body))
			w := httptest.NewRecorder()
			s.ServeHTTP(w, req)
		}
	})
}

// TestConcurrentClients runs the order flow from many goroutines at once
// (meaningful under -race) and checks that sequences stay unique.
func TestConcurrentClients(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	var wg sync.WaitGroup
	names := make(chan string, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := clients(url, s.Database())[i%3]
			for j := 0; j < 4; j++ {
				so, err := c.call("sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
					"partner_id": d.Customers[i%3].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[3].ID, "product_uom_qty": 1}}}}})
				if err != nil {
					t.Error(err)
					return
				}
				id := firstID(t, so)
				if _, err := c.call("sale.order", "action_confirm", []int{id}, nil); err != nil {
					t.Error(err)
					return
				}
				r, err := c.call("sale.order", "read", []int{id}, map[string]any{"fields": []any{"name"}})
				if err != nil {
					t.Error(err)
					return
				}
				names <- asString(r.([]any)[0].(map[string]any)["name"])
			}
		}(i)
	}
	wg.Wait()
	close(names)
	seen := map[string]bool{}
	for n := range names {
		if seen[n] {
			t.Errorf("duplicate order name %s", n)
		}
		seen[n] = true
	}
	if len(seen) != 32 {
		t.Errorf("%d orders, want 32", len(seen))
	}
	c := adminJSON2(url)
	if q := readOne(t, c, "product.product", d.Products[3].ID, "qty_available", "free_qty"); asFloat(q["free_qty"]) != 1000-32 {
		t.Errorf("free_qty %v after 32 reservations", q)
	}
}
