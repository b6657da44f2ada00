package odoo

import (
	"context"
	"sync"
	"time"
)

// bucket is a token bucket: rate tokens a second, at most burst saved. A nil bucket never waits.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

func newBucket(rate float64, burst int) *bucket {
	if rate <= 0 {
		return nil
	}
	if burst < 1 {
		burst = 1
	}
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), now: time.Now}
}

// wait takes one token, waiting until one is available or ctx is done.
func (b *bucket) wait(ctx context.Context) error {
	if b == nil {
		return nil
	}
	for {
		b.mu.Lock()
		now := b.now()
		if !b.last.IsZero() {
			b.tokens += now.Sub(b.last).Seconds() * b.rate
			if b.tokens > b.burst {
				b.tokens = b.burst
			}
		}
		b.last = now
		if b.tokens >= 1 {
			b.tokens--
			b.mu.Unlock()
			return nil
		}
		need := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
		b.mu.Unlock()
		t := time.NewTimer(need)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// BreakerState is the state of the circuit breaker.
type BreakerState string

const (
	BreakerClosed   BreakerState = "closed"    // Calls go through; transient failures are counted.
	BreakerOpen     BreakerState = "open"      // Calls fail fast with ErrBreakerOpen until the cool-down ends.
	BreakerHalfOpen BreakerState = "half-open" // One probe call goes through; its outcome closes or re-opens the breaker.
)

// breaker is a consecutive-failure circuit breaker.
type breaker struct {
	mu        sync.Mutex
	failures  int
	threshold int
	cooldown  time.Duration
	state     BreakerState
	openUntil time.Time
	probing   bool
	now       func() time.Time
	changed   chan struct{} // closed and replaced on every state change
}

func newBreaker(threshold int, cooldown time.Duration) *breaker {
	return &breaker{threshold: threshold, cooldown: cooldown, state: BreakerClosed, now: time.Now, changed: make(chan struct{})}
}

// allow reports whether a call may go out; when it may not, wait is the remaining cool-down.
func (b *breaker) allow() (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerClosed:
		return true, 0
	case BreakerOpen:
		now := b.now()
		if now.Before(b.openUntil) {
			return false, b.openUntil.Sub(now)
		}
		b.setState(BreakerHalfOpen)
		fallthrough
	default: // half-open: one probe at a time
		if b.probing {
			return false, b.cooldown / 10
		}
		b.probing = true
		return true, 0
	}
}

// record notes the outcome of an allowed call; transient is whether it failed transiently.
func (b *breaker) record(transient bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.probing = false
	if !transient {
		b.failures = 0
		if b.state != BreakerClosed {
			b.setState(BreakerClosed)
		}
		return
	}
	b.failures++
	if b.state == BreakerHalfOpen || b.failures >= b.threshold {
		b.openUntil = b.now().Add(b.cooldown)
		b.setState(BreakerOpen)
	}
}

func (b *breaker) setState(s BreakerState) {
	if b.state == s {
		return
	}
	b.state = s
	close(b.changed)
	b.changed = make(chan struct{})
}

func (b *breaker) current() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && !b.now().Before(b.openUntil) {
		return BreakerHalfOpen
	}
	return b.state
}
