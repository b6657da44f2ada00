// Package jobs runs the hub's durable jobs on River, on either store backend, and turns a job's
// outcome into the hub's policy: success completes it; a transient error retries with exponential
// backoff and jitter up to the configured limit; a permanent error, a panic, or an exhausted
// retry budget dead-letters it at once with a coded reason; an open circuit snoozes it without
// spending an attempt.
package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Config tunes the queue.
type Config struct {
	Workers int // jobs run at once by this process in the default queue
	// SyncWorkers bounds the jobs of QueueERPSync run at once (0: 2).
	SyncWorkers  int
	MaxAttempts  int           // attempts before a transient failure dead-letters
	BackoffBase  time.Duration // first retry delay
	BackoffMax   time.Duration // cap on a retry delay
	PollInterval time.Duration // how often idle workers look for new jobs
	JobTimeout   time.Duration
	// RescueAfter is how long a job may stay running before it is presumed lost (its process
	// died) and run again. It must exceed JobTimeout.
	RescueAfter time.Duration
	Logger      *slog.Logger
	// Middleware wraps job inserts and work (tracing).
	Middleware []rivertype.Middleware
}

// Default returns the production defaults.
func Default() Config {
	return Config{Workers: 64, MaxAttempts: 10, BackoffBase: time.Second, BackoffMax: 10 * time.Minute,
		PollInterval: 50 * time.Millisecond, JobTimeout: 2 * time.Minute, RescueAfter: 3 * time.Minute}
}

// Validate checks the configuration; errors name the field.
func (c Config) Validate() error {
	switch {
	case c.Workers < 1 || c.Workers > 10000:
		return fmt.Errorf("pipeline.workers must be between 1 and 10000, got %d", c.Workers)
	case c.MaxAttempts < 1 || c.MaxAttempts > 100:
		return fmt.Errorf("pipeline.max_attempts must be between 1 and 100, got %d", c.MaxAttempts)
	case c.BackoffBase <= 0:
		return fmt.Errorf("pipeline.backoff_base must be positive")
	case c.BackoffMax < c.BackoffBase:
		return fmt.Errorf("pipeline.backoff_max must be at least pipeline.backoff_base")
	case c.PollInterval <= 0:
		return fmt.Errorf("pipeline.poll_interval must be positive")
	}
	return nil
}

// Backoff is the retry policy: BackoffBase × 2^(attempt-1), capped at BackoffMax, with jitter
// drawn from the upper half of the interval so that retries of a burst spread out.
type Backoff struct{ Base, Max time.Duration }

// NextRetry implements river.ClientRetryPolicy.
func (b Backoff) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(b.Delay(job.Attempt))
}

// Delay returns the delay before retry number attempt (1-based).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Base
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	if d > b.Max {
		d = b.Max
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// Subject says what a job is about, for dead letters, logs and trace.
type Subject struct {
	MessageID     string
	OrderID       string
	CorrelationID string
	Partner       string
}

// Args is implemented by every job argument type of the hub.
type Args interface {
	river.JobArgs
	Subject() Subject
}

// Observer receives job outcomes (the metrics adapter implements it).
type Observer interface {
	JobFinished(kind string, outcome string, d time.Duration) // outcome: ok, retry, dead, snoozed
	DeadLettered(kind, reason string)
}

// NopObserver ignores everything.
type NopObserver struct{}

func (NopObserver) JobFinished(string, string, time.Duration) {}
func (NopObserver) DeadLettered(string, string)               {}

// Waiter is implemented by transient errors that know how long to wait, such as an open circuit
// breaker: the job is snoozed for Wait() without spending an attempt.
type Waiter interface{ Wait() time.Duration }

// RawArgs re-enqueues a job from its stored kind and JSON arguments (dead-letter replay).
type RawArgs struct {
	JobKind string
	JSON    json.RawMessage
}

func (r RawArgs) Kind() string                 { return r.JobKind }
func (r RawArgs) MarshalJSON() ([]byte, error) { return r.JSON, nil }

// ErrPanic marks a job that panicked.
var ErrPanic = errors.New("job panicked")

// MetaReplayOf is the job metadata key naming the dead letter a replayed job comes from.
const MetaReplayOf = "replay_of"

// UniqueWhileWaiting keeps a second job with the same kind and arguments out while one is
// waiting or running, and only then. River's default uniqueness also counts completed jobs, which
// the queue keeps for an hour: a periodic job asked for every few minutes would run once an hour.
var UniqueWhileWaiting = river.UniqueOpts{ByArgs: true, ByState: []rivertype.JobState{
	rivertype.JobStateAvailable, rivertype.JobStatePending, rivertype.JobStateRunning,
	rivertype.JobStateRetryable, rivertype.JobStateScheduled,
}}

// QueueERPSync is the queue of the jobs that read the ERP's view of orders after a change (change
// capture's syncs and the reconcile sweep's). A poll can find thousands of changed orders at once,
// most of them orders the hub has just submitted; in a queue of their own, with few workers, they
// cannot take the workers and the ERP's capacity from new submissions.
const QueueERPSync = "erp_sync"

// syncWorkers is the size of QueueERPSync's pool for a configuration. Two are enough for one
// poll's syncs at 100 orders/s (in batches of 25, a few ERP calls each) and leave the ERP to the
// submissions; more shorten a large catch-up at their expense.
func (c Config) syncWorkers() int {
	if c.SyncWorkers > 0 {
		return c.SyncWorkers
	}
	return 2
}
