// Package load is the portal's load generator: it starts a hub with the portal on loopback (SQLite
// or PostgreSQL, the in-memory ERP or the Odoo simulator through the Odoo connector), creates an
// API key, warms the caches, and drives catalog and availability reads and order submissions at
// fixed rates for a bounded time, reporting latency percentiles. cmd/loadportal runs it.
package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/odoo"
	"github.com/waybill-hub/waybill/internal/odoo/odoosim"
	"github.com/waybill-hub/waybill/internal/portal"
	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
)

// Options bound a run. Every server listens on 127.0.0.1 only.
type Options struct {
	Duration     time.Duration // per phase; at most 2 minutes
	ReadRate     int           // catalog and availability requests per second (half each)
	OrderRate    int           // orders per second
	ERP          string        // "memory" (in-memory ERP with the portal capabilities) or "odoosim"
	DatabaseURL  string        // PostgreSQL URL; empty runs on SQLite in a temporary directory
	PollInterval time.Duration // job queue poll interval (SQLite has no LISTEN/NOTIFY)
	ChangePoll   time.Duration // how often change capture polls the ERP (0: the configured default)
	SyncRate     int           // pipeline.sync_rate (0: the configured default; -1: no limit)
	Products     int           // catalog size
	PageSize     int           // catalog page size of the read load
	MaxInFlight  int           // requests outstanding at once before the generator counts a drop
	Spans        bool          // record the hub's trace spans in process and print their durations per name
	Timeline     bool          // print each phase's latency per WindowLength
	Log          io.Writer     // progress; nil discards
}

// Result is the outcome of one phase.
type Result struct {
	Name     string        `json:"name"`
	Target   int           `json:"target_rate"`
	Sent     int           `json:"sent"`
	OK       int           `json:"ok"`
	Failed   int           `json:"failed"`
	Dropped  int           `json:"dropped"`
	Achieved float64       `json:"achieved_rate"`
	P50      time.Duration `json:"p50"`
	P90      time.Duration `json:"p90"`
	P99      time.Duration `json:"p99"`
	Max      time.Duration `json:"max"`
	Statuses map[int]int   `json:"statuses"`
	// Windows are the phase's latencies by the second they were scheduled in, Window long each,
	// to tell a steady tail from one made by a burst of background work.
	Windows []Window `json:"windows,omitempty"`
}

// WindowLength is the span of a Window.
const WindowLength = 5 * time.Second

// Window is the latency of the requests scheduled in one stretch of a phase.
type Window struct {
	Start time.Duration `json:"start"` // since the phase began
	OK    int           `json:"ok"`
	P50   time.Duration `json:"p50"`
	P99   time.Duration `json:"p99"`
	Max   time.Duration `json:"max"`
}

func (w Window) String() string {
	return fmt.Sprintf("  %4.0fs  ok %5d  p50 %7s p99 %7s max %7s", w.Start.Seconds(), w.OK, w.P50.Round(10*time.Microsecond),
		w.P99.Round(10*time.Microsecond), w.Max.Round(10*time.Microsecond))
}

func (r Result) String() string {
	return fmt.Sprintf("%-12s target %5d/s achieved %7.1f/s  sent %6d ok %6d failed %4d dropped %4d  p50 %7s p90 %7s p99 %7s max %7s  %v",
		r.Name, r.Target, r.Achieved, r.Sent, r.OK, r.Failed, r.Dropped, r.P50.Round(10*time.Microsecond), r.P90.Round(10*time.Microsecond),
		r.P99.Round(10*time.Microsecond), r.Max.Round(10*time.Microsecond), r.Statuses)
}

