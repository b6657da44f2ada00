package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

// Replay runs a dead letter's job again, with the same arguments and correlation id, once the
// cause has been fixed; by names the operator for the audit trail. A dead letter is replayed at
// most once (a second call is ECONFLICT); if the job fails again, a new dead letter records it.
func (h *Hub) Replay(ctx context.Context, id, by string) error {
	err := h.db.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.ResolveDeadLetter(ctx, id, store.DeadReplayed, by)
		if err != nil {
			return err
		}
		if d.MessageID != "" {
			msg, err := tx.Message(ctx, d.MessageID)
			if err == nil && msg.State == store.MessageDead {
				if err := tx.SetMessageState(ctx, d.MessageID, store.MessageReplayed); err != nil {
					return err
				}
			}
		}
		if err := tx.Audit(ctx, store.AuditRecord{Kind: "dlq.replay", CorrelationID: d.CorrelationID, Partner: d.Partner, Subject: d.ID,
			Actor: by, Summary: fmt.Sprintf("%s replayed %s (%s: %s)", by, d.JobKind, d.Reason, d.Message),
			Refs: nonEmpty(d.MessageID, d.OrderID)}); err != nil {
			return err
		}
		meta, _ := json.Marshal(map[string]string{jobs.MetaReplayOf: d.ID})
		return h.q.InsertTx(ctx, tx, jobs.RawArgs{JobKind: d.JobKind, JSON: json.RawMessage(d.JobArgs)}, &river.InsertOpts{Metadata: meta})
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return waybill.Errorf(waybill.ENOTFOUND, "no_dead_letter", "no dead letter %s", id)
	case errors.Is(err, store.ErrConflict):
		return waybill.Errorf(waybill.ECONFLICT, "not_open", "dead letter %s is not open (already replayed or discarded)", id)
	}
	return err
}

// Discard closes a dead letter without replaying it.
func (h *Hub) Discard(ctx context.Context, id, by, why string) error {
	return h.db.InTx(ctx, func(tx *store.Tx) error {
		d, err := tx.ResolveDeadLetter(ctx, id, store.DeadDiscarded, by)
		if err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditRecord{Kind: "dlq.discard", CorrelationID: d.CorrelationID, Partner: d.Partner, Subject: d.ID,
			Actor: by, Summary: fmt.Sprintf("%s discarded %s: %s", by, d.JobKind, why)})
	})
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
