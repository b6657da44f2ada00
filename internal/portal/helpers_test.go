package portal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/portal"
	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
)

var update = flag.Bool("update", false, "rewrite api/openapi.json from the handlers")

// bundle is a running hub with the portal served over loopback HTTP.
type bundle struct {
	erp    *memerp.PortalERP
	db     *store.DB
	hub    *hub.Hub
	q      jobs.Queue
	portal *portal.Server
	url    string
	router routers.Router
	keys   map[string]string // name → key
}

func backends() []string {
	out := []string{"sqlite"}
	if os.Getenv(postgres.TestURLEnv) != "" {
		out = append(out, "postgres")
	}
	return out
}

func forEachBackend(t *testing.T, fn func(t *testing.T, be string)) {
	for _, be := range backends() {
		t.Run(be, func(t *testing.T) {
			t.Parallel()
			fn(t, be)
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// testConfig is the portal configuration of the tests: short waits and backoffs.
func testConfig() portal.Config {
	c := portal.Default()
	c.OrderWait = 3 * time.Second
	c.WebhookBackoff = 20 * time.Millisecond
	c.WebhookAttempts = 3
	c.DispatchInterval = 20 * time.Millisecond
	c.AvailabilityRefresh = 50 * time.Millisecond
	c.RateLimit, c.Burst = 1000, 1000
	return c
}

// setup wires a hub the way app.New does (store, queue, hub workers) with a portal of its own
// configuration, served by a loopback HTTP server, and creates three keys: "acme" and "globex"
// bound to one account each, and "operator" allowed both.
func setup(t *testing.T, backend string, mod ...func(*portal.Config)) *bundle {
	t.Helper()
	base := memerp.New(false)
	base.AddCustomer("ACME", "Acme Retail")
	base.AddCustomer("GLOBEX", "Globex")
	base.AddProduct("SKU-1", "00012345678905", waybill.MustDecimal("12.50"))
	base.AddProduct("SKU-2", "", waybill.MustDecimal("3.10"))
	base.AddProduct("SKU-3", "", waybill.MustDecimal("40"))
	erp := memerp.NewPortal(base)
	erp.SetPrice("ACME", "SKU-1", waybill.PriceAgreement{Currency: "USD", UnitPrice: waybill.MustDecimal("11.00"), Rule: "ACME contract"},
		waybill.PriceAgreement{Currency: "USD", UnitPrice: waybill.MustDecimal("10.00"), MinQuantity: waybill.MustDecimal("100"), Rule: "ACME volume",
			ValidUntil: time.Date(2027, 12, 31, 0, 0, 0, 0, time.UTC)})
	erp.SetRules("SKU-3", waybill.CatalogItem{PackSize: waybill.MustDecimal("6"), MinQty: waybill.MustDecimal("6"), MaxQty: waybill.MustDecimal("60"),
		Multiple: waybill.MustDecimal("6"), Category: "bulk"})
	erp.Hide("GLOBEX", "SKU-3")
	b := setupWith(t, backend, erp, mod...)
	b.erp = erp
	return b
}

// setupWith is setup over any ERP.
func setupWith(t *testing.T, backend string, erp waybill.ERP, mod ...func(*portal.Config)) *bundle {
	t.Helper()
	ctx := context.Background()
	var st *app.Storage
	switch backend {
	case "sqlite":
		b, err := sqlite.Open(ctx, t.TempDir())
		require.NoError(t, err)
		st = app.StorageFor(b)
	case "postgres":
		st = app.StorageFor(postgres.TestBackend(t))
	}
	require.NoError(t, st.Migrate(ctx))

	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	h := hub.New(hub.Config{DB: st.DB, ERP: erp, Logger: log, Partners: hub.PartnerMap{
		"portal": {ID: "portal", Name: "Customer portal", Channels: []waybill.Channel{waybill.ChannelPortal}}}})
	cfg := testConfig()
	for _, m := range mod {
		m(&cfg)
	}
	p := portal.New(h, log, cfg)
	workers := river.NewWorkers()
	h.Workers(workers)
	q, err := st.NewQueue(workers, jobs.Config{Workers: 16, MaxAttempts: 25, BackoffBase: 20 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		PollInterval: 10 * time.Millisecond, JobTimeout: 30 * time.Second, Logger: log})
	require.NoError(t, err)
	h.Attach(q)
	require.NoError(t, q.Start(ctx))
	p.Start(ctx)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(func() {
		srv.Close()
		p.Stop()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = q.Stop(sctx)
		h.Close()
		_ = st.DB.Close()
	})
	spec, err := p.OpenAPI()
	require.NoError(t, err)
	doc, err := openapi3.NewLoader().LoadFromData(spec)
	require.NoError(t, err)
	doc.Servers = nil // match on paths alone
	router, err := legacy.NewRouter(doc)
	require.NoError(t, err)
	b := &bundle{db: st.DB, hub: h, q: q, portal: p, url: srv.URL, router: router, keys: map[string]string{}}
	b.key(t, "acme", []string{"ACME"}, "*")
	b.key(t, "globex", []string{"GLOBEX"}, "*")
	b.key(t, "operator", []string{"ACME", "GLOBEX"}, "*")
	return b
}

// key creates an API key named name.
func (b *bundle) key(t *testing.T, name string, accounts []string, scopes ...string) string {
	t.Helper()
	key, id, hash := portal.NewKey()
	require.NoError(t, b.db.InsertPortalKey(context.Background(), &store.PortalKey{ID: id, Hash: hash, Name: name, Client: "portal",
		Accounts: accounts, Scopes: scopes}))
	b.keys[name] = key
	return key
}

// resp is a response read whole.
type resp struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Body, v), "body: %s", r.Body)
}

// problem decodes an RFC 9457 body.
type problemBody struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Message  string `json:"message"`
		Location string `json:"location"`
	} `json:"errors"`
}

