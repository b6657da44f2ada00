package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/store"
)

// Change request kinds.
const (
	changeCancel = "cancel" // cancel the order
	changeLines  = "change" // an OrderEdit: new quantities, removed lines
)

const (
	// changeTimeout bounds one attempt of the worker to apply a change request through the ERP;
	// changeLease (longer) is how long the attempt holds the request against other replicas.
	changeTimeout = 10 * time.Second
	changeLease   = changeTimeout + 20*time.Second
	// changeTryNow bounds the attempt made while the request that filed it waits.
	changeTryNow = 3 * time.Second
	// changeRetryMax caps the backoff between attempts while the ERP is away.
	changeRetryMax = 5 * time.Minute
)

// ChangeDecision is the data of a change_request.updated event: the decided change request and
// the order as it is afterwards.
type ChangeDecision struct {
	ChangeRequest ChangeRequest `json:"change_request"`
	Order         Order         `json:"order"`
}

// fileChange stores a change request of an accepted order in tx, with its audit record. The
// request is then applied by tryChange (at once) or the change worker (later).
func (s *Server) fileChange(ctx context.Context, tx *store.Tx, p *Principal, o *waybill.Order, kind, detail string) (*store.ChangeRequest, error) {
	// The request that files it tries it first (tryChange); the change worker leaves it alone
	// until that try's time is up, or the worker could take it first and the customer be
	// answered "requested" for a change the ERP decides a moment later.
	cr := &store.ChangeRequest{ID: store.NewID("chg"), Account: p.Account, OrderID: o.ID, Kind: kind, Detail: detail, State: store.ChangeRequested,
		NextAt: s.now().Add(changeTryNow)}
	if err := tx.InsertChangeRequest(ctx, cr); err != nil {
		return nil, err
	}
	what := "change"
	if kind == changeCancel {
		what = "cancellation"
	}
	rec := store.AuditRecord{Kind: "order.change_requested", CorrelationID: o.CorrelationID, Partner: o.Partner, Subject: o.ID,
		Actor: "portal key " + p.Key.ID, Summary: what + " requested after acceptance (change request " + cr.ID + ")",
		Refs: []string{o.PONumber, o.ID, cr.ID, o.ERP.Name}}
	if kind == changeLines {
		rec.Detail = map[string]any{"change": detail}
	}
	return cr, tx.Audit(ctx, rec)
}

// tryChange makes the first attempt at a change request just filed, bounded by changeTryNow, so
// that a healthy ERP decides it before the customer is answered. An attempt that cannot finish is
// left to the change worker.
func (s *Server) tryChange(ctx context.Context, cr *store.ChangeRequest) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), changeTryNow)
	defer cancel()
	s.applyChange(tctx, cr)
}

// changeLoop applies the due change requests every DispatchInterval until ctx ends. A request
// stays due while the ERP is away (with backoff), so none is lost to an outage or a restart.
func (s *Server) changeLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.DispatchInterval)
	defer t.Stop()
	for {
		s.applyDueChanges(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// applyDueChanges attempts the due change requests, oldest first, one at a time.
func (s *Server) applyDueChanges(ctx context.Context) {
	due, err := s.db.DueChangeRequests(ctx, s.now(), 20)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("reading due change requests", "error", err)
		}
		return
	}
	for _, cr := range due {
		if ctx.Err() != nil {
			return
		}
		actx, cancel := context.WithTimeout(ctx, changeTimeout)
		s.applyChange(actx, cr)
		cancel()
	}
}

// changeOutcome is how a change request was decided.
type changeOutcome struct {
	state   store.ChangeState
	reason  string
	cancel  bool                 // the ERP cancelled the order
	lines   []waybill.ERPLine    // the ERP's lines after the applied changes
	changes []waybill.LineChange // the applied changes
}

// applyChange makes one attempt at a requested change request: after the order's older requests
// are decided, it leases the request, applies it through the ERP and records the decision, or
// records the attempt for a retry when the ERP did not answer.
func (s *Server) applyChange(ctx context.Context, cr *store.ChangeRequest) {
	all, err := s.db.ChangeRequests(ctx, cr.OrderID)
	if err != nil {
		return
	}
	for _, c := range all {
		if c.ID == cr.ID {
			break
		}
		if c.State == store.ChangeRequested {
			return // an older request of the order goes first
		}
	}
	if ok, err := s.db.ClaimChangeRequest(ctx, cr, s.now().Add(changeLease)); err != nil || !ok {
		return
	}
	rec, err := s.db.Order(ctx, cr.OrderID)
	if err != nil {
		s.retryChange(ctx, cr, fmt.Errorf("loading order %s: %w", cr.OrderID, err))
		return
	}
	out, err := s.decideChange(ctx, rec.Order, cr)
	if err != nil {
		s.retryChange(ctx, cr, err)
		return
	}
	if err := s.recordChange(context.WithoutCancel(ctx), cr, out); err != nil && !errors.Is(err, store.ErrConflict) {
		s.retryChange(ctx, cr, err)
	}
}

