package hub

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

// changeCursor names the stored change-capture cursor.
const changeCursor = "erp.changes"

// PollERPChanges reads the ERP's changes since the stored cursor and schedules a sync of every
// order they touch. It runs periodically on one replica (the queue's leader) and at once when the
// ERP's webhook hints that something changed.
type PollERPChanges struct{}

// Kind implements river.JobArgs.
func (PollERPChanges) Kind() string { return "poll_erp_changes" }

// Subject implements jobs.Args.
func (PollERPChanges) Subject() jobs.Subject { return jobs.Subject{} }

// InsertOpts keeps at most one poll waiting.
func (PollERPChanges) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: jobs.UniqueWhileWaiting}
}

// SyncOrder reads one order's state in the ERP (deliveries, invoices, payments) and moves the
// hub's order along the lifecycle accordingly.
type SyncOrder struct {
	OrderID       string `json:"order_id"`
	CorrelationID string `json:"correlation_id"`
	Partner       string `json:"partner"`
}

// Kind implements river.JobArgs.
func (SyncOrder) Kind() string { return "sync_order" }

// InsertOpts puts syncs in their own, smaller queue (see jobs.QueueERPSync), behind nothing of
// the pipeline's and ahead of nothing of it.
func (SyncOrder) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: jobs.QueueERPSync} }

// Subject implements jobs.Args.
func (a SyncOrder) Subject() jobs.Subject {
	return jobs.Subject{OrderID: a.OrderID, CorrelationID: a.CorrelationID, Partner: a.Partner}
}

// SyncOrders syncs several orders, as many SyncOrder jobs would, reading their ERP views in one
// batch where the ERP can (waybill.StatusBatcher): a poll finding thousands of changed orders
// costs the ERP a few calls per batch instead of a few per order. An order whose sync fails gets
// a SyncOrder job of its own, retried and dead-lettered under the usual policy.
type SyncOrders struct {
	Orders []SyncOrder `json:"orders"`
}

// Kind implements river.JobArgs.
func (SyncOrders) Kind() string { return "sync_orders" }

// Subject implements jobs.Args.
func (a SyncOrders) Subject() jobs.Subject {
	if len(a.Orders) == 1 {
		return a.Orders[0].Subject()
	}
	return jobs.Subject{}
}

// InsertOpts puts batched syncs in the sync queue too.
func (SyncOrders) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: jobs.QueueERPSync} }

// syncBatch is the most orders one SyncOrders job takes.
const syncBatch = 25

// syncJobs groups syncs into SyncOrders jobs of at most syncBatch orders.
func syncJobs(syncs []SyncOrder) []river.JobArgs {
	var out []river.JobArgs
	for len(syncs) > 0 {
		n := min(len(syncs), syncBatch)
		out = append(out, SyncOrders{Orders: syncs[:n:n]})
		syncs = syncs[n:]
	}
	return out
}

type syncBatchWorker struct {
	river.WorkerDefaults[SyncOrders]
	h *Hub
}

func (w *syncBatchWorker) Work(ctx context.Context, job *river.Job[SyncOrders]) error {
	return w.h.runner.Run(ctx, job.JobRow, job.Args, func(ctx context.Context) error {
		return w.h.syncOrders(ctx, job.Args.Orders)
	})
}

// syncOrders reads the ERP's view of the orders of list in one call where the ERP can, then
// records each order's in a transaction of its own. A failed read fails the job (retried as a
// whole); an order whose recording fails is handed to a SyncOrder job of its own.
func (h *Hub) syncOrders(ctx context.Context, list []SyncOrder) error {
	var todo []SyncOrder
	var refs []waybill.ERPRef
	for _, a := range list {
		rec, err := h.db.Order(ctx, a.OrderID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if rec.Order.ERP.IsZero() || rec.Order.State.Final() {
			continue
		}
		todo, refs = append(todo, a), append(refs, rec.Order.ERP)
	}
	if len(todo) == 0 {
		return nil
	}
	if err := h.paceSyncs(ctx, len(todo)); err != nil {
		return err
	}
	var sts []waybill.StatusResult
	if sb, ok := h.erp.(waybill.StatusBatcher); ok {
		var err error
		if sts, err = sb.OrderStatuses(ctx, refs); err != nil {
			return fmt.Errorf("reading the ERP status of %d orders: %w", len(refs), err)
		}
		if len(sts) != len(refs) {
			return waybill.Errorf(waybill.EINTERNAL, "erp_reply", "ERP answered %d of %d status reads", len(sts), len(refs))
		}
	} else {
		sts = make([]waybill.StatusResult, len(refs))
		for i, ref := range refs {
			sts[i].OrderStatus, sts[i].Err = h.erp.OrderStatus(ctx, ref)
			if waybill.IsTransient(sts[i].Err) {
				// The ERP is away, not this order: the batch waits and runs again as a whole.
				return fmt.Errorf("reading ERP status of %s: %w", ref.Name, sts[i].Err)
			}
		}
	}
	var alone []river.JobArgs
	for i, a := range todo {
		err := sts[i].Err
		if err == nil {
			err = h.applySync(ctx, a, sts[i].OrderStatus)
		}
		if err != nil {
			jobs.Logger(ctx).InfoContext(ctx, "order sync handed to a job of its own", "order", a.OrderID, "error", err)
			alone = append(alone, a)
		}
	}
	if len(alone) == 0 {
		return nil
	}
	return h.db.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error { return h.q.InsertManyTx(ctx, tx, alone) })
}

