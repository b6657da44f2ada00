package portal

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/store"
)

// Version is the API's version as published in the OpenAPI document.
const Version = "1.0.0"

// Config tunes the portal. Zero fields take the defaults of Default.
type Config struct {
	// OrderWait bounds how long POST /v1/orders waits for the ERP's answer before it answers 202.
	OrderWait time.Duration
	// RateLimit and Burst are the per-key request rate (per second) and burst for keys that set none.
	RateLimit, Burst int
	// KeyCacheTTL is how long a looked-up key is trusted before it is read again (a revocation
	// takes effect within it).
	KeyCacheTTL time.Duration
	// CatalogTTL is how long a customer's catalog and prices are served from the cache.
	CatalogTTL time.Duration
	// AvailabilityRefresh is how often cached availability is refreshed from the ERP.
	AvailabilityRefresh time.Duration
	// IdempotencyTTL is how long an Idempotency-Key is remembered.
	IdempotencyTTL time.Duration
	// WebhookAttempts is how many times a delivery is tried before it is dead.
	WebhookAttempts int
	// WebhookBackoff is the first retry delay of a webhook delivery (doubling, capped at 1 h).
	WebhookBackoff time.Duration
	// WebhookTimeout bounds one delivery attempt.
	WebhookTimeout time.Duration
	// DispatchInterval is how often the dispatcher looks for due deliveries and pending returns
	// when nothing woke it, and how often the change worker looks for due change requests (also
	// the first retry delay of a change request, doubling up to 5 minutes).
	DispatchInterval time.Duration
	// LeadTime and BackorderLeadTime estimate promised dates when the ERP gives none.
	LeadTime, BackorderLeadTime time.Duration
	// HTTPClient delivers webhooks; nil uses a client with WebhookTimeout.
	HTTPClient *http.Client
}

// Default returns the production defaults.
func Default() Config {
	return Config{OrderWait: 5 * time.Second, RateLimit: 50, Burst: 100, KeyCacheTTL: 10 * time.Second,
		CatalogTTL: time.Minute, AvailabilityRefresh: 5 * time.Second, IdempotencyTTL: 24 * time.Hour,
		WebhookAttempts: 8, WebhookBackoff: 5 * time.Second, WebhookTimeout: 10 * time.Second,
		DispatchInterval: time.Second, LeadTime: 24 * time.Hour, BackorderLeadTime: 14 * 24 * time.Hour}
}

func (c Config) withDefaults() Config {
	d := Default()
	set := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&c.OrderWait, d.OrderWait)
	set(&c.KeyCacheTTL, d.KeyCacheTTL)
	set(&c.CatalogTTL, d.CatalogTTL)
	set(&c.AvailabilityRefresh, d.AvailabilityRefresh)
	set(&c.IdempotencyTTL, d.IdempotencyTTL)
	set(&c.WebhookBackoff, d.WebhookBackoff)
	set(&c.WebhookTimeout, d.WebhookTimeout)
	set(&c.DispatchInterval, d.DispatchInterval)
	set(&c.LeadTime, d.LeadTime)
	set(&c.BackorderLeadTime, d.BackorderLeadTime)
	if c.RateLimit <= 0 {
		c.RateLimit = d.RateLimit
	}
	if c.Burst <= 0 {
		c.Burst = max(d.Burst, 2*c.RateLimit)
	}
	if c.WebhookAttempts <= 0 {
		c.WebhookAttempts = d.WebhookAttempts
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: c.WebhookTimeout}
	}
	return c
}

// Server is the portal API. Create it with New, mount Handler under /v1/, and run Start/Stop
// around the hub's lifetime (webhook dispatcher, availability refresh). Its methods are safe for
// concurrent use.
type Server struct {
	cfg  Config
	db   *store.DB
	hub  *hub.Hub
	erp  waybill.ERP
	log  *slog.Logger
	api  huma.API
	mux  *chi.Mux
	keys *keyCache
	rl   *limiter
	cat  *catalogCache
	wait *waiter

	wake    chan struct{}
	restock chan struct{} // asks the refresh loop to re-read cached availability now
	stop    context.CancelFunc
	bg      sync.WaitGroup
	started bool
	mu      sync.Mutex
}

