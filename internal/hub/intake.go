package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/riverqueue/river"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"strings"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// Document types the hub knows by itself; adapters register more (x12, csv).
const (
	DocOrderJSON = "order-json" // one canonical order, or an array of them, as JSON
	DocX12       = "x12"
)

// Receive stores an inbound message and schedules its processing in one transaction, and only
// then returns: a channel may acknowledge its sender once Receive returns without error.
// A payload seen before from the same partner (same SHA-256, or same transport id) is recorded as
// a duplicate and not processed again; the receipt names the original.
func (h *Hub) Receive(ctx context.Context, in waybill.InboundMessage) (waybill.Receipt, error) {
	if in.Partner == "" {
		return waybill.Receipt{}, waybill.Errorf(waybill.EINVALID, "no_partner", "an inbound message needs a partner")
	}
	if in.Channel == "" {
		return waybill.Receipt{}, waybill.Errorf(waybill.EINVALID, "no_channel", "an inbound message needs a channel")
	}
	sum := sha256.Sum256(in.Payload)
	digest := hex.EncodeToString(sum[:])
	// The trace of a message starts at its receipt; the jobs it leads to continue it.
	ctx, span := tracer.Start(ctx, "receive "+string(in.Channel), trace.WithAttributes(
		attribute.String("waybill.partner", in.Partner), attribute.String("waybill.channel", string(in.Channel)),
		attribute.Int("waybill.bytes", len(in.Payload))))
	defer span.End()
	rc, err := h.receipts.do(ctx, receipt{in: in, digest: digest})
	if errors.Is(err, errAlone) || errors.Is(err, errClosed) {
		rc, err = h.receiveAlone(ctx, in, digest)
	}
	if err == nil {
		span.SetAttributes(attribute.String("waybill.correlation_id", rc.CorrelationID),
			attribute.String("waybill.message_id", rc.MessageID), attribute.Bool("waybill.duplicate", rc.Duplicate))
	} else {
		span.RecordError(err)
	}
	return rc, err
}

// receiveAlone stores one receipt in a transaction of its own.
func (h *Hub) receiveAlone(ctx context.Context, in waybill.InboundMessage, digest string) (waybill.Receipt, error) {
	for attempt := 0; ; attempt++ {
		rc, err := h.receiveOnce(ctx, in, digest)
		if errors.Is(err, store.ErrConflict) && attempt < 3 {
			continue // a concurrent copy claimed the digest first: this one is now a duplicate
		}
		return rc, err
	}
}

// newMessage is the stored form of a receipt not known to be a duplicate.
func (h *Hub) newMessage(in waybill.InboundMessage, digest string) *store.Message {
	at := in.ReceivedAt
	if at.IsZero() {
		at = h.now()
	}
	docType := in.DocType
	if docType == "" {
		docType = sniff(in.Payload)
	}
	return &store.Message{
		ID: store.NewID("msg"), CorrelationID: store.NewID("cor"), Direction: store.Inbound, Channel: in.Channel,
		Partner: in.Partner, DocType: docType, TransportID: in.TransportID, Filename: in.Filename,
		ContentType: in.ContentType, Meta: in.Meta, Digest: digest, Size: int64(len(in.Payload)), Payload: in.Payload,
		State: store.MessageReceived, ReceivedAt: at.UTC(),
	}
}

// receivedAudit is the audit record of a message's receipt.
func receivedAudit(m *store.Message, in waybill.InboundMessage) store.AuditRecord {
	refs := []string{m.ID}
	if in.TransportID != "" {
		refs = append(refs, in.TransportID)
	}
	return store.AuditRecord{Kind: "message.received", CorrelationID: m.CorrelationID, Partner: m.Partner,
		Subject: m.ID, Actor: string(in.Channel), Summary: fmt.Sprintf("received %s (%d bytes) over %s", m.DocType, len(in.Payload), in.Channel),
		Detail: map[string]any{"digest": m.Digest, "filename": in.Filename, "transport_id": in.TransportID, "meta": in.Meta},
		Refs:   refs}
}

