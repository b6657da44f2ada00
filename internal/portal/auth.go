package portal

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"golang.org/x/sync/singleflight"

	"github.com/waybill-hub/waybill/internal/store"
)

// Principal is the authenticated caller of a request: its key and the account it acts for.
type Principal struct {
	Key     *store.PortalKey
	Account string
}

type principalKey struct{}

func principal(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// AccountHeader names the account a key allowed several accounts acts for.
const AccountHeader = "Waybill-Account"

// dummyHash is compared against when a key id is unknown, so that an unknown id and a wrong
// secret take the same time.
var dummyHash = HashSecret("no-such-key-no-such-key-no-such!")

// authenticate checks the API key, its scope for the operation and its rate limit, and puts the
// Principal in the context. Operations without a scope (the OpenAPI document) are public.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	scope, _ := ctx.Operation().Metadata["scope"].(string)
	if scope == "" {
		next(ctx)
		return
	}
	key, err := s.lookupKey(ctx.Context(), ctx.Header("Authorization"))
	if err != nil {
		ctx.SetHeader("WWW-Authenticate", `Bearer realm="waybill"`)
		s.writeErr(ctx, http.StatusUnauthorized, ProbUnauthorized, "a valid API key is required (Authorization: Bearer wbk_...)")
		return
	}
	rate, burst := key.RateLimit, key.Burst
	if rate <= 0 {
		rate = s.cfg.RateLimit
	}
	if burst <= 0 {
		burst = max(s.cfg.Burst, rate)
	}
	ok, remaining, reset, retry := s.rl.take(key.ID, rate, burst, time.Now())
	ctx.SetHeader("RateLimit-Limit", strconv.Itoa(burst))
	ctx.SetHeader("RateLimit-Remaining", strconv.Itoa(remaining))
	ctx.SetHeader("RateLimit-Reset", strconv.Itoa(reset))
	if !ok {
		ctx.SetHeader("Retry-After", strconv.Itoa(retry))
		s.writeErr(ctx, http.StatusTooManyRequests, ProbRateLimited, "rate limit exceeded; retry after "+strconv.Itoa(retry)+" s")
		return
	}
	if !slices.Contains(key.Scopes, scope) && !slices.Contains(key.Scopes, "*") {
		s.writeErr(ctx, http.StatusForbidden, ProbForbidden, "the API key lacks the scope "+scope)
		return
	}
	account := ctx.Header(AccountHeader)
	switch {
	case account == "" && len(key.Accounts) == 1:
		account = key.Accounts[0]
	case account == "":
		s.writeErr(ctx, http.StatusBadRequest, ProbBadRequest, "this key acts for several accounts: name one in "+AccountHeader)
		return
	case !slices.Contains(key.Accounts, account):
		s.writeErr(ctx, http.StatusForbidden, ProbForbidden, "the API key may not act for this account")
		return
	}
	next(huma.WithValue(ctx, principalKey{}, &Principal{Key: key, Account: account}))
}

func (s *Server) writeErr(ctx huma.Context, status int, name, detail string) {
	err := problem(status, name, detail).(*huma.ErrorModel)
	ctx.SetHeader("Content-Type", "application/problem+json")
	ctx.SetStatus(status)
	_ = huma.DefaultJSONFormat.Marshal(ctx.BodyWriter(), err)
}

var errBadKey = errors.New("bad API key")

// lookupKey resolves a bearer key. Whatever is wrong (shape, unknown id, wrong secret, revoked,
// expired), the answer is the same errBadKey after the same work: one hash and one constant-time
// comparison.
func (s *Server) lookupKey(ctx context.Context, header string) (*store.PortalKey, error) {
	raw, found := strings.CutPrefix(header, "Bearer ")
	id, secret, ok := ParseKey(strings.TrimSpace(raw))
	if !found || !ok {
		secretMatches("x", dummyHash)
		return nil, errBadKey
	}
	k, err := s.keys.get(ctx, id)
	hash := dummyHash
	if err == nil {
		hash = k.Hash
	}
	match := secretMatches(secret, hash)
	if err != nil || !match || !k.Active(s.now()) {
		return nil, errBadKey
	}
	return k, nil
}

// keyCache caches keys by id for a short time, so a busy client costs no database read per
// request. An entry older than the TTL is still used (for up to three TTLs) while one background
// read refreshes it, so a revocation takes effect within about the TTL for a busy key.
type keyCache struct {
	db  *store.DB
	ttl time.Duration
	sf  singleflight.Group
	mu  sync.Mutex
	m   map[string]cachedKey
}

type cachedKey struct {
	k  *store.PortalKey
	at time.Time
}

func newKeyCache(db *store.DB, ttl time.Duration) *keyCache {
	return &keyCache{db: db, ttl: ttl, m: map[string]cachedKey{}}
}

func (c *keyCache) get(ctx context.Context, id string) (*store.PortalKey, error) {
	now := time.Now()
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	switch {
	case ok && now.Sub(e.at) < c.ttl:
		return e.k, nil
	case ok && now.Sub(e.at) < 3*c.ttl:
		// Stale: answer from the cache and re-read once in the background, so that busy
		// clients never queue behind the store at expiry.
		go func() { _, _, _ = c.sf.Do(id, func() (any, error) { return c.load(context.WithoutCancel(ctx), id) }) }()
		return e.k, nil
	}
	v, err, _ := c.sf.Do(id, func() (any, error) { return c.load(ctx, id) })
	if err != nil {
		return nil, err
	}
	return v.(*store.PortalKey), nil
}

func (c *keyCache) load(ctx context.Context, id string) (*store.PortalKey, error) {
	k, err := c.db.PortalKey(ctx, id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.m) > 100_000 {
		clear(c.m)
	}
	c.m[id] = cachedKey{k: k, at: time.Now()}
	c.mu.Unlock()
	return k, nil
}

// forget drops a key from the cache (after a revocation in this process).
func (c *keyCache) forget(id string) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// limiter is a token bucket per key.
type limiter struct {
	mu sync.Mutex
	b  map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter() *limiter { return &limiter{b: map[string]*bucket{}} }

// take spends one token of key's bucket (rate per second, burst capacity). It returns whether the
// request may proceed, the whole tokens left, the seconds until the bucket is full again, and the
// seconds to wait before retrying when refused.
func (l *limiter) take(key string, rate, burst int, now time.Time) (ok bool, remaining, reset, retry int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.b[key]
	if b == nil {
		b = &bucket{tokens: float64(burst), last: now}
		l.b[key] = b
	}
	b.tokens = math.Min(float64(burst), b.tokens+now.Sub(b.last).Seconds()*float64(rate))
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		ok = true
	} else {
		retry = int(math.Ceil((1 - b.tokens) / float64(rate)))
		retry = max(retry, 1)
	}
	remaining = int(b.tokens)
	reset = int(math.Ceil((float64(burst) - b.tokens) / float64(rate)))
	return ok, remaining, reset, retry
}
