package edi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/x12"
)

// Gate reasons: why an 856 or 810 is held (edi_fulfilment.reason, dead letter reason).
const (
	ReasonASNGate     = "asn_gate"     // the 856 failed the ASN gate
	ReasonInvoiceGate = "invoice_gate" // the 810 failed its gate (totals, 856 not sent first)
	ReasonRender      = "render_error" // the mapping could not render the document
)

// onSync emits an 856 for every done delivery of an X12 order that has none yet, then an 810
// for every posted invoice that has none yet, in the sync transaction. A document that fails its
// gate is held (edi_fulfilment state held, audit edi.856_held / edi.810_held, and a dead letter
// whose replay runs the sync again once the cause is fixed); the sync itself commits.
func (f *Flow) onSync(ctx context.Context, tx *store.Tx, q jobs.Queue, o *waybill.Order, st waybill.OrderStatus, _ waybill.OrderState) error {
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
	var d detail
	if err := json.Unmarshal([]byte(rec.Detail), &d); err != nil {
		return fmt.Errorf("reading EDI detail of order %s: %w", o.ID, err)
	}
	deliveries := append([]waybill.Delivery(nil), st.Deliveries...)
	sort.SliceStable(deliveries, func(i, j int) bool { return deliveries[i].DoneAt.Before(deliveries[j].DoneAt) })
	if m, ok := f.Mapping(p.ID, "856", partner.Outbound); ok {
		for _, dl := range deliveries {
			if dl.State != "done" {
				continue
			}
			if err := f.shipNotice(ctx, tx, p, m, o, d.Original, st, dl); err != nil {
				return err
			}
		}
	}
	if m, ok := f.Mapping(p.ID, "810", partner.Outbound); ok {
		for _, inv := range st.Invoices {
			if inv.State != "posted" {
				continue
			}
			if err := f.invoice(ctx, tx, q, p, m, o, d.Original, deliveries, inv); err != nil {
				return err
			}
		}
	}
	return nil
}

// pending reports whether the set for erpRef still has to be sent, and the current record.
func pending(ctx context.Context, tx *store.Tx, p *partner.Profile, set, erpRef string) (bool, *store.EDIFulfilment, error) {
	cur, err := tx.EDIFulfilment(ctx, p.ID, set, erpRef)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil, nil
	}
	if err != nil {
		return false, nil, err
	}
	return cur.State != store.FulfilmentSent, cur, nil
}

func (f *Flow) shipNotice(ctx context.Context, tx *store.Tx, p *partner.Profile, m *Mapping, o *waybill.Order, original []waybill.Line,
	st waybill.OrderStatus, dl waybill.Delivery) error {
	todo, cur, err := pending(ctx, tx, p, "856", dl.Ref.Name)
	if err != nil || !todo {
		return err
	}
	if p.GS1CompanyPrefix == "" {
		return f.hold(ctx, tx, p, o, "856", dl.Ref.Name, cur, ReasonASNGate, "the partner's profile has no gs1_company_prefix for SSCC-18 labels")
	}
	next := func() (string, error) {
		n, err := tx.NextSSCCSerial(ctx, p.GS1CompanyPrefix)
		if err != nil {
			return "", err
		}
		return SSCC(p.GS1CompanyPrefix, n)
	}
	sn, err := BuildShipNotice(o, original, dl, p.Packing, f.now(), next)
	if errors.Is(err, errNotOnOrder) {
		return f.hold(ctx, tx, p, o, "856", dl.Ref.Name, cur, ReasonASNGate, err.Error())
	}
	if err != nil {
		return err
	}
	if problems, err := f.asnGate(ctx, tx, o, st, sn); err != nil {
		return err
	} else if len(problems) > 0 {
		return f.hold(ctx, tx, p, o, "856", dl.Ref.Name, cur, ReasonASNGate, strings.Join(problems, "; "))
	}
	tree, err := ToTree(sn)
	if err != nil {
		return err
	}
	id, c, err := f.emitSet(ctx, tx, p, m, "856", tree, o, map[string]string{"delivery": dl.Ref.Name, "tracking": dl.TrackingRef, store.MetaShippedAt: shippedAt(dl)},
		dl.Ref.Name, dl.TrackingRef)
	var re *renderError
	if errors.As(err, &re) {
		return f.hold(ctx, tx, p, o, "856", dl.Ref.Name, cur, ReasonRender, re.Error())
	}
	if err != nil {
		return err
	}
	var ssccs []string
	for _, pl := range sn.Shipment.Pallets {
		ssccs = append(ssccs, pl.SSCC)
	}
	for _, pk := range sn.Shipment.AllPackages() {
		ssccs = append(ssccs, pk.SSCC)
	}
	for _, s := range ssccs {
		if err := tx.UseSSCC(ctx, s, p.ID, dl.Ref.Name, id); err != nil {
			return err
		}
	}
	if err := closeException(ctx, tx, cur); err != nil {
		return err
	}
	if err := tx.PutEDIFulfilment(ctx, &store.EDIFulfilment{Partner: p.ID, SetID: "856", ERPRef: dl.Ref.Name, OrderID: o.ID, MessageID: id,
		State: store.FulfilmentSent}); err != nil {
		return err
	}
	return tx.Audit(ctx, store.AuditRecord{Kind: "edi.856", CorrelationID: o.CorrelationID, Partner: p.ID, Subject: o.ID, Actor: "edi",
		Summary: fmt.Sprintf("856 for delivery %s of PO %s: %d cartons, %d pallets (ISA %s, GS %s, ST %s)", dl.Ref.Name, o.PONumber,
			sn.CartonCount, len(sn.Tares), c.Interchange, c.Group, c.Set),
		Detail: map[string]any{"sscc": ssccs, "tracking": dl.TrackingRef, "carrier": dl.Carrier},
		Refs:   append([]string{o.PONumber, o.ID, dl.Ref.Name, id, c.Interchange}, ssccs...)})
}

