package edi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/x12"
)

// Options configures a Flow.
type Options struct {
	Hub      *hub.Hub
	Partners *partner.Registry
	Library  *Library
	Logger   *slog.Logger
	// Now is the clock written into envelopes and acknowledgement dates; nil means UTC now.
	Now func() time.Time
}

// Flow is the EDI side of the order flow for every partner of a registry. Create it with New,
// then Install it on the hub before the job queue starts. It is safe for concurrent use.
type Flow struct {
	h        *hub.Hub
	partners *partner.Registry
	lib      *Library
	log      *slog.Logger
	now      func() time.Time
	guides   map[string]map[string]*x12.Guide // partner → set → guide
	mappings map[string]*Mapping              // partner/set/direction → mapping
}

// New resolves every partner's mappings and guides, so that a missing mapping or a broken guide
// stops the hub at start (all problems reported together) rather than at the first document.
func New(o Options) (*Flow, error) {
	f := &Flow{h: o.Hub, partners: o.Partners, lib: o.Library, log: o.Logger, now: o.Now,
		guides: map[string]map[string]*x12.Guide{}, mappings: map[string]*Mapping{}}
	if f.log == nil {
		f.log = slog.Default()
	}
	if f.now == nil {
		f.now = func() time.Time { return time.Now().UTC() }
	}
	var errs []error
	for _, id := range o.Partners.IDs() {
		p, _ := o.Partners.Profile(id)
		f.guides[id] = map[string]*x12.Guide{}
		for i, d := range p.Documents {
			if !flowSets[d.Set] {
				continue // part of the flow not built yet (846, 860/865)
			}
			m, err := o.Library.Resolve(id, p.X12.Version, d.Set, d.Mapping)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: documents[%d].mapping: %w", p.File(), i, err))
				continue
			}
			f.mappings[mapKey(id, d.Set, d.Direction)] = m
			if d.Guide != "" {
				data, err := o.Partners.ReadFile(p, d.Guide)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: documents[%d].guide: %w", p.File(), i, err))
					continue
				}
				g, err := x12.ParseGuide(d.Guide, string(data))
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: documents[%d].guide: %w", p.File(), i, err))
					continue
				}
				f.guides[id][d.Set] = g
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return f, nil
}

func mapKey(partnerID, set string, d partner.Direction) string {
	return partnerID + "/" + set + "/" + string(d)
}

// Mapping returns the mapping a partner uses for set in direction d.
func (f *Flow) Mapping(partnerID, set string, d partner.Direction) (*Mapping, bool) {
	m, ok := f.mappings[mapKey(partnerID, set, d)]
	return m, ok
}

// Install registers the flow with the hub: the partner profiles join the hub's partners, X12
// messages go to the flow's processor, accepted orders from X12 partners are answered with an
// 855, and ERP syncs emit 856s for done deliveries and 810s for posted invoices. Call it before
// the job queue starts.
func (f *Flow) Install() {
	f.h.SetPartners(f.partners.WithFallback(f.h.Partners()))
	f.h.RegisterProcessor(hub.DocX12, f.process)
	f.h.OnAccepted(f.onAccepted)
	f.h.OnSync(f.onSync)
}

// detail is the JSON kept in edi_orders.detail.
type detail struct {
	Rejected []RejectedLine `json:"rejected,omitempty"`
	Original []waybill.Line `json:"original"`
}

type prepared struct {
	set     *SetResult
	group   *Group
	checked *Checked
}

