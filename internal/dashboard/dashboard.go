// Package dashboard is the operators' web UI, embedded in the binary and served by "waybill
// serve" under /ui/: business health, exceptions with replay and hold release, trace, and
// technical health. Pages are server-rendered Go templates with server-rendered SVG charts and no
// JavaScript; every page is behind an operator login with roles (viewer, operator, admin), every
// state-changing form carries a CSRF token, and every action is audited with the operator's name.
package dashboard

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Prefix is where the dashboard is mounted.
const Prefix = "/ui/"

// Actions are the hub's use cases the dashboard calls; *hub.Hub implements them.
type Actions interface {
	Replay(ctx context.Context, id, by string) error
	Discard(ctx context.Context, id, by, why string) error
	Trace(ctx context.Context, key string) ([]hub.Trace, error)
}

var _ Actions = (*hub.Hub)(nil)

// PayloadLoader reads a message's payload back from the archive once retention purged it from the
// database. retention.Archive implements it.
type PayloadLoader interface {
	LoadPayload(ctx context.Context, m *store.Message) ([]byte, error)
}

// CertInfo is one certificate's validity, for the technical health page.
type CertInfo struct {
	Partner  string // "" for the hub's own certificates
	Subject  string
	Usage    string // signing, encryption, TLS
	NotAfter time.Time
}

// Endpoint is the availability and latency of one partner endpoint (an AS2 URL, an SFTP host).
type Endpoint struct {
	Partner  string
	Name     string
	Up       bool
	Latency  time.Duration
	Checked  time.Time
	LastFail string
}

// Health are optional probes of the technical health page; any may be nil, and the page then
// says the source is not configured.
type Health struct {
	// ERPPing checks that the ERP answers; its duration is shown as the ERP's latency.
	ERPPing func(ctx context.Context) error
	// Breaker returns the ERP circuit breaker's state (closed, open, half-open).
	Breaker func() string
	// Certs lists certificates and their expiry.
	Certs func() []CertInfo
	// Endpoints lists partner endpoints with their last probe.
	Endpoints func(ctx context.Context) []Endpoint
	// Counters returns monotonic pipeline counters by name (job attempts by outcome, ...), read
	// from the metrics registry: "job_attempts/ok", "job_attempts/retry", "job_attempts/dead".
	Counters func() map[string]float64
}

// Config wires a Server. DB, Actions and Queue are required.
type Config struct {
	DB      *store.DB
	Actions Actions
	Queue   jobs.Queue
	Health  Health
	Loader  PayloadLoader // optional: raw view of archived payloads
	Logger  *slog.Logger
	Now     func() time.Time
	// SessionTTL is how long a sign-in lasts (default 12h).
	SessionTTL time.Duration
	// SecureCookies marks cookies Secure (set when the hub is served over TLS).
	SecureCookies bool
	// AckWindow is how long a sent document may wait for its functional acknowledgement before
	// it counts as overdue (default 24h).
	AckWindow time.Duration
	// ASNWindow is how soon after the ERP's delivery is done its 856 must be sent to count as on
	// time on the business page (default one hour).
	ASNWindow time.Duration
	// Partners names the configured partners, so that quiet partners still show on the pages.
	Partners []string
}

// Server serves the dashboard. It is safe for concurrent use.
type Server struct {
	cfg   Config
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux
	vol   volumeCache
	// Settled days' order and outbound set counts (see dayCache).
	createdC dayCache[store.PartnerStateCount]
	setsC    dayCache[store.SetCount]
}

