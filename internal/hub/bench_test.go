package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
)

// benchApp starts a hub on backend with the in-memory ERP at zero latency.
func benchApp(b *testing.B, backend string) *app.App {
	b.Helper()
	ctx := context.Background()
	var st *app.Storage
	switch backend {
	case "sqlite":
		be, err := sqlite.Open(ctx, b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		st = app.StorageFor(be)
	case "postgres":
		if os.Getenv(postgres.TestURLEnv) == "" {
			b.Skipf("%s is not set", postgres.TestURLEnv)
		}
		st = app.StorageFor(postgres.TestBackend(b))
	}
	cfg := config.Default()
	cfg.Listen = ""
	cfg.Pipeline.PollInterval = 20 * time.Millisecond
	if v := os.Getenv("WAYBILL_BENCH_WORKERS"); v != "" {
		fmt.Sscan(v, &cfg.Pipeline.Workers)
	}
	cfg.Partners = []config.Partner{{ID: "acme", Account: "ACME"}}
	a, err := app.New(ctx, cfg, app.Options{Storage: st, ERP: memerp.New(true), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	if err := a.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a.Stop(ctx)
	})
	return a
}

func benchPayload(i int) []byte {
	o := waybill.Order{PONumber: fmt.Sprintf("B-%08d", i), Lines: []waybill.Line{
		{Number: "1", VendorItem: fmt.Sprintf("SKU-%d", i%50), Quantity: waybill.MustDecimal("3"), UOM: "EA"}}}
	p, _ := json.Marshal(o)
	return p
}

// awaitAccepted waits until n orders are accepted, re-checking on job completions.
func awaitAccepted(b *testing.B, a *app.App, n int64, timeout time.Duration) {
	events, cancel := a.Queue.Subscribe()
	defer cancel()
	deadline := time.After(timeout)
	check := time.NewTicker(50 * time.Millisecond)
	defer check.Stop()
	for {
		select {
		case <-check.C:
			c, err := a.Storage.DB.CountOrdersByState(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			if c[waybill.OrderAccepted] >= n {
				return
			}
		case <-events:
		case <-deadline:
			b.Fatalf("%d orders not accepted within %s", n, timeout)
		}
	}
}

// BenchmarkPipeline measures throughput from receipt to an order accepted by the ERP: each
// iteration is one message received (from WAYBILL_BENCH_SENDERS concurrent senders, by default 8,
// each sending its next message once the last is stored), processed, submitted to the in-memory
// ERP (zero latency) and recorded as accepted. With few senders the figure is bounded by the
// receipt's latency rather than by the hub's capacity; BenchmarkLatency offers a fixed rate
// instead, whatever the answers' latency.
//
//	go test -run '^$' -bench Pipeline -benchtime 5000x ./internal/hub/
//	WAYBILL_BENCH_SENDERS=32 go test -run '^$' -bench Pipeline -benchtime 12000x ./internal/hub/
func BenchmarkPipeline(b *testing.B) {
	for _, be := range []string{"sqlite", "postgres"} {
		b.Run(be, func(b *testing.B) {
			a := benchApp(b, be)
			ctx := context.Background()
			var next atomic.Int64
			cpu0 := cpuTime()
			b.ResetTimer()
			var wg sync.WaitGroup
			for w := 0; w < benchSenders(); w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := next.Add(1)
						if i > int64(b.N) {
							return
						}
						if _, err := a.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme", Payload: benchPayload(int(i))}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			awaitAccepted(b, a, int64(b.N), 10*time.Minute)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			// The process's CPU per message: steadier than throughput on a shared machine (it
			// leaves out a PostgreSQL server's own CPU).
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
		})
	}
}

// benchSenders is how many goroutines send at once in BenchmarkPipeline: WAYBILL_BENCH_SENDERS,
// by default 8.
func benchSenders() int {
	n := 8
	if v := os.Getenv("WAYBILL_BENCH_SENDERS"); v != "" {
		fmt.Sscan(v, &n)
	}
	return max(n, 1)
}

// BenchmarkLatency sends messages at a fixed rate (WAYBILL_BENCH_RATE per second, default 500)
// and reports the receipt-to-accepted latency percentiles, read from the stored events.
//
//	WAYBILL_BENCH_RATE=500 go test -run '^$' -bench Latency -benchtime 3000x ./internal/hub/
func BenchmarkLatency(b *testing.B) {
	rate := 500
	if v := os.Getenv("WAYBILL_BENCH_RATE"); v != "" {
		fmt.Sscan(v, &rate)
	}
	for _, be := range []string{"sqlite", "postgres"} {
		b.Run(fmt.Sprintf("%s/rate=%d", be, rate), func(b *testing.B) {
			a := benchApp(b, be)
			ctx := context.Background()
			interval := time.Second / time.Duration(rate)
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
					time.Sleep(d) // pacing the offered load, not waiting for a result
				}
				go func(i int) {
					if _, err := a.Hub.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme", Payload: benchPayload(i)}); err != nil {
						b.Error(err)
					}
				}(i)
			}
			awaitAccepted(b, a, int64(b.N), 10*time.Minute)
			b.StopTimer()
			lat := latencies(b, a.Storage.DB, b.N)
			// Sending took b.N/rate seconds; a hub that keeps up with the rate accepts the last
			// order a moment later, so this is close to the rate.
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(pct(lat, 50), "p50-ms")
			b.ReportMetric(pct(lat, 99), "p99-ms")
			b.ReportMetric(pct(lat, 100), "max-ms")
		})
	}
}

// latencies returns, per order, the time from its message's receipt to its acceptance.
func latencies(b *testing.B, db *store.DB, n int) []float64 {
	ctx := context.Background()
	orders, err := db.Orders(ctx, store.OrderFilter{Limit: n + 10})
	if err != nil {
		b.Fatal(err)
	}
	out := make([]float64, 0, len(orders))
	for _, o := range orders {
		evs, err := db.OrderEvents(ctx, o.Order.ID)
		if err != nil {
			b.Fatal(err)
		}
		var recv, acc time.Time
		for _, e := range evs {
			switch e.To {
			case waybill.OrderReceived:
				recv = e.At
			case waybill.OrderAccepted:
				acc = e.At
			}
		}
		if !recv.IsZero() && !acc.IsZero() {
			out = append(out, float64(acc.Sub(recv).Microseconds())/1000)
		}
	}
	sort.Float64s(out)
	return out
}

func pct(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p / 100)
	return sorted[i]
}

// cpuTime is the user and system CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
