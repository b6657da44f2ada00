package hub

import (
	"context"

	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// Receipts stored together.
//
// Receipts that arrive while others are being stored wait and are then stored together, in one
// transaction: one statement claims their digests, one inserts their messages, one appends their
// audit records and one enqueues their process_message jobs, where storing each alone takes a
// transaction and five statements of its own. Each receipt still returns only once its message
// and its job are durable, and a lone receipt is stored at once, as before.
//
// A receipt whose digest another one claimed (a duplicate) is stored alone after the batch, by
// the path that records duplicates, and so is one with a transport id (two keys to claim) or
// one whose digest appears twice in the batch. When the batch's transaction fails, each of its
// receipts is stored alone, so that one bad receipt fails only itself.

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

// receiveBatch stores the receipts of live and answers each.
func (h *Hub) receiveBatch(live []*pending[receipt, waybill.Receipt]) {
	if len(live) == 1 {
		p := live[0]
		rc, err := h.receiveAlone(p.ctx, p.req.in, p.req.digest)
		p.done <- outcome[waybill.Receipt]{res: rc, err: err}
		return
	}
	ctx, span, cancel := batchContext("receive batch", live)
	defer cancel()
	defer span.End()
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
	if len(batch) > 1 {
		dups, err := h.storeReceipts(ctx, batch)
		if err != nil {
			h.log.WarnContext(ctx, "storing a batch of receipts failed; storing each alone", "receipts", len(batch), "error", err)
			alone = append(alone, batch...)
		} else {
			alone = append(alone, dups...)
		}
	} else {
		alone = append(alone, batch...)
	}
	for _, p := range alone {
		rc, err := h.receiveAlone(p.ctx, p.req.in, p.req.digest)
		p.done <- outcome[waybill.Receipt]{res: rc, err: err}
	}
}

// storeReceipts stores batch in one transaction and answers the receipts it stored; it returns
// those it left alone because their digest was claimed before (duplicates). On error it answers
// none.
func (h *Hub) storeReceipts(ctx context.Context, batch []*pending[receipt, waybill.Receipt]) ([]*pending[receipt, waybill.Receipt], error) {
	msgs := make([]*store.Message, len(batch))
	keys := make([]store.BusinessKey, len(batch))
	for i, p := range batch {
		m := h.newMessage(p.req.in, p.req.digest)
		msgs[i] = m
		keys[i] = store.BusinessKey{Key: receiptKeys(m.Partner, m.Digest, "")[0], Kind: "receipt", MessageID: m.ID, CorrelationID: m.CorrelationID}
	}
	var stored []int
	var dups []*pending[receipt, waybill.Receipt]
	err := h.db.InTx(ctx, func(tx *store.Tx) error {
		stored, dups = stored[:0], dups[:0]
		claimed, err := tx.ClaimBusinessKeys(ctx, keys)
		if err != nil {
			return err
		}
		var ms []*store.Message
		for i, m := range msgs {
			if !claimed[keys[i].Key] {
				dups = append(dups, batch[i])
				continue
			}
			stored = append(stored, i)
			ms = append(ms, m)
		}
		if len(ms) == 0 {
			return nil
		}
		if err := tx.InsertMessages(ctx, ms); err != nil {
			return err
		}
		for _, i := range stored {
			if err := tx.Audit(ctx, receivedAudit(msgs[i], batch[i].req.in)); err != nil {
				return err
			}
		}
		opts, err := h.batchFairOpts(ctx, tx, ms)
		if err != nil {
			return err
		}
		params := make([]river.InsertManyParams, len(ms))
		for j, m := range ms {
			params[j] = river.InsertManyParams{Args: ProcessMessage{MessageID: m.ID, CorrelationID: m.CorrelationID, Partner: m.Partner},
				InsertOpts: opts[j]}
		}
		return h.q.InsertParamsTx(ctx, tx, params)
	})
	if err != nil {
		return nil, err
	}
	for _, i := range stored {
		p, m := batch[i], msgs[i]
		h.obs.MessageReceived(p.req.in.Channel, m.Partner, len(p.req.in.Payload))
		h.log.Debug("message received", "partner", m.Partner, "channel", m.Channel, "message_id", m.ID,
			"correlation_id", m.CorrelationID, "bytes", m.Size)
		p.done <- outcome[waybill.Receipt]{res: waybill.Receipt{MessageID: m.ID, CorrelationID: m.CorrelationID, Digest: m.Digest}}
	}
	return dups, nil
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