// New returns a Server; mount Handler under Prefix.
func New(cfg Config) (*Server, error) {
	if cfg.DB == nil || cfg.Actions == nil || cfg.Queue == nil {
		return nil, fmt.Errorf("dashboard: DB, Actions and Queue are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return time.Now().UTC() }
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.AckWindow <= 0 {
		cfg.AckWindow = 24 * time.Hour
	}
	if cfg.ASNWindow <= 0 {
		cfg.ASNWindow = time.Hour
	}
	s := &Server{cfg: cfg, log: cfg.Logger, pages: map[string]*template.Template{}}
	if err := s.parse(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Handler returns the dashboard's handler; it expects the full path (mount it at Prefix).
func (s *Server) Handler() http.Handler { return s.mux }

// Mount adds the dashboard to mux under Prefix, wrapped in the given middleware (metrics,
// tracing), and redirects "/" to it.
func (s *Server) Mount(mux *http.ServeMux, middleware ...func(http.Handler) http.Handler) {
	var h http.Handler = s.mux
	for _, m := range middleware {
		h = m(h)
	}
	mux.Handle(Prefix, h)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix, http.StatusFound)
	})
}

func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	m.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /ui/login", s.loginForm)
	m.HandleFunc("POST /ui/login", s.login)
	m.Handle("POST /ui/logout", s.require(RoleViewer, s.logout))
	m.Handle("GET /ui/{$}", s.require(RoleViewer, s.business))
	m.Handle("GET /ui/exceptions", s.require(RoleViewer, s.exceptions))
	m.Handle("POST /ui/exceptions/replay", s.require(RoleOperator, s.replay))
	m.Handle("POST /ui/exceptions/replay-reason", s.require(RoleOperator, s.replayReason))
	m.Handle("POST /ui/exceptions/discard", s.require(RoleOperator, s.discard))
	m.Handle("POST /ui/exceptions/release", s.require(RoleOperator, s.release))
	m.Handle("GET /ui/trace", s.require(RoleViewer, s.trace))
	m.Handle("GET /ui/messages/{id}", s.require(RoleViewer, s.rawMessage))
	m.Handle("GET /ui/technical", s.require(RoleViewer, s.technical))
	s.mux = m
}

var funcs = template.FuncMap{
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	},
	"dur":   fmtDuration,
	"pct":   pct,
	"join":  strings.Join,
	"lower": strings.ToLower,
	"state": func(s waybill.OrderState) string { return strings.ReplaceAll(string(s), "_", " ") },
}

func pct(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }

func fmtDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < time.Millisecond:
		return "<1 ms"
	case d < time.Second:
		return fmt.Sprintf("%d ms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1f s", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%.0f min", d.Minutes())
	case d < 48*time.Hour:
		return fmt.Sprintf("%.1f h", d.Hours())
	}
	return fmt.Sprintf("%.0f d", d.Hours()/24)
}

func (s *Server) parse() error {
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return err
	}
	for _, p := range []string{"login", "business", "exceptions", "trace", "technical", "message"} {
		t, err := template.Must(layout.Clone()).ParseFS(assets, "templates/"+p+".html")
		if err != nil {
			return fmt.Errorf("dashboard template %s: %w", p, err)
		}
		s.pages[p] = t
	}
	return nil
}

// page is what every template gets.
type page struct {
	Title    string
	Nav      string
	Operator string
	Role     Role
	CSRF     string
	Flash    string
	Error    string
	Data     any
}

func (p page) Can(r Role) bool { return p.Role.atLeast(r) }

func (s *Server) render(w http.ResponseWriter, r *http.Request, name string, status int, p page) {
	if sess := sessionFrom(r.Context()); sess != nil {
		p.Operator, p.Role, p.CSRF = sess.Operator, sess.role, sess.CSRF
	}
	if p.Flash == "" {
		p.Flash = r.URL.Query().Get("flash")
	}
	if p.Error == "" {
		p.Error = r.URL.Query().Get("error")
	}
	var buf strings.Builder
	if err := s.pages[name].ExecuteTemplate(&buf, "layout.html", p); err != nil {
		s.log.Error("dashboard: rendering", "page", name, "error", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'none'; frame-ancestors 'none'")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("dashboard", "path", r.URL.Path, "error", err)
	http.Error(w, "internal error; see the hub's log", http.StatusInternalServerError)
}