// paceSyncs waits until n more orders may be synced under Config.SyncRate.
func (h *Hub) paceSyncs(ctx context.Context, n int) error {
	if h.syncRate == nil {
		return nil
	}
	return h.syncRate.WaitN(ctx, min(n, h.syncRate.Burst()))
}

// SyncHook runs in the transaction that applies an ERP sync to an order, after its transitions,
// with the ERP's status and the state the order had before; flows use it to emit ship notices
// and invoices for new deliveries and invoices. It must only write through tx.
type SyncHook func(ctx context.Context, tx *store.Tx, q jobs.Queue, o *waybill.Order, st waybill.OrderStatus, from waybill.OrderState) error

// OnSync registers a hook run when an order is synced from the ERP.
func (h *Hub) OnSync(fn SyncHook) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.synced = append(h.synced, fn)
}

type pollWorker struct {
	river.WorkerDefaults[PollERPChanges]
	h *Hub
}

func (w *pollWorker) Work(ctx context.Context, job *river.Job[PollERPChanges]) error {
	return w.h.runner.Run(ctx, job.JobRow, job.Args, func(ctx context.Context) error {
		_, err := w.h.PollChanges(ctx)
		return err
	})
}

type syncWorker struct {
	river.WorkerDefaults[SyncOrder]
	h *Hub
}

func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncOrder]) error {
	return w.h.runner.Run(ctx, job.JobRow, job.Args, func(ctx context.Context) error {
		return w.h.syncOrder(ctx, job.Args)
	})
}

// A poll reads the ERP's changes a page at a time, up to changePages pages (what is left waits
// for the next poll).
const (
	changePage  = 500
	changePages = 20
)

