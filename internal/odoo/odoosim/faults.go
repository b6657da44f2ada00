package odoosim

import (
	"context"
	"math/rand"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Faults injects the failures a real Odoo deployment shows. All methods are
// safe for concurrent use; settings apply to requests that start after the
// call. Counted faults (FailNext, DropNext, ...) take precedence over rates.
type Faults struct {
	mu         sync.Mutex
	rnd        *rand.Rand
	latency    time.Duration
	errRate    float64
	errStatus  int
	failNext   int
	failStatus int
	dropRate   float64
	dropNext   int
	dropAfter  bool
	down       bool
	downUntil  time.Time
	slowCommit time.Duration
	serialRate float64
	serialNext int
	injected   int
}

func newFaults(seed int64) *Faults {
	return &Faults{rnd: rand.New(rand.NewSource(seed))}
}

// SetLatency adds d to every request, before it is dispatched.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// SetErrorRate makes a share (0..1) of requests fail with the HTTP status
// (500, 502, 503 or 429) before they reach Odoo, as a proxy in front of it
// would answer. 429 and 503 carry "Retry-After: 1".
func (f *Faults) SetErrorRate(rate float64, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errRate, f.errStatus = rate, status
}

// FailNext makes the next n requests fail with status.
func (f *Faults) FailNext(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext, f.failStatus = n, status
}

// SetDropRate makes a share of requests end with the connection closed and
// no response.
func (f *Faults) SetDropRate(rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropRate = rate
}

// DropNext closes the connection of the next n requests without a
// response. With afterCommit the request runs (and commits) first, so the
// client cannot know that it succeeded: the case idempotent writes exist for.
func (f *Faults) DropNext(n int, afterCommit bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dropNext, f.dropAfter = n, afterCommit
}

// Down makes every request fail with 503 Service Unavailable (a proxy in
// front of a stopped Odoo) until Up.
func (f *Faults) Down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
}

// DownFor makes the server down for d from now (by the wall clock).
func (f *Faults) DownFor(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.downUntil = time.Now().Add(d)
}

// Up ends Down and DownFor.
func (f *Faults) Up() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = false
	f.downUntil = time.Time{}
}

// SetSlowCommit adds d to each model call after its work is done, while it
// still holds its worker (a slow PostgreSQL commit).
func (f *Faults) SetSlowCommit(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slowCommit = d
}

// SetSerializationFailureRate makes a share of model calls fail as Odoo
// does when PostgreSQL aborts a transaction on a concurrent update (after
// Odoo's own retries): a server error psycopg2.errors.SerializationFailure
// "could not serialize access due to concurrent update". Nothing is
// committed.
func (f *Faults) SetSerializationFailureRate(rate float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serialRate = rate
}

// SerializationFailNext makes the next n model calls fail with a
// serialization failure.
func (f *Faults) SerializationFailNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.serialNext = n
}

// Reset clears every fault.
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency, f.errRate, f.errStatus, f.failNext, f.failStatus = 0, 0, 0, 0, 0
	f.dropRate, f.dropNext, f.dropAfter, f.down, f.downUntil = 0, 0, false, false, time.Time{}
	f.slowCommit, f.serialRate, f.serialNext = 0, 0, 0
}

// Injected returns how many faults were injected so far.
func (f *Faults) Injected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.injected
}

func (f *Faults) hit(rate float64) bool { return rate > 0 && f.rnd.Float64() < rate }

// intercept applies request-level faults; it reports whether the request
// was answered (or dropped) here, or must be run and then dropped.
func (f *Faults) intercept(w http.ResponseWriter, r *http.Request, sleep func(context.Context, time.Duration)) (handled, dropAfterRun bool) {
	f.mu.Lock()
	latency := f.latency
	status := 0
	drop, dropAfter := false, false
	switch {
	case f.down || time.Now().Before(f.downUntil):
		status = http.StatusServiceUnavailable
	case f.failNext > 0:
		f.failNext--
		status = f.failStatus
	case f.hit(f.errRate):
		status = f.errStatus
	case f.dropNext > 0:
		f.dropNext--
		drop, dropAfter = true, f.dropAfter
	case f.hit(f.dropRate):
		drop = true
	}
	if status != 0 || drop {
		f.injected++
	}
	f.mu.Unlock()
	if latency > 0 {
		sleep(r.Context(), latency)
	}
	if status != 0 {
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(1))
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		w.Write([]byte("<html><body><h1>" + strconv.Itoa(status) + " " + http.StatusText(status) + "</h1></body></html>\n"))
		return true, false
	}
	if !drop {
		return false, false
	}
	if dropAfter {
		return false, true
	}
	dropConnection(w)
	return true, false
}

// takeSerialization reports whether this model call must fail with a
// serialization failure.
func (f *Faults) takeSerialization() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.serialNext > 0 {
		f.serialNext--
		f.injected++
		return true
	}
	if f.hit(f.serialRate) {
		f.injected++
		return true
	}
	return false
}

func (f *Faults) commitDelay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.slowCommit
}

// dropConnection hijacks and closes the connection without a response.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// Without hijacking (HTTP/2, recorders) answer with nothing usable.
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	if conn, _, err := hj.Hijack(); err == nil {
		conn.Close()
	}
}

type discard struct{ header http.Header }

func (d discard) Header() http.Header         { return d.header }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}