// retryChange leaves a change request requested, due again after a backoff, or after the wait
// the error asks for (jobs.Waiter) when that is longer.
func (s *Server) retryChange(ctx context.Context, cr *store.ChangeRequest, cause error) {
	cr.LastError = cause.Error()
	wait := jobs.Backoff{Base: s.cfg.DispatchInterval, Max: changeRetryMax}.Delay(cr.Attempts + 1)
	var w jobs.Waiter
	if errors.As(cause, &w) && w.Wait() > wait {
		wait = w.Wait() // an open circuit breaker, a Retry-After
	}
	next := s.now().Add(wait)
	log := s.log.Info
	if waybill.Code(cause) != waybill.EUNAVAILABLE && !errors.Is(cause, context.DeadlineExceeded) {
		log = s.log.Warn
	}
	log("change request not applied yet", "change_request", cr.ID, "order", cr.OrderID, "attempt", cr.Attempts+1, "error", cause)
	if err := s.db.RetryChangeRequest(context.WithoutCancel(ctx), cr, next); err != nil {
		s.log.Warn("recording an attempt of a change request", "change_request", cr.ID, "error", err)
	}
}

// refusedByERP reports whether err is the ERP's final answer to a change (a business rejection,
// an unknown order or line) rather than a failure to reach it.
func refusedByERP(err error) bool {
	switch waybill.Code(err) {
	case waybill.EREJECTED, waybill.EINVALID, waybill.ENOTFOUND, waybill.ECONFLICT:
		return true
	}
	return false
}

// decideChange applies cr to order o through the ERP, where the order may still change (see
// waybill.Order.ChangeRefusal). It returns the decision, or an error when the ERP did not answer
// (the request stays requested).
func (s *Server) decideChange(ctx context.Context, o *waybill.Order, cr *store.ChangeRequest) (changeOutcome, error) {
	refuse := func(format string, args ...any) (changeOutcome, error) {
		return changeOutcome{state: store.ChangeRefused, reason: fmt.Sprintf(format, args...)}, nil
	}
	if why := o.ChangeRefusal(); why != "" {
		return refuse("%s", why)
	}
	if cr.Kind == changeCancel {
		err := s.erp.CancelOrder(ctx, o.ERP)
		switch {
		case err == nil:
			return changeOutcome{state: store.ChangeAccepted, cancel: true}, nil
		case refusedByERP(err):
			return refuse("the ERP refused to cancel order %s (%s)", o.PONumber, waybill.Message(err))
		}
		return changeOutcome{}, fmt.Errorf("cancelling %s in the ERP: %w", o.ERP.Name, err)
	}
	if _, ok := s.erp.(waybill.OrderChanger); !ok {
		return refuse("the ERP cannot change order lines; only cancellations are applied")
	}
	var edit OrderEdit
	if err := json.Unmarshal([]byte(cr.Detail), &edit); err != nil {
		return refuse("the change request cannot be read")
	}
	changes, refused := lineChanges(o, &edit)
	if len(changes) == 0 {
		if len(refused) == 0 {
			return refuse("the change asks for nothing that differs from the order")
		}
		return refuse("%s", strings.Join(refused, "; "))
	}
	lines, err := waybill.ChangeLines(ctx, s.erp, o.ERP, changes)
	switch {
	case err == nil:
		return changeOutcome{state: store.ChangeAccepted, reason: strings.Join(refused, "; "), lines: lines, changes: changes}, nil
	case refusedByERP(err):
		return refuse("the ERP refused the change (%s)", waybill.Message(err))
	}
	return changeOutcome{}, err
}

// lineChanges translates an edit of an accepted order into changes of its lines, as an 860 is:
// the edit's lines replace the order's, matched by line number, else by SKU. A changed quantity
// is applied, a line left out (or at quantity 0) is cancelled; a new SKU, another SKU on a line
// number, notes and dates cannot change after acceptance and are refused, each with a reason.
// Prices are the ERP's: an edit's unit_price is not applied.
func lineChanges(o *waybill.Order, e *OrderEdit) ([]waybill.LineChange, []string) {
	var refused []string
	if e.Notes != nil {
		refused = append(refused, "notes cannot be changed after acceptance")
	}
	if !e.RequestedDelivery.IsZero() {
		refused = append(refused, "the requested delivery date cannot be changed after acceptance")
	}
	if len(e.Lines) == 0 {
		return nil, refused
	}
	kept := map[string]bool{}
	var changes []waybill.LineChange
	for _, el := range e.Lines {
		ol := matchLine(o, el, kept)
		switch {
		case ol == nil:
			refused = append(refused, fmt.Sprintf("%s: adding items is not supported; place a new order", el.SKU))
			continue
		case !strings.EqualFold(ol.VendorItem, el.SKU):
			kept[ol.Number] = true
			refused = append(refused, fmt.Sprintf("line %s: replacing %s with %s is not supported; place a new order", ol.Number, ol.VendorItem, el.SKU))
			continue
		}
		kept[ol.Number] = true
		qty, err := waybill.ParseDecimal(el.Quantity)
		if err != nil {
			refused = append(refused, fmt.Sprintf("line %s: quantity %q is not a decimal", ol.Number, el.Quantity))
			continue
		}
		if qty.Cmp(current(ol)) == 0 {
			continue
		}
		lc := ol.NewChange()
		if qty.IsZero() {
			lc.Cancel = true
		} else {
			lc.Quantity = qty
		}
		changes = append(changes, lc)
	}
	for i := range o.Lines {
		if ol := &o.Lines[i]; !kept[ol.Number] && current(ol).Sign() > 0 {
			lc := ol.NewChange()
			lc.Cancel = true
			changes = append(changes, lc)
		}
	}
	after := map[string]waybill.Decimal{}
	for i := range o.Lines {
		after[o.Lines[i].Number] = current(&o.Lines[i])
	}
	for _, ch := range changes {
		after[ch.LineNumber] = ch.Quantity
		if ch.Cancel {
			after[ch.LineNumber] = waybill.Zero
		}
	}
	active := 0
	for _, q := range after {
		if q.Sign() > 0 {
			active++
		}
	}
	if len(changes) > 0 && active == 0 {
		return nil, append(refused, "the change would remove every line; cancel the order instead")
	}
	return changes, refused
}