// process handles one stored X12 message: read and validate, acknowledge, translate, check and
// record every order, all committed together.
func (f *Flow) process(ctx context.Context, msg *store.Message, hp waybill.Partner) error {
	p, ok := f.partners.Profile(hp.ID)
	if !ok {
		return &waybill.Error{Code: waybill.EINVALID, Reason: "no_edi_profile", Message: "the partner has no EDI profile",
			Where: waybill.Location{Partner: hp.ID}}
	}
	ics, err := Read(msg.Payload, p, f.guides[p.ID])
	if err != nil {
		return syntaxError(p.ID, err)
	}
	for _, ic := range ics {
		if trim(ic.Header.SenderID) != p.X12.SenderID || trim(ic.Header.SenderQualifier) != p.X12.SenderQualifier {
			return &waybill.Error{Code: waybill.EINVALID, Reason: "wrong_sender", Message: fmt.Sprintf(
				"the interchange is from %s/%s, but partner %s is %s/%s", ic.Header.SenderQualifier, ic.Header.SenderID, p.ID,
				p.X12.SenderQualifier, p.X12.SenderID), Where: waybill.Location{Partner: p.ID, Interchange: ic.Header.ControlNumber}}
		}
		if trim(ic.Header.ReceiverID) != p.X12.ReceiverID {
			return &waybill.Error{Code: waybill.EINVALID, Reason: "wrong_receiver", Message: fmt.Sprintf(
				"the interchange is addressed to %s/%s, not to us (%s/%s in the partner's profile)", ic.Header.ReceiverQualifier,
				ic.Header.ReceiverID, p.X12.ReceiverQualifier, p.X12.ReceiverID),
				Where: waybill.Location{Partner: p.ID, Interchange: ic.Header.ControlNumber}}
		}
	}
	// Acknowledge first, in a transaction of its own: the 997/999 follows syntax validation and
	// never waits for the ERP.
	if skip, err := f.acknowledge(ctx, msg, p, ics); err != nil || skip {
		return err
	}
	// Translate and check outside the transaction (the ERP is slow compared with the store).
	var work []prepared
	m850, has850 := f.Mapping(p.ID, "850", partner.Inbound)
	for _, ic := range ics {
		for _, g := range ic.Groups {
			for _, s := range g.Sets {
				if !s.Accepted || s.Set.ID != "850" {
					continue
				}
				where := waybill.Location{Partner: p.ID, Interchange: ic.Header.ControlNumber, Group: g.Header.ControlNumber, Set: s.Set.ControlNumber}
				if !has850 {
					return &waybill.Error{Code: waybill.EINVALID, Reason: "no_mapping", Message: "the partner's profile lists no 850 mapping", Where: where}
				}
				o, merr := translateOrder(m850, s)
				var c *Checked
				if merr != nil {
					o = &waybill.Order{PONumber: o.PONumber, Lines: o.Lines}
					c = &Checked{Order: o, Original: o.Lines, Verdict: hub.Verdict{Reject: &waybill.Error{Code: waybill.EINVALID,
						Reason: "mapping_error", Message: merr.Error(), Where: where}}}
				} else if c, err = Check(ctx, f.h.ERP(), p, o); err != nil {
					return err
				}
				work = append(work, prepared{set: s, group: g, checked: c})
			}
		}
	}
	changes, err := f.prepareChanges(ctx, p, ics)
	if err != nil {
		return err
	}
	done, err := f.h.ProcessTx(ctx, msg.ID, func(tx *store.Tx, msg *store.Message) error {
		if err := f.recordAcks(ctx, tx, msg, p, ics); err != nil {
			return err
		}
		if err := f.recordChanges(ctx, tx, msg, p, changes); err != nil {
			return err
		}
		return f.record(ctx, tx, msg, p, hp, work)
	})
	if err == nil && done {
		f.log.Info("x12 interchange processed", "partner", p.ID, "message_id", msg.ID, "correlation_id", msg.CorrelationID, "orders", len(work))
	}
	return err
}

func translateOrder(m *Mapping, s *SetResult) (*waybill.Order, error) {
	tree, errs := m.Translate(s.Set, s.Loops)
	o, err := DecodeOrder(tree)
	if o == nil {
		o = &waybill.Order{}
	}
	if len(errs) > 0 {
		return o, errs[0]
	}
	return o, err
}

