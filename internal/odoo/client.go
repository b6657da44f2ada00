package odoo

import (
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/waybill-hub/waybill"
)

// Client talks to one Odoo database. It is safe for concurrent use; every call goes through the
// concurrency limit, the rate limit and the circuit breaker of its Config.
type Client struct {
	cfg     Config
	ver     version
	t       transport
	sem     chan struct{}
	bucket  *bucket
	breaker *breaker
	calls   atomic.Int64
	fields  fieldNames
	cache   *cache
	sleep   func(ctx context.Context, d time.Duration) error
}

var (
	_ waybill.ERP        = (*Client)(nil)
	_ waybill.ChangeFeed = (*Client)(nil)
)

// Option changes how New builds a Client.
type Option func(*options)

type options struct{ hc *http.Client }

// WithHTTPClient makes the Client use hc (its Timeout is left alone; Config.Timeout bounds each call).
func WithHTTPClient(hc *http.Client) Option { return func(o *options) { o.hc = hc } }

// New returns a Client for cfg. Unless both cfg.Version and a protocol other than auto are set, it
// asks Odoo for its version (common.version over JSON-RPC, then /web/version, then XML-RPC) and
// chooses the protocol: JSON-2 on Odoo 19 and later when an API key is configured, JSON-RPC
// otherwise. It then checks the credentials with one cheap call. Errors are coded like every
// other call's (EUNAUTHORIZED for bad credentials, EUNAVAILABLE when Odoo cannot be reached).
func New(ctx context.Context, cfg Config, opts ...Option) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, waybill.Errorf(waybill.EINVALID, "odoo_config", "%v", err)
	}
	cfg = cfg.withDefaults()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.hc == nil {
		// Keep a connection per call that may run at once: the default keeps 2 per host, so
		// with more calls in flight every call beyond the second opened (and closed) a TCP and
		// TLS connection of its own.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = max(cfg.MaxConcurrency, http.DefaultMaxIdleConnsPerHost)
		o.hc = &http.Client{Transport: t}
	}
	c := &Client{
		cfg:     cfg,
		sem:     make(chan struct{}, cfg.MaxConcurrency),
		bucket:  newBucket(cfg.RateLimit, cfg.RateBurst),
		breaker: newBreaker(cfg.Breaker.Failures, cfg.Breaker.Cooldown),
		cache:   newCache(cfg.CacheTTL),
		sleep:   sleepCtx,
	}
	poster := httpPoster{hc: o.hc, userAgent: "waybill-odoo/1"}
	secret := cfg.APIKey
	if secret == "" {
		secret = cfg.Password
	}
	if cfg.Version != "" {
		c.ver, _ = parseVersion(cfg.Version)
	} else {
		v, err := detectVersion(ctx, poster, cfg)
		if err != nil {
			return nil, fmt.Errorf("detecting the Odoo version at %s: %w", cfg.URL, err)
		}
		c.ver = v
	}
	proto := cfg.Protocol
	if proto == ProtocolAuto {
		proto = ProtocolJSONRPC
		if c.ver.Major >= 19 && cfg.APIKey != "" {
			proto = ProtocolJSON2
		}
	}
	if proto != ProtocolJSON2 && (cfg.Database == "" || cfg.User == "") {
		return nil, waybill.Errorf(waybill.EINVALID, "odoo_config", "odoo.database and odoo.user are required for Odoo %s (protocol %s)", c.ver, proto)
	}
	switch proto {
	case ProtocolJSON2:
		c.t = &json2{httpPoster: poster, base: cfg.URL, db: cfg.Database, key: cfg.APIKey}
	case ProtocolJSONRPC:
		c.t = &jsonrpc{httpPoster: poster, base: cfg.URL, db: cfg.Database, login: cfg.User, secret: secret}
	case ProtocolXMLRPC:
		c.t = &xmlrpcT{httpPoster: poster, base: cfg.URL, db: cfg.Database, login: cfg.User, secret: secret}
	}
	c.fields = fieldsFor(c.ver)
	if cfg.Version == "" || cfg.Protocol == ProtocolAuto {
		if _, err := c.Call(ctx, "res.partner", "search_count", []any{[]any{[]any{"id", "=", 0}}}, nil); err != nil {
			return nil, fmt.Errorf("checking the Odoo credentials: %w", err)
		}
	}
	return c, nil
}

// Version returns the Odoo server version in use ("19.0").
func (c *Client) Version() string { return c.ver.String() }

// Protocol returns the protocol in use.
func (c *Client) Protocol() Protocol { return c.t.protocol() }

// Calls returns the number of round trips made to Odoo so far (retries included).
func (c *Client) Calls() int64 { return c.calls.Load() }

// BreakerState returns the circuit breaker's state, for health checks and metrics.
func (c *Client) BreakerState() BreakerState { return c.breaker.current() }

// BreakerWait returns how long the breaker stays open: 0 when calls may go out. A scheduler can
// hold Odoo jobs back that long instead of running them into ErrBreakerOpen.
func (c *Client) BreakerWait() time.Duration {
	b := c.breaker
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != BreakerOpen {
		return 0
	}
	return max(b.openUntil.Sub(b.now()), 0)
}

// readMethods never change data: their transient failures are retried whatever the cause.
var readMethods = map[string]bool{
	"search": true, "search_read": true, "search_count": true, "read": true, "read_group": true,
	"fields_get": true, "name_search": true, "default_get": true, "context_get": true,
	"check_access_rights": true, "has_access": true, "web_search_read": true,
}

