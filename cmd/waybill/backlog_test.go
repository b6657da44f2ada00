//go:build fault

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/postgres"
)

// BenchmarkBacklogMemory stores a backlog of WAYBILL_BENCH_BACKLOG messages (100,000 by default)
// through the store, as receipts are stored while the hub is down, then starts `waybill serve`
// on it and reports the serve process's resident memory: when it has started, with the backlog
// queued, and at its peak while it works the backlog off, and the rate it did so. The in-memory
// ERP answers over HTTP from the benchmark's process, so that the ERP's growing state does not
// count as the hub's, as Odoo's would not.
//
//	go test -tags fault -run '^$' -bench BacklogMemory -benchtime 1x -timeout 30m ./cmd/waybill
func BenchmarkBacklogMemory(b *testing.B) {
	n := 100000
	if v := os.Getenv("WAYBILL_BENCH_BACKLOG"); v != "" {
		fmt.Sscan(v, &n)
	}
	bin := waybillBinary(b)
	for _, be := range []string{"sqlite", "postgres"} {
		b.Run(be, func(b *testing.B) {
			if be == "postgres" && os.Getenv(postgres.TestURLEnv) == "" {
				b.Skip("no PostgreSQL")
			}
			benchBacklog(b, bin, be, n)
		})
	}
}

func benchBacklog(b *testing.B, bin, backend string, n int) {
	ctx := context.Background()
	erpSrv := httptest.NewServer(memerp.Handler(memerp.New(true)))
	defer erpSrv.Close()
	dir := b.TempDir()
	dbLine := fmt.Sprintf("data_dir: %s\n", filepath.Join(dir, "data"))
	if backend == "postgres" {
		pg := postgres.TestBackend(b)
		var schema string
		if err := pg.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			b.Fatal(err)
		}
		dbLine = fmt.Sprintf("database: {driver: postgres, url: %q}\n", postgres.URLWithSchema(os.Getenv(postgres.TestURLEnv), schema))
	}
	cfgPath := filepath.Join(dir, "waybill.yaml")
	if err := os.WriteFile(cfgPath, []byte(dbLine+`listen: 127.0.0.1:0
log: {level: warn}
erp: {kind: http, url: `+erpSrv.URL+`}
partners:
  - {id: acme, account: ACME}
`), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		b.Fatal(err)
	}
	st, err := app.OpenStorage(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer st.DB.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	q, err := st.NewQueue(nil, jobs.Default())
	if err != nil {
		b.Fatal(err)
	}
	h := hub.New(hub.Config{DB: st.DB, Partners: hub.PartnerMap{"acme": {ID: "acme", Account: "ACME"}}})
	h.Attach(q)
	defer h.Close()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				o := waybill.Order{PONumber: fmt.Sprintf("B-%08d", i), Lines: []waybill.Line{
					{Number: "1", VendorItem: fmt.Sprintf("SKU-%d", i%50), Quantity: waybill.MustDecimal("3"), UOM: "EA"}}}
				payload, _ := json.Marshal(o)
				if _, err := h.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme", Payload: payload}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		return
	}

	b.ResetTimer()
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	var first, peak int64
	deadline := time.Now().Add(30 * time.Minute)
	sample := time.NewTicker(100 * time.Millisecond)
	defer sample.Stop()
	for i := 0; ; i++ {
		<-sample.C
		r := processRSSKiB(cmd.Process.Pid)
		if first == 0 {
			first = r
		}
		peak = max(peak, r)
		if i%5 != 0 {
			continue
		}
		c, err := st.DB.CountOrdersByState(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if c[waybill.OrderAccepted] >= int64(n) {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d orders accepted after 30 minutes", c[waybill.OrderAccepted], n)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(first)/1024, "MB-rss-start")
	b.ReportMetric(float64(peak)/1024, "MB-rss-peak")
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

// processRSSKiB reads a process's resident set size from /proc (0 where there is none).
func processRSSKiB(pid int) int64 {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}
