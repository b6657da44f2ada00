package edi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/store"
)

// POChange is the canonical document an inbound 860 translates to: a buyer's change request for
// one purchase order.
type POChange struct {
	Purpose        string       `json:"purpose,omitempty"` // change, cancel, replace, original
	PONumber       string       `json:"po_number"`
	PODate         time.Time    `json:"po_date,omitzero"`
	ChangeSequence string       `json:"change_sequence,omitempty"`
	Lines          []ChangeLine `json:"lines,omitempty"`
}

// ChangeLine is one line change: Change is add, change, delete, price, quantity or replace;
// Quantity is the line's new quantity.
type ChangeLine struct {
	Number       string          `json:"number"`
	Change       string          `json:"change"`
	Quantity     waybill.Decimal `json:"quantity"`
	UOM          string          `json:"uom,omitempty"`
	UnitPrice    waybill.Decimal `json:"unit_price,omitzero"`
	HasUnitPrice bool            `json:"has_unit_price,omitempty"`
	BuyerItem    string          `json:"buyer_item,omitempty"`
	VendorItem   string          `json:"vendor_item,omitempty"`
	GTIN         string          `json:"gtin,omitempty"`
}

// ChangeAck is the canonical document an 865 is rendered from: the answer to a POChange.
type ChangeAck struct {
	*POChange
	AckType  string            `json:"ack_type"` // AT accepted, AC accepted with refused lines, RJ rejected
	AckDate  time.Time         `json:"ack_date"`
	ERPOrder string            `json:"erp_order,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Lines    []ChangeLineReply `json:"lines"`
}

// ChangeLineReply is the answer to one line change (Status accepted or rejected).
type ChangeLineReply struct {
	ChangeLine
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}

// DecodeChange turns a translated 860 tree into a POChange, refusing fields it does not know.
func DecodeChange(doc map[string]any) (*POChange, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var c POChange
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("the mapping produced a document that is not a PO change: %w", err)
	}
	return &c, nil
}

// decodeInbound checks that an inbound mapping's tree decodes into its canonical document.
func decodeInbound(set string, tree map[string]any) error {
	if set == "860" {
		_, err := DecodeChange(tree)
		return err
	}
	_, err := DecodeOrder(tree)
	return err
}

// preparedChange is an 860 decided outside the transaction (the ERP already applied it when
// accepted), to be recorded and answered inside it.
type preparedChange struct {
	where   waybill.Location
	change  *POChange
	order   *store.OrderRecord // nil when no order matches
	ack     *ChangeAck
	lines   []waybill.ERPLine    // the ERP's lines after an applied change
	changes []waybill.LineChange // the changes the ERP applied
	cancel  bool                 // the ERP cancelled the order
}

// prepareChanges translates every accepted 860 of ics and applies it through the ERP while the
// order is accepted and not yet allocated; otherwise (or when the ERP refuses) the change is
// refused with a reason. ERP calls happen here, outside any transaction; quantities are absolute,
// so a retried job applies nothing twice.
func (f *Flow) prepareChanges(ctx context.Context, p *partner.Profile, ics []*Interchange) ([]preparedChange, error) {
	m, ok := f.Mapping(p.ID, "860", partner.Inbound)
	var out []preparedChange
	for _, ic := range ics {
		for _, g := range ic.Groups {
			for _, s := range g.Sets {
				if !s.Accepted || s.Set.ID != "860" {
					continue
				}
				where := waybill.Location{Partner: p.ID, Interchange: ic.Header.ControlNumber, Group: g.Header.ControlNumber, Set: s.Set.ControlNumber}
				if !ok {
					return nil, &waybill.Error{Code: waybill.EINVALID, Reason: "no_mapping", Message: "the partner's profile lists no 860 mapping", Where: where}
				}
				tree, errs := m.Translate(s.Set, s.Loops)
				c, err := DecodeChange(tree)
				if len(errs) > 0 {
					err = errs[0]
				}
				if err != nil {
					return nil, &waybill.Error{Code: waybill.EINVALID, Reason: "mapping_error", Message: err.Error(), Where: where}
				}
				pc, err := f.decideChange(ctx, p, c)
				if err != nil {
					return nil, err
				}
				pc.where = where
				out = append(out, pc)
			}
		}
	}
	return out, nil
}

func (f *Flow) decideChange(ctx context.Context, p *partner.Profile, c *POChange) (preparedChange, error) {
	pc := preparedChange{change: c, ack: &ChangeAck{POChange: c, AckType: "AT", AckDate: f.now().UTC().Truncate(24 * time.Hour)}}
	refuse := func(format string, args ...any) (preparedChange, error) {
		pc.ack.AckType, pc.ack.Reason = "RJ", fmt.Sprintf(format, args...)
		pc.ack.Lines = nil
		for _, l := range c.Lines {
			pc.ack.Lines = append(pc.ack.Lines, ChangeLineReply{ChangeLine: l, Status: "rejected"})
		}
		return pc, nil
	}
	list, err := f.h.DB().Orders(ctx, store.OrderFilter{PONumber: c.PONumber})
	if err != nil {
		return pc, err
	}
	for _, rec := range list {
		if rec.Order.Partner == p.ID {
			pc.order = rec
			break
		}
	}
	if pc.order == nil {
		return refuse("no order %s from %s", c.PONumber, p.ID)
	}
	o := pc.order.Order
	pc.ack.ERPOrder = o.ERP.Name
	if why := o.ChangeRefusal(); why != "" {
		return refuse("%s", why)
	}
	erp := f.h.ERP()
	if c.Purpose == "cancel" {
		if err := erp.CancelOrder(ctx, o.ERP); err != nil {
			if waybill.Code(err) == waybill.EREJECTED {
				return refuse("the ERP refused to cancel %s (%s)", c.PONumber, waybill.Message(err))
			}
			return pc, fmt.Errorf("cancelling %s in the ERP: %w", o.ERP.Name, err)
		}
		pc.cancel = true
		return pc, nil
	}
	if _, ok := erp.(waybill.OrderChanger); !ok {
		return refuse("the ERP connector cannot change order lines; only cancellations are applied")
	}
	var changes []waybill.LineChange
	for _, l := range c.Lines {
		ol := o.LineByNumber(l.Number)
		reply := ChangeLineReply{ChangeLine: l, Status: "accepted"}
		switch {
		case l.Change == "add" || l.Change == "replace":
			reply.Status, reply.Reason = "rejected", "adding or replacing items is not supported; send a new purchase order"
		case ol == nil:
			reply.Status, reply.Reason = "rejected", fmt.Sprintf("line %s is not on order %s", l.Number, c.PONumber)
		default:
			lc := ol.NewChange()
			if l.Change == "delete" {
				lc.Cancel = true
			} else if !l.Quantity.IsZero() {
				lc.Quantity = l.Quantity
			}
			if l.HasUnitPrice {
				price := l.UnitPrice
				lc.UnitPrice = &price
			}
			changes = append(changes, lc)
		}
		if reply.Status != "accepted" {
			pc.ack.AckType = "AC"
		}
		pc.ack.Lines = append(pc.ack.Lines, reply)
	}
	if len(changes) == 0 {
		return refuse("no line of the change can be applied")
	}
	lines, err := waybill.ChangeLines(ctx, erp, o.ERP, changes)
	if waybill.Code(err) == waybill.EREJECTED {
		return refuse("the ERP refused the change (%s)", waybill.Message(err))
	}
	if err != nil {
		return pc, err
	}
	pc.lines, pc.changes = lines, changes
	return pc, nil
}

// recordChanges writes the outcome of each prepared 860 in tx: the hub order follows the ERP's
// lines (or is cancelled), the audit trail says what was applied or why not, and the 865 answers.
func (f *Flow) recordChanges(ctx context.Context, tx *store.Tx, msg *store.Message, p *partner.Profile, changes []preparedChange) error {
	for _, pc := range changes {
		corr, refs := msg.CorrelationID, []string{pc.change.PONumber, pc.where.Interchange}
		o := &waybill.Order{PONumber: pc.change.PONumber, CorrelationID: corr, Partner: p.ID}
		if pc.order != nil {
			rec, err := tx.Order(ctx, pc.order.Order.ID)
			if err != nil {
				return err
			}
			o, corr = rec.Order, rec.Order.CorrelationID
			refs = append(refs, o.ID)
			switch {
			case pc.cancel:
				if _, err := tx.Transition(ctx, rec, waybill.OrderCancelled, waybill.OwnerERP, "860 cancellation", ""); err != nil {
					return err
				}
			case pc.ack.AckType != "RJ":
				o.FollowERPLines(pc.lines, pc.changes)
				if err := tx.UpdateOrder(ctx, rec); err != nil {
					return err
				}
			}
		}
		kind, summary := "edi.860_applied", fmt.Sprintf("860 for %s applied through the ERP (%s)", pc.change.PONumber, pc.ack.AckType)
		if pc.ack.AckType == "RJ" {
			kind, summary = "edi.860_refused", fmt.Sprintf("860 for %s refused: %s", pc.change.PONumber, pc.ack.Reason)
		}
		if err := tx.Audit(ctx, store.AuditRecord{Kind: kind, CorrelationID: corr, Partner: p.ID, Subject: o.ID, Actor: "edi", Summary: summary,
			Detail: map[string]any{"lines": pc.ack.Lines, "message_id": msg.ID}, Refs: append(refs, msg.ID)}); err != nil {
			return err
		}
		m, ok := f.Mapping(p.ID, "865", partner.Outbound)
		if !ok {
			continue
		}
		tree, err := ToTree(pc.ack)
		if err != nil {
			return err
		}
		o.CorrelationID = corr
		if _, _, err := f.emitSet(ctx, tx, p, m, "865", tree, o, map[string]string{"reference": pc.change.PONumber + "-" + pc.change.ChangeSequence},
			pc.where.Interchange); err != nil {
			var re *renderError
			if errors.As(err, &re) {
				return &waybill.Error{Code: waybill.EINVALID, Reason: ReasonRender, Message: re.Error(), Where: pc.where}
			}
			return err
		}
	}
	return nil
}
