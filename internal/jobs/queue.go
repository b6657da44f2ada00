package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/waybill-hub/waybill/internal/store"
)

// Queue is the job queue as the hub sees it, whatever the backend.
type Queue interface {
	// InsertTx enqueues a job in the store transaction tx: it exists once tx commits.
	InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error
	// InsertManyTx enqueues several jobs in tx.
	InsertManyTx(ctx context.Context, tx *store.Tx, args []river.JobArgs) error
	// InsertParamsTx enqueues several jobs, each with its own options, in tx (one statement).
	InsertParamsTx(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error
	Start(ctx context.Context) error
	// Stop waits for running jobs to finish (or ctx to end).
	Stop(ctx context.Context) error
	// Stats returns queue depth and age by job kind and state.
	Stats(ctx context.Context) ([]KindStats, error)
	// Subscribe returns a channel of finished jobs (completed, cancelled, discarded) and a cancel
	// function; tests and the demo use it to await outcomes without sleeping.
	Subscribe() (<-chan Finished, func())
	// Insert enqueues a job outside any transaction (hints, operator actions).
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
	// AddPeriodic runs a job every interval on one replica (the queue's elected leader).
	AddPeriodic(interval time.Duration, args func() river.JobArgs, runOnStart bool)
}

// KindStats is the depth of one job kind in one state.
type KindStats struct {
	Kind   string
	State  string
	Count  int64
	Oldest time.Duration // age of the oldest job in this state
}

// Finished is a job that reached a final state.
type Finished struct {
	ID    int64
	Kind  string
	State string // completed, cancelled, discarded
}

// RiverQueue is a Queue on a River client for transaction type TTx.
type RiverQueue[TTx any] struct {
	client *river.Client[TTx]
	driver riverdriver.Driver[TTx]
	db     *store.DB
}

// Migrate applies River's own migrations.
func Migrate[TTx any](ctx context.Context, driver riverdriver.Driver[TTx]) error {
	m, err := rivermigrate.New(driver, nil)
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("applying job queue migrations: %w", err)
	}
	return nil
}

// NewRiverQueue creates the River client. workers holds every worker of the hub; a nil workers
// makes an insert-only client (CLI commands that only enqueue).
func NewRiverQueue[TTx any](db *store.DB, driver riverdriver.Driver[TTx], workers *river.Workers, cfg Config) (*RiverQueue[TTx], error) {
	rc := &river.Config{
		Logger:            cfg.Logger,
		MaxAttempts:       cfg.MaxAttempts,
		RetryPolicy:       Backoff{Base: cfg.BackoffBase, Max: cfg.BackoffMax},
		FetchPollInterval: cfg.PollInterval,
		// Fetches come at most every 20 ms (the first after a quiet spell at once): under load
		// each takes what queued meanwhile, so that the jobs it hands out are many and are
		// processed together, in shared transactions.
		FetchCooldown:               minDur(cfg.PollInterval, 20*time.Millisecond),
		JobTimeout:                  cfg.JobTimeout,
		RescueStuckJobsAfter:        cfg.RescueAfter,
		CompletedJobRetentionPeriod: time.Hour,
		Middleware:                  cfg.Middleware,
	}
	if workers != nil {
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{
			river.QueueDefault: {MaxWorkers: cfg.Workers},
			// Syncs follow polls seconds apart: looking for them as often as for the pipeline's
			// jobs would only keep the database busy (on SQLite, its one connection).
			QueueERPSync: {MaxWorkers: cfg.syncWorkers(), FetchPollInterval: max(cfg.PollInterval, 500*time.Millisecond)},
		}
	}
	client, err := river.NewClient(driver, rc)
	if err != nil {
		return nil, fmt.Errorf("creating job queue: %w", err)
	}
	return &RiverQueue[TTx]{client: client, driver: driver, db: db}, nil
}

func minDur(a, b time.Duration) time.Duration {
	if a < b {
		return a
	}
	return b
}

// Client returns the River client.
func (q *RiverQueue[TTx]) Client() *river.Client[TTx] { return q.client }

