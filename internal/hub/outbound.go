package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

// DeliverMessage sends a stored outbound message over its channel.
type DeliverMessage struct {
	MessageID     string `json:"message_id"`
	CorrelationID string `json:"correlation_id"`
	Partner       string `json:"partner"`
}

// Kind implements river.JobArgs.
func (DeliverMessage) Kind() string { return "deliver_message" }

// Subject implements jobs.Args.
func (a DeliverMessage) Subject() jobs.Subject {
	return jobs.Subject{MessageID: a.MessageID, CorrelationID: a.CorrelationID, Partner: a.Partner}
}

// RegisterSender makes outbound messages for channel go through s.
func (h *Hub) RegisterSender(channel waybill.Channel, s waybill.Sender) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.senders == nil {
		h.senders = map[waybill.Channel]waybill.Sender{}
	}
	h.senders[channel] = s
}

// Emit stores a rendered outbound document in tx (state queued) and schedules its delivery in the
// same transaction, so that a document is sent if and only if the state change that produced it
// commits. refs (PO number, control numbers, ERP names) make it findable by trace. It returns the
// stored message id, which is also m.ID when m.ID was empty.
func (h *Hub) Emit(ctx context.Context, tx *store.Tx, m *waybill.OutboundMessage, refs ...string) (string, error) {
	if m.ID == "" {
		m.ID = store.NewID("out")
	}
	if m.CorrelationID == "" {
		m.CorrelationID = store.NewID("cor")
	}
	sum := sha256.Sum256(m.Payload)
	rec := &store.Message{ID: m.ID, CorrelationID: m.CorrelationID, Direction: store.Outbound, Channel: m.Channel,
		Partner: m.Partner, DocType: m.DocType, Filename: m.Filename, ContentType: m.ContentType, Meta: m.Meta,
		Digest: hex.EncodeToString(sum[:]), Size: int64(len(m.Payload)), Payload: m.Payload, State: store.MessageQueued,
		ReceivedAt: h.now()}
	if err := tx.InsertMessage(ctx, rec); err != nil {
		return "", err
	}
	if err := tx.Audit(ctx, store.AuditRecord{Kind: "outbound.queued", CorrelationID: m.CorrelationID, Partner: m.Partner,
		Subject: m.ID, Actor: "hub", Summary: fmt.Sprintf("%s for %s queued for %s (%d bytes)", m.DocType, m.Partner, m.Channel, len(m.Payload)),
		Refs: append(refs, m.ID)}); err != nil {
		return "", err
	}
	return m.ID, h.q.InsertTx(ctx, tx, DeliverMessage{MessageID: m.ID, CorrelationID: m.CorrelationID, Partner: m.Partner}, nil)
}

type deliverWorker struct {
	river.WorkerDefaults[DeliverMessage]
	h *Hub
}

func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverMessage]) error {
	return w.h.runner.Run(ctx, job.JobRow, job.Args, func(ctx context.Context) error {
		return w.h.deliver(ctx, job.Args)
	})
}

// deliver sends a queued outbound message. It is idempotent on the message state; a transport
// that takes the same message twice (a retry after a crash between sending and recording) must
// recognise it by OutboundMessage.ID, which is stable.
func (h *Hub) deliver(ctx context.Context, a DeliverMessage) error {
	m, err := h.db.Message(ctx, a.MessageID)
	if err != nil {
		return err
	}
	if m.State != store.MessageQueued && m.State != store.MessageReplayed {
		return nil
	}
	if err := h.payload(ctx, m); err != nil {
		return err
	}
	h.mu.RLock()
	s := h.senders[m.Channel]
	h.mu.RUnlock()
	if s == nil {
		return &waybill.Error{Code: waybill.EINVALID, Reason: "no_transport",
			Message: fmt.Sprintf("no transport is configured for channel %q", m.Channel), Where: waybill.Location{Partner: m.Partner}}
	}
	res, err := s.Send(ctx, waybill.OutboundMessage{ID: m.ID, CorrelationID: m.CorrelationID, Partner: m.Partner, Channel: m.Channel,
		DocType: m.DocType, Filename: m.Filename, ContentType: m.ContentType, Meta: m.Meta, Payload: m.Payload})
	if err != nil {
		return fmt.Errorf("sending %s %s to %s: %w", m.DocType, m.ID, m.Partner, err)
	}
	return h.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.MarkSent(ctx, m.ID, res.TransportID, res.Meta); err != nil {
			return err
		}
		refs := []string{m.ID}
		if res.TransportID != "" {
			refs = append(refs, res.TransportID)
		}
		detail := map[string]any{}
		for k, v := range res.Meta {
			detail[k] = v
		}
		return tx.Audit(ctx, store.AuditRecord{Kind: "outbound.sent", CorrelationID: m.CorrelationID, Partner: m.Partner, Subject: m.ID,
			Actor: string(m.Channel), Summary: fmt.Sprintf("%s sent to %s over %s", m.DocType, m.Partner, m.Channel), Detail: detail, Refs: refs})
	})
}
