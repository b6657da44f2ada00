package dashboard_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/app"
	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/dashboard"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
)

const password = "correct horse battery"

type bundle struct {
	app  *app.App
	db   *store.DB
	base string
}

func backends() []string {
	out := []string{"sqlite"}
	if os.Getenv(postgres.TestURLEnv) != "" {
		out = append(out, "postgres")
	}
	return out
}

// setup runs a real hub (SQLite, or PostgreSQL) with the dashboard on a loopback port, an
// in-memory ERP and the operators ann (viewer), olga (operator) and adam (admin).
func setup(t testing.TB, backend string) *bundle { return setupWith(t, backend, nil) }

// setupWith is setup with a hook to change the configuration (benchmarks use the production
// pipeline settings instead of the tests' fast polling).
func setupWith(t testing.TB, backend string, edit func(*config.Config)) *bundle {
	t.Helper()
	ctx := context.Background()
	var st *app.Storage
	switch backend {
	case "postgres":
		st = app.StorageFor(postgres.TestBackend(t))
	default:
		b, err := sqlite.Open(ctx, t.TempDir())
		require.NoError(t, err)
		st = app.StorageFor(b)
	}
	cfg := config.Default()
	cfg.Listen = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Pipeline.PollInterval = 10 * time.Millisecond
	cfg.Pipeline.BackoffBase = 20 * time.Millisecond
	cfg.Pipeline.BackoffMax = 100 * time.Millisecond
	cfg.Pipeline.MaxAttempts = 3
	cfg.Partners = []config.Partner{{ID: "acme", Account: "ACME", DuplicatePolicy: "flag"}}
	if edit != nil {
		edit(&cfg)
	}
	erp := memerp.New(false)
	erp.AddCustomer("ACME", "Acme Retail")
	erp.AddProduct("SKU-1", "00012345678905", waybill.MustDecimal("12.50"))
	erp.AddProduct("SKU-2", "", waybill.MustDecimal("3.10"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a, err := app.New(ctx, cfg, app.Options{Storage: st, ERP: erp, Logger: log})
	require.NoError(t, err)
	require.NoError(t, a.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		a.Stop(ctx)
	})
	for name, role := range map[string]dashboard.Role{"ann": dashboard.RoleViewer, "olga": dashboard.RoleOperator, "adam": dashboard.RoleAdmin} {
		require.NoError(t, dashboard.CreateOperator(ctx, a.Storage.DB, name, role, password))
	}
	return &bundle{app: a, db: a.Storage.DB, base: "http://" + a.Addr()}
}

func orderJSON(po string, qty string) []byte {
	b, _ := json.Marshal(waybill.Order{PONumber: po, Lines: []waybill.Line{
		{Number: "1", VendorItem: "SKU-1", Quantity: waybill.MustDecimal(qty), UOM: "EA"}}})
	return b
}

func (b *bundle) receive(t *testing.T, partner string, payload []byte) waybill.Receipt {
	t.Helper()
	rc, err := b.app.Hub.Receive(context.Background(), waybill.InboundMessage{Channel: waybill.ChannelHTTP, Partner: partner, Payload: payload})
	require.NoError(t, err)
	return rc
}

// eventually waits for cond, re-checking when a job finishes and every 25 ms.
func (b *bundle) eventually(t *testing.T, timeout time.Duration, cond func() bool) {
	t.Helper()
	events, cancel := b.app.Queue.Subscribe()
	defer cancel()
	deadline := time.After(timeout)
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-events:
		case <-tick.C:
		case <-deadline:
			t.Fatalf("condition not met within %s", timeout)
		}
	}
}

func (b *bundle) state(t *testing.T, po string) waybill.OrderState {
	list, err := b.db.Orders(context.Background(), store.OrderFilter{PONumber: po})
	require.NoError(t, err)
	if len(list) == 0 {
		return ""
	}
	return list[0].Order.State
}

// onHold makes a flagged duplicate PO: the second order goes on hold with a duplicate_po dead letter.
func (b *bundle) onHold(t *testing.T, po string) *store.DeadLetter {
	t.Helper()
	b.receive(t, "acme", orderJSON(po, "5"))
	b.eventually(t, 10*time.Second, func() bool { return b.state(t, po) == waybill.OrderAccepted })
	b.receive(t, "acme", orderJSON(po, "6"))
	var dl *store.DeadLetter
	b.eventually(t, 10*time.Second, func() bool {
		dls, err := b.db.DeadLetters(context.Background(), store.DeadLetterFilter{Reason: "duplicate_po"})
		require.NoError(t, err)
		for _, d := range dls {
			if d.State == store.DeadOpen {
				dl = d
				return true
			}
		}
		return false
	})
	return dl
}

// client is a browser-like HTTP client with a cookie jar that does not follow redirects.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
}

func (b *bundle) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: b.base, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) get(path string) (int, string, http.Header) {
	c.t.Helper()
	resp, err := c.hc.Get(c.base + path)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (c *client) post(path string, form url.Values) (int, string, http.Header) {
	c.t.Helper()
	resp, err := c.hc.PostForm(c.base+path, form)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), resp.Header
}

func (c *client) login(name string) {
	c.t.Helper()
	code, _, h := c.post("/ui/login", url.Values{"name": {name}, "password": {password}, "next": {"/ui/"}})
	require.Equal(c.t, http.StatusSeeOther, code)
	require.Equal(c.t, "/ui/", h.Get("Location"))
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (c *client) csrf() string {
	c.t.Helper()
	_, body, _ := c.get("/ui/technical")
	m := csrfRE.FindStringSubmatch(body)
	require.NotNil(c.t, m, "no CSRF token on the page")
	return m[1]
}

func contains(t *testing.T, body string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(body, p) {
			t.Fatalf("page lacks %q:\n%s", p, body)
		}
	}
}
