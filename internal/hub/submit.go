package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

type submitWorker struct {
	river.WorkerDefaults[SubmitOrder]
	h *Hub
}

func (w *submitWorker) Work(ctx context.Context, job *river.Job[SubmitOrder]) error {
	return w.h.runner.Run(ctx, job.JobRow, job.Args, func(ctx context.Context) error {
		return w.h.submitOrder(ctx, job.Args)
	})
}

func submitArgsJSON(o *waybill.Order) string {
	b, _ := json.Marshal(SubmitOrder{OrderID: o.ID, CorrelationID: o.CorrelationID, Partner: o.Partner})
	return string(b)
}

// submitOrder resolves the order's customer and items in the ERP, has the ERP create (find before
// create, on the hub reference) and confirm the sale order, and records the acceptance with the
// ERP's lines and prices. It is idempotent: an order already past validation is left alone, and a
// retry after a crash finds the sale order created the first time.
func (h *Hub) submitOrder(ctx context.Context, a SubmitOrder) error {
	rec, err := h.db.Order(ctx, a.OrderID)
	if err != nil {
		return err
	}
	return h.submit(ctx, a, rec)
}

// submit is submitOrder for an order already read (or just recorded).
func (h *Hub) submit(ctx context.Context, a SubmitOrder, rec *store.OrderRecord) error {
	o := rec.Order
	switch o.State {
	case waybill.OrderValidated, waybill.OrderOnHold:
	default:
		return nil // already accepted, rejected or cancelled
	}
	p, err := h.partner(o.Partner)
	if err != nil {
		return err
	}
	if err := h.resolve(ctx, o, p); err != nil {
		return err
	}
	draft := waybill.OrderDraft{HubRef: o.ID, PONumber: o.PONumber, PODate: o.PODate, Customer: o.Customer,
		ShipTo: o.ShipTo.ERP, BillTo: o.BillTo.ERP, Pricelist: o.Pricelist, RequestedDate: o.RequestedShip}
	for _, l := range o.Lines {
		dl := waybill.DraftLine{LineNumber: l.Number, Product: l.Product, Quantity: l.Quantity, UOM: l.UOM, Description: l.Description}
		if l.HasUnitPrice {
			price := l.UnitPrice
			dl.Price = &price
		}
		draft.Lines = append(draft.Lines, dl)
	}
	answer, err := h.batch.do(ctx, draft)
	created, conf := answer.created, answer.conf
	if err != nil {
		return fmt.Errorf("submitting order %s to the ERP: %w", o.ID, err)
	}
	acc := acceptance{orderID: a.OrderID, rec: rec, created: created, conf: conf}
	touched, err := h.accepts.do(ctx, acc)
	if errors.Is(err, errAlone) || errors.Is(err, errClosed) {
		if touched {
			acc.rec = nil // changed in memory by a failed batch: read it again
		}
		err = h.recordAlone(ctx, acc)
	}
	return err
}

// acceptance is an order the ERP accepted, waiting to be recorded.
type acceptance struct {
	orderID string
	rec     *store.OrderRecord // as read (or just recorded); nil to read it again
	created waybill.OrderResult
	conf    waybill.Confirmation
}

// recordAlone records one acceptance in a transaction of its own. The order as read (or just
// recorded) is saved unless it changed meanwhile, which its version tells; a second try (after
// that conflict, or a retried transaction) reads it again.
func (h *Hub) recordAlone(ctx context.Context, a acceptance) error {
	record := func(tx *store.Tx) error {
		r := a.rec
		if r == nil {
			var err error
			if r, err = tx.Order(ctx, a.orderID); err != nil {
				return err
			}
		}
		a.rec = nil
		return h.recordAccepted(ctx, tx, r, a.created, a.conf)
	}
	err := h.db.InTx(ctx, record)
	if errors.Is(err, store.ErrConflict) {
		err = h.db.InTx(ctx, record)
	}
	return err
}