func (f *Flow) record(ctx context.Context, tx *store.Tx, msg *store.Message, p *partner.Profile, hp waybill.Partner,
	work []prepared) error {
	for _, w := range work {
		o := w.checked.Order
		if err := f.h.RecordOrder(ctx, tx, msg, hp, o, w.checked.Verdict); err != nil {
			return err
		}
		if _, err := tx.Order(ctx, o.ID); errors.Is(err, store.ErrNotFound) {
			continue // refused as a duplicate PO by the partner's policy; the audit trail says so
		} else if err != nil {
			return err
		}
		d, _ := json.Marshal(detail{Rejected: w.checked.Rejected, Original: w.checked.Original})
		ic := w.group.Header.Interchange
		m, _ := f.Mapping(p.ID, "850", partner.Inbound)
		if err := tx.InsertEDIOrder(ctx, &store.EDIOrder{OrderID: o.ID, Partner: p.ID, MessageID: msg.ID, SetID: "850",
			Interchange: ic.ControlNumber, Group: w.group.Header.ControlNumber, SetControl: w.set.Set.ControlNumber,
			Mapping: m.Version, Detail: string(d)}); err != nil {
			return err
		}
		if err := tx.Audit(ctx, store.AuditRecord{Kind: "edi.translated", CorrelationID: msg.CorrelationID, Partner: p.ID, Subject: o.ID,
			Actor: "edi", Summary: fmt.Sprintf("850 %s (ISA %s, GS %s) translated with mapping %s", o.PONumber, ic.ControlNumber,
				w.group.Header.ControlNumber, m.Version), Detail: map[string]any{"rejected_lines": w.checked.Rejected, "mapping": m.Source},
			Refs: []string{o.PONumber, ic.ControlNumber, o.ID}}); err != nil {
			return err
		}
		if w.checked.Verdict.Reject != nil {
			rec, err := tx.Order(ctx, o.ID)
			if err != nil {
				return err
			}
			if err := f.emit855(ctx, tx, rec.Order); err != nil {
				return err
			}
		}
	}
	return nil
}

var errDuplicateInterchange = errors.New("duplicate interchange")

// acknowledge claims each interchange by sender and ISA13 and queues its acknowledgements, in one
// transaction. A retried job finds its own claims and sends nothing twice. When an interchange was
// received before in another message, the message is marked duplicate and skip is true; skip is
// also true when the message is no longer waiting for processing.
func (f *Flow) acknowledge(ctx context.Context, msg *store.Message, p *partner.Profile, ics []*Interchange) (skip bool, err error) {
	var dupOf *store.BusinessKey
	var dupIC string
	err = f.h.DB().InTx(ctx, func(tx *store.Tx) error {
		skip, dupOf = false, nil
		cur, err := tx.Message(ctx, msg.ID)
		if err != nil {
			return err
		}
		if cur.State != store.MessageReceived && cur.State != store.MessageReplayed {
			skip = true
			return nil
		}
		var fresh []*Interchange
		for _, ic := range ics {
			key := fmt.Sprintf("isa:%s:%s/%s:%s", p.ID, trim(ic.Header.SenderQualifier), trim(ic.Header.SenderID), ic.Header.ControlNumber)
			prev, err := tx.ClaimBusinessKey(ctx, store.BusinessKey{Key: key, Kind: "interchange", MessageID: msg.ID, CorrelationID: msg.CorrelationID})
			if err != nil {
				return err
			}
			switch {
			case prev == nil:
				fresh = append(fresh, ic)
			case prev.MessageID != msg.ID:
				dupOf, dupIC = prev, ic.Header.ControlNumber
				return errDuplicateInterchange // roll back the claims of this message
			}
		}
		return f.emitAcks(ctx, tx, msg, p, fresh)
	})
	if !errors.Is(err, errDuplicateInterchange) {
		return skip, err
	}
	return true, f.h.DB().InTx(ctx, func(tx *store.Tx) error {
		if err := tx.SetMessageState(ctx, msg.ID, store.MessageDuplicate); err != nil {
			return err
		}
		f.log.Info("duplicate interchange", "partner", p.ID, "message_id", msg.ID, "interchange", dupIC, "duplicate_of", dupOf.MessageID,
			"correlation_id", msg.CorrelationID)
		return tx.Audit(ctx, store.AuditRecord{Kind: "message.duplicate", CorrelationID: msg.CorrelationID, Partner: p.ID, Subject: msg.ID,
			Actor: "edi", Summary: fmt.Sprintf("interchange %s from %s was received before in %s; not processed", dupIC,
				p.X12.SenderID, dupOf.MessageID), Detail: map[string]any{"duplicate_of": dupOf.MessageID, "kind": "interchange"},
			Refs: []string{dupIC, dupOf.MessageID, dupOf.CorrelationID}})
	})
}