// Call calls method on model with execute_kw arguments: args are positional (for a record method
// the first is the list of ids), kwargs are named; over JSON-2 they are turned into named
// arguments (see positionalNames), so callers should pass everything after ids by name except
// the domain of searches, the vals_list of create, and the fields of read, the vals of write.
//
// Transient failures are retried up to Config.MaxRetries times with exponential backoff: every
// one for read methods, but for writes only those that certainly did not run (connection
// refused, 429, 503, a serialization failure that Odoo rolled back); the others are returned,
// and find-before-create makes the pipeline's retry safe. While the breaker is open Call fails
// at once with an EUNAVAILABLE *Error wrapping ErrBreakerOpen whose RetryAfter is the remaining
// cool-down. The XML-RPC "cannot marshal None" fault is a success returning nil.
func (c *Client) Call(ctx context.Context, model, method string, args []any, kwargs map[string]any) (_ any, err error) {
	// One span per logical call (retries included), in the trace of the job that makes it.
	ctx, span := tracer.Start(ctx, "odoo "+model+"."+method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("odoo.model", model), attribute.String("odoo.method", method),
			attribute.String("odoo.protocol", string(c.Protocol()))))
	defer func() {
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	for attempt := 0; ; attempt++ {
		v, err := c.once(ctx, model, method, args, kwargs)
		if err == nil {
			return v, nil
		}
		var e *Error
		if errors.As(err, &e) {
			if e.Model == "" {
				e.Model, e.Method = model, method
			}
		}
		if e == nil || e.Kind != KindTransient || attempt >= c.cfg.MaxRetries || errors.Is(err, ErrBreakerOpen) {
			return nil, err
		}
		if !readMethods[method] && !notExecuted(err) {
			return nil, err
		}
		wait := c.cfg.RetryBase << attempt
		if e.RetryAfter > wait {
			wait = e.RetryAfter
		}
		if wait > c.cfg.RetryMaxWait {
			wait = c.cfg.RetryMaxWait
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// ExecuteKW is Call under the name of Odoo's RPC method.
func (c *Client) ExecuteKW(ctx context.Context, model, method string, args []any, kwargs map[string]any) (any, error) {
	return c.Call(ctx, model, method, args, kwargs)
}

func (c *Client) once(ctx context.Context, model, method string, args []any, kwargs map[string]any) (any, error) {
	ok, wait := c.breaker.allow()
	if !ok {
		return nil, &Error{Kind: KindTransient, Model: model, Method: method, Message: "Odoo is unavailable (circuit breaker open)", RetryAfter: wait, Err: ErrBreakerOpen}
	}
	probe := true
	defer func() {
		if probe { // the call never went out: release a half-open probe slot
			c.breaker.mu.Lock()
			c.breaker.probing = false
			c.breaker.mu.Unlock()
		}
	}()
	if err := c.bucket.wait(ctx); err != nil {
		return nil, err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	c.calls.Add(1)
	probe = false
	v, err := c.t.call(cctx, model, method, args, kwargs)
	if err != nil && ctx.Err() == nil && cctx.Err() != nil && !IsKind(err, KindTransient) {
		err = &Error{Kind: KindTransient, Message: "timed out", Err: err}
	}
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		c.breaker.record(false)
		return nil, err
	}
	c.breaker.record(IsKind(err, KindTransient))
	return v, err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// detectVersion asks Odoo for its version without credentials.
func detectVersion(ctx context.Context, p httpPoster, cfg Config) (version, error) {
	var firstErr error
	try := func(v any, err error) (version, bool) {
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			return version{}, false
		}
		m, _ := v.(map[string]any)
		s, _ := m["server_version"].(string)
		if s == "" {
			s, _ = m["version"].(string)
		}
		ver, err := parseVersion(s)
		if err != nil {
			if firstErr == nil {
				firstErr = &Error{Kind: KindInternal, Message: err.Error()}
			}
			return version{}, false
		}
		return ver, true
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	jr := &jsonrpc{httpPoster: p, base: cfg.URL}
	if v, ok := try(jr.rpc(cctx, "common", "version", []any{})); ok {
		return v, nil
	}
	if IsKind(firstErr, KindTransient) && !isStatus(firstErr) {
		return version{}, firstErr // Odoo is not reachable at all
	}
	if v, ok := try(webVersion(cctx, p, cfg.URL)); ok {
		return v, nil
	}
	xr := &xmlrpcT{httpPoster: p, base: cfg.URL}
	if v, ok := try(xr.rpc(cctx, "common", "version", []any{})); ok {
		return v, nil
	}
	return version{}, firstErr
}

func isStatus(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status != 0
}

// webVersion reads /web/version, a JSON-RPC route of the web client.
func webVersion(ctx context.Context, p httpPoster, base string) (any, error) {
	r, err := p.post(ctx, base+"/web/version", "application/json", []byte(`{"jsonrpc":"2.0","method":"call","params":{}}`), nil)
	if err != nil {
		return nil, err
	}
	if r.status != http.StatusOK {
		return nil, statusError(r)
	}
	var env rpcEnvelope
	if err := decodeJSON(r.body, &env); err != nil || env.Error != nil {
		return nil, &Error{Kind: KindInternal, Message: "unreadable /web/version reply"}
	}
	var v any
	err = decodeJSON(env.Result, &v)
	return v, err
}

// tracer names the connector's spans; it is a no-op until the process installs a tracer provider.
var tracer = otel.Tracer("github.com/waybill-hub/waybill/internal/odoo")
