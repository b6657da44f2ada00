package hub

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// Receipts stored together.
//
// Receipts that arrive while others are being stored wait and are then stored together, in one
// transaction: one statement claims their digests, one inserts their messages, one appends their
// audit records and one enqueues the process_messages job that processes them (see
// process_batch.go), where storing each alone takes a transaction and five statements of its
// own. Each receipt still returns only once its message and its job are durable, and a lone
// receipt is stored at once, as before.
//
// A receipt whose digest another one claimed (a duplicate) is stored alone after the batch, by
// the path that records duplicates, and so is one with a transport id (two keys to claim) or
// one whose digest appears twice in the batch. When the batch's transaction fails (or panics),
// each of its receipts is stored alone, by its caller, so that one bad receipt fails only
// itself.

// receipt is a message waiting to be stored.
type receipt struct {
	in     waybill.InboundMessage
	digest string
}

const (
	receiptBatchSize     = 64 // receipts in one transaction at most
	receiptBatchParallel = 1  // batches stored at once
)

func (h *Hub) newReceiptBatcher() *coalescer[receipt, waybill.Receipt] {
	return newCoalescer(receiptBatchSize, receiptBatchParallel, h.receiveBatch)
}

// receiveBatch stores the receipts of live and answers each, or leaves it to its caller to
// store alone (errAlone) when a batch failed or storing it panicked.
func (h *Hub) receiveBatch(live []*pending[receipt, waybill.Receipt]) {
	var batch, alone []*pending[receipt, waybill.Receipt]
	seen := make(map[string]bool, len(live))
	for _, p := range live {
		k := receiptKeys(p.req.in.Partner, p.req.digest, "")[0]
		if p.req.in.TransportID != "" || seen[k] {
			alone = append(alone, p)
			continue
		}
		seen[k] = true
		batch = append(batch, p)
	}
	if len(batch) == 1 {
		alone, batch = append(batch, alone...), nil
	}
	if len(batch) > 0 {
		dups := h.receiveTogether(batch)
		alone = append(alone, dups...)
	}
	for _, p := range alone {
		var rc waybill.Receipt
		var err error
		if safely(func() { rc, err = h.receiveAlone(p.ctx, p.req.in, p.req.digest) }) {
			err = errAlone
		}
		p.done <- outcome[waybill.Receipt]{res: rc, err: err}
	}
}

// receiveTogether stores batch in one transaction and answers the receipts it stored; it
// returns the duplicates, to be stored alone. When the transaction fails, it leaves every
// receipt to its caller.
func (h *Hub) receiveTogether(batch []*pending[receipt, waybill.Receipt]) (dups []*pending[receipt, waybill.Receipt]) {
	ctx, span, cancel := batchContext("receive batch", batch)
	defer cancel()
	defer span.End()
	stored, err := h.storeReceipts(ctx, batch)
	if err != nil && h.storedAnyway(ctx, stored) {
		// The commit happened although it reported a failure (the connection lost at COMMIT):
		// storing each again alone would answer each receipt as a duplicate of itself.
		h.log.WarnContext(ctx, "a batch of receipts was stored although its commit reported a failure", "receipts", len(batch), "error", err)
		err = nil
	}
	if err != nil {
		h.log.WarnContext(ctx, "storing a batch of receipts failed; storing each alone", "receipts", len(batch), "error", err)
	}
	for i, p := range batch {
		switch {
		case err != nil:
			p.done <- outcome[waybill.Receipt]{err: errAlone}
		case stored[i] == nil:
			dups = append(dups, p)
		default:
			m := stored[i]
			h.obs.MessageReceived(p.req.in.Channel, m.Partner, len(p.req.in.Payload))
			h.log.Debug("message received", "partner", m.Partner, "channel", m.Channel, "message_id", m.ID,
				"correlation_id", m.CorrelationID, "bytes", m.Size)
			p.done <- outcome[waybill.Receipt]{res: waybill.Receipt{MessageID: m.ID, CorrelationID: m.CorrelationID, Digest: m.Digest}}
		}
	}
	return dups
}

// storedAnyway reports whether the messages of a batch whose transaction reported a failure are
// stored all the same (stored as storeReceipts returned it; none stored is false).
func (h *Hub) storedAnyway(ctx context.Context, stored []*store.Message) bool {
	var ids []string
	for _, m := range stored {
		if m != nil {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return false
	}
	got, err := h.db.MessagesByID(ctx, ids)
	return err == nil && len(got) == len(ids)
}

// storeReceipts stores batch in one transaction and returns, by position, the messages it
// stored: nil for a receipt whose digest was claimed before (a duplicate, left to be stored
// alone). When the transaction fails, it returns the messages its last attempt tried to store
// with the error. A panic is returned as an error.
func (h *Hub) storeReceipts(ctx context.Context, batch []*pending[receipt, waybill.Receipt]) (out []*store.Message, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("storing receipts panicked: %v", p)
		}
	}()
	msgs := make([]*store.Message, len(batch))
	keys := make([]store.BusinessKey, len(batch))
	for i, p := range batch {
		m := h.newMessage(p.req.in, p.req.digest)
		msgs[i] = m
		keys[i] = store.BusinessKey{Key: receiptKeys(m.Partner, m.Digest, "")[0], Kind: "receipt", MessageID: m.ID, CorrelationID: m.CorrelationID}
	}
	err = h.db.InTx(ctx, func(tx *store.Tx) error {
		out = make([]*store.Message, len(batch))
		claimed, err := tx.ClaimBusinessKeys(ctx, keys)
		if err != nil {
			return err
		}
		var ms []*store.Message
		for i, m := range msgs {
			if claimed[keys[i].Key] {
				out[i] = m
				ms = append(ms, m)
			}
		}
		if len(ms) == 0 {
			return nil
		}
		if err := tx.InsertMessages(ctx, ms); err != nil {
			return err
		}
		for i, m := range out {
			if m != nil {
				if err := tx.Audit(ctx, receivedAudit(m, batch[i].req.in)); err != nil {
					return err
				}
			}
		}
		opts, err := h.batchFairOpts(ctx, tx, ms)
		if err != nil {
			return err
		}
		ctxs := make([]context.Context, 0, len(ms))
		for i, m := range out {
			if m != nil {
				ctxs = append(ctxs, batch[i].ctx)
			}
		}
		return h.q.InsertParamsTx(ctx, tx, processJobs(ms, opts, ctxs))
	})
	return out, err
}

// batchFairOpts returns the insert options of the process_message jobs of ms, stored in tx in
// this order: each job sees the backlog its message would have seen stored alone after the ones
// before it (see fairOpts).
func (h *Hub) batchFairOpts(ctx context.Context, tx *store.Tx, ms []*store.Message) ([]*river.InsertOpts, error) {
	opts := make([]*river.InsertOpts, len(ms))
	if h.fair <= 0 {
		return opts, nil
	}
	per := map[string]int{} // messages of each partner in ms
	for _, m := range ms {
		per[m.Partner]++
	}
	base := map[string]int{} // each partner's backlog before ms
	for p, n := range per {
		waiting, err := tx.PartnerBacklog(ctx, store.BacklogMessages, p, h.fair+n+1)
		if err != nil {
			return nil, err
		}
		base[p] = waiting - n
	}
	for i, m := range ms {
		base[m.Partner]++
		opts[i] = h.fairOpts(base[m.Partner])
	}
	return opts, nil
}
