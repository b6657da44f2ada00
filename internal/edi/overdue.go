package edi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

// FlagOverdueAcks is the periodic job that writes each outbound set whose 997/999 is past the
// partner's SLA into the set's trace, once.
type FlagOverdueAcks struct{}

// Kind implements river.JobArgs.
func (FlagOverdueAcks) Kind() string { return "edi_flag_overdue_acks" }

// Subject implements jobs.Args.
func (FlagOverdueAcks) Subject() jobs.Subject { return jobs.Subject{} }

// InsertOpts keeps at most one waiting.
func (FlagOverdueAcks) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: jobs.UniqueWhileWaiting}
}

// FlagOverdueAcks audits (kind edi.ack_overdue, on the document's correlation id, so `waybill
// trace <PO>` shows it) and logs every outbound set whose acknowledgement became overdue since the
// last call, as of now. It returns how many it flagged. `waybill acks overdue` and the gauge
// waybill_edi_acks_overdue list all overdue sets at any time; this is the event in the trace.
func (f *Flow) FlagOverdueAcks(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := f.h.DB().InTx(ctx, func(tx *store.Tx) error {
		list, err := tx.FlagOverdueEDIOutbound(ctx, now, 500)
		if err != nil {
			return err
		}
		n = len(list)
		for _, o := range list {
			corr := ""
			if m, err := tx.Message(ctx, o.MessageID); err == nil {
				corr = m.CorrelationID
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			f.log.Warn("acknowledgement overdue", "partner", o.Partner, "set", o.SetID, "message_id", o.MessageID, "gs06", o.Group,
				"st02", o.SetControl, "due", o.AckDueAt, "correlation_id", corr)
			if err := tx.Audit(ctx, store.AuditRecord{Kind: "edi.ack_overdue", CorrelationID: corr, Partner: o.Partner, Subject: o.MessageID,
				Actor: "edi", Summary: fmt.Sprintf("no 997/999 for %s %s (GS %s, ST %s) from %s; it was due %s", o.SetID, o.MessageID, o.Group,
					o.SetControl, o.Partner, o.AckDueAt.Format("2006-01-02 15:04 MST")), Refs: []string{o.MessageID, o.Interchange, o.Group}}); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// OverdueWorker returns the worker of FlagOverdueAcks jobs.
func (f *Flow) OverdueWorker() river.Worker[FlagOverdueAcks] { return &overdueWorker{f: f} }

type overdueWorker struct {
	river.WorkerDefaults[FlagOverdueAcks]
	f *Flow
}

func (w *overdueWorker) Work(ctx context.Context, job *river.Job[FlagOverdueAcks]) error {
	return w.f.h.Runner().Run(ctx, job.JobRow, job.Args, func(ctx context.Context) error {
		_, err := w.f.FlagOverdueAcks(ctx, w.f.now())
		return err
	})
}