// New builds the portal over the hub h (its store and ERP). It registers the portal's order
// decoder and its acceptance and change-capture hooks with h, so it must be called before the
// hub's queue starts.
func New(h *hub.Hub, log *slog.Logger, cfg Config) *Server {
	if log == nil {
		log = slog.Default()
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, db: h.DB(), hub: h, erp: h.ERP(), log: log.With("component", "portal"), wake: make(chan struct{}, 1),
		restock: make(chan struct{}, 1)}
	s.keys = newKeyCache(s.db, cfg.KeyCacheTTL)
	s.rl = newLimiter()
	s.cat = newCatalogCache(s.erp, cfg.CatalogTTL)
	s.wait = newWaiter()
	h.RegisterDecoder(DocPortalOrder, decodePortalOrder)
	h.OnAccepted(s.onAccepted)
	h.OnSync(s.OnSync)
	s.mux = chi.NewMux()
	s.api = newAPI(s.mux)
	s.api.UseMiddleware(deprecation, s.authenticate)
	s.register()
	return s
}

// newAPI makes the huma API with the portal's OpenAPI settings.
func newAPI(mux *chi.Mux) huma.API {
	hc := huma.DefaultConfig("Waybill customer portal API", Version)
	hc.CreateHooks = nil // no $schema links in bodies
	hc.OpenAPIPath = "/v1/openapi"
	hc.DocsPath = "/v1/docs"
	hc.SchemasPath = "/v1/schemas"
	hc.Info.Description = "Self-service API for B2B customers: catalog and prices, availability, orders with " +
		"acknowledgement, tracking, invoices, returns and webhooks. See docs/portal.md for versioning and deprecation."
	hc.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"apiKey": {Type: "http", Scheme: "bearer", BearerFormat: "wbk_<id>_<secret>",
			Description: "An API key of the portal client: `Authorization: Bearer wbk_...`."},
	}
	hc.Servers = []*huma.Server{{URL: "/"}}
	return humachi.New(mux, hc)
}

// Handler returns the HTTP handler of every /v1/ route.
func (s *Server) Handler() http.Handler { return s.mux }

// API returns the huma API (for the OpenAPI document).
func (s *Server) API() huma.API { return s.api }

// OpenAPI returns the OpenAPI document as served at /v1/openapi.json.
func (s *Server) OpenAPI() ([]byte, error) { return s.api.OpenAPI().MarshalJSON() }

// Start starts the webhook dispatcher, the return sender, the change request worker and the
// availability refresh.
func (s *Server) Start(ctx context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return
	}
	s.started = true
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = cancel
	s.bg.Add(3)
	go func() { defer s.bg.Done(); s.dispatchLoop(bg) }()
	go func() { defer s.bg.Done(); s.refreshLoop(bg) }()
	go func() { defer s.bg.Done(); s.changeLoop(bg) }()
	if q := s.hub.Queue(); q != nil {
		// Job completions wake waiting requests (a rejection or a hold has no hook of its own),
		// at most every 20 ms: under load, hundreds of jobs finish per second.
		events, unsub := q.Subscribe()
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			defer unsub()
			var last time.Time
			for {
				select {
				case <-bg.Done():
					return
				case _, ok := <-events:
					if !ok {
						return
					}
					if now := time.Now(); now.Sub(last) >= 20*time.Millisecond {
						last = now
						s.wait.broadcast()
					}
				}
			}
		}()
	}
}

// Stop stops the background work and waits for it.
func (s *Server) Stop() {
	s.mu.Lock()
	stop := s.stop
	s.mu.Unlock()
	if stop != nil {
		stop()
	}
	s.bg.Wait()
}

// poke wakes the dispatcher (a delivery or return was queued).
func (s *Server) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Server) now() time.Time { return s.db.Now() }
