package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

// Messages processed by one job.
//
// Receipts stored together (see receipt_batch.go) used to enqueue a process_message job each:
// per message, a job row inserted, fetched and completed, and the queue's work around each.
// They now enqueue one process_messages job, which processes its messages at once, each exactly
// as its own process_message job would (so the transactions the messages share stay shared).
// The failure policy stays the message's own:
//
//   - a message whose processing fails permanently, or panics, is dead-lettered as if its own
//     process_message job had failed, and replaying the dead letter runs such a job;
//   - one that fails otherwise is handed to a process_message job of its own, which retries it
//     under the usual policy (after the wait a dependency asked for, if any);
//   - when handing over fails (the store is down), the whole job fails and is retried later.
//
// Processing is idempotent per message, so the rerun of a failed job, or of one rescued after a
// crash, leaves the messages done already as they are.

// ProcessMessages processes messages received together.
type ProcessMessages struct {
	Messages []ProcessMessage `json:"messages"`
}

// Kind implements river.JobArgs.
func (ProcessMessages) Kind() string { return "process_messages" }

// Subject implements jobs.Args: the partner, when the messages have one in common.
func (a ProcessMessages) Subject() jobs.Subject {
	var s jobs.Subject
	for i, m := range a.Messages {
		if i == 0 {
			s.Partner = m.Partner
		} else if m.Partner != s.Partner {
			return jobs.Subject{}
		}
	}
	return s
}

type processBatchWorker struct {
	river.WorkerDefaults[ProcessMessages]
	h *Hub
}

func (w *processBatchWorker) Work(ctx context.Context, job *river.Job[ProcessMessages]) error {
	return w.h.runner.Run(ctx, job.JobRow, job.Args, func(ctx context.Context) error {
		return w.h.processMessages(ctx, job.JobRow, job.Args.Messages)
	})
}

// processMessages processes msgs at once and settles each failure as described above.
func (h *Hub) processMessages(ctx context.Context, job *rivertype.JobRow, msgs []ProcessMessage) error {
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Go(func() { errs[i] = h.processOne(ctx, job, m) })
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err // shutting down (or out of time): the rerun skips what was done
	}
	var handover []river.InsertManyParams
	for i, err := range errs {
		if err == nil {
			continue
		}
		m := msgs[i]
		m.Trace = nil
		log := h.messageLogger(job, m)
		var w jobs.Waiter
		switch {
		case errors.Is(err, jobs.ErrPanic) || waybill.IsPermanent(err):
			derr := h.runner.DeadLetter(jobs.WithLogger(ctx, log), m, err)
			if derr == nil {
				continue
			}
			log.Warn("dead-lettering a message failed; handing it to a job of its own", "error", derr)
			handover = append(handover, river.InsertManyParams{Args: m})
		case waybill.IsTransient(err) && errors.As(err, &w) && w.Wait() > 0:
			log.Info("dependency unavailable; message handed to a job of its own that waits", "wait", w.Wait(), "error", err)
			handover = append(handover, river.InsertManyParams{Args: m, InsertOpts: &river.InsertOpts{ScheduledAt: h.now().Add(w.Wait())}})
		default:
			log.Info("processing failed; message handed to a job of its own that retries it", "error", err)
			handover = append(handover, river.InsertManyParams{Args: m})
		}
	}
	if len(handover) == 0 {
		return nil
	}
	return h.db.InTx(ctx, func(tx *store.Tx) error { return h.q.InsertParamsTx(ctx, tx, handover) })
}

// processOne processes one message of a process_messages job, in a span continuing the trace
// of its receipt and with log lines naming it; a panic is returned as an error wrapping
// jobs.ErrPanic.
func (h *Hub) processOne(ctx context.Context, job *rivertype.JobRow, m ProcessMessage) (err error) {
	opts := []trace.SpanStartOption{trace.WithAttributes(attribute.String("waybill.message_id", m.MessageID),
		attribute.String("waybill.correlation_id", m.CorrelationID), attribute.String("waybill.partner", m.Partner))}
	if len(m.Trace) > 0 {
		// The job's span is a link; the receipt's trace is the parent.
		opts = append(opts, trace.WithLinks(trace.LinkFromContext(ctx)))
		ctx = otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(m.Trace))
	}
	ctx, span := tracer.Start(ctx, "process message", opts...)
	defer span.End()
	log := h.messageLogger(job, m)
	ctx = jobs.WithLogger(ctx, log)
	defer func() {
		if p := recover(); p != nil {
			log.Error("processing panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			err = &waybill.Error{Code: waybill.EINTERNAL, Reason: "panic", Message: fmt.Sprintf("processing panicked: %v", p),
				Err: fmt.Errorf("%w: %v", jobs.ErrPanic, p)}
			span.RecordError(err)
		}
	}()
	if err := h.processMessage(ctx, m); err != nil {
		span.RecordError(err)
		return err
	}
	return nil
}

// messageLogger is the logger of m's processing in job.
func (h *Hub) messageLogger(job *rivertype.JobRow, m ProcessMessage) *slog.Logger {
	return h.log.With("job", job.Kind, "job_id", job.ID, "attempt", job.Attempt, "correlation_id", m.CorrelationID,
		"partner", m.Partner, "message_id", m.MessageID)
}

// processJobs returns the jobs that process ms (stored in this order, opts[i] the options of
// ms[i]'s processing): one process_messages job for each run of messages with the same options,
// each message carrying the trace context of its receipt (ctxs[i]).
func processJobs(ms []*store.Message, opts []*river.InsertOpts, ctxs []context.Context) []river.InsertManyParams {
	var out []river.InsertManyParams
	byPriority := map[int]int{} // priority -> index in out
	for i, m := range ms {
		pm := ProcessMessage{MessageID: m.ID, CorrelationID: m.CorrelationID, Partner: m.Partner, Trace: traceCarrier(ctxs[i])}
		prio := 0
		if opts[i] != nil {
			prio = opts[i].Priority
		}
		j, ok := byPriority[prio]
		if !ok {
			j = len(out)
			byPriority[prio] = j
			out = append(out, river.InsertManyParams{Args: ProcessMessages{}, InsertOpts: opts[i]})
		}
		a := out[j].Args.(ProcessMessages)
		a.Messages = append(a.Messages, pm)
		out[j].Args = a
	}
	// A batch of one is a process_message job, as a lone receipt's.
	for j, p := range out {
		if a := p.Args.(ProcessMessages); len(a.Messages) == 1 {
			one := a.Messages[0]
			one.Trace = nil // the job's own trace context is the receipt's
			out[j].Args = one
		}
	}
	return out
}

// traceCarrier returns ctx's trace context in the propagator's text form, or nil without one.
func traceCarrier(ctx context.Context) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	c := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, c)
	if len(c) == 0 {
		return nil
	}
	return c
}
