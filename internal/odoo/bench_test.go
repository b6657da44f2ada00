package odoo

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
)

// Throughput of confirmed 3-line sale orders against the simulator with the latency measured on
// a real Odoo 19 (odoosim.Odoo19Profile):
//
//	go test ./internal/odoo -run '^$' -bench Orders -benchtime 1x
//
// Each benchmark reports orders/s and Odoo round trips per order (counted by the simulator,
// change capture excluded). OnePerStep is the connector called once per order (find, create,
// confirm, read back); Direct is the best plain batched client (create with a vals_list, one
// action_confirm, nothing else): the ceiling; Hub is the connector batched as the pipeline calls
// it, with find-before-create, read-back and a change capture poller running.

const (
	benchOrders = 80
	benchBatch  = 20
	benchPar    = 2
)

type benchEnv struct {
	sim    *odoosim.Server
	c      *Client
	demo   odoosim.DemoData
	drafts []waybill.OrderDraft
}

func newBenchEnv(b testing.TB, tag string) *benchEnv {
	b.Helper()
	sim := odoosim.New(odoosim.Options{Version: "19.0", Latency: odoosim.Odoo19Profile()})
	demo := sim.SeedDemo()
	srv := httptest.NewServer(sim)
	b.Cleanup(srv.Close)
	b.Cleanup(sim.Close)
	c, err := New(context.Background(), Config{URL: srv.URL, Database: "sim", APIKey: odoosim.AdminAPIKey, Protocol: ProtocolJSON2, Version: "19.0", MaxConcurrency: 8})
	if err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{sim: sim, c: c, demo: demo}
	for i := 0; i < benchOrders; i++ {
		d := waybill.OrderDraft{HubRef: fmt.Sprintf("bench-%s-%d-%d", tag, time.Now().UnixNano(), i), PONumber: fmt.Sprintf("PO-%d", i),
			Customer: waybill.ERPRef{ID: int64(demo.Customers[i%len(demo.Customers)].ID)}}
		for j := 0; j < 3; j++ {
			p := demo.Products[(i+j)%4]
			d.Lines = append(d.Lines, waybill.DraftLine{LineNumber: fmt.Sprint(j + 1), Product: waybill.ERPRef{ID: int64(p.ID)}, Quantity: waybill.DecimalFromInt(int64(1 + j))})
		}
		e.drafts = append(e.drafts, d)
	}
	sim.ResetStats()
	return e
}

func (e *benchEnv) report(b *testing.B, start time.Time, calls int) {
	el := time.Since(start)
	b.ReportMetric(float64(benchOrders)/el.Seconds(), "orders/s")
	b.ReportMetric(float64(calls)/benchOrders, "calls/order")
	b.ReportMetric(0, "ns/op")
}

// parallel runs fn over the drafts in batches of size, par batches at a time.
func parallel(drafts []waybill.OrderDraft, size, par int, fn func([]waybill.OrderDraft) error) error {
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	ch := make(chan []waybill.OrderDraft)
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range ch {
				if err := fn(batch); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := 0; i < len(drafts); i += size {
		ch <- drafts[i:min(i+size, len(drafts))]
	}
	close(ch)
	wg.Wait()
	return first
}

func (e *benchEnv) connectorBatch(ctx context.Context, batch []waybill.OrderDraft) error {
	return e.connectorBatchN(ctx, batch, 3)
}

func BenchmarkOrdersOnePerStep(b *testing.B) {
	for i := 0; i < b.N; i++ {
		e := newBenchEnv(b, "step")
		start := time.Now()
		if err := parallel(e.drafts, 1, 1, func(d []waybill.OrderDraft) error { return e.connectorBatch(context.Background(), d) }); err != nil {
			b.Fatal(err)
		}
		e.report(b, start, e.sim.Stats().Calls)
	}
}

func BenchmarkOrdersDirect(b *testing.B) {
	for i := 0; i < b.N; i++ {
		e := newBenchEnv(b, "direct")
		ctx := context.Background()
		start := time.Now()
		err := parallel(e.drafts, benchBatch, benchPar, func(batch []waybill.OrderDraft) error {
			vals := make([]map[string]any, len(batch))
			for k, d := range batch {
				vals[k] = e.c.orderVals(d, nil)
			}
			ids, err := e.c.Create(ctx, "sale.order", vals, nil)
			if err != nil {
				return err
			}
			_, err = e.c.Method(ctx, "sale.order", "action_confirm", ids, nil)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		e.report(b, start, e.sim.Stats().Calls)
	}
}

func BenchmarkOrdersHub(b *testing.B) {
	for i := 0; i < b.N; i++ {
		e := newBenchEnv(b, "hub")
		ctx, cancel := context.WithCancel(context.Background())
		// Change capture on: a poller with its own client, as the hub runs it.
		var pollCalls int64
		poller, err := New(ctx, e.c.cfg)
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			cursor := ChangeCursorAt(time.Now().Add(-time.Minute))
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					pollCalls = poller.Calls()
					return
				case <-t.C:
					if _, next, err := poller.Changes(ctx, cursor, 200); err == nil {
						cursor = next
					}
				}
			}
		}()
		start := time.Now()
		err = parallel(e.drafts, benchBatch, benchPar, func(batch []waybill.OrderDraft) error { return e.connectorBatch(ctx, batch) })
		el := time.Since(start)
		cancel()
		<-done
		if err != nil {
			b.Fatal(err)
		}
		calls := e.sim.Stats().Calls - int(pollCalls)
		b.ReportMetric(float64(benchOrders)/el.Seconds(), "orders/s")
		b.ReportMetric(float64(calls)/benchOrders, "calls/order")
		b.ReportMetric(float64(pollCalls), "poll-calls")
		b.ReportMetric(0, "ns/op")
	}
}

