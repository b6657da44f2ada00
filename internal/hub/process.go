package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

type processWorker struct {
	river.WorkerDefaults[ProcessMessage]
	h *Hub
}

func (w *processWorker) Work(ctx context.Context, job *river.Job[ProcessMessage]) error {
	return w.h.runner.Run(ctx, job.JobRow, job.Args, func(ctx context.Context) error {
		return w.h.processMessage(ctx, job.Args)
	})
}

// processMessage decodes a message into orders and records each as received and then validated
// (or rejected) in one transaction, then submits the validated ones to the ERP itself (see
// submitInline). It is idempotent: a message no longer in the received (or replayed) state was
// processed already, and a run interrupted before its orders were submitted leaves them to
// submit_order jobs (resumeSubmits).
func (h *Hub) processMessage(ctx context.Context, a ProcessMessage) error {
	msg, err := h.reads.do(ctx, a.MessageID)
	if errors.Is(err, errAlone) || errors.Is(err, errClosed) {
		msg, err = h.db.Message(ctx, a.MessageID)
	}
	if err != nil {
		return err
	}
	if msg.State != store.MessageReceived && msg.State != store.MessageReplayed {
		return h.resumeSubmits(ctx, msg)
	}
	if err := h.payload(ctx, msg); err != nil {
		return err
	}
	p, err := h.partner(msg.Partner)
	if err != nil {
		return err
	}
	h.mu.RLock()
	dec := h.decoders[msg.DocType]
	h.mu.RUnlock()
	if dec == nil {
		return &waybill.Error{Code: waybill.EINVALID, Reason: "unknown_doc_type",
			Message: fmt.Sprintf("no translation for document type %q", msg.DocType), Where: waybill.Location{Partner: p.ID}}
	}
	// Orders recorded from here on (by the decoder's orders below, or by a Processor through
	// RecordOrder) are submitted by this job once their transaction has committed.
	inline := &inlineSubmits{}
	ctx = context.WithValue(ctx, inlineKey{}, inline)
	orders, err := dec(ctx, msg, p)
	if err != nil {
		return err
	}
	_, err = h.processes.do(ctx, processing{ctx: ctx, msg: msg, p: p, orders: orders, inline: inline})
	if errors.Is(err, errAlone) || errors.Is(err, errClosed) {
		claimed := false
		err = h.db.InTx(ctx, func(tx *store.Tx) (err error) {
			claimed, err = h.recordMessage(ctx, tx, msg, p, orders)
			return err
		})
		if err == nil && !claimed {
			if todo := inline.take(); len(todo) > 0 {
				return h.submitInline(ctx, todo) // processed by this job's Processor
			}
			// Processed meanwhile: by another run of this job, or by the shared transaction
			// itself, when it committed although its commit reported a failure (the connection
			// lost at COMMIT). Its orders may then wait for a submission no one makes: as on a
			// rerun, each order still validated gets a submit_order job.
			msg.State = store.MessageProcessed
			return h.resumeSubmits(ctx, msg)
		}
	}
	if err != nil {
		return err
	}
	return h.submitInline(ctx, inline.take())
}

// newReadBatcher reads the messages the process_message jobs ask for at the same time in one
// query. A read that fails is made again by its job alone.
func (h *Hub) newReadBatcher() *coalescer[string, *store.Message] {
	return newCoalescer(processBatchSize, processBatchParallel, func(live []*pending[string, *store.Message]) {
		ids := make([]string, len(live))
		for i, p := range live {
			ids[i] = p.req
		}
		ctx, span, cancel := batchContext("read messages", live)
		defer cancel()
		defer span.End()
		var got map[string]*store.Message
		var err error
		if safely(func() { got, err = h.db.MessagesByID(ctx, ids) }) || err != nil {
			for _, p := range live {
				p.done <- outcome[*store.Message]{err: errAlone}
			}
			return
		}
		for _, p := range live {
			m, ok := got[p.req]
			if !ok {
				p.done <- outcome[*store.Message]{err: fmt.Errorf("loading message %s: %w", p.req, store.ErrNotFound)}
				continue
			}
			cp := *m // each job gets a message of its own, even when it asked twice
			p.done <- outcome[*store.Message]{res: &cp}
		}
	})
}