func (q *RiverQueue[TTx]) nativeTx(ctx context.Context, tx *store.Tx) (TTx, error) {
	n, ok := tx.Native().(TTx)
	if !ok {
		var zero TTx
		return zero, fmt.Errorf("job queue: store transaction is %T, want %T", tx.Native(), zero)
	}
	return n, nil
}

func (q *RiverQueue[TTx]) InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) error {
	n, err := q.nativeTx(ctx, tx)
	if err != nil {
		return err
	}
	if _, err := q.client.InsertTx(ctx, n, args, opts); err != nil {
		return fmt.Errorf("enqueueing %s: %w", args.Kind(), err)
	}
	return nil
}

func (q *RiverQueue[TTx]) InsertManyTx(ctx context.Context, tx *store.Tx, args []river.JobArgs) error {
	if len(args) == 0 {
		return nil
	}
	n, err := q.nativeTx(ctx, tx)
	if err != nil {
		return err
	}
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	if _, err := q.client.InsertManyTx(ctx, n, params); err != nil {
		return fmt.Errorf("enqueueing %d jobs: %w", len(args), err)
	}
	return nil
}

func (q *RiverQueue[TTx]) InsertParamsTx(ctx context.Context, tx *store.Tx, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	n, err := q.nativeTx(ctx, tx)
	if err != nil {
		return err
	}
	if _, err := q.client.InsertManyTx(ctx, n, params); err != nil {
		return fmt.Errorf("enqueueing %d jobs: %w", len(params), err)
	}
	return nil
}

func (q *RiverQueue[TTx]) Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if _, err := q.client.Insert(ctx, args, opts); err != nil {
		return fmt.Errorf("enqueueing %s: %w", args.Kind(), err)
	}
	return nil
}

func (q *RiverQueue[TTx]) AddPeriodic(interval time.Duration, args func() river.JobArgs, runOnStart bool) {
	q.client.PeriodicJobs().Add(river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return args(), nil }, &river.PeriodicJobOpts{RunOnStart: runOnStart}))
}

func (q *RiverQueue[TTx]) Start(ctx context.Context) error { return q.client.Start(ctx) }
func (q *RiverQueue[TTx]) Stop(ctx context.Context) error  { return q.client.Stop(ctx) }

func (q *RiverQueue[TTx]) Subscribe() (<-chan Finished, func()) {
	events, cancel := q.client.Subscribe(river.EventKindJobCompleted, river.EventKindJobCancelled, river.EventKindJobFailed)
	out := make(chan Finished, 1024)
	done := make(chan struct{})
	go func() {
		defer close(out)
		for {
			select {
			case <-done:
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				if ev.Job == nil {
					continue
				}
				st := string(ev.Job.State)
				if st != "completed" && st != "cancelled" && st != "discarded" {
					continue
				}
				select {
				case out <- Finished{ID: ev.Job.ID, Kind: ev.Job.Kind, State: st}:
				case <-done:
					return
				}
			}
		}
	}()
	return out, func() { close(done); cancel() }
}

// Stats reads river_job directly: depth and oldest age of unfinished jobs by kind and state.
func (q *RiverQueue[TTx]) Stats(ctx context.Context) ([]KindStats, error) {
	var age string
	if q.db.Backend().Name() == "postgres" {
		age = `EXTRACT(EPOCH FROM (now() - MIN(created_at)))::float8`
	} else {
		age = `(julianday('now') - julianday(MIN(created_at))) * 86400.0`
	}
	rows, err := q.db.Backend().Query(ctx, `SELECT kind, state, COUNT(*), `+age+` FROM river_job
		WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'pending') GROUP BY kind, state ORDER BY kind, state`)
	if err != nil {
		return nil, fmt.Errorf("reading queue stats: %w", err)
	}
	defer rows.Close()
	var out []KindStats
	for rows.Next() {
		var s KindStats
		var secs float64
		if err := rows.Scan(&s.Kind, &s.State, &s.Count, &secs); err != nil {
			return nil, err
		}
		if secs < 0 {
			secs = 0
		}
		s.Oldest = time.Duration(secs * float64(time.Second))
		out = append(out, s)
	}
	return out, rows.Err()
}