// emitAcks writes one acknowledgement interchange per received interchange (TA1 per the
// partner's policy, a 997 or 999 per group) and queues it.
func (f *Flow) emitAcks(ctx context.Context, tx *store.Tx, msg *store.Message, p *partner.Profile, ics []*Interchange) error {
	kind := p.FunctionalAck()
	for _, ic := range ics {
		ta1 := false
		switch p.Acks.TA1 {
		case "always":
			ta1 = true
		case "never":
		default:
			ta1 = x12.TA1Due(ic.Header)
		}
		var groups []*Group
		for _, g := range ic.Groups {
			if g.Header.FunctionalID != "FA" {
				groups = append(groups, g)
			}
		}
		if kind == "none" && !ta1 || len(groups) == 0 && !ta1 {
			continue
		}
		now := f.now()
		var refs []string
		var before func(w *x12.Writer) error
		if ta1 {
			before = func(w *x12.Writer) error { return x12.WriteTA1(w, ic.Header) }
		}
		body := func(w *x12.Writer, nextST func() (string, error)) error {
			for _, g := range groups {
				st, err := nextST()
				if err != nil {
					return err
				}
				refs = append(refs, g.Header.ControlNumber)
				if kind == "999" {
					err = x12.WriteAck999(w, g.Ack, st)
				} else {
					err = x12.WriteAck997(w, g.Ack, st)
				}
				if err != nil {
					return err
				}
			}
			return nil
		}
		if kind == "none" || len(groups) == 0 {
			body = nil
		}
		payload, c, err := envelopeOut(ctx, tx, p, "FA", now, before, body)
		if err != nil {
			return fmt.Errorf("writing %s for interchange %s: %w", kind, ic.Header.ControlNumber, err)
		}
		doc := kind
		if body == nil {
			doc = "TA1"
		}
		id, err := f.h.Emit(ctx, tx, &waybill.OutboundMessage{CorrelationID: msg.CorrelationID, Partner: p.ID, Channel: p.OutboundChannel(),
			DocType: doc, Filename: fmt.Sprintf("%s-%s-%s.x12", p.ID, doc, c.Interchange), ContentType: "application/edi-x12",
			Meta: map[string]string{"isa13": c.Interchange, "gs06": c.Group, "acknowledges": ic.Header.ControlNumber}, Payload: payload},
			append(refs, ic.Header.ControlNumber, c.Interchange)...)
		if err != nil {
			return err
		}
		if body != nil { // acknowledgements are not acknowledged; recorded for trace and part 2's matching
			if err := tx.InsertEDIOutbound(ctx, &store.EDIOutbound{MessageID: id, Partner: p.ID, SetID: doc, Interchange: c.Interchange,
				Group: c.Group, SetControl: c.Set, AckStatus: "n/a"}); err != nil {
				return err
			}
		}
		accepted, total := 0, 0
		for _, g := range groups {
			accepted += g.Ack.Accepted()
			total += len(g.Sets)
		}
		if err := tx.Audit(ctx, store.AuditRecord{Kind: "edi.ack", CorrelationID: msg.CorrelationID, Partner: p.ID, Subject: id, Actor: "edi",
			Summary: fmt.Sprintf("%s for interchange %s: %d of %d sets accepted", doc, ic.Header.ControlNumber, accepted, total),
			Refs:    append(refs, ic.Header.ControlNumber, c.Interchange, msg.ID)}); err != nil {
			return err
		}
	}
	return nil
}

