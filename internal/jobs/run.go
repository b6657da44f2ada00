package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// Runner applies the hub's failure policy around a job's work. It is shared by every worker.
type Runner struct {
	DB       *store.DB
	Observer Observer
	Logger   *slog.Logger
	// OnDeadLetter, when set, is called in the dead-letter transaction (to mark a message or an
	// order as failed alongside).
	OnDeadLetter func(ctx context.Context, tx *store.Tx, d *store.DeadLetter) error
	// OnReplay, when set, runs before the first attempt of a job replayed from a dead letter:
	// the operator has just fixed something (master data in the ERP), so caches must not hide it.
	OnReplay func()
}

// Run executes fn for job and returns what River should do with the job.
func (r *Runner) Run(ctx context.Context, job *rivertype.JobRow, args Args, fn func(ctx context.Context) error) (err error) {
	start := time.Now()
	subj := args.Subject()
	log := r.logger().With("job", job.Kind, "job_id", job.ID, "attempt", job.Attempt, "correlation_id", subj.CorrelationID,
		"partner", subj.Partner, "message_id", subj.MessageID, "order_id", subj.OrderID)
	ctx = WithLogger(ctx, log)
	defer func() {
		if p := recover(); p != nil {
			perr := fmt.Errorf("%w: %v", ErrPanic, p)
			log.Error("job panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = r.deadLetterJob(ctx, job, subj, &waybill.Error{Code: waybill.EINTERNAL, Reason: "panic",
				Message: fmt.Sprintf("processing panicked: %v", p), Err: perr}, log)
			r.observer().JobFinished(job.Kind, "dead", time.Since(start))
		}
	}()
	if r.OnReplay != nil && job.Attempt == 1 && isReplay(job.Metadata) {
		r.OnReplay()
	}
	err = fn(ctx)
	switch {
	case err == nil:
		r.observer().JobFinished(job.Kind, "ok", time.Since(start))
		return nil
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// Shutting down: run again as soon as a worker is back, without spending an attempt.
		return river.JobSnooze(0)
	}
	var w Waiter
	if waybill.IsTransient(err) && errors.As(err, &w) && w.Wait() > 0 {
		log.Info("dependency unavailable; job waits", "wait", w.Wait(), "error", err)
		r.observer().JobFinished(job.Kind, "snoozed", time.Since(start))
		return river.JobSnooze(w.Wait())
	}
	if waybill.IsPermanent(err) {
		log.Warn("job failed permanently", "code", waybill.Code(err), "reason", waybill.Reason(err), "error", err)
		r.observer().JobFinished(job.Kind, "dead", time.Since(start))
		return r.deadLetterJob(ctx, job, subj, err, log)
	}
	if job.Attempt >= job.MaxAttempts {
		log.Warn("job out of retries", "error", err)
		r.observer().JobFinished(job.Kind, "dead", time.Since(start))
		return r.deadLetterJob(ctx, job, subj, &waybill.Error{Code: waybill.Code(err), Reason: "retries_exhausted",
			Message: fmt.Sprintf("gave up after %d attempts", job.Attempt), Err: err}, log)
	}
	log.Info("job failed; will retry", "error", err)
	r.observer().JobFinished(job.Kind, "retry", time.Since(start))
	return err
}

// DeadLetter records the permanent failure of work another job did on behalf of a job of
// args' kind (a process_message job submitting the orders it recorded, say), exactly as if a job
// with args had failed at its first attempt: replaying the dead letter runs such a job.
func (r *Runner) DeadLetter(ctx context.Context, args Args, cause error) error {
	encoded, err := json.Marshal(args)
	if err != nil {
		return err
	}
	job := &rivertype.JobRow{Kind: args.Kind(), EncodedArgs: encoded, Attempt: 1}
	subj := args.Subject()
	log := Logger(ctx).With("on_behalf_of", job.Kind, "for_order", subj.OrderID)
	log.Warn("work failed permanently", "code", waybill.Code(cause), "reason", waybill.Reason(cause), "error", cause)
	r.observer().JobFinished(job.Kind, "dead", 0)
	return r.deadLetter(ctx, job, subj, cause, log)
}

// deadLetterJob dead-letters a job and tells River to cancel it (or to retry it when the dead
// letter could not be stored).
func (r *Runner) deadLetterJob(ctx context.Context, job *rivertype.JobRow, subj Subject, cause error, log *slog.Logger) error {
	if err := r.deadLetter(ctx, job, subj, cause, log); err != nil {
		return err
	}
	return river.JobCancel(cause)
}

func (r *Runner) deadLetter(ctx context.Context, job *rivertype.JobRow, subj Subject, cause error, log *slog.Logger) error {
	d := &store.DeadLetter{
		JobKind: job.Kind, JobArgs: string(job.EncodedArgs), MessageID: subj.MessageID, OrderID: subj.OrderID,
		CorrelationID: subj.CorrelationID, Partner: subj.Partner, Code: string(waybill.Code(cause)),
		Reason: waybill.Reason(cause), Message: waybill.Message(cause), Attempts: job.Attempt,
	}
	var we *waybill.Error
	if errors.As(cause, &we) {
		if loc, err := json.Marshal(we.Where); err == nil && string(loc) != "{}" {
			d.Location = string(loc)
		}
		if d.Code == string(waybill.EINTERNAL) {
			d.Message = we.Message
		}
	}
	if d.Code == string(waybill.EINTERNAL) && d.Message == "internal error" {
		d.Message = cause.Error()
	}
	ctx = context.WithoutCancel(ctx)
	err := r.DB.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertDeadLetter(ctx, d); err != nil {
			return err
		}
		if r.OnDeadLetter != nil {
			if err := r.OnDeadLetter(ctx, tx, d); err != nil {
				return err
			}
		}
		return tx.Audit(ctx, store.AuditRecord{Kind: "job.dead_letter", CorrelationID: d.CorrelationID, Partner: d.Partner,
			Subject: d.ID, Actor: job.Kind, Summary: fmt.Sprintf("%s failed: %s", job.Kind, d.Message),
			Detail: map[string]any{"reason": d.Reason, "code": d.Code, "attempts": d.Attempts, "dead_letter": d.ID},
			Refs:   nonEmpty(d.MessageID, d.OrderID)})
	})
	if err != nil {
		// The dead letter could not be stored: let River retry the job rather than lose it.
		log.Error("storing dead letter failed; job will retry", "error", err)
		return fmt.Errorf("storing dead letter: %w (cause: %v)", err, cause)
	}
	r.observer().DeadLettered(job.Kind, d.Reason)
	return nil
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (r *Runner) observer() Observer {
	if r.Observer == nil {
		return NopObserver{}
	}
	return r.Observer
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.Default()
	}
	return r.Logger
}

type loggerKey struct{}

// WithLogger returns ctx carrying log.
func WithLogger(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// Logger returns the logger carried by ctx (with the job's correlation id), or the default.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

func isReplay(meta []byte) bool {
	if len(meta) == 0 {
		return false
	}
	var m map[string]any
	if json.Unmarshal(meta, &m) != nil {
		return false
	}
	_, ok := m[MetaReplayOf]
	return ok
}