// recordMessage claims msg in tx and records the orders decoded from it; it records nothing, and
// reports false, when msg was processed already (concurrently, or by a Processor).
func (h *Hub) recordMessage(ctx context.Context, tx *store.Tx, msg *store.Message, p waybill.Partner, orders []*waybill.Order) (bool, error) {
	claimed, err := tx.ClaimMessage(ctx, msg.ID)
	if err != nil || !claimed {
		return false, err
	}
	for _, o := range orders {
		if err := h.recordOrder(ctx, tx, msg, p, o); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Messages recorded together.
//
// The process_message jobs the queue hands out together decode their messages at the same time,
// and each used to record its orders in a transaction of its own. The recordings that wait at
// the same time now share one transaction: each message's claim, its orders and the
// submissions they schedule still commit together; one statement claims all the messages, and
// one writes the events and audit records of all of them. When that transaction fails or panics, each job records its message
// alone, so that one failure (a panic included) fails only its own message. Each job submits
// the orders it recorded once the transaction has committed.

// processing is a decoded message waiting to be recorded.
type processing struct {
	ctx    context.Context // the job's (for its logger)
	msg    *store.Message
	p      waybill.Partner
	orders []*waybill.Order
	inline *inlineSubmits
}

const (
	processBatchSize     = 64
	processBatchParallel = 2
)

func (h *Hub) newProcessBatcher() *coalescer[processing, struct{}] {
	return newCoalescer(processBatchSize, processBatchParallel, h.processBatch)
}

func (h *Hub) processBatch(live []*pending[processing, struct{}]) {
	ctx, span, cancel := batchContext("record messages", live)
	defer cancel()
	defer span.End()
	err := h.recordMessages(ctx, live)
	if err != nil {
		h.log.InfoContext(ctx, "recording a batch of messages failed; recording each alone", "messages", len(live), "error", err)
		err = errAlone
	}
	for _, p := range live {
		p.done <- outcome[struct{}]{err: err}
	}
}

// recordMessages records every message of live in one transaction. A panic is returned as an
// error.
func (h *Hub) recordMessages(ctx context.Context, live []*pending[processing, struct{}]) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("recording messages panicked: %v", p)
		}
	}()
	ids := make([]string, 0, len(live))
	seen := make(map[string]bool, len(live))
	for _, p := range live {
		if id := p.req.msg.ID; !seen[id] { // the same message twice: a rescued job and its rerun
			seen[id] = true
			ids = append(ids, id)
		}
	}
	return h.db.InTx(ctx, func(tx *store.Tx) error {
		// One statement claims every message; those not claimed were processed already.
		claimed, err := tx.ClaimMessages(ctx, ids)
		if err != nil {
			return err
		}
		var todo []processing
		for _, p := range live {
			if claimed[p.req.msg.ID] {
				delete(claimed, p.req.msg.ID) // its orders are recorded once
				todo = append(todo, p.req)
			}
		}
		// One statement claims the PO numbers of every order; an order whose PO was not claimed
		// (a duplicate, or a PO twice in the batch) claims it again alone, which tells it whose it is.
		var keys []store.BusinessKey
		owner := map[string]*waybill.Order{}
		for _, r := range todo {
			for _, o := range r.orders {
				h.prepareOrder(r.msg, r.p, o)
				if k := poKey(o, r.msg); o.PONumber != "" && owner[k.Key] == nil {
					owner[k.Key] = o
					keys = append(keys, k)
				}
			}
		}
		got, err := tx.ClaimBusinessKeys(ctx, keys)
		if err != nil {
			return err
		}
		for _, r := range todo {
			// The job's submissions are collected for it, and its log lines carry its job.
			mctx := jobs.WithLogger(context.WithValue(ctx, inlineKey{}, r.inline), jobs.Logger(r.ctx))
			for _, o := range r.orders {
				k := poKey(o, r.msg).Key
				if err := h.recordPrepared(mctx, tx, r.msg, r.p, o, got[k] && owner[k] == o); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func (h *Hub) recordOrder(ctx context.Context, tx *store.Tx, msg *store.Message, p waybill.Partner, o *waybill.Order) error {
	h.prepareOrder(msg, p, o)
	return h.recordPrepared(ctx, tx, msg, p, o, false)
}

// prepareOrder gives o, decoded from msg, its id and the fields the hub fills.
func (h *Hub) prepareOrder(msg *store.Message, p waybill.Partner, o *waybill.Order) {
	o.ID = store.NewID("ord")
	o.CorrelationID = msg.CorrelationID
	o.Partner = p.ID
	o.Channel = msg.Channel
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
}

// poKey is the business key claimed for o's PO number.
func poKey(o *waybill.Order, msg *store.Message) store.BusinessKey {
	return store.BusinessKey{Key: "po:" + o.BusinessKey(), Kind: "po", MessageID: msg.ID, OrderID: o.ID, CorrelationID: o.CorrelationID}
}

// recordPrepared records o, prepared; keyClaimed tells that its PO's business key was claimed
// for it already (in the same transaction).
func (h *Hub) recordPrepared(ctx context.Context, tx *store.Tx, msg *store.Message, p waybill.Partner, o *waybill.Order, keyClaimed bool) error {
	refs := []string{o.PONumber, o.ID} // the message id was linked at receipt

	// A PO seen before (from any channel) is handled by the partner's duplicate policy.
	var dupOf *store.BusinessKey
	if o.PONumber != "" && !keyClaimed {
		prev, err := tx.ClaimBusinessKey(ctx, poKey(o, msg))
		if err != nil {
			return err
		}
		dupOf = prev
	}
	if dupOf != nil {
		h.obs.Duplicate(msg.Channel, p.ID, "business_key")
		switch p.DuplicatePolicy {
		case waybill.DuplicateFlag, waybill.DuplicateSupersede:
			if p.DuplicatePolicy == waybill.DuplicateSupersede {
				replaced, err := h.supersede(ctx, tx, dupOf, o)
				if err != nil {
					return err
				}
				if replaced {
					dupOf = nil
					break
				}
			}
			// Flagged (or not replaceable): keep it on hold for a person.
		default:
			return tx.Audit(ctx, store.AuditRecord{Kind: "order.duplicate", CorrelationID: o.CorrelationID, Partner: p.ID,
				Subject: msg.ID, Actor: "hub", Summary: fmt.Sprintf("PO %s was already received (order %s); rejected as a duplicate", o.PONumber, dupOf.OrderID),
				Detail: map[string]any{"original_order": dupOf.OrderID, "original_correlation_id": dupOf.CorrelationID, "policy": "reject"},
				Refs:   append(refs, dupOf.OrderID, dupOf.CorrelationID)})
		}
	}
	// The order is stored directly in the state its checks put it in, with both events: the
	// receipt (at the message's receipt time) and the first transition.
	to, reason := waybill.OrderValidated, ""
	var problems []string
	if dupOf != nil {
		to, reason = waybill.OrderOnHold, fmt.Sprintf("duplicate of PO %s in order %s", o.PONumber, dupOf.OrderID)
	} else if errs := validate(o); len(errs) > 0 {
		for _, e := range errs {
			problems = append(problems, e.Error())
		}
		to, reason = waybill.OrderRejected, strings.Join(problems, "; ")
	}
	if err := waybill.CheckTransition(o.ID, waybill.OrderReceived, to, waybill.OwnerHub); err != nil {
		return err
	}
	o.State = to
	if err := tx.InsertOrder(ctx, o, msg.ID); err != nil {
		return err
	}
	if err := tx.InsertEvents(ctx,
		waybill.OrderEvent{OrderID: o.ID, To: waybill.OrderReceived, Source: waybill.OwnerHub,
			Actor: string(msg.Channel), At: msg.ReceivedAt, CorrelationID: o.CorrelationID},
		waybill.OrderEvent{OrderID: o.ID, From: waybill.OrderReceived, To: to, Source: waybill.OwnerHub,
			Actor: "process_message", Reason: reason, At: h.now(), CorrelationID: o.CorrelationID}); err != nil {
		return err
	}
	h.obs.OrderTransition(p.ID, to)
	if err := tx.Audit(ctx, store.AuditRecord{Kind: "order.received", CorrelationID: o.CorrelationID, Partner: p.ID, Subject: o.ID,
		Actor: "process_message", Summary: fmt.Sprintf("order %s for PO %s with %d lines", o.ID, o.PONumber, len(o.Lines)), Refs: refs}); err != nil {
		return err
	}
	switch to {
	case waybill.OrderOnHold:
		return tx.InsertDeadLetter(ctx, &store.DeadLetter{JobKind: SubmitOrder{}.Kind(), JobArgs: submitArgsJSON(o),
			OrderID: o.ID, MessageID: msg.ID, CorrelationID: o.CorrelationID, Partner: p.ID, Code: string(waybill.ECONFLICT),
			Reason: "duplicate_po", Message: reason + "; replay to accept it as a separate order"})
	case waybill.OrderRejected:
		return tx.Audit(ctx, store.AuditRecord{Kind: "order.rejected", CorrelationID: o.CorrelationID, Partner: p.ID, Subject: o.ID,
			Actor: "hub", Summary: "rejected: " + reason, Detail: map[string]any{"reasons": problems}, Refs: refs})
	}
	return h.scheduleSubmit(ctx, tx, o, msg.ID)
}

// supersede cancels the order holding a business key, when it is not yet accepted, and gives the
// key to o. It reports whether it did.
func (h *Hub) supersede(ctx context.Context, tx *store.Tx, prev *store.BusinessKey, o *waybill.Order) (bool, error) {
	old, err := tx.Order(ctx, prev.OrderID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	switch old.Order.State {
	case waybill.OrderReceived, waybill.OrderValidated, waybill.OrderOnHold:
	default:
		return false, nil
	}
	if _, err := tx.Transition(ctx, old, waybill.OrderCancelled, waybill.OwnerHub, "process_message",
		"superseded by order "+o.ID); err != nil {
		return false, err
	}
	if err := tx.ReassignBusinessKey(ctx, "po:"+o.BusinessKey(), o.ID, ""); err != nil {
		return false, err
	}
	return true, tx.Audit(ctx, store.AuditRecord{Kind: "order.superseded", CorrelationID: o.CorrelationID, Partner: o.Partner,
		Subject: old.Order.ID, Actor: "hub", Summary: fmt.Sprintf("order %s superseded by %s", old.Order.ID, o.ID),
		Refs: []string{o.PONumber, old.Order.ID, o.ID, old.Order.CorrelationID}})
}