// asnGate checks a built ship notice before it is sent: every SSCC valid and never used, the pack
// hierarchy complete (every pallet holds cartons, every carton holds items, the cartons hold
// exactly what the ERP shipped), and no order line shipped beyond its quantity across the
// deliveries done so far. It returns the problems found, for people.
func (f *Flow) asnGate(ctx context.Context, tx *store.Tx, o *waybill.Order, st waybill.OrderStatus, sn *ShipNotice) ([]string, error) {
	var problems []string
	seen := map[string]bool{}
	check := func(code, what string) error {
		switch used, err := tx.SSCCUsed(ctx, code); {
		case err != nil:
			return err
		case !ValidSSCC(code):
			problems = append(problems, fmt.Sprintf("%s SSCC %q is not a valid SSCC-18", what, code))
		case used || seen[code]:
			problems = append(problems, fmt.Sprintf("%s SSCC %s was used before", what, code))
		}
		seen[code] = true
		return nil
	}
	ship := sn.Shipment
	for _, pl := range ship.Pallets {
		if err := check(pl.SSCC, "pallet"); err != nil {
			return nil, err
		}
		if len(pl.Packages) == 0 {
			problems = append(problems, fmt.Sprintf("pallet %s holds no carton", pl.SSCC))
		}
	}
	all := ship.AllPackages()
	if len(all) == 0 {
		problems = append(problems, "the shipment has no carton")
	}
	for _, pk := range all {
		if err := check(pk.SSCC, "carton"); err != nil {
			return nil, err
		}
		if len(pk.Contents) == 0 {
			problems = append(problems, fmt.Sprintf("carton %s holds no item", pk.SSCC))
		}
		for _, it := range pk.Contents {
			if it.Quantity.Sign() <= 0 {
				problems = append(problems, fmt.Sprintf("carton %s: line %s has quantity %s", pk.SSCC, it.LineNumber, it.Quantity))
			}
		}
	}
	// The cartons hold what the ERP shipped in this delivery, and the order is not overshipped.
	packed := ship.ShippedByLine()
	inDelivery, total := map[string]waybill.Decimal{}, map[string]waybill.Decimal{}
	for _, dl := range st.Deliveries {
		if dl.State != "done" {
			continue
		}
		for _, mv := range dl.Moves {
			l := lineFor(o, mv)
			if l == nil {
				continue
			}
			total[l.Number] = total[l.Number].Add(mv.Done)
			if dl.Ref.Name == ship.ERP.Name {
				inDelivery[l.Number] = inDelivery[l.Number].Add(mv.Done)
			}
		}
	}
	for _, l := range o.Lines {
		if packed[l.Number].Cmp(inDelivery[l.Number]) != 0 {
			problems = append(problems, fmt.Sprintf("line %s: cartons hold %s, the delivery shipped %s", l.Number, packed[l.Number], inDelivery[l.Number]))
		}
		limit := l.Quantity
		if !l.Qty.Accepted.IsZero() {
			limit = l.Qty.Accepted
		}
		if total[l.Number].Cmp(limit) > 0 {
			problems = append(problems, fmt.Sprintf("line %s: %s shipped in all, more than the %s ordered", l.Number, total[l.Number], limit))
		}
	}
	return problems, nil
}