// PollChanges reads one page of ERP changes after the stored cursor, schedules a sync per order
// touched, and advances the cursor, in one transaction. It returns the number of orders scheduled.
// An ERP without change capture makes it a no-op.
func (h *Hub) PollChanges(ctx context.Context) (int, error) {
	feed, ok := h.erp.(waybill.ChangeFeed)
	if !ok {
		return 0, nil
	}
	total := 0
	for page := 0; page < changePages; page++ {
		cursor, err := h.db.Cursor(ctx, changeCursor)
		if err != nil {
			return total, err
		}
		changes, next, err := feed.Changes(ctx, cursor, changePage)
		if err != nil {
			return total, fmt.Errorf("reading ERP changes: %w", err)
		}
		syncs, err := h.ordersFor(ctx, changes)
		if err != nil {
			return total, err
		}
		err = h.db.InTx(ctx, func(tx *store.Tx) error {
			// One statement for the page's syncs: a poll can find hundreds of orders, and on
			// SQLite this transaction holds the one connection the pipeline shares.
			if err := h.q.InsertManyTx(ctx, tx, syncJobs(syncs)); err != nil {
				return err
			}
			if next != cursor {
				return tx.SetCursor(ctx, changeCursor, next)
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += len(syncs)
		if len(changes) < changePage || next == cursor {
			return total, nil
		}
	}
	return total, nil
}

// ordersFor maps ERP changes to the hub orders they belong to; changes to records the hub did
// not create (orders keyed in by hand) are ignored. Orders named by their hub reference are loaded
// in one query: a poll's page maps hundreds of changes.
func (h *Hub) ordersFor(ctx context.Context, changes []waybill.Change) ([]SyncOrder, error) {
	var ids []string
	for _, c := range changes {
		if id := strings.TrimSpace(c.HubRef); id != "" {
			ids = append(ids, id)
		}
	}
	byID := map[string]*waybill.Order{}
	for len(ids) > 0 {
		n := min(len(ids), 1000)
		list, err := h.db.OrderDocs(ctx, ids[:n])
		if err != nil {
			return nil, err
		}
		for _, o := range list {
			byID[o.ID] = o
		}
		ids = ids[n:]
	}
	seen := map[string]bool{}
	var out []SyncOrder
	for _, c := range changes {
		var o *waybill.Order
		if id := strings.TrimSpace(c.HubRef); id != "" {
			o = byID[id]
		} else if c.Order.Name != "" {
			list, err := h.db.Orders(ctx, store.OrderFilter{ERPName: c.Order.Name, Limit: 1})
			if err != nil {
				return nil, err
			}
			if len(list) > 0 {
				o = list[0].Order
			}
		}
		if o == nil || seen[o.ID] {
			continue
		}
		seen[o.ID] = true
		out = append(out, SyncOrder{OrderID: o.ID, CorrelationID: o.CorrelationID, Partner: o.Partner})
	}
	return out, nil
}

// targetState is where the ERP's view puts an order on the main line.
func targetState(st waybill.OrderStatus) waybill.OrderState {
	if st.State == "cancel" {
		return waybill.OrderCancelled
	}
	posted, paid := 0, 0
	for _, inv := range st.Invoices {
		if inv.State != "posted" {
			continue
		}
		posted++
		if inv.PaymentState == waybill.PaymentPaid || inv.PaymentState == waybill.PaymentInPayment {
			paid++
		}
	}
	if posted > 0 {
		if paid == posted && st.InvoiceStatus == "invoiced" {
			return waybill.OrderClosed
		}
		return waybill.OrderInvoiced
	}
	allocated := false
	for _, d := range st.Deliveries {
		switch d.State {
		case "done":
			return waybill.OrderShipped
		case "assigned":
			allocated = true
		}
	}
	if allocated {
		return waybill.OrderAllocated
	}
	return waybill.OrderAccepted
}

// syncOrder applies the ERP's view of one order: line quantities, and the transitions up to the
// state that view implies, each recorded as an event owned by the ERP.
func (h *Hub) syncOrder(ctx context.Context, a SyncOrder) error {
	rec, err := h.db.Order(ctx, a.OrderID)
	if err != nil {
		return err
	}
	if rec.Order.ERP.IsZero() || rec.Order.State.Final() {
		return nil
	}
	if err := h.paceSyncs(ctx, 1); err != nil {
		return err
	}
	st, err := h.erp.OrderStatus(ctx, rec.Order.ERP)
	if err != nil {
		return fmt.Errorf("reading ERP status of %s: %w", rec.Order.ERP.Name, err)
	}
	return h.applySync(ctx, a, st)
}

// applySync records the ERP's view st of a's order: quantities, transitions, audit and the
// flows' hooks, in one transaction.
func (h *Hub) applySync(ctx context.Context, a SyncOrder, st waybill.OrderStatus) error {
	return h.db.InTx(ctx, func(tx *store.Tx) error {
		rec, err := tx.Order(ctx, a.OrderID)
		if err != nil {
			return err
		}
		o := rec.Order
		from := o.State
		qtyChanged := applyQuantities(o, st)
		target := targetState(st)
		var path []waybill.OrderState
		switch {
		case target == waybill.OrderCancelled:
			if waybill.CheckTransition(o.ID, o.State, waybill.OrderCancelled, waybill.OwnerERP) == nil {
				path = []waybill.OrderState{waybill.OrderCancelled}
			}
		default:
			path = waybill.PathTo(o.State, target)
		}
		for _, s := range path {
			by := waybill.OwnerERP
			if s == waybill.OrderClosed {
				by = waybill.OwnerPayment
			}
			if _, err := tx.Transition(ctx, rec, s, by, "erp change capture", ""); err != nil {
				return err
			}
			h.obs.OrderTransition(o.Partner, s)
		}
		if len(path) == 0 && qtyChanged {
			if err := tx.UpdateOrder(ctx, rec); err != nil {
				return err
			}
		}
		if len(path) > 0 || qtyChanged {
			refs := []string{o.ERP.Name, o.PONumber, o.ID}
			var docs []string
			for _, d := range st.Deliveries {
				refs = append(refs, d.Ref.Name)
				docs = append(docs, fmt.Sprintf("%s %s", d.Ref.Name, d.State))
			}
			for _, inv := range st.Invoices {
				refs = append(refs, inv.Number)
				docs = append(docs, fmt.Sprintf("%s %s/%s", inv.Number, inv.State, inv.PaymentState))
			}
			sort.Strings(docs)
			summary := fmt.Sprintf("ERP %s: %s → %s", o.ERP.Name, from, o.State)
			if len(docs) > 0 {
				summary += " (" + strings.Join(docs, ", ") + ")"
			}
			if err := tx.Audit(ctx, store.AuditRecord{Kind: "erp.sync", CorrelationID: o.CorrelationID, Partner: o.Partner, Subject: o.ID,
				Actor: "sync_order", Summary: summary, Detail: map[string]any{"delivery_status": st.DeliveryStatus,
					"invoice_status": st.InvoiceStatus, "erp_state": st.State}, Refs: refs}); err != nil {
				return err
			}
		}
		h.mu.RLock()
		hooks := h.synced
		h.mu.RUnlock()
		for _, hook := range hooks {
			if err := hook(ctx, tx, h.q, o, st, from); err != nil {
				return err
			}
		}
		return nil
	})
}

// applyQuantities copies the ERP's delivered and invoiced quantities onto the order's lines (in
// the order the lines were given to the ERP) and derives what is allocated and backordered. It
// reports whether anything changed.
func applyQuantities(o *waybill.Order, st waybill.OrderStatus) bool {
	reserved := map[int64]waybill.Decimal{}
	open := map[int64]bool{}
	for _, d := range st.Deliveries {
		if d.State == "done" || d.State == "cancel" {
			continue
		}
		for _, m := range d.Moves {
			open[m.Product.ID] = true
			if d.State == "assigned" {
				reserved[m.Product.ID] = reserved[m.Product.ID].Add(m.Demand)
			}
		}
	}
	changed := false
	for i := range o.Lines {
		if i >= len(st.Lines) {
			break
		}
		l, el := &o.Lines[i], st.Lines[i]
		q := l.Qty
		q.Shipped, q.Invoiced = el.Delivered, el.Invoiced
		q.Allocated = el.Delivered.Add(reserved[el.Product.ID]).Min(q.Accepted)
		q.Backordered = waybill.Zero
		if el.Delivered.Sign() > 0 && open[el.Product.ID] {
			q.Backordered = q.Accepted.Sub(el.Delivered).Max(waybill.Zero)
		}
		if q != l.Qty {
			l.Qty, changed = q, true
		}
	}
	return changed
}

// ReconcileOpen schedules a sync of up to limit orders that the ERP still owns (accepted through
// invoiced) and that have not moved for at least idle. Change capture is the fast path; this is
// the safety net for what a poll can miss, such as two writes to one record within the same
// second of Odoo's write_date. It returns the number of orders scheduled.
func (h *Hub) ReconcileOpen(ctx context.Context, idle time.Duration, limit int) (int, error) {
	var syncs []SyncOrder
	cutoff := h.now().Add(-idle)
	for _, s := range []waybill.OrderState{waybill.OrderAccepted, waybill.OrderAllocated, waybill.OrderFulfilled,
		waybill.OrderShipped, waybill.OrderInvoiced} {
		list, err := h.db.Orders(ctx, store.OrderFilter{State: s, Limit: limit})
		if err != nil {
			return 0, err
		}
		for _, rec := range list {
			if rec.UpdatedAt.Before(cutoff) && len(syncs) < limit {
				syncs = append(syncs, SyncOrder{OrderID: rec.Order.ID, CorrelationID: rec.Order.CorrelationID, Partner: rec.Order.Partner})
			}
		}
	}
	if len(syncs) == 0 {
		return 0, nil
	}
	return len(syncs), h.db.InTx(ctx, func(tx *store.Tx) error { return h.q.InsertManyTx(ctx, tx, syncJobs(syncs)) })
}

// ReconcileERP is the periodic job running ReconcileOpen.
type ReconcileERP struct {
	IdleSeconds int `json:"idle_seconds"`
}

// Kind implements river.JobArgs.
func (ReconcileERP) Kind() string { return "reconcile_erp" }

// Subject implements jobs.Args.
func (ReconcileERP) Subject() jobs.Subject { return jobs.Subject{} }

type reconcileWorker struct {
	river.WorkerDefaults[ReconcileERP]
	h *Hub
}

func (w *reconcileWorker) Work(ctx context.Context, job *river.Job[ReconcileERP]) error {
	return w.h.runner.Run(ctx, job.JobRow, job.Args, func(ctx context.Context) error {
		_, err := w.h.ReconcileOpen(ctx, time.Duration(job.Args.IdleSeconds)*time.Second, 500)
		return err
	})
}
