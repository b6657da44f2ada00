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
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/store"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// waybillBinary builds the real binary once per test run.
func waybillBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "waybill-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "waybill")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// TestKill9WhileInFlight kills the hub with SIGKILL while 1,000 messages are in flight, restarts
// it, and checks that every message ends processed exactly once: 1,000 accepted orders, each
// created once in the ERP, which runs outside the killed process.
func TestKill9WhileInFlight(t *testing.T) {
	bin := waybillBinary(t)
	backends := []string{"sqlite"}
	if os.Getenv(postgres.TestURLEnv) != "" {
		backends = append(backends, "postgres")
	}
	for _, be := range backends {
		t.Run(be, func(t *testing.T) { testKill9(t, bin, be) })
	}
}

func testKill9(t *testing.T, bin, backend string) {
	const total = 1000
	ctx := context.Background()
	erp := memerp.New(true)
	erp.SetLatency(2 * time.Millisecond) // slow enough that the kill lands mid-flight
	erpSrv := httptest.NewServer(memerp.Handler(erp))
	defer erpSrv.Close()

	cfgPath := serveConfig(t, backend, erpSrv.URL, `pipeline: {workers: 32, poll_interval: 20ms, backoff_base: 50ms, backoff_max: 500ms, job_timeout: 3s, rescue_after: 4s}
audit: {seal_interval: 200ms}
`)

	// The test enqueues through the same store, as an operator command would.
	st, h := intakeFor(t, cfgPath)

	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		require.NoError(t, cmd.Start())
		return cmd
	}
	hubProc := start()
	// Enqueue while the hub works, and kill it once some, but not all, orders reached the ERP.
	// Several senders at once, so that receipts are stored (and their messages processed) in
	// batches as well as alone.
	enqueued := make(chan error, 1)
	go func() { enqueued <- sendOrders(ctx, h, "K-", total, 8) }()
	waitFor(t, 60*time.Second, func() bool { return erp.Stats().Orders >= total/5 })
	require.NoError(t, hubProc.Process.Signal(syscall.SIGKILL))
	_ = hubProc.Wait()
	require.NoError(t, <-enqueued)
	before := erp.Stats().Orders
	require.Less(t, before, total, "the kill must land while messages are still in flight")
	t.Logf("%s: killed with %d of %d orders in the ERP", backend, before, total)

	hubProc = start()
	defer func() {
		hubProc.Process.Signal(syscall.SIGTERM)
		hubProc.Wait()
	}()
	waitFor(t, 120*time.Second, func() bool {
		n, err := st.DB.CountOrdersByState(ctx)
		return err == nil && n[waybill.OrderAccepted] == total
	})
	stats := erp.Stats()
	require.Equal(t, total, stats.Orders, "every message produced one ERP order")
	require.Equal(t, 1, stats.MaxCreates, "no hub reference was created twice in the ERP: %v", stats.DoubleWrites)
	orders, err := st.DB.Orders(ctx, store.OrderFilter{Limit: 5000})
	require.NoError(t, err)
	require.Len(t, orders, total, "no message produced two hub orders")
	dls, err := st.DB.DeadLetters(ctx, store.DeadLetterFilter{AnyState: true})
	require.NoError(t, err)
	require.Empty(t, dls)
	msgs, err := st.DB.CountMessages(ctx)
	require.NoError(t, err)
	require.EqualValues(t, total, msgs["in/processed"])
	var batchJobs int
	require.NoError(t, st.DB.Backend().QueryRow(ctx, `SELECT COUNT(*) FROM river_job WHERE kind = 'process_messages'`).Scan(&batchJobs))
	require.Positive(t, batchJobs, "some messages were processed by batch jobs")
	t.Logf("%s: %d process_messages jobs", backend, batchJobs)
}

// serveConfig writes a configuration for waybill serve on backend (a data directory of the test's
// own, or a PostgreSQL schema of its own, dropped at the end), listening on a free loopback
// port, with the ERP at erpURL, partner acme and the extra YAML, and returns its path.
func serveConfig(tb testing.TB, backend, erpURL, extra string) string {
	tb.Helper()
	dir := tb.TempDir()
	store := fmt.Sprintf("data_dir: %s\n", filepath.Join(dir, "data"))
	if backend == "postgres" {
		b := postgres.TestBackend(tb)
		var schema string
		require.NoError(tb, b.QueryRow(context.Background(), `SELECT current_schema()`).Scan(&schema))
		store = fmt.Sprintf("database: {driver: postgres, url: %q}\n", postgres.URLWithSchema(os.Getenv(postgres.TestURLEnv), schema))
	}
	path := filepath.Join(dir, "waybill.yaml")
	require.NoError(tb, os.WriteFile(path, []byte(store+`listen: 127.0.0.1:0
log: {level: warn}
erp: {kind: http, url: `+erpURL+`}
partners:
  - {id: acme, account: ACME}
`+extra), 0o600))
	return path
}

// intakeFor opens the store that the serve configuration at cfgPath names, migrated, and returns
// it with a hub that only receives into it (its queue inserts, it works no job), as an operator
// command would; partner acme is known. The store is closed when the test ends.
func intakeFor(tb testing.TB, cfgPath string) (*app.Storage, *hub.Hub) {
	tb.Helper()
	ctx := context.Background()
	cfg, err := config.Load(cfgPath)
	require.NoError(tb, err)
	st, err := app.OpenStorage(ctx, cfg)
	require.NoError(tb, err)
	tb.Cleanup(func() { st.DB.Close() })
	require.NoError(tb, st.Migrate(ctx))
	q, err := st.NewQueue(nil, jobs.Default())
	require.NoError(tb, err)
	h := hub.New(hub.Config{DB: st.DB, Partners: hub.PartnerMap{"acme": {ID: "acme", Account: "ACME"}}})
	h.Attach(q)
	tb.Cleanup(h.Close)
	return st, h
}

// sendOrders receives n one-line orders from partner acme (PO numbers prefix0000 on), from
// senders goroutines at once, and returns the first error.
func sendOrders(ctx context.Context, h *hub.Hub, prefix string, n, senders int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for range senders {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(n); i = next.Add(1) - 1 {
				o := waybill.Order{PONumber: fmt.Sprintf("%s%04d", prefix, i), Lines: []waybill.Line{
					{Number: "1", VendorItem: fmt.Sprintf("SKU-%d", i%7), Quantity: waybill.MustDecimal("2"), UOM: "EA"}}}
				payload, _ := json.Marshal(o)
				if _, err := h.Receive(ctx, waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: "acme", Payload: payload}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // the first error, or nil
}

// waitFor polls cond until it holds or the timeout passes; the hub runs in another process, so
// there is no in-process signal to wait on.
func waitFor(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
