package odoosim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	countSearch := func(t *testing.T, c caller) int {
		n, err := c.call("sale.order", "search_count", nil, map[string]any{"domain": []any{}})
		if err != nil {
			t.Fatal(err)
		}
		return firstID(t, n)
	}
	createOrder := func(c caller, d DemoData) (any, error) {
		return c.call("sale.order", "create", nil, map[string]any{"vals_list": map[string]any{"partner_id": d.Customers[0].ID}})
	}
	t.Run("status codes", func(t *testing.T) {
		t.Parallel()
		for _, status := range []int{500, 502, 503, 429} {
			s, url := setup(t, Options{})
			s.Faults().FailNext(1, status)
			st, hdr, _ := post(t, "POST", url+"/jsonrpc", jsonrpcBody("common", "version"), nil)
			if st != status {
				t.Errorf("status %d, want %d", st, status)
			}
			if (status == 429 || status == 503) != (hdr.Get("Retry-After") != "") {
				t.Errorf("%d: Retry-After %q", status, hdr.Get("Retry-After"))
			}
			if st, _, _ := post(t, "POST", url+"/jsonrpc", jsonrpcBody("common", "version"), nil); st != 200 {
				t.Errorf("after the injected %d: %d", status, st)
			}
		}
	})
	t.Run("error rate", func(t *testing.T) {
		t.Parallel()
		s, url := setup(t, Options{Seed: 1})
		s.Faults().SetErrorRate(0.5, 502)
		failed := 0
		for i := 0; i < 200; i++ {
			if st, _, _ := post(t, "GET", url+"/web/version", "", nil); st == 502 {
				failed++
			}
		}
		if failed < 60 || failed > 140 || s.Faults().Injected() != failed {
			t.Errorf("%d of 200 failed (injected %d), want about half", failed, s.Faults().Injected())
		}
	})
	t.Run("down and up", func(t *testing.T) {
		t.Parallel()
		s, url := setup(t, Options{})
		s.Faults().Down()
		if st, _, _ := post(t, "GET", url+"/web/version", "", nil); st != 503 {
			t.Errorf("down: %d", st)
		}
		s.Faults().Up()
		if st, _, _ := post(t, "GET", url+"/web/version", "", nil); st != 200 {
			t.Errorf("up: %d", st)
		}
		s.Faults().DownFor(time.Hour)
		if st, _, _ := post(t, "GET", url+"/web/version", "", nil); st != 503 {
			t.Errorf("down for an hour: %d", st)
		}
		s.Faults().Up()
		if st, _, _ := post(t, "GET", url+"/web/version", "", nil); st != 200 {
			t.Errorf("up again: %d", st)
		}
	})
	t.Run("dropped before the call", func(t *testing.T) {
		t.Parallel()
		s, url := setup(t, Options{})
		d := s.SeedDemo()
		c := adminJSON2(url)
		s.Faults().DropNext(1, false)
		if _, err := createOrder(c, d); err == nil {
			t.Fatal("a dropped connection returned no error")
		}
		if n := countSearch(t, c); n != 0 {
			t.Fatalf("%d orders after a drop before the call", n)
		}
	})
	t.Run("dropped after the commit", func(t *testing.T) {
		t.Parallel()
		s, url := setup(t, Options{})
		d := s.SeedDemo()
		c := adminJSON2(url)
		s.Faults().DropNext(1, true)
		if _, err := createOrder(c, d); err == nil {
			t.Fatal("a dropped connection returned no error")
		}
		if n := countSearch(t, c); n != 1 {
			t.Fatalf("%d orders after a drop after commit, want 1", n)
		}
	})
	t.Run("serialization failure", func(t *testing.T) {
		t.Parallel()
		s, url := setup(t, Options{})
		d := s.SeedDemo()
		s.Faults().SerializationFailNext(3)
		for _, c := range clients(url, s.Database()) {
			_, err := createOrder(c, d)
			e, ok := err.(*rpcError)
			switch c.name() {
			case "json2":
				ok = ok && e.Status == 500 && e.Name == "psycopg2.errors.SerializationFailure"
			case "jsonrpc":
				ok = ok && e.Name == "psycopg2.errors.SerializationFailure"
			case "xmlrpc":
				ok = ok && e.Fault == 1 && strings.Contains(e.Message, "SerializationFailure: could not serialize access due to concurrent update")
			}
			if !ok || !strings.Contains(err.Error(), "could not serialize access due to concurrent update") {
				t.Errorf("%s: %v", c.name(), err)
			}
		}
		if n := countSearch(t, adminJSON2(url)); n != 0 {
			t.Fatalf("%d orders committed by failed calls", n)
		}
	})
	t.Run("latency and slow commits", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		var slept []time.Duration
		sleep := func(_ context.Context, d time.Duration) { mu.Lock(); slept = append(slept, d); mu.Unlock() }
		s, url := setup(t, Options{Sleep: sleep})
		s.Faults().SetLatency(250 * time.Millisecond)
		s.Faults().SetSlowCommit(time.Second)
		countSearch(t, adminJSON2(url))
		mu.Lock()
		defer mu.Unlock()
		if len(slept) != 2 || slept[0] != 250*time.Millisecond || slept[1] != time.Second {
			t.Fatalf("slept %v", slept)
		}
		s.Faults().Reset()
	})
}

func TestWebhooks(t *testing.T) {
	t.Parallel()
	got := make(chan map[string]any, 64)
	var tokens []string
	var mu sync.Mutex
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokens = append(tokens, r.URL.Query().Get("token"))
		mu.Unlock()
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("body %s", b)
		}
		got <- v
	}))
	defer hook.Close()
	s, url := setup(t, Options{})
	d := s.SeedDemo()
	s.OnChange(hook.URL+"/odoo-hook", "s3cret")
	c := adminJSON2(url)
	so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{
		"partner_id": d.Customers[0].ID, "order_line": []any{[]any{0, 0, map[string]any{"product_id": d.Products[0].ID, "product_uom_qty": 1}}}}}))
	mustCall(t, c, "sale.order", "action_confirm", []int{so}, nil)
	want := []string{"sale.order S00001 draft", "sale.order S00001 sale", "stock.picking WH/OUT/00001 assigned"}
	for _, w := range want {
		select {
		case v := <-got:
			line := asString(v["_model"]) + " " + asString(v["name"]) + " " + asString(v["state"])
			if line != w || v["_action"] == nil || v["write_date"] == nil {
				t.Errorf("notification %v, want %s", v, w)
			}
			if v["_model"] == "sale.order" && asInt2(v["_id"]) != so {
				t.Errorf("_id %v", v["_id"])
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no notification for %s", w)
		}
	}
	mu.Lock()
	if tokens[0] != "s3cret" {
		t.Errorf("token %q", tokens[0])
	}
	mu.Unlock()
}

func asInt2(v any) int {
	f, _ := v.(float64)
	return int(f)
}