// Run starts the hub, runs the read phase then the order phase, and stops everything.
func Run(ctx context.Context, o Options) ([]Result, error) {
	if o.Duration <= 0 || o.Duration > 2*time.Minute {
		return nil, errors.New("duration must be between 0 and 2 minutes")
	}
	if o.Products <= 0 {
		o.Products = 50
	}
	if o.PageSize <= 0 {
		o.PageSize = 20
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 256
	}
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	var spans *spanStats
	if o.Spans {
		spans = recordSpans()
		defer spans.stop()
	}
	env, err := start(ctx, o)
	if err != nil {
		return nil, err
	}
	defer env.stop()
	fmt.Fprintf(logw, "hub on %s (%s, ERP %s); warming up\n", env.base, env.backend, o.ERP)
	var out []Result
	if o.ReadRate > 0 {
		// Warm keys and caches, then measure.
		for _, sku := range env.skus {
			env.get(ctx, "/v1/availability?sku="+sku)
		}
		env.get(ctx, fmt.Sprintf("/v1/catalog?limit=%d", o.PageSize))
		n := 0
		r := drive(ctx, "reads", o.ReadRate, o.Duration, o.MaxInFlight, func(ctx context.Context) int {
			n++
			if n%2 == 0 {
				return env.get(ctx, fmt.Sprintf("/v1/catalog?limit=%d", o.PageSize))
			}
			a, b := env.skus[rand.IntN(len(env.skus))], env.skus[rand.IntN(len(env.skus))]
			return env.get(ctx, "/v1/availability?sku="+a+","+b)
		})
		fmt.Fprintln(logw, r)
		out = append(out, r)
	}
	if spans != nil {
		spans.reset()
	}
	if o.OrderRate > 0 {
		var seq atomic.Int64
		// One order to warm the customer and catalog caches.
		env.order(ctx, fmt.Sprintf("WARM-%d", time.Now().UnixNano()), env.skus[0], env.skus[1%len(env.skus)])
		if env.sim != nil {
			env.sim.ResetStats()
		}
		r := drive(ctx, "orders", o.OrderRate, o.Duration, o.MaxInFlight, func(ctx context.Context) int {
			i := seq.Add(1)
			return env.order(ctx, fmt.Sprintf("LOAD-%d-%d", time.Now().Unix(), i), env.skus[int(i)%len(env.skus)], env.skus[int(i+1)%len(env.skus)])
		})
		fmt.Fprintln(logw, r)
		if o.Timeline {
			for _, w := range r.Windows {
				fmt.Fprintln(logw, w)
			}
		}
		if env.sim != nil && r.OK > 0 {
			fmt.Fprintln(logw, callsPerOrder(env.sim.Stats(), r.OK))
		}
		if spans != nil {
			fmt.Fprint(logw, spans)
		}
		out = append(out, r)
	}
	return out, nil
}

type environment struct {
	base    string
	key     string
	skus    []string
	backend string
	hc      *http.Client
	sim     *odoosim.Server // nil with the in-memory ERP
	stop    func()
}

// callsPerOrder says how many Odoo calls an order cost, per model method, so a change to the
// connector's calls shows in the run's output. The calls of the background work (availability
// refresh, change capture) during the phase are counted too.
func callsPerOrder(st odoosim.Stats, orders int) string {
	keys := make([]string, 0, len(st.ByMethod))
	for k := range st.ByMethod {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "Odoo calls per order: %.2f (", float64(st.Calls)/float64(orders))
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.2f", k, float64(st.ByMethod[k])/float64(orders))
	}
	b.WriteString(")")
	return b.String()
}

func (e *environment) get(ctx context.Context, path string) int {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.key)
	return e.do(req)
}

func (e *environment) order(ctx context.Context, po, sku1, sku2 string) int {
	body, _ := json.Marshal(map[string]any{"po_number": po, "lines": []map[string]any{{"sku": sku1, "quantity": "2"}, {"sku": sku2, "quantity": "1"}}})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.base+"/v1/orders", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", po)
	return e.do(req)
}

func (e *environment) do(req *http.Request) int {
	res, err := e.hc.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// drive sends requests on a fixed schedule (open loop) and measures each from its scheduled
// time, so a slow server cannot hide its queueing delay.
func drive(ctx context.Context, name string, rate int, d time.Duration, maxInFlight int, fn func(context.Context) int) Result {
	res := Result{Name: name, Target: rate, Statuses: map[int]int{}}
	interval := time.Second / time.Duration(rate)
	total := int(d / interval)
	var mu sync.Mutex
	lat := make([]time.Duration, 0, total)
	windows := make([][]time.Duration, int(d/WindowLength)+1)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < total && ctx.Err() == nil; i++ {
		at := start.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w) // the schedule itself: nothing to wait on but the clock
		}
		select {
		case sem <- struct{}{}:
		default:
			res.Dropped++
			continue
		}
		res.Sent++
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			code := fn(ctx)
			l := time.Since(at)
			mu.Lock()
			res.Statuses[code]++
			if code >= 200 && code < 300 {
				res.OK++
				lat = append(lat, l)
				w := int(at.Sub(start) / WindowLength)
				windows[w] = append(windows[w], l)
			} else {
				res.Failed++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	res.Achieved = float64(res.OK) / elapsed.Seconds()
	for i, wl := range windows {
		if len(wl) == 0 {
			continue
		}
		slices.Sort(wl)
		res.Windows = append(res.Windows, Window{Start: time.Duration(i) * WindowLength, OK: len(wl),
			P50: wl[len(wl)/2], P99: wl[min(len(wl)-1, len(wl)*99/100)], Max: wl[len(wl)-1]})
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(float64(len(lat))*p))]
	}
	res.P50, res.P90, res.P99 = pct(0.50), pct(0.90), pct(0.99)
	if len(lat) > 0 {
		res.Max = lat[len(lat)-1]
	}
	return res
}

