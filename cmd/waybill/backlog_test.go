//go:build fault

package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/waybill-hub/waybill"
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
	cfgPath := serveConfig(b, backend, erpSrv.URL, "")
	st, h := intakeFor(b, cfgPath)
	if err := sendOrders(ctx, h, "B-", n, 4); err != nil {
		b.Fatal(err)
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