func (f *Flow) invoice(ctx context.Context, tx *store.Tx, q jobs.Queue, p *partner.Profile, m *Mapping, o *waybill.Order,
	original []waybill.Line, deliveries []waybill.Delivery, inv waybill.ERPInvoice) error {
	todo, cur, err := pending(ctx, tx, p, "810", inv.Number)
	if err != nil || !todo {
		return err
	}
	// The 856 of every shipment goes before the invoice.
	var shipDate = inv.Date
	for _, dl := range deliveries {
		if dl.State != "done" {
			continue
		}
		shipDate = dl.DoneAt
		if _, ok := p.Doc("856", partner.Outbound); !ok {
			continue
		}
		todo, asn, err := pending(ctx, tx, p, "856", dl.Ref.Name)
		if err != nil {
			return err
		}
		if todo {
			return f.hold(ctx, tx, p, o, "810", inv.Number, cur, ReasonInvoiceGate,
				fmt.Sprintf("the 856 for delivery %s has not been sent; the 810 follows it", dl.Ref.Name))
		}
		// Queued is not sent: an 856 queued in this very transaction, or waiting for its
		// transport, goes out first; the 810 waits for a later sync.
		if wait, err := f.waitForSend(ctx, tx, asn.MessageID); err != nil {
			return err
		} else if wait > 0 {
			return q.InsertTx(ctx, tx, hub.SyncOrder{OrderID: o.ID, CorrelationID: o.CorrelationID, Partner: o.Partner},
				&river.InsertOpts{ScheduledAt: f.now().Add(wait)})
		}
	}
	doc := BuildInvoice(o, original, inv, shipDate)
	if err := checkInvoice(doc); err != nil {
		return f.hold(ctx, tx, p, o, "810", inv.Number, cur, ReasonInvoiceGate, waybill.Message(err))
	}
	tree, err := ToTree(doc)
	if err != nil {
		return err
	}
	id, c, err := f.emitSet(ctx, tx, p, m, "810", tree, o, map[string]string{"invoice": inv.Number, "total": inv.Total.StringFixed(2)}, inv.Number)
	var re *renderError
	if errors.As(err, &re) {
		return f.hold(ctx, tx, p, o, "810", inv.Number, cur, ReasonRender, re.Error())
	}
	if err != nil {
		return err
	}
	if err := closeException(ctx, tx, cur); err != nil {
		return err
	}
	if err := tx.PutEDIFulfilment(ctx, &store.EDIFulfilment{Partner: p.ID, SetID: "810", ERPRef: inv.Number, OrderID: o.ID, MessageID: id,
		State: store.FulfilmentSent}); err != nil {
		return err
	}
	return tx.Audit(ctx, store.AuditRecord{Kind: "edi.810", CorrelationID: o.CorrelationID, Partner: p.ID, Subject: o.ID, Actor: "edi",
		Summary: fmt.Sprintf("810 for invoice %s of PO %s: untaxed %s, tax %s, total %s %s (ISA %s, GS %s, ST %s)", inv.Number, o.PONumber,
			inv.Untaxed.StringFixed(2), inv.Tax.StringFixed(2), inv.Total.StringFixed(2), doc.Currency, c.Interchange, c.Group, c.Set),
		Refs: []string{o.PONumber, o.ID, inv.Number, id, c.Interchange}})
}

// hold records that set for erpRef is held with a reason. A dead letter (job sync_order) is
// written when the document becomes held or its reason changes, so an operator sees it once and
// can replay it after the fix; the replay syncs the order again, which retries the document.
func (f *Flow) hold(ctx context.Context, tx *store.Tx, p *partner.Profile, o *waybill.Order, set, erpRef string, cur *store.EDIFulfilment,
	reason, msg string) error {
	if cur != nil && cur.State == store.FulfilmentHeld && cur.Reason == msg {
		return nil
	}
	if err := closeException(ctx, tx, cur); err != nil { // the old reason is superseded
		return err
	}
	args, _ := json.Marshal(hub.SyncOrder{OrderID: o.ID, CorrelationID: o.CorrelationID, Partner: o.Partner})
	dl := &store.DeadLetter{JobKind: hub.SyncOrder{}.Kind(), JobArgs: string(args), OrderID: o.ID,
		CorrelationID: o.CorrelationID, Partner: p.ID, Code: string(waybill.EINVALID), Reason: reason,
		Message: fmt.Sprintf("%s for %s held: %s", set, erpRef, msg), Location: "partner " + p.ID, Attempts: 1}
	if err := tx.InsertDeadLetter(ctx, dl); err != nil {
		return err
	}
	if err := tx.PutEDIFulfilment(ctx, &store.EDIFulfilment{Partner: p.ID, SetID: set, ERPRef: erpRef, OrderID: o.ID,
		State: store.FulfilmentHeld, Reason: msg, DeadLetterID: dl.ID}); err != nil {
		return err
	}
	f.log.Warn("outbound document held", "partner", p.ID, "set", set, "erp_ref", erpRef, "order_id", o.ID, "correlation_id", o.CorrelationID,
		"reason", msg)
	return tx.Audit(ctx, store.AuditRecord{Kind: "edi." + set + "_held", CorrelationID: o.CorrelationID, Partner: p.ID, Subject: o.ID,
		Actor: "edi", Summary: fmt.Sprintf("%s for %s held: %s", set, erpRef, msg), Refs: []string{o.PONumber, o.ID, erpRef}})
}