// Acceptances recorded together.
//
// The ERP answers a batch of orders at once, and each order's acceptance was then recorded in a
// transaction of its own. The acceptances that wait at the same time are now recorded in one
// transaction: each order's state change and the jobs its hooks enqueue still commit together,
// and the events and audit records of all of them take one statement. When that transaction
// fails (an order changed meanwhile, a hook failed) or panics, each is recorded alone by its
// caller, after reading its order again, so that one failure fails (or one panic panics) only
// its own order.

const (
	acceptBatchSize     = 64
	acceptBatchParallel = 2
)

func (h *Hub) newAcceptBatcher() *coalescer[acceptance, bool] {
	return newCoalescer(acceptBatchSize, acceptBatchParallel, h.recordBatch)
}

// recordBatch records the acceptances of live in one transaction (a lone one too), or leaves each
// to its caller to record alone (errAlone, with true: the failed transaction may have changed its
// order in memory).
func (h *Hub) recordBatch(live []*pending[acceptance, bool]) {
	ctx, span, cancel := batchContext("record acceptances", live)
	defer cancel()
	defer span.End()
	err := h.recordAll(ctx, live)
	if err != nil {
		h.log.InfoContext(ctx, "recording a batch of acceptances failed; recording each alone", "orders", len(live), "error", err)
	}
	for _, p := range live {
		if err != nil {
			p.done <- outcome[bool]{res: true, err: errAlone}
		} else {
			p.done <- outcome[bool]{}
		}
	}
}

// recordAll records every acceptance of live in one transaction. A panic is returned as an error.
func (h *Hub) recordAll(ctx context.Context, live []*pending[acceptance, bool]) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("recording acceptances panicked: %v", p)
		}
	}()
	attempts := 0
	return h.db.InTx(ctx, func(tx *store.Tx) error {
		attempts++
		for _, p := range live {
			r := p.req.rec
			if attempts > 1 { // a retried transaction: the orders as read were changed by the first try
				var err error
				if r, err = tx.Order(ctx, p.req.orderID); err != nil {
					return err
				}
			}
			if err := h.recordAccepted(ctx, tx, r, p.req.created, p.req.conf); err != nil {
				return err
			}
		}
		return nil
	})
}

// resolve fills the ERP references of the customer and the lines' products.
func (h *Hub) resolve(ctx context.Context, o *waybill.Order, p waybill.Partner) error {
	if o.Customer.IsZero() {
		if !p.Customer.IsZero() {
			o.Customer = p.Customer
		} else {
			code := o.Account
			if code == "" {
				code = p.ID
			}
			c, err := h.erp.FindCustomer(ctx, waybill.PartyKey{Code: code, Ref: code, Partner: p.ID})
			if err != nil {
				return locate(err, waybill.Location{Partner: p.ID, Document: "PO " + o.PONumber, Field: "account"})
			}
			o.Customer = c.Ref
			if o.Pricelist.IsZero() {
				o.Pricelist = c.Pricelist
			}
		}
	}
	keys := make([]waybill.ProductKey, len(o.Lines))
	for i, l := range o.Lines {
		keys[i] = waybill.ProductKey{SKU: l.VendorItem, GTIN: l.GTIN, CustomerItem: l.BuyerItem, Customer: o.Customer}
	}
	res, err := h.erp.FindProducts(ctx, keys)
	if err != nil {
		return err
	}
	for i, r := range res {
		if r.Err != nil {
			return locate(r.Err, waybill.Location{Partner: p.ID, Document: "PO " + o.PONumber, Line: o.Lines[i].Number, Field: "item"})
		}
		o.Lines[i].Product = r.Product.Ref
		if o.Lines[i].VendorItem == "" {
			o.Lines[i].VendorItem = r.Product.SKU
		}
	}
	return nil
}

// locate adds a location to a coded error that has none.
func locate(err error, where waybill.Location) error {
	var we *waybill.Error
	if errors.As(err, &we) {
		if we.Where == (waybill.Location{}) {
			cp := *we
			cp.Where = where
			return &cp
		}
		return err
	}
	return err
}