// start runs the hub (and the Odoo simulator when asked) on loopback.
func start(ctx context.Context, o Options) (*environment, error) {
	var stops []func()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.Partners = []config.Partner{{ID: "portal", Name: "Customer portal"}}
	if o.PollInterval > 0 {
		cfg.Pipeline.PollInterval = o.PollInterval
	}
	if o.ChangePoll > 0 {
		cfg.ERP.Odoo.PollInterval = o.ChangePoll
	}
	switch {
	case o.SyncRate > 0:
		cfg.Pipeline.SyncRate = o.SyncRate
	case o.SyncRate < 0:
		cfg.Pipeline.SyncRate = 0
	}
	env := &environment{hc: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.MaxInFlight, MaxConnsPerHost: o.MaxInFlight}}}
	var st *app.Storage
	if o.DatabaseURL != "" {
		b, err := postgres.Open(ctx, o.DatabaseURL, postgres.Options{MaxConns: 40})
		if err != nil {
			return nil, err
		}
		// Orders left by an earlier run would be synced against a simulator that never saw
		// them, and their syncs counted in this run's figures.
		var n int64
		if err := b.QueryRow(ctx, `SELECT count(*) FROM orders`).Scan(&n); err == nil && n > 0 {
			b.Close()
			return nil, fmt.Errorf("the database already holds %d orders; give each run an empty database of its own (dropdb, createdb)", n)
		}
		st, env.backend = app.StorageFor(b), "postgres"
	} else {
		dir, err := os.MkdirTemp("", "waybill-load-")
		if err != nil {
			return nil, err
		}
		stops = append(stops, func() { os.RemoveAll(dir) })
		b, err := sqlite.Open(ctx, dir)
		if err != nil {
			stopAll()
			return nil, err
		}
		st, env.backend = app.StorageFor(b), "sqlite"
	}
	var erp waybill.ERP
	switch o.ERP {
	case "", "memory":
		base := memerp.New(false)
		base.AddCustomer("ACME", "Acme Retail")
		for i := range o.Products {
			sku := fmt.Sprintf("SKU-%04d", i)
			base.AddProduct(sku, "", waybill.NewDecimal(int64(500+i*25), 2))
			env.skus = append(env.skus, sku)
		}
		erp = memerp.NewPortal(base)
	case "odoosim":
		sim := odoosim.New(odoosim.Options{Version: "19.0", Database: "sim"})
		demo := sim.SeedDemo()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			stopAll()
			return nil, err
		}
		srv := &http.Server{Handler: sim}
		go srv.Serve(ln)
		stops = append(stops, func() { srv.Close(); sim.Close() })
		oc := odoo.Default()
		oc.URL, oc.Database, oc.User, oc.APIKey = "http://"+ln.Addr().String(), "sim", "admin", "sim-admin-key"
		oc.MaxConcurrency = 16
		c, err := odoo.New(ctx, oc)
		if err != nil {
			stopAll()
			return nil, err
		}
		erp, env.sim = c, sim
		for _, p := range demo.Products {
			if p.OnHand > 0 {
				env.skus = append(env.skus, p.Code)
			}
		}
	default:
		return nil, fmt.Errorf("unknown ERP %q (memory, odoosim)", o.ERP)
	}
	logTo := io.Discard
	if path := os.Getenv("WAYBILL_LOAD_LOG"); path != "" { // the hub's log, to look into a run
		if f, err := os.Create(path); err == nil {
			logTo = f
			stops = append(stops, func() { f.Close() })
		}
	}
	log := slog.New(slog.NewTextHandler(logTo, nil))
	a, err := app.New(ctx, cfg, app.Options{Storage: st, ERP: erp, Logger: log})
	if err != nil {
		stopAll()
		return nil, err
	}
	if err := a.Start(ctx); err != nil {
		stopAll()
		return nil, err
	}
	stops = append(stops, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done := make(chan struct{})
		go func() { a.Stop(sctx); close(done) }()
		select { // the process exits next: do not hang on a stuck shutdown
		case <-done:
		case <-time.After(15 * time.Second):
		}
	})
	key, id, hash := portal.NewKey()
	if err := st.DB.InsertPortalKey(ctx, &store.PortalKey{ID: id, Hash: hash, Name: "load", Client: "portal", Accounts: []string{"ACME"},
		Scopes: []string{"*"}, RateLimit: 1_000_000, Burst: 1_000_000}); err != nil {
		stopAll()
		return nil, err
	}
	env.base, env.key, env.stop = "http://"+a.Addr(), key, stopAll
	return env, nil
}