func (h *Hub) receiveOnce(ctx context.Context, in waybill.InboundMessage, digest string) (waybill.Receipt, error) {
	m := h.newMessage(in, digest)
	rc := waybill.Receipt{MessageID: m.ID, CorrelationID: m.CorrelationID, Digest: digest}
	dupKind := ""
	var orig *store.Message
	err := h.db.InTx(ctx, func(tx *store.Tx) error {
		// Claiming the digest (and transport id) finds an earlier copy and, on PostgreSQL, makes a
		// concurrent copy on another replica wait for this one and then see it.
		for i, k := range receiptKeys(in.Partner, digest, in.TransportID) {
			prev, err := tx.ClaimBusinessKey(ctx, store.BusinessKey{Key: k, Kind: "receipt", MessageID: m.ID, CorrelationID: m.CorrelationID})
			if err != nil {
				return err
			}
			if prev != nil {
				orig = &store.Message{ID: prev.MessageID, CorrelationID: prev.CorrelationID}
				m.State, m.DuplicateOf, m.Payload = store.MessageDuplicate, prev.MessageID, nil
				rc.Duplicate, rc.DuplicateOf = true, prev.MessageID
				dupKind = "digest"
				if i > 0 {
					dupKind = "transport"
				}
				break
			}
		}
		if err := tx.InsertMessage(ctx, m); err != nil {
			return err
		}
		refs := []string{m.ID}
		if in.TransportID != "" {
			refs = append(refs, in.TransportID)
		}
		if rc.Duplicate {
			return tx.Audit(ctx, store.AuditRecord{Kind: "message.duplicate", CorrelationID: m.CorrelationID, Partner: m.Partner,
				Subject: m.ID, Actor: string(in.Channel), Summary: fmt.Sprintf("duplicate of %s (same %s); not processed", orig.ID, dupKind),
				Detail: map[string]any{"digest": digest, "duplicate_of": orig.ID, "original_correlation_id": orig.CorrelationID},
				Refs:   append(refs, orig.ID, orig.CorrelationID)})
		}
		if err := tx.Audit(ctx, receivedAudit(m, in)); err != nil {
			return err
		}
		var opts *river.InsertOpts
		if h.fair > 0 {
			waiting, err := tx.PartnerBacklog(ctx, store.BacklogMessages, m.Partner, h.fair+1)
			if err != nil {
				return err
			}
			opts = h.fairOpts(waiting)
		}
		return h.q.InsertTx(ctx, tx, ProcessMessage{MessageID: m.ID, CorrelationID: m.CorrelationID, Partner: m.Partner}, opts)
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return waybill.Receipt{}, err
		}
		return waybill.Receipt{}, waybill.Unavailable(err, "storing message from %s", in.Partner)
	}
	h.obs.MessageReceived(in.Channel, in.Partner, len(in.Payload))
	if rc.Duplicate {
		h.obs.Duplicate(in.Channel, in.Partner, dupKind)
		h.log.Info("duplicate message", "partner", in.Partner, "channel", in.Channel, "message_id", m.ID,
			"duplicate_of", rc.DuplicateOf, "correlation_id", m.CorrelationID)
	} else {
		h.log.Debug("message received", "partner", in.Partner, "channel", in.Channel, "message_id", m.ID,
			"correlation_id", m.CorrelationID, "bytes", len(in.Payload))
	}
	return rc, nil
}

func receiptKeys(partner, digest, transportID string) []string {
	keys := []string{"digest:" + partner + ":" + digest}
	if transportID != "" {
		keys = append(keys, "transport:"+partner+":"+transportID)
	}
	return keys
}

// sniff guesses a document type from the first bytes.
func sniff(b []byte) string {
	s := strings.TrimLeft(string(b[:min(len(b), 64)]), "\ufeff \t\r\n")
	switch {
	case strings.HasPrefix(s, "ISA"):
		return DocX12
	case strings.HasPrefix(s, "{"), strings.HasPrefix(s, "["):
		return DocOrderJSON
	}
	return ""
}

// tracer names the hub's spans; it is a no-op until the process installs a tracer provider.
var tracer = otel.Tracer("github.com/waybill-hub/waybill/internal/hub")