// onAccepted answers an order accepted by the ERP with an 855, when it came over X12 from a
// partner that takes 855s.
//
// An 855 that cannot be rendered (a mapping problem) does not undo the acceptance, which is the
// ERP's fact: it is logged and written to the audit trail as edi.855_failed with the reason, for a
// person to fix the mapping. Store errors fail the transaction as usual.
func (f *Flow) onAccepted(ctx context.Context, tx *store.Tx, _ jobs.Queue, o *waybill.Order) error {
	err := f.emit855(ctx, tx, o)
	var re *renderError
	if !errors.As(err, &re) {
		return err
	}
	f.log.Error("855 not rendered", "partner", o.Partner, "order_id", o.ID, "po_number", o.PONumber, "correlation_id", o.CorrelationID,
		"error", re.err)
	return tx.Audit(ctx, store.AuditRecord{Kind: "edi.855_failed", CorrelationID: o.CorrelationID, Partner: o.Partner, Subject: o.ID,
		Actor: "edi", Summary: "855 not sent: " + re.err.Error(), Refs: []string{o.PONumber, o.ID}})
}

// renderError is a failure to render a document from its mapping (not a store failure).
type renderError struct{ err error }

func (e *renderError) Error() string { return e.err.Error() }
func (e *renderError) Unwrap() error { return e.err }

func (f *Flow) emit855(ctx context.Context, tx *store.Tx, o *waybill.Order) error {
	rec, err := tx.EDIOrder(ctx, o.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	p, ok := f.partners.Profile(rec.Partner)
	if !ok {
		return nil
	}
	m, ok := f.Mapping(p.ID, "855", partner.Outbound)
	if !ok {
		return nil
	}
	var d detail
	if err := json.Unmarshal([]byte(rec.Detail), &d); err != nil {
		return fmt.Errorf("reading EDI detail of order %s: %w", o.ID, err)
	}
	ack := BuildAck(o, d.Original, d.Rejected, f.now())
	tree, err := ToTree(ack)
	if err != nil {
		return &renderError{err}
	}
	payload, c, err := envelopeOut(ctx, tx, p, firstNonEmpty(m.FunctionalID, "PR"), f.now(), nil, func(w *x12.Writer, nextST func() (string, error)) error {
		st, err := nextST()
		if err != nil {
			return err
		}
		if err := w.BeginSet("855", st, ""); err != nil {
			return err
		}
		if err := m.Render(tree, w); err != nil {
			return &renderError{fmt.Errorf("mapping %s %s: %w", m.Set, m.Version, err)}
		}
		return w.EndSet()
	})
	if err != nil {
		return fmt.Errorf("rendering 855 for order %s: %w", o.ID, err)
	}
	doc, _ := p.Doc("855", partner.Outbound)
	id, err := f.h.Emit(ctx, tx, &waybill.OutboundMessage{CorrelationID: o.CorrelationID, Partner: p.ID, Channel: p.OutboundChannel(),
		DocType: "855", Filename: fmt.Sprintf("%s-855-%s-%s.x12", p.ID, o.PONumber, c.Interchange), ContentType: "application/edi-x12",
		Meta: map[string]string{"isa13": c.Interchange, "gs06": c.Group, "st02": c.Set, "po_number": o.PONumber}, Payload: payload},
		o.PONumber, o.ID, c.Interchange, o.ERP.Name)
	if err != nil {
		return err
	}
	out := &store.EDIOutbound{MessageID: id, Partner: p.ID, SetID: "855", Interchange: c.Interchange, Group: c.Group, SetControl: c.Set,
		OrderID: o.ID, QueuedAt: f.now()}
	if doc.AckSLA > 0 {
		out.AckDueAt = out.QueuedAt.Add(doc.AckSLA)
	}
	if err := tx.InsertEDIOutbound(ctx, out); err != nil {
		return err
	}
	return tx.SetEDIOrderAck(ctx, o.ID, id)
}

var _ hub.Partners = (*partner.Registry)(nil)