// emitSet renders one set with m into an interchange of its own for p, queues it with hub.Emit
// and records it in edi_outbound with the partner's ack SLA. A mapping failure is a *renderError.
func (f *Flow) emitSet(ctx context.Context, tx *store.Tx, p *partner.Profile, m *Mapping, set string, tree map[string]any, o *waybill.Order,
	meta map[string]string, refs ...string) (string, Controls, error) {
	if o == nil { // a document of no order (846)
		o = &waybill.Order{CorrelationID: store.NewID("cor")}
	}
	fid := map[string]string{"856": "SH", "810": "IN", "846": "IB", "865": "CA"}[set]
	now := f.now()
	payload, c, err := envelopeOut(ctx, tx, p, firstNonEmpty(m.FunctionalID, fid), now, nil, func(w *x12.Writer, nextST func() (string, error)) error {
		st, err := nextST()
		if err != nil {
			return err
		}
		if err := w.BeginSet(set, st, ""); err != nil {
			return err
		}
		if err := m.Render(tree, w); err != nil {
			return &renderError{fmt.Errorf("mapping %s %s: %w", m.Set, m.Version, err)}
		}
		return w.EndSet()
	})
	if err != nil {
		return "", c, err
	}
	if meta == nil {
		meta = map[string]string{}
	}
	meta["isa13"], meta["gs06"], meta["st02"] = c.Interchange, c.Group, c.Set
	if o.PONumber != "" {
		meta["po_number"] = o.PONumber
	}
	key := firstNonEmpty(meta["delivery"], meta["invoice"], meta["reference"], c.Interchange)
	var allRefs []string
	for _, r := range append([]string{o.PONumber, o.ID, c.Interchange}, refs...) {
		if r != "" {
			allRefs = append(allRefs, r)
		}
	}
	id, err := f.h.Emit(ctx, tx, &waybill.OutboundMessage{CorrelationID: o.CorrelationID, Partner: p.ID, Channel: p.OutboundChannel(),
		DocType: set, Filename: fileName(p.ID, set, o.PONumber, key, c.Interchange), ContentType: "application/edi-x12",
		Meta: meta, Payload: payload}, allRefs...)
	if err != nil {
		return "", c, err
	}
	doc, _ := p.Doc(set, partner.Outbound)
	out := &store.EDIOutbound{MessageID: id, Partner: p.ID, SetID: set, Interchange: c.Interchange, Group: c.Group, SetControl: c.Set,
		OrderID: o.ID, QueuedAt: now}
	if doc.AckSLA > 0 {
		out.AckDueAt = now.Add(doc.AckSLA)
	}
	return id, c, tx.InsertEDIOutbound(ctx, out)
}

func fileName(partnerID, set, po, key, isa string) string {
	clean := strings.NewReplacer("/", "-", "\\", "-", " ", "_").Replace(key)
	if po == "" {
		return fmt.Sprintf("%s-%s-%s-%s.x12", partnerID, set, clean, isa)
	}
	return fmt.Sprintf("%s-%s-%s-%s-%s.x12", partnerID, set, po, clean, isa)
}

// flowSets are the sets whose mappings New resolves; profiles may list others already.
var flowSets = map[string]bool{"850": true, "855": true, "856": true, "810": true, "846": true, "860": true, "865": true}

// closeException resolves the open dead letter of a document that was held or rejected, now that
// it is sent (or held for another reason). A dead letter an operator resolved already is left alone.
func closeException(ctx context.Context, tx *store.Tx, cur *store.EDIFulfilment) error {
	if cur == nil || cur.DeadLetterID == "" {
		return nil
	}
	_, err := tx.ResolveDeadLetter(ctx, cur.DeadLetterID, store.DeadDiscarded, "edi (superseded: the document was sent or held anew)")
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// waitForSend returns how long to wait before looking again when the outbound message id is not
// yet sent (0 when it is): its age, between 1 second and 10 minutes, so the wait grows with a
// transport outage.
func (f *Flow) waitForSend(ctx context.Context, tx *store.Tx, id string) (time.Duration, error) {
	m, err := tx.Message(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("reading the 856 %s: %w", id, err)
	}
	if m.State != store.MessageQueued && m.State != store.MessageReplayed {
		return 0, nil
	}
	age := f.now().Sub(m.ReceivedAt)
	return min(max(age, time.Second), 10*time.Minute), nil
}

// shippedAt is when the ERP's delivery was done, for the "856 sent on time" figure ("" unknown).
func shippedAt(d waybill.Delivery) string {
	if d.DoneAt.IsZero() {
		return ""
	}
	return d.DoneAt.UTC().Format(time.RFC3339)
}
