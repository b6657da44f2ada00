package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2/conditional"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// OrderEdit is the body of PATCH /v1/orders/{id}: the fields given replace the order's.
type OrderEdit struct {
	Notes             *string            `json:"notes,omitempty" maxLength:"2000"`
	RequestedDelivery time.Time          `json:"requested_delivery,omitzero" required:"false"`
	Lines             []OrderLineRequest `json:"lines,omitempty" maxItems:"500" doc:"The new lines, replacing all of them"`
}

type editOrderInput struct {
	AccountParam
	conditional.Params
	ID   string `path:"id" maxLength:"64"`
	Body OrderEdit
}

// editOrder changes an order held for review (If-Match required), which a replay then submits as
// edited, or files a change request (202) for an order the ERP accepted, applied through the ERP
// as cancelOrder's is.
func (s *Server) editOrder(ctx context.Context, in *editOrderInput) (*orderOutput, error) {
	p := principal(ctx)
	rec, err := s.ownOrder(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	if len(in.IfMatch) == 0 {
		return nil, problem(http.StatusPreconditionRequired, ProbPreconditionNeeded, "send the order's ETag in If-Match")
	}
	if err := in.PreconditionFailed(strings.Trim(orderETag(rec), `"`), time.Time{}); err != nil {
		return nil, err
	}
	var newLines []waybill.Line
	if len(in.Body.Lines) > 0 {
		req := OrderRequest{PONumber: rec.Order.PONumber, Lines: in.Body.Lines}
		env := envelope{Account: p.Account}
		details, err := s.prevalidate(ctx, p.Account, &req, &env)
		if err != nil {
			s.log.Info("order edited without pre-validation", "order", rec.Order.ID, "error", err)
		}
		if len(details) > 0 {
			return nil, problem(http.StatusUnprocessableEntity, ProbValidation, "the edited lines cannot be accepted", details...)
		}
		newLines = canonical(&req, env).Lines
	}
	status := http.StatusOK
	var cr *store.ChangeRequest
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		cr = nil
		cur, err := tx.Order(ctx, rec.Order.ID)
		if err != nil {
			return err
		}
		if cur.Version != rec.Version {
			return problem(http.StatusPreconditionFailed, ProbPrecondition, "the order changed meanwhile; read it again")
		}
		o := cur.Order
		switch st := o.State; {
		case st == waybill.OrderReceived, st == waybill.OrderValidated:
			// A submission may be in flight to the ERP: changing the lines under it would make the
			// hub's order and the ERP's differ.
			return problem(http.StatusConflict, ProbNotEditable, "the order is being submitted to the ERP: cancel it, or wait for its acceptance and request a change")
		case st == waybill.OrderOnHold:
			if in.Body.Notes != nil {
				o.Notes = []string{*in.Body.Notes}
			}
			if !in.Body.RequestedDelivery.IsZero() {
				o.RequestedDlv = in.Body.RequestedDelivery
			}
			if newLines != nil {
				for i := range newLines {
					newLines[i].Qty.Ordered = newLines[i].Quantity
				}
				o.Lines = newLines
			}
			if err := tx.UpdateOrder(ctx, cur); err != nil {
				return err
			}
			rec = cur
			return tx.Audit(ctx, store.AuditRecord{Kind: "order.edited", CorrelationID: o.CorrelationID, Partner: o.Partner, Subject: o.ID,
				Actor: "portal key " + p.Key.ID, Summary: fmt.Sprintf("edited by the customer before acceptance (%d lines)", len(o.Lines)),
				Refs: []string{o.PONumber, o.ID}})
		case st.Final():
			return problem(http.StatusConflict, ProbNotEditable, "the order is "+string(st)+" and can no longer be changed")
		default:
			status = http.StatusAccepted
			detail, _ := json.Marshal(in.Body)
			cr, err = s.fileChange(ctx, tx, p, o, changeLines, string(detail))
			return err
		}
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, problem(http.StatusPreconditionFailed, ProbPrecondition, "the order changed meanwhile; read it again")
		}
		return nil, fromErr(err)
	}
	if cr != nil {
		s.tryChange(ctx, cr)
	}
	rec, err = s.ownOrder(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	v := s.view(ctx, rec, true, false)
	return &orderOutput{Status: status, Location: v.StatusURL, ETag: orderETag(rec), Body: v}, nil
}