func (r resp) problem(t *testing.T) problemBody {
	t.Helper()
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"), "status %d body %s", r.Status, r.Body)
	var p problemBody
	r.json(t, &p)
	return p
}

// call sends a request as the named key (none for "") and validates the request and the
// response against the OpenAPI document: every scenario is also a contract test.
func (b *bundle) call(t *testing.T, keyName, method, path string, body any, headers ...string) resp {
	t.Helper()
	var rd io.Reader
	var raw []byte
	if body != nil {
		if s, ok := body.(string); ok {
			raw = []byte(s)
		} else {
			raw, _ = json.Marshal(body)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.url+path, rd)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if keyName != "" {
		k := b.keys[keyName]
		if k == "" {
			k = keyName // a raw key string
		}
		req.Header.Set("Authorization", "Bearer "+k)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	r := resp{Status: res.StatusCode, Header: res.Header, Body: out}
	b.validate(t, req, raw, r)
	return r
}

var contractMu sync.Mutex

func (b *bundle) validate(t *testing.T, req *http.Request, body []byte, r resp) {
	t.Helper()
	route, params, err := b.router.FindRoute(req)
	require.NoError(t, err, "%s %s is not in the OpenAPI document", req.Method, req.URL.Path)
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}}
	if r.Status == http.StatusNotModified {
		return
	}
	contractMu.Lock() // kin-openapi's schema caches are not safe for concurrent first use
	defer contractMu.Unlock()
	if r.Status < 400 && body != nil {
		// kin-openapi cannot decode OpenAPI 3.1's nullable array headers (If-Match as
		// type [array, null]): check the request without the conditional headers.
		rq := req.Clone(context.Background())
		rq.Header.Del("If-Match")
		rq.Header.Del("If-None-Match")
		rq.Body = io.NopCloser(bytes.NewReader(body))
		rin := *in
		rin.Request = rq
		require.NoError(t, openapi3filter.ValidateRequest(context.Background(), &rin), "request %s %s violates the contract", req.Method, req.URL.Path)
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
		Status: r.Status, Header: r.Header, Body: io.NopCloser(bytes.NewReader(r.Body)), Options: in.Options})
	require.NoError(t, err, "response %d to %s %s violates the contract: %s", r.Status, req.Method, req.URL.Path, r.Body)
}

// eventually waits for cond, re-checking whenever a job finishes and every 20 ms.
func (b *bundle) eventually(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	events, cancel := b.q.Subscribe()
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(timeout)
	for !cond() {
		select {
		case <-events:
		case <-tick.C:
		case <-deadline:
			t.Fatalf("condition not met within %s", timeout)
		}
	}
}

// order is a request body.
func order(po string, lines ...map[string]any) map[string]any {
	if len(lines) == 0 {
		lines = []map[string]any{{"sku": "SKU-1", "quantity": "5"}, {"sku": "SKU-2", "quantity": "12"}}
	}
	return map[string]any{"po_number": po, "lines": lines}
}

func line(sku, qty string, kv ...string) map[string]any {
	m := map[string]any{"sku": sku, "quantity": qty}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// orderView mirrors portal.Order for decoding.
type orderView = portal.Order
