package odoosim

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLatencyModel(t *testing.T) {
	t.Parallel()
	s, url := setup(t, Options{Latency: Odoo19Profile(), Sleep: func(context.Context, time.Duration) {}})
	d := s.SeedDemo()
	c := adminJSON2(url)
	order := func() map[string]any {
		lines := []any{}
		for i := 0; i < 3; i++ {
			lines = append(lines, []any{0, 0, map[string]any{"product_id": d.Products[i].ID, "product_uom_qty": 1}})
		}
		return map[string]any{"partner_id": d.Customers[0].ID, "order_line": lines}
	}
	batch := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = order()
		}
		return out
	}
	var ids []int
	cases := []struct {
		name string
		run  func()
		want time.Duration
	}{
		{"create 1 order", func() { mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": batch(1)}) }, 99 * time.Millisecond},
		{"create 20 orders", func() {
			for _, v := range mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": batch(20)}).([]any) {
				ids = append(ids, firstID(t, v))
			}
		}, 70*time.Millisecond + 20*29*time.Millisecond},
		{"confirm 1 order", func() { mustCall(t, c, "sale.order", "action_confirm", ids[:1], nil) }, 108 * time.Millisecond},
		{"confirm 19 orders", func() { mustCall(t, c, "sale.order", "action_confirm", ids[1:], nil) }, 43*time.Millisecond + 19*65*time.Millisecond},
		{"search_read", func() {
			mustCall(t, c, "sale.order", "search_read", nil, map[string]any{"domain": []any{}, "fields": []any{"name"}})
		}, 20 * time.Millisecond},
		{"read 21 orders", func() { mustCall(t, c, "sale.order", "read", append(ids, 1), map[string]any{"fields": []any{"name"}}) }, 15*time.Millisecond + 21*300*time.Microsecond},
	}
	for _, tc := range cases {
		s.ResetStats()
		tc.run()
		st := s.Stats()
		if st.Modelled != tc.want || st.Calls != 1 {
			t.Errorf("%s: modelled %v in %d calls, want %v in 1", tc.name, st.Modelled, st.Calls, tc.want)
		}
	}
	st := s.Stats()
	if st.ByProtocol["json2"] != 1 || st.ByMethod["sale.order.read"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestWorkerLimit checks that no more than Workers calls spend their
// serialized share at once, whatever the number of parallel clients.
func TestWorkerLimit(t *testing.T) {
	t.Parallel()
	const held = 20 * time.Millisecond // 2/3 of the 30 ms per call below
	var inside, maxInside, serialSleeps atomic.Int64
	sleep := func(ctx context.Context, d time.Duration) {
		if d != held {
			return
		}
		serialSleeps.Add(1)
		n := inside.Add(1)
		for {
			m := maxInside.Load()
			if n <= m || maxInside.CompareAndSwap(m, n) {
				break
			}
		}
		for i := 0; i < 50; i++ {
			runtime.Gosched()
		}
		inside.Add(-1)
	}
	prof := LatencyProfile{Default: Cost{PerCall: 30 * time.Millisecond}, Workers: 1, Serial: 2.0 / 3.0}
	s, url := setup(t, Options{Latency: prof, Sleep: sleep})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := adminJSON2(url)
			for j := 0; j < 10; j++ {
				if _, err := c.call("res.partner", "search_count", nil, map[string]any{"domain": []any{}}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if maxInside.Load() != 1 || serialSleeps.Load() != 80 {
		t.Fatalf("max %d calls in their serial share at once over %d sleeps, want 1 over 80", maxInside.Load(), serialSleeps.Load())
	}
	if got := s.Stats().Modelled; got != 80*30*time.Millisecond {
		t.Fatalf("modelled %v", got)
	}
}

var loadTest = flag.Bool("odoosim.load", false, "measure the throughput of the Odoo19 profile in real time (slow)")

// TestLoadOdoo19Profile prints orders per second for the workflows the
// Odoo notes measured. It sleeps for real, so it runs only with
// -odoosim.load.
func TestLoadOdoo19Profile(t *testing.T) {
	if !*loadTest {
		t.Skip("run with -odoosim.load")
	}
	s, url := setup(t, Options{Latency: Odoo19Profile()})
	d := s.SeedDemo()
	lines := func() []any {
		out := []any{}
		for i := 0; i < 3; i++ {
			out = append(out, []any{0, 0, map[string]any{"product_id": d.Products[i%4].ID, "product_uom_qty": 1}})
		}
		return out
	}
	perStep := func(c caller) {
		mustCall(t, c, "res.partner", "search", nil, map[string]any{"domain": []any{[]any{"ref", "=", "GLOBEX"}}})
		mustCall(t, c, "product.product", "search_read", nil, map[string]any{"domain": []any{[]any{"default_code", "in", []any{"WID-10", "WID-20", "GAD-PRO"}}}, "fields": []any{"id"}})
		so := firstID(t, mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{"partner_id": d.Customers[1].ID, "order_line": lines()}}))
		mustCall(t, c, "sale.order", "action_confirm", []int{so}, nil)
		mustCall(t, c, "sale.order", "read", []int{so}, map[string]any{"fields": []any{"name", "state"}})
	}
	measure := func(name string, clients, orders int, run func(c caller) int) {
		start := time.Now()
		var wg sync.WaitGroup
		var done atomic.Int64
		for i := 0; i < clients; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := adminJSON2(url)
				for done.Load() < int64(orders) {
					done.Add(int64(run(c)))
				}
			}()
		}
		wg.Wait()
		el := time.Since(start)
		t.Logf("%-40s %3d clients: %4d orders in %6.2fs = %5.1f orders/s", name, clients, done.Load(), el.Seconds(), float64(done.Load())/el.Seconds())
	}
	measure("one call per step", 1, 20, func(c caller) int { perStep(c); return 1 })
	measure("one call per step", 4, 40, func(c caller) int { perStep(c); return 1 })
	measure("batched create+confirm (10 orders)", 1, 60, func(c caller) int {
		vals := []any{}
		for i := 0; i < 10; i++ {
			vals = append(vals, map[string]any{"partner_id": d.Customers[1].ID, "order_line": lines()})
		}
		res := mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": vals}).([]any)
		var ids []int
		for _, v := range res {
			ids = append(ids, firstID(t, v))
		}
		mustCall(t, c, "sale.order", "action_confirm", ids, nil)
		return len(ids)
	})
	measure("sale.order.create alone", 1, 30, func(c caller) int {
		mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{"partner_id": d.Customers[1].ID, "order_line": lines()}})
		return 1
	})
	measure("sale.order.create alone", 4, 60, func(c caller) int {
		mustCall(t, c, "sale.order", "create", nil, map[string]any{"vals_list": map[string]any{"partner_id": d.Customers[1].ID, "order_line": lines()}})
		return 1
	})
	fmt.Println()
}