// BenchmarkChangesAfterBurst reads, page by page as the hub's poll does (500 a page), the changes
// 3,000 orders created and confirmed since the last poll left: what a poll finds every 30 s at
// 100 orders/s. It reports the poll's duration and its longest Odoo call, which holds the
// simulator's lock from the calls that write.
//
//	go test ./internal/odoo -run '^$' -bench ChangesAfterBurst -benchtime 5x
func BenchmarkChangesAfterBurst(b *testing.B) {
	ctx := context.Background()
	sim := odoosim.New(odoosim.Options{Version: "19.0"})
	demo := sim.SeedDemo()
	srv := httptest.NewServer(sim)
	b.Cleanup(srv.Close)
	b.Cleanup(sim.Close)
	c, err := New(ctx, Config{URL: srv.URL, Database: "sim", APIKey: odoosim.AdminAPIKey, Protocol: ProtocolJSON2, Version: "19.0", MaxConcurrency: 8})
	if err != nil {
		b.Fatal(err)
	}
	_, start, err := c.Changes(ctx, "", 500)
	if err != nil {
		b.Fatal(err)
	}
	const orders, batch = 3000, 25
	for i := 0; i < orders; i += batch {
		var drafts []waybill.OrderDraft
		for j := i; j < i+batch; j++ {
			d := waybill.OrderDraft{HubRef: fmt.Sprintf("burst-%d", j), PONumber: fmt.Sprintf("PO-%d", j),
				Customer: waybill.ERPRef{ID: int64(demo.Customers[j%len(demo.Customers)].ID)}}
			for k := range 2 {
				p := demo.Products[(j+k)%4]
				d.Lines = append(d.Lines, waybill.DraftLine{LineNumber: fmt.Sprint(k + 1), Product: waybill.ERPRef{ID: int64(p.ID)}, Quantity: waybill.DecimalFromInt(1)})
			}
			drafts = append(drafts, d)
		}
		e := &benchEnv{c: c}
		if err := e.connectorBatchN(ctx, drafts, 2); err != nil {
			b.Fatal(err)
		}
	}
	var longest time.Duration
	calls := 0
	for b.Loop() {
		cursor := start
		for {
			t0 := time.Now()
			changes, next, err := c.Changes(ctx, cursor, 500)
			if err != nil {
				b.Fatal(err)
			}
			longest = max(longest, time.Since(t0))
			calls++
			cursor = next
			if len(changes) < 500 {
				break
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/poll")
	b.ReportMetric(float64(longest.Microseconds())/1000, "ms-longest-page")
	b.ReportMetric(float64(calls)/float64(b.N), "pages/poll")
}

// connectorBatchN is connectorBatch for orders of n lines.
func (e *benchEnv) connectorBatchN(ctx context.Context, batch []waybill.OrderDraft, n int) error {
	res, err := e.c.CreateOrders(ctx, batch)
	if err != nil {
		return err
	}
	refs := make([]waybill.ERPRef, len(res))
	for i, r := range res {
		if r.Err != nil {
			return r.Err
		}
		refs[i] = r.Order
	}
	conf, err := e.c.ConfirmOrders(ctx, refs)
	if err != nil {
		return err
	}
	for _, cf := range conf {
		if cf.Err != nil || cf.State != "sale" || len(cf.Lines) != n {
			return fmt.Errorf("confirmation %+v", cf)
		}
	}
	return nil
}
