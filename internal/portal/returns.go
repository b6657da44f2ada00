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
	err = s.db.InTx(context.WithoutCancel(ctx), func(tx *store.Tx) error {
		if err := tx.UpdateReturn(ctx, ra); err != nil {
			return err
		}
		if err := tx.Audit(ctx, store.AuditRecord{Kind: "return." + string(ra.State), CorrelationID: rec.Order.CorrelationID, Partner: rec.Order.Partner,
			Subject: ra.ID, Actor: "portal", Summary: fmt.Sprintf("return %s %s by the ERP %s", ra.ID, ra.State, ra.ERP.Name),
			Refs: []string{ra.ID, ra.ERP.Name}}); err != nil {
			return err
		}
		return s.Publish(ctx, tx, ra.Account, EventReturnUpdated, viewReturn(ra))
	})
	if err != nil {
		s.log.Warn("recording the ERP's answer to a return", "return", ra.ID, "error", err)
	}
}

func (s *Server) sendReturns(ctx context.Context) {
	if _, ok := s.erp.(waybill.Returns); !ok {
		return
	}
	pending, err := s.db.PendingReturns(ctx, 20)
	if err != nil {
		return
	}
	for _, ra := range pending {
		if ctx.Err() != nil {
			return
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		s.sendReturn(sctx, ra)
		cancel()
	}
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
