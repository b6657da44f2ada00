package hub

import (
	"context"
	"fmt"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// Processor handles an inbound message of one document type by itself, for flows that must write
// more than orders in the processing transaction (a functional acknowledgement, translation
// records). It runs outside any transaction: it does its reads and ERP look-ups first, then calls
// Hub.ProcessTx once to write everything. A coded error dead-letters the message with its reason,
// like a Decoder's.
type Processor func(ctx context.Context, msg *store.Message, p waybill.Partner) error

// RegisterProcessor makes docType messages go to fn instead of a Decoder. The process_message job
// calls fn; once fn has marked the message processed (through ProcessTx), the job has nothing left
// to do.
func (h *Hub) RegisterProcessor(docType string, fn Processor) {
	h.RegisterDecoder(docType, func(ctx context.Context, msg *store.Message, p waybill.Partner) ([]*waybill.Order, error) {
		return nil, fn(ctx, msg, p)
	})
}

// ProcessTx runs fn in one transaction for message id when it still waits for processing
// (received or replayed) and marks it processed in the same transaction. It reports false,
// without calling fn, when the message was processed already (a retried or concurrent job).
func (h *Hub) ProcessTx(ctx context.Context, id string, fn func(tx *store.Tx, msg *store.Message) error) (bool, error) {
	done := false
	err := h.db.InTx(ctx, func(tx *store.Tx) error {
		done = false
		msg, err := tx.Message(ctx, id)
		if err != nil {
			return err
		}
		if msg.State != store.MessageReceived && msg.State != store.MessageReplayed {
			return nil
		}
		if err := fn(tx, msg); err != nil {
			return err
		}
		done = true
		cur, err := tx.Message(ctx, id)
		if err != nil {
			return err
		}
		if cur.State == msg.State { // fn may have set another final state (duplicate)
			return tx.SetMessageState(ctx, id, store.MessageProcessed)
		}
		return nil
	})
	return done, err
}

// Verdict is what a Processor decided about an order before it reaches the ERP. The zero value
// lets the hub validate it and schedule its submission.
type Verdict struct {
	// Hold puts the order on hold with a dead letter carrying this reason; replaying the dead
	// letter submits it.
	Hold *waybill.Error
	// Reject refuses the order with this reason; it never reaches the ERP.
	Reject *waybill.Error
}

// RecordOrder records o, decoded from msg, inside tx (the processing transaction) the way the hub
// records every order: received, then per v validated (submission scheduled), on hold or
// rejected. A PO number seen before for the same account follows the partner's duplicate policy
// first (a rejected order does not claim its PO number, so a corrected one may follow). o.ID and
// o.CorrelationID are set on return.
func (h *Hub) RecordOrder(ctx context.Context, tx *store.Tx, msg *store.Message, p waybill.Partner, o *waybill.Order, v Verdict) error {
	if v.Hold == nil && v.Reject == nil {
		return h.recordOrder(ctx, tx, msg, p, o)
	}
	if v.Hold != nil {
		// Claim the PO first: a duplicate is the duplicate policy's business, not the hold's.
		key := store.BusinessKey{Kind: "po", MessageID: msg.ID, CorrelationID: msg.CorrelationID}
		probe := *o
		if probe.Account == "" {
			probe.Account = p.Account
		}
		probe.Partner = p.ID
		if o.PONumber != "" {
			key.Key = "po:" + probe.BusinessKey()
			o.ID = store.NewID("ord")
			key.OrderID = o.ID
			prev, err := tx.ClaimBusinessKey(ctx, key)
			if err != nil {
				return err
			}
			if prev != nil {
				o.ID = ""
				return h.recordOrder(ctx, tx, msg, p, o)
			}
		}
	}
	id := o.ID
	if id == "" {
		id = store.NewID("ord")
	}
	o.ID, o.CorrelationID, o.Partner, o.Channel = id, msg.CorrelationID, p.ID, msg.Channel
	if o.Account == "" {
		o.Account = p.Account
	}
	if o.Currency == "" {
		o.Currency = "USD"
	}
	for i := range o.Lines {
		o.Lines[i].Qty.Ordered = o.Lines[i].Quantity
	}
	o.State = waybill.OrderReceived
	refs := []string{o.PONumber, msg.ID, o.ID}
	if err := tx.InsertOrder(ctx, o, msg.ID); err != nil {
		return err
	}
	if err := tx.InsertEvent(ctx, waybill.OrderEvent{OrderID: o.ID, To: waybill.OrderReceived, Source: waybill.OwnerHub,
		Actor: string(msg.Channel), At: msg.ReceivedAt, CorrelationID: o.CorrelationID}); err != nil {
		return err
	}
	if err := tx.Audit(ctx, store.AuditRecord{Kind: "order.received", CorrelationID: o.CorrelationID, Partner: p.ID, Subject: o.ID,
		Actor: "process_message", Summary: fmt.Sprintf("order %s for PO %s with %d lines", o.ID, o.PONumber, len(o.Lines)), Refs: refs}); err != nil {
		return err
	}
	rec := &store.OrderRecord{Order: o, MessageID: msg.ID, Version: 1}
	if v.Reject != nil {
		reason := v.Reject.Error()
		if _, err := tx.Transition(ctx, rec, waybill.OrderRejected, waybill.OwnerHub, "process_message", reason); err != nil {
			return err
		}
		h.obs.OrderTransition(p.ID, waybill.OrderRejected)
		return tx.Audit(ctx, store.AuditRecord{Kind: "order.rejected", CorrelationID: o.CorrelationID, Partner: p.ID, Subject: o.ID,
			Actor: "hub", Summary: "rejected: " + reason, Detail: map[string]any{"reason": v.Reject.Reason}, Refs: refs})
	}
	reason := v.Hold.Error()
	if _, err := tx.Transition(ctx, rec, waybill.OrderOnHold, waybill.OwnerHub, "process_message", reason); err != nil {
		return err
	}
	h.obs.OrderTransition(p.ID, waybill.OrderOnHold)
	code := v.Hold.Code
	if code == "" {
		code = waybill.EINVALID
	}
	return tx.InsertDeadLetter(ctx, &store.DeadLetter{JobKind: SubmitOrder{}.Kind(), JobArgs: submitArgsJSON(o),
		OrderID: o.ID, MessageID: msg.ID, CorrelationID: o.CorrelationID, Partner: p.ID, Code: string(code),
		Reason: v.Hold.Reason, Message: v.Hold.Message + "; fix the cause, then replay to submit the order"})
}

// SetPartners replaces the partner look-up (the partner profiles, say). It must be called before
// the job queue starts.
func (h *Hub) SetPartners(p Partners) { h.partners = p }

// Partners returns the partner look-up.
func (h *Hub) Partners() Partners { return h.partners }
