package hub

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

// Submitting orders from the job that recorded them.
//
// A validated order used to wait for a submit_order job of its own. The process_message job
// now submits the orders it recorded itself, once they are committed: one job, one fetch and one
// completion fewer per order, and no queueing between validation and the ERP. The durable
// fallbacks are the job queue's:
//
//   - a submission that fails (ERP down, an unknown item, ...) is handed to a submit_order job,
//     which retries, snoozes or dead-letters it under the usual policy;
//   - a hub that dies between recording and submitting leaves the process_message job running;
//     the queue rescues it, and the rerun finds its message processed and schedules a submit_order
//     job for each order still validated (resumeSubmits).
//
// Submitting twice is harmless either way: the ERP finds the sale order created by the hub
// reference before creating one, and recordAccepted acts only on a validated order.

type inlineKey struct{}

// inlineSubmits collects the orders a process_message job recorded, for it to submit.
type inlineSubmits struct {
	mu     sync.Mutex
	orders []*waybill.Order
}

func (in *inlineSubmits) add(o *waybill.Order) {
	in.mu.Lock()
	in.orders = append(in.orders, o)
	in.mu.Unlock()
}

func (in *inlineSubmits) take() []*waybill.Order {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := in.orders
	in.orders = nil
	return out
}

// scheduleSubmit arranges the submission of o, validated inside tx: by the process_message job
// running this transaction when there is one (after the commit), by a submit_order job otherwise.
func (h *Hub) scheduleSubmit(ctx context.Context, tx *store.Tx, o *waybill.Order, messageID string) error {
	if in, ok := ctx.Value(inlineKey{}).(*inlineSubmits); ok {
		tx.AfterCommit(func() { in.add(o) })
		return nil
	}
	var opts *river.InsertOpts
	if h.fair > 0 {
		waiting, err := tx.PartnerBacklog(ctx, store.BacklogOrders, o.Partner, h.fair+1)
		if err != nil {
			return err
		}
		opts = h.fairOpts(waiting)
	}
	return h.q.InsertTx(ctx, tx, SubmitOrder{OrderID: o.ID, CorrelationID: o.CorrelationID, Partner: o.Partner}, opts)
}

// submitInline submits orders (concurrently, so that the ERP batcher can take them together).
// An order that fails permanently is dead-lettered (and put on hold) as its submit_order job
// would have been; one that fails otherwise is handed to a submit_order job.
func (h *Hub) submitInline(ctx context.Context, orders []*waybill.Order) error {
	if len(orders) == 0 {
		return nil
	}
	errs := make([]error, len(orders))
	var wg sync.WaitGroup
	for i, o := range orders {
		wg.Go(func() {
			defer func() {
				if p := recover(); p != nil {
					h.log.ErrorContext(ctx, "submission panicked", "order", o.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
					errs[i] = &waybill.Error{Code: waybill.EINTERNAL, Reason: "panic", Message: fmt.Sprintf("submission panicked: %v", p)}
				}
			}()
			rec := &store.OrderRecord{Order: o, Version: 1}
			errs[i] = h.submit(ctx, submitArgs(o), rec)
		})
	}
	wg.Wait()
	var retry []SubmitOrder
	for i, err := range errs {
		switch {
		case err == nil:
		case waybill.IsPermanent(err) && ctx.Err() == nil:
			if err := h.runner.DeadLetter(context.WithoutCancel(ctx), submitArgs(orders[i]), err); err != nil {
				retry = append(retry, submitArgs(orders[i]))
			}
		default:
			o := orders[i]
			h.log.InfoContext(ctx, "submission handed to a submit_order job", "order", o.ID, "po", o.PONumber, "error", err)
			retry = append(retry, submitArgs(o))
		}
	}
	return h.enqueueSubmits(context.WithoutCancel(ctx), retry)
}

func submitArgs(o *waybill.Order) SubmitOrder {
	return SubmitOrder{OrderID: o.ID, CorrelationID: o.CorrelationID, Partner: o.Partner}
}

// resumeSubmits schedules a submit_order job for every order of msg still validated: the run
// that recorded them ended before submitting them.
func (h *Hub) resumeSubmits(ctx context.Context, msg *store.Message) error {
	if msg.State != store.MessageProcessed {
		return nil
	}
	recs, err := h.db.Orders(ctx, store.OrderFilter{CorrelationID: msg.CorrelationID, State: waybill.OrderValidated, Limit: 500})
	if err != nil {
		return err
	}
	var todo []SubmitOrder
	for _, r := range recs {
		if r.MessageID == msg.ID {
			todo = append(todo, SubmitOrder{OrderID: r.Order.ID, CorrelationID: r.Order.CorrelationID, Partner: r.Order.Partner})
		}
	}
	return h.enqueueSubmits(ctx, todo)
}

func (h *Hub) enqueueSubmits(ctx context.Context, todo []SubmitOrder) error {
	if len(todo) == 0 {
		return nil
	}
	return h.db.InTx(ctx, func(tx *store.Tx) error {
		for _, a := range todo {
			if err := h.q.InsertTx(ctx, tx, a, &river.InsertOpts{UniqueOpts: jobs.UniqueWhileWaiting}); err != nil {
				return err
			}
		}
		return nil
	})
}