// matchLine finds the order line an edit's line is about: by its line number, else the first
// line with its SKU not yet matched.
func matchLine(o *waybill.Order, el OrderLineRequest, kept map[string]bool) *waybill.Line {
	if el.LineNumber != "" {
		return o.LineByNumber(el.LineNumber)
	}
	for i := range o.Lines {
		if l := &o.Lines[i]; !kept[l.Number] && strings.EqualFold(l.VendorItem, el.SKU) {
			return l
		}
	}
	return nil
}

// current is a line's quantity as the order holds it now: zero once the line is cancelled.
func current(l *waybill.Line) waybill.Decimal {
	if l.Status == waybill.LineRejected && l.Qty.Accepted.IsZero() {
		return waybill.Zero
	}
	return l.Quantity
}

// recordChange writes the decision in one transaction: the request's state and reason, the
// order cancelled or following the ERP's lines, the audit record and the webhooks. It fails
// (and the request stays requested) when another worker decided the request first.
func (s *Server) recordChange(ctx context.Context, cr *store.ChangeRequest, out changeOutcome) error {
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		rec, err := tx.Order(ctx, cr.OrderID)
		if err != nil {
			return err
		}
		o := rec.Order
		d := *cr
		d.State, d.Reason = out.state, out.reason
		if err := tx.DecideChangeRequest(ctx, &d); err != nil {
			return err
		}
		switch {
		case out.cancel && waybill.CheckTransition(o.ID, o.State, waybill.OrderCancelled, waybill.OwnerERP) == nil:
			if _, err := tx.Transition(ctx, rec, waybill.OrderCancelled, waybill.OwnerERP, "portal", "cancelled in the ERP at the customer's request "+cr.ID); err != nil {
				return err
			}
		case out.cancel:
			// Change capture moved the order on (or cancelled it) meanwhile; it follows the ERP.
		case out.state == store.ChangeAccepted:
			o.FollowERPLines(out.lines, out.changes)
			if err := tx.UpdateOrder(ctx, rec); err != nil {
				return err
			}
		}
		if err := tx.Audit(ctx, changeAudit(o, &d, out)); err != nil {
			return err
		}
		v := s.view(ctx, rec, false, false)
		if err := s.Publish(ctx, tx, o.Account, EventChangeRequestUpdated, ChangeDecision{ChangeRequest: viewChange(&d), Order: v}); err != nil {
			return err
		}
		if out.cancel && o.State == waybill.OrderCancelled {
			if err := s.Publish(ctx, tx, o.Account, EventOrderCancelled, v); err != nil {
				return err
			}
		}
		tx.AfterCommit(func() { *cr = d })
		return nil
	})
}

func changeAudit(o *waybill.Order, cr *store.ChangeRequest, out changeOutcome) store.AuditRecord {
	what := "change"
	if cr.Kind == changeCancel {
		what = "cancellation"
	}
	rec := store.AuditRecord{Kind: "order.change_applied", CorrelationID: o.CorrelationID, Partner: o.Partner, Subject: o.ID, Actor: "portal",
		Summary: fmt.Sprintf("%s of %s applied through the ERP %s (change request %s)", what, o.PONumber, o.ERP.Name, cr.ID),
		Detail:  map[string]any{"changes": out.changes, "reason": out.reason}, Refs: []string{o.PONumber, o.ID, cr.ID, o.ERP.Name}}
	if out.state == store.ChangeRefused {
		rec.Kind = "order.change_refused"
		rec.Summary = fmt.Sprintf("%s of %s refused: %s (change request %s)", what, o.PONumber, out.reason, cr.ID)
	}
	return rec
}

// viewChange renders a change request.
func viewChange(c *store.ChangeRequest) ChangeRequest {
	v := ChangeRequest{ID: c.ID, Kind: c.Kind, State: string(c.State), Reason: c.Reason, CreatedAt: c.CreatedAt, DecidedAt: c.DecidedAt}
	if c.Kind == changeLines {
		var e OrderEdit
		if json.Unmarshal([]byte(c.Detail), &e) == nil {
			v.Lines = e.Lines
		}
	}
	return v
}
