package edi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/x12"
)

// ReasonAckRejected is the dead-letter reason of an outbound document the partner's 997/999
// rejected.
const ReasonAckRejected = "ack_rejected"

// rejected reports whether an AK5/IK5 (or AK9 for a whole group) status refuses the set: R
// rejected, M/W/X rejected for security or content. A and E (accepted, with errors noted) do not.
func rejected(status string) bool {
	switch status {
	case "R", "M", "W", "X":
		return true
	}
	return false
}

// recordAcks matches every inbound 997/999 of ics (functional groups FA) to the outbound sets it
// acknowledges, by the partner, GS06 and ST02, inside the processing transaction tx. A group
// acknowledged without AK2/IK2 detail gives every set of the group the group's status. A rejected
// set becomes a visible exception: a dead letter with the AK3/AK4 (IK3/IK4) detail, the audit
// record edi.ack_rejected, and, for an 856 or 810, its fulfilment record marked rejected so that
// a replay (a new sync of the order) sends a corrected document with new control numbers.
// Acknowledgements that match nothing are audited (edi.ack_unmatched), never errors.
func (f *Flow) recordAcks(ctx context.Context, tx *store.Tx, msg *store.Message, p *partner.Profile, ics []*Interchange) error {
	for _, ic := range ics {
		for _, g := range ic.Groups {
			if g.Header.FunctionalID != "FA" {
				continue
			}
			for _, s := range g.Sets {
				if s.Set.ID != "997" && s.Set.ID != "999" {
					continue
				}
				r, err := x12.ParseAck(s.Set)
				if err != nil {
					if err := tx.Audit(ctx, store.AuditRecord{Kind: "edi.ack_unreadable", CorrelationID: msg.CorrelationID, Partner: p.ID,
						Subject: msg.ID, Actor: "edi", Summary: fmt.Sprintf("%s %s from %s not readable: %v", s.Set.ID, s.Set.ControlNumber, p.ID, err),
						Refs: []string{ic.Header.ControlNumber, msg.ID}}); err != nil {
						return err
					}
					continue
				}
				if err := f.matchAck(ctx, tx, msg, p, r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (f *Flow) matchAck(ctx context.Context, tx *store.Tx, msg *store.Message, p *partner.Profile, r *x12.AckReport) error {
	detail := map[string]x12.AckedSet{}
	for _, as := range r.Sets {
		detail[as.ControlNumber] = as
	}
	var sets []*store.EDIOutbound
	if len(r.Sets) == 0 {
		all, err := tx.EDIOutboundSets(ctx, p.ID, r.GroupControl, "")
		if err != nil {
			return err
		}
		sets = all
	} else {
		for _, as := range r.Sets {
			found, err := tx.EDIOutboundSets(ctx, p.ID, r.GroupControl, as.ControlNumber)
			if err != nil {
				return err
			}
			if len(found) == 0 {
				if err := tx.Audit(ctx, store.AuditRecord{Kind: "edi.ack_unmatched", CorrelationID: msg.CorrelationID, Partner: p.ID,
					Subject: msg.ID, Actor: "edi", Summary: fmt.Sprintf("%s from %s acknowledges GS %s ST %s, which we did not send", r.SetID, p.ID,
						r.GroupControl, as.ControlNumber), Refs: []string{r.GroupControl, msg.ID}}); err != nil {
					return err
				}
			}
			sets = append(sets, found...)
		}
	}
	if len(sets) == 0 && len(r.Sets) == 0 {
		return tx.Audit(ctx, store.AuditRecord{Kind: "edi.ack_unmatched", CorrelationID: msg.CorrelationID, Partner: p.ID, Subject: msg.ID,
			Actor: "edi", Summary: fmt.Sprintf("%s from %s acknowledges group %s, which we did not send", r.SetID, p.ID, r.GroupControl),
			Refs: []string{r.GroupControl, msg.ID}})
	}
	for _, o := range sets {
		status := r.SetStatus(o.SetControl)
		if status == "" {
			status = r.Status
		}
		if _, err := tx.AckEDIOutbound(ctx, p.ID, o.Group, o.SetControl, status, msg.ID); err != nil {
			return fmt.Errorf("recording the %s of %s %s: %w", r.SetID, o.SetID, o.SetControl, err)
		}
		refs := []string{o.MessageID, o.Interchange, o.Group, msg.ID}
		corr := msg.CorrelationID // the document's own correlation id, so its trace shows the ack
		if sent, err := tx.Message(ctx, o.MessageID); err == nil {
			corr = sent.CorrelationID
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if !rejected(status) {
			if err := tx.Audit(ctx, store.AuditRecord{Kind: "edi.ack_received", CorrelationID: corr, Partner: p.ID, Subject: o.MessageID,
				Actor: "edi", Summary: fmt.Sprintf("%s %s (GS %s, ST %s) acknowledged %s by %s", o.SetID, o.MessageID, o.Group, o.SetControl, status, r.SetID),
				Refs: refs}); err != nil {
				return err
			}
			continue
		}
		if err := f.ackRejected(ctx, tx, msg, corr, p, r, o, status, detail[o.SetControl], refs); err != nil {
			return err
		}
	}
	return nil
}

// describeAck writes what an acknowledgement says is wrong with a set, segment by segment.
func describeAck(r *x12.AckReport, as x12.AckedSet) string {
	var parts []string
	for _, e := range as.Errors {
		s := fmt.Sprintf("segment %s at %d", e.SegmentID, e.SegmentPosition)
		if e.LoopID != "" {
			s += " in loop " + e.LoopID
		}
		if e.Code != "" {
			s += " (AK304 " + e.Code + ")"
		}
		for _, el := range e.Elements {
			s += fmt.Sprintf(", element %d", el.Position)
			if el.Ref != "" {
				s += " (" + el.Ref + ")"
			}
			s += ": code " + el.Code
			if el.Value != "" {
				s += fmt.Sprintf(" value %q", el.Value)
			}
		}
		parts = append(parts, s)
	}
	if len(as.Codes) > 0 {
		parts = append(parts, "AK502 "+strings.Join(as.Codes, ","))
	}
	if len(as.Errors) == 0 && len(r.GroupCodes) > 0 {
		parts = append(parts, "AK905 "+strings.Join(r.GroupCodes, ","))
	}
	if len(parts) == 0 {
		return "no detail given"
	}
	return strings.Join(parts, "; ")
}

func (f *Flow) ackRejected(ctx context.Context, tx *store.Tx, msg *store.Message, corr string, p *partner.Profile, r *x12.AckReport, o *store.EDIOutbound,
	status string, as x12.AckedSet, refs []string) error {
	why := describeAck(r, as)
	summary := fmt.Sprintf("%s %s (GS %s, ST %s) rejected (%s) by the partner's %s: %s", o.SetID, o.MessageID, o.Group, o.SetControl, status, r.SetID, why)
	fd, err := tx.EDIFulfilmentByMessage(ctx, o.MessageID)
	if errors.Is(err, store.ErrNotFound) {
		fd = nil
	} else if err != nil {
		return err
	}
	var rec *store.OrderRecord
	if o.OrderID != "" {
		if rec, err = tx.Order(ctx, o.OrderID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	dl := &store.DeadLetter{MessageID: o.MessageID, OrderID: o.OrderID, CorrelationID: corr, Partner: p.ID,
		Code: string(waybill.EREJECTED), Reason: ReasonAckRejected, Message: summary,
		Location: fmt.Sprintf("partner %s, GS %s, ST %s", p.ID, o.Group, o.SetControl), Attempts: 1}
	if rec != nil {
		// Replaying syncs the order again: a rejected 856 or 810 is then rendered and sent anew.
		args, _ := json.Marshal(hub.SyncOrder{OrderID: rec.Order.ID, CorrelationID: rec.Order.CorrelationID, Partner: rec.Order.Partner})
		dl.JobKind, dl.JobArgs, dl.CorrelationID = hub.SyncOrder{}.Kind(), string(args), rec.Order.CorrelationID
	} else {
		args, _ := json.Marshal(hub.DeliverMessage{MessageID: o.MessageID, CorrelationID: corr, Partner: p.ID})
		dl.JobKind, dl.JobArgs = hub.DeliverMessage{}.Kind(), string(args)
	}
	if err := tx.InsertDeadLetter(ctx, dl); err != nil {
		return err
	}
	if fd != nil {
		fd.State, fd.Reason, fd.DeadLetterID = store.FulfilmentRejected, why, dl.ID
		if err := tx.PutEDIFulfilment(ctx, fd); err != nil {
			return err
		}
	}
	f.log.Warn("outbound document rejected by the partner", "partner", p.ID, "set", o.SetID, "message_id", o.MessageID, "gs06", o.Group,
		"st02", o.SetControl, "correlation_id", dl.CorrelationID, "detail", why)
	if rec != nil {
		refs = append(refs, rec.Order.PONumber, rec.Order.ID)
	}
	return tx.Audit(ctx, store.AuditRecord{Kind: "edi.ack_rejected", CorrelationID: dl.CorrelationID, Partner: p.ID, Subject: o.MessageID,
		Actor: "edi", Summary: summary, Detail: map[string]any{"status": status, "errors": as.Errors, "codes": as.Codes}, Refs: refs})
}