// recordAccepted records, in tx, the ERP's acceptance of rec's order: its sale order, lines and
// prices, and the transition to accepted. It leaves an order no longer validated alone.
func (h *Hub) recordAccepted(ctx context.Context, tx *store.Tx, rec *store.OrderRecord, created waybill.OrderResult, conf waybill.Confirmation) error {
	o := rec.Order
	if o.State == waybill.OrderOnHold {
		if _, err := tx.Transition(ctx, rec, waybill.OrderValidated, waybill.OwnerHub, "submit_order", "released"); err != nil {
			return err
		}
	}
	if o.State != waybill.OrderValidated {
		return nil
	}
	o.ERP = created.Order
	if !conf.Order.IsZero() {
		o.ERP = conf.Order
	}
	for i := range o.Lines {
		l := &o.Lines[i]
		l.Qty.Accepted = l.Quantity
		l.Status = waybill.LineAccepted
		if i < len(conf.Lines) {
			el := conf.Lines[i]
			l.ERPLine = el.Ref
			if l.HasUnitPrice && el.UnitPrice != l.UnitPrice {
				l.Status = waybill.LinePriceChanged
			}
			if el.Quantity != l.Quantity {
				l.Qty.Accepted = el.Quantity
				l.Status = waybill.LineQtyChanged
			}
			if el.Backordered.Sign() > 0 {
				l.Qty.Backordered = el.Backordered
				l.Status, l.PromisedShip = waybill.LineBackordered, el.PromisedDate
			}
			l.UnitPrice, l.HasUnitPrice = el.UnitPrice, true
		}
	}
	// Written at commit with the other acceptances of the transaction, in one statement.
	if _, err := tx.TransitionAtCommit(ctx, rec, waybill.OrderAccepted, waybill.OwnerERP, "submit_order", ""); err != nil {
		return err
	}
	h.obs.OrderTransition(o.Partner, waybill.OrderAccepted)
	verb := "created"
	if !created.Created {
		verb = "found (created by an earlier attempt)"
	}
	if err := tx.Audit(ctx, store.AuditRecord{Kind: "erp.order", CorrelationID: o.CorrelationID, Partner: o.Partner, Subject: o.ID,
		Actor: "submit_order", Summary: fmt.Sprintf("sale order %s %s and confirmed for PO %s", o.ERP.Name, verb, o.PONumber),
		Detail: map[string]any{"erp_id": o.ERP.ID, "erp_model": o.ERP.Model, "created": created.Created, "state": conf.State,
			"untaxed": conf.Untaxed.String(), "total": conf.Total.String()},
		Refs: []string{o.ERP.Name}}); err != nil { // PO and order were linked when the order was recorded
		return err
	}
	h.mu.RLock()
	hooks := h.accepted
	h.mu.RUnlock()
	for _, hook := range hooks {
		if err := hook(ctx, tx, h.q, o); err != nil {
			return err
		}
	}
	return nil
}

// onDeadLetter puts an order whose submission failed permanently on hold, so that it shows as an
// exception, and marks a message whose processing failed as dead.
func (h *Hub) onDeadLetter(ctx context.Context, tx *store.Tx, d *store.DeadLetter) error {
	if d.OrderID != "" {
		rec, err := tx.Order(ctx, d.OrderID)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil
			}
			return err
		}
		if rec.Order.State == waybill.OrderValidated || rec.Order.State == waybill.OrderReceived {
			if _, err := tx.Transition(ctx, rec, waybill.OrderOnHold, waybill.OwnerHub, d.JobKind, d.Reason+": "+d.Message); err != nil {
				return err
			}
			h.obs.OrderTransition(rec.Order.Partner, waybill.OrderOnHold)
		}
	}
	if d.MessageID != "" {
		if err := tx.SetMessageState(ctx, d.MessageID, store.MessageDead); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}
