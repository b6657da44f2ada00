package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// ReturnRequest is the body of POST /v1/returns.
type ReturnRequest struct {
	OrderID string              `json:"order_id" minLength:"1" maxLength:"64"`
	Reason  string              `json:"reason,omitempty" maxLength:"500"`
	Lines   []ReturnLineRequest `json:"lines" minItems:"1" maxItems:"500"`
}

// ReturnLineRequest is a quantity of a shipped order line to return.
type ReturnLineRequest struct {
	LineNumber string `json:"line_number" minLength:"1" maxLength:"20"`
	Quantity   string `json:"quantity" pattern:"^[0-9]{1,12}(\\.[0-9]{1,6})?$"`
	Reason     string `json:"reason,omitempty" maxLength:"500"`
}

// Return is a return authorisation (RMA) and its state.
type Return struct {
	ID        string       `json:"id"`
	OrderID   string       `json:"order_id"`
	PONumber  string       `json:"po_number,omitempty"`
	State     string       `json:"state" enum:"requested,approved,received,credited,refused"`
	Reason    string       `json:"reason,omitempty"`
	Lines     []ReturnLine `json:"lines"`
	ERPReturn string       `json:"erp_return,omitempty" doc:"The ERP's return delivery, once approved"`
	Credit    string       `json:"credit_note,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
}

// ReturnLine is one returned quantity.
type ReturnLine struct {
	LineNumber string `json:"line_number"`
	SKU        string `json:"sku,omitempty"`
	Quantity   string `json:"quantity"`
	Reason     string `json:"reason,omitempty"`
}

func viewReturn(r *waybill.ReturnAuthorization) Return {
	v := Return{ID: r.ID, OrderID: r.OrderID, PONumber: r.PONumber, State: string(r.State), Reason: r.Reason, Lines: []ReturnLine{},
		ERPReturn: r.ERP.Name, Credit: r.Credit.Name, CreatedAt: r.CreatedAt}
	for _, l := range r.Lines {
		v.Lines = append(v.Lines, ReturnLine{LineNumber: l.LineNumber, SKU: l.VendorItem, Quantity: l.Quantity.String(), Reason: l.Reason})
	}
	return v
}

type createReturnInput struct {
	AccountParam
	Body ReturnRequest
}

type returnOutput struct {
	Status int
	Body   Return
}

// createReturn checks each line against what was shipped (less what earlier returns claim),
// stores the RMA and sends it to the ERP (now, or from the dispatcher while the ERP is away).
func (s *Server) createReturn(ctx context.Context, in *createReturnInput) (*returnOutput, error) {
	p := principal(ctx)
	if _, ok := s.erp.(waybill.Returns); !ok {
		return nil, problem(http.StatusNotImplemented, ProbNotImplemented, "the ERP offers no returns")
	}
	rec, err := s.ownOrder(ctx, in.Body.OrderID)
	if err != nil {
		return nil, err
	}
	o := rec.Order
	if o.ERP.IsZero() {
		return nil, problem(http.StatusUnprocessableEntity, ProbReturnInvalid, "the order has not shipped")
	}
	st, err := s.erp.OrderStatus(ctx, o.ERP)
	if err != nil {
		return nil, fromErr(err)
	}
	earlier, err := s.db.Returns(ctx, store.ReturnFilter{Account: p.Account, OrderID: o.ID, Limit: 500})
	if err != nil {
		return nil, fromErr(err)
	}
	claimed := map[string]waybill.Decimal{}
	for _, r := range earlier {
		if r.State == waybill.ReturnRefused {
			continue
		}
		for _, l := range r.Lines {
			claimed[l.LineNumber] = claimed[l.LineNumber].Add(l.Quantity)
		}
	}
	ra := &waybill.ReturnAuthorization{ID: store.NewID("rma"), Account: p.Account, OrderID: o.ID, PONumber: o.PONumber,
		State: waybill.ReturnRequested, Reason: in.Body.Reason, CreatedAt: s.now()}
	var details []*huma.ErrorDetail
	seen := map[string]bool{}
	for i, rl := range in.Body.Lines {
		loc := fmt.Sprintf("body.lines[%d]", i)
		idx := -1
		for j := range o.Lines {
			if o.Lines[j].Number == rl.LineNumber {
				idx = j
			}
		}
		qty, err := waybill.ParseDecimal(rl.Quantity)
		switch {
		case idx < 0:
			details = append(details, &huma.ErrorDetail{Location: loc + ".line_number", Message: "the order has no line " + rl.LineNumber})
			continue
		case seen[rl.LineNumber]:
			details = append(details, &huma.ErrorDetail{Location: loc + ".line_number", Message: "line " + rl.LineNumber + " appears twice"})
			continue
		case err != nil || qty.Sign() <= 0:
			details = append(details, &huma.ErrorDetail{Location: loc + ".quantity", Message: "quantity must be positive"})
			continue
		}
		seen[rl.LineNumber] = true
		var shipped waybill.Decimal
		if idx < len(st.Lines) {
			shipped = st.Lines[idx].Delivered
		}
		left := shipped.Sub(claimed[rl.LineNumber])
		if qty.Cmp(left) > 0 {
			details = append(details, &huma.ErrorDetail{Location: loc + ".quantity",
				Message: fmt.Sprintf("line %s: %s shipped, %s already returned or requested; at most %s can be returned", rl.LineNumber,
					shipped, claimed[rl.LineNumber], left.Max(waybill.Zero))})
			continue
		}
		ol := o.Lines[idx]
		ra.Lines = append(ra.Lines, waybill.ReturnLine{LineNumber: rl.LineNumber, VendorItem: ol.VendorItem, Quantity: qty, UOM: ol.UOM, Reason: rl.Reason})
	}
	if len(details) > 0 {
		return nil, problem(http.StatusUnprocessableEntity, ProbReturnInvalid, "the return cannot be requested", details...)
	}
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertReturn(ctx, ra); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditRecord{Kind: "return.requested", CorrelationID: o.CorrelationID, Partner: o.Partner, Subject: ra.ID,
			Actor: "portal key " + p.Key.ID, Summary: fmt.Sprintf("return %s requested for %d line(s) of PO %s", ra.ID, len(ra.Lines), o.PONumber),
			Refs: []string{ra.ID, o.ID, o.PONumber}})
	})
	if err != nil {
		return nil, fromErr(err)
	}
	sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	s.sendReturn(sctx, ra)
	cancel()
	return &returnOutput{Status: http.StatusCreated, Body: viewReturn(ra)}, nil
}

// sendReturn asks the ERP for the return delivery of a requested RMA and records its answer;
// while the ERP is away the RMA stays requested and the dispatcher tries again.
func (s *Server) sendReturn(ctx context.Context, ra *waybill.ReturnAuthorization) {
	rets, ok := s.erp.(waybill.Returns)
	if !ok || ra.State != waybill.ReturnRequested {
		return
	}
	rec, err := s.db.Order(ctx, ra.OrderID)
	if err != nil {
		return
	}
	req := waybill.ReturnRequest{HubRef: ra.ID, Customer: rec.Order.Customer, Order: rec.Order.ERP, Reason: ra.Reason}
	for _, l := range ra.Lines {
		if ol := rec.Order.LineByNumber(l.LineNumber); ol != nil {
			req.Lines = append(req.Lines, waybill.ReturnRequestLine{SaleLine: ol.ERPLine, Product: ol.Product, Quantity: l.Quantity})
		}
	}
	res, err := rets.CreateReturn(ctx, req)
	switch {
	case err == nil:
		ra.State, ra.ERP, ra.Credit = res.State, res.Delivery, res.Credit
		if res.State == waybill.ReturnRefused && res.Reason != "" {
			ra.Reason = res.Reason
		}
	case waybill.Code(err) == waybill.EREJECTED || waybill.Code(err) == waybill.EINVALID:
		ra.State, ra.Reason = waybill.ReturnRefused, waybill.Message(err)
	default:
		s.log.Info("return not sent yet", "return", ra.ID, "error", err)
		return
	}
	s.recordReturn(ctx, ra, rec)
}

// recordReturn saves the ERP's new state of a return with its audit record and the
// return.updated webhook, in one transaction.
func (s *Server) recordReturn(ctx context.Context, ra *waybill.ReturnAuthorization, rec *store.OrderRecord) {
	refs := []string{ra.ID, ra.ERP.Name}
	if ra.Credit.Name != "" {
		refs = append(refs, ra.Credit.Name)
	}
	err := s.db.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		if err := tx.UpdateReturn(ctx, ra); err != nil {
			return err
		}
		if err := tx.Audit(ctx, store.AuditRecord{Kind: "return." + string(ra.State), CorrelationID: rec.Order.CorrelationID, Partner: rec.Order.Partner,
			Subject: ra.ID, Actor: "portal", Summary: fmt.Sprintf("return %s %s by the ERP %s", ra.ID, ra.State, firstNonEmpty(ra.Credit.Name, ra.ERP.Name)),
			Refs: refs}); err != nil {
			return err
		}
		return s.Publish(ctx, tx, ra.Account, EventReturnUpdated, viewReturn(ra))
	})
	if err != nil {
		s.log.Warn("recording the ERP's answer to a return", "return", ra.ID, "error", err)
	}
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// returnSendGrace is how long the dispatcher leaves a new RMA to the request that created it
// (which gives the ERP 3 s): two CreateReturn calls at once for one RMA would both find nothing
// and both create a return.
const returnSendGrace = 5 * time.Second

// returnCallTimeout bounds one call to the ERP about a return; returnLease, how long a dispatcher
// holds a return it claimed (store.DB.ClaimReturn), outlasts it, so that another replica's
// dispatcher on the same database does not send or follow the same return meanwhile. A return
// whose call failed is due again once the lease has run out.
const (
	returnCallTimeout = 5 * time.Second
	returnLease       = 2 * returnCallTimeout
)

// sendReturns sends the ERP the RMAs still requested once their grace has passed: those whose
// request could not reach the ERP.
func (s *Server) sendReturns(ctx context.Context) {
	if _, ok := s.erp.(waybill.Returns); !ok {
		return
	}
	cutoff := s.now().Add(-returnSendGrace)
	pending, err := s.db.ReturnsToFollow(ctx, []waybill.ReturnState{waybill.ReturnRequested}, cutoff, 20)
	if err != nil {
		return
	}
	for _, ra := range pending {
		if ctx.Err() != nil || !s.claimReturn(ctx, ra, cutoff) {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, returnCallTimeout)
		s.sendReturn(sctx, ra)
		cancel()
	}
}

// returnFollowTicks is how many dispatcher intervals (Config.DispatchInterval) pass before the
// dispatcher asks the ERP again about an approved or received return: 15 s with the default
// interval, so a busy portal does not poll every open return every second.
const returnFollowTicks = 15

// returnRank orders the states a return moves through; the dispatcher never moves one back.
var returnRank = map[waybill.ReturnState]int{waybill.ReturnRequested: 0, waybill.ReturnApproved: 1, waybill.ReturnReceived: 2,
	waybill.ReturnCredited: 3, waybill.ReturnRefused: 3}

// followReturns asks the ERP about the approved and received returns not checked for
// returnFollowTicks intervals, a batch at a time, and records those whose state moved on (goods
// received, credit note posted, return cancelled in the ERP).
func (s *Server) followReturns(ctx context.Context) {
	rets, ok := s.erp.(waybill.Returns)
	if !ok {
		return
	}
	cutoff := s.now().Add(-returnFollowTicks * s.cfg.DispatchInterval)
	due, err := s.db.ReturnsToFollow(ctx, []waybill.ReturnState{waybill.ReturnApproved, waybill.ReturnReceived}, cutoff, 20)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Warn("reading the returns to follow", "error", err)
		}
		return
	}
	for _, ra := range due {
		if ctx.Err() != nil || !s.claimReturn(ctx, ra, cutoff) {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, returnCallTimeout)
		s.followReturn(sctx, rets, ra)
		cancel()
	}
}

// claimReturn takes a due return for this dispatcher for returnLease; false when another
// dispatcher took it first (or the store could not be asked).
func (s *Server) claimReturn(ctx context.Context, ra *waybill.ReturnAuthorization, cutoff time.Time) bool {
	ok, err := s.db.ClaimReturn(ctx, ra.ID, cutoff, s.now().Add(returnLease))
	if err != nil && ctx.Err() == nil {
		s.log.Warn("claiming a return", "return", ra.ID, "error", err)
	}
	return ok
}

// followReturn reads one return's state in the ERP and records it when it moved forward; either
// way the return is marked as checked.
func (s *Server) followReturn(ctx context.Context, rets waybill.Returns, ra *waybill.ReturnAuthorization) {
	res, err := rets.ReturnStatus(ctx, ra.ID)
	moved := err == nil && (returnRank[res.State] > returnRank[ra.State] || res.State == ra.State && res.Credit != ra.Credit && !res.Credit.IsZero())
	if err != nil {
		s.log.Info("return status not read", "return", ra.ID, "error", err)
	}
	if !moved {
		if err := s.db.TouchReturn(context.WithoutCancel(ctx), ra.ID); err != nil {
			s.log.Warn("marking a return as checked", "return", ra.ID, "error", err)
		}
		return
	}
	rec, err := s.db.Order(ctx, ra.OrderID)
	if err != nil {
		return
	}
	ra.State = res.State
	if !res.Delivery.IsZero() {
		ra.ERP = res.Delivery
	}
	if !res.Credit.IsZero() {
		ra.Credit = res.Credit
	}
	if res.State == waybill.ReturnRefused && res.Reason != "" {
		ra.Reason = res.Reason
	}
	s.recordReturn(ctx, ra, rec)
}

type listReturnsInput struct {
	AccountParam
	ListParams
	OrderID string `query:"order_id" doc:"Only returns of this order"`
	State   string `query:"state" enum:"requested,approved,received,credited,refused," doc:"Only returns in this state"`
}

type listReturnsOutput struct {
	Body struct {
		Items []Return `json:"items"`
		Page
	}
}

func (s *Server) listReturns(ctx context.Context, in *listReturnsInput) (*listReturnsOutput, error) {
	p := principal(ctx)
	before, err := decodeCursor(in.Cursor)
	if err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 50
	}
	rs, err := s.db.Returns(ctx, store.ReturnFilter{Account: p.Account, OrderID: in.OrderID, State: waybill.ReturnState(in.State),
		Before: before, Limit: limit + 1})
	if err != nil {
		return nil, fromErr(err)
	}
	out := &listReturnsOutput{}
	out.Body.Items = []Return{}
	for i, r := range rs {
		if i == limit {
			out.Body.NextCursor = encodeCursor(rs[i-1].ID)
			break
		}
		out.Body.Items = append(out.Body.Items, viewReturn(r))
	}
	return out, nil
}

type returnIDInput struct {
	AccountParam
	ID string `path:"id" maxLength:"64"`
}

func (s *Server) getReturn(ctx context.Context, in *returnIDInput) (*returnOutput, error) {
	p := principal(ctx)
	r, err := s.db.Return(ctx, in.ID)
	if err != nil || r.Account != p.Account {
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fromErr(err)
		}
		return nil, notFound("return")
	}
	return &returnOutput{Status: http.StatusOK, Body: viewReturn(r)}, nil
}
