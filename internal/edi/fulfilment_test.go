package edi_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/edi"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/memerp"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/x12"
)

// shippingERP is the in-memory ERP with a scripted fulfilment: the test says what OrderStatus
// returns (deliveries, invoices) for the order, as the warehouse and accounting move it on.
type shippingERP struct {
	*memerp.ERP
	mu      sync.Mutex
	script  func(st waybill.OrderStatus) waybill.OrderStatus
	changes []waybill.LineChange
}

func (e *shippingERP) OrderStatus(ctx context.Context, ref waybill.ERPRef) (waybill.OrderStatus, error) {
	st, err := e.ERP.OrderStatus(ctx, ref)
	if err != nil {
		return st, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.script != nil {
		st = e.script(st)
	}
	return st, nil
}

func (e *shippingERP) set(fn func(st waybill.OrderStatus) waybill.OrderStatus) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.script = fn
}

func setupShipping(t *testing.T, backend string) (*bundle, *shippingERP) {
	t.Helper()
	m := memerp.New(false)
	m.AddCustomer("ACME", "Acme Retail")
	m.AddCustomer("GLOBEX", "Globex Stores")
	m.AddProduct("SKU-1", "00012345678905", waybill.MustDecimal("12.50"))
	m.AddProduct("SKU-2", "", waybill.MustDecimal("3.10"))
	m.AddProduct("SKU-3", "00012345678912", waybill.MustDecimal("5.00"))
	erp := &shippingERP{ERP: m}
	b := setupWith(t, backend, erp)
	b.erp = m
	return b, erp
}

// sync runs the ERP sync of the order now (what change capture schedules).
func (b *bundle) sync(t *testing.T, o *waybill.Order) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, b.db.InTx(ctx, func(tx *store.Tx) error {
		return b.app.Queue.InsertTx(ctx, tx, hub.SyncOrder{OrderID: o.ID, CorrelationID: o.CorrelationID, Partner: o.Partner}, nil)
	}))
}

var (
	shipDay1 = time.Date(2026, 11, 28, 15, 40, 0, 0, time.UTC)
	shipDay2 = time.Date(2026, 12, 2, 8, 30, 0, 0, time.UTC)
)

func move(o *waybill.Order, line int, demand, done string) waybill.DeliveryMove {
	l := o.Lines[line]
	return waybill.DeliveryMove{Product: l.Product, SKU: l.VendorItem, SaleLine: l.ERPLine, Demand: waybill.MustDecimal(demand),
		Done: waybill.MustDecimal(done), UOM: l.UOM}
}

func erpLines(o *waybill.Order, delivered ...string) []waybill.ERPLine {
	var out []waybill.ERPLine
	for i, l := range o.Lines {
		out = append(out, waybill.ERPLine{Ref: l.ERPLine, LineNumber: l.Number, Product: l.Product, SKU: l.VendorItem, Quantity: l.Quantity,
			UOM: l.UOM, UnitPrice: l.UnitPrice, Delivered: waybill.MustDecimal(delivered[i])})
	}
	return out
}

// acceptedOrder receives Acme's 850 and waits for the ERP's acceptance (855 sent).
func acceptedOrder(t *testing.T, b *bundle) *waybill.Order {
	t.Helper()
	b.receive(t, "acme", read(t, "acme_850.x12"))
	b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 })
	return b.order(t, "PO-1001").Order
}

// partialThenBackorder: the first delivery ships 6 of line 1 and all of line 2, its backorder
// the other 4 of line 1.
func partial(o *waybill.Order) waybill.Delivery {
	return waybill.Delivery{Ref: waybill.ERPRef{Model: "stock.picking", ID: 31, Name: "WH/OUT/00031"}, State: "done", Carrier: "UPS",
		TrackingRef: "1Z999AA10123456784", DoneAt: shipDay1, Moves: []waybill.DeliveryMove{move(o, 0, "10", "6"), move(o, 1, "4", "4")}}
}

func backorder(o *waybill.Order, state string) waybill.Delivery {
	d := waybill.Delivery{Ref: waybill.ERPRef{Model: "stock.picking", ID: 32, Name: "WH/OUT/00032"}, State: state, Carrier: "FedEx",
		TrackingRef: "794612345678", BackorderOf: waybill.ERPRef{Model: "stock.picking", ID: 31, Name: "WH/OUT/00031"},
		Moves: []waybill.DeliveryMove{move(o, 0, "4", "0")}}
	if state == "done" {
		d.DoneAt, d.Moves[0].Done = shipDay2, waybill.MustDecimal("4")
	}
	return d
}

// postedInvoice bills both lines (10 × 12.50 + 4 × 3.10 = 137.40) with 8.25% sales tax (11.34).
func postedInvoice(o *waybill.Order) waybill.ERPInvoice {
	return waybill.ERPInvoice{Ref: waybill.ERPRef{Model: "account.move", ID: 12, Name: "INV/2026/00012"}, Number: "INV/2026/00012",
		State: "posted", PaymentState: waybill.PaymentNotPaid, Date: time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC),
		DueDate: time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC), Currency: "USD", Untaxed: waybill.MustDecimal("137.40"),
		Tax: waybill.MustDecimal("11.34"), Total: waybill.MustDecimal("148.74"), Residual: waybill.MustDecimal("148.74"),
		Lines: []waybill.InvoiceLine{
			{LineNumber: o.Lines[0].Number, VendorItem: "SKU-1", Quantity: waybill.MustDecimal("10"), UOM: "EA", UnitPrice: waybill.MustDecimal("12.50"), Amount: waybill.MustDecimal("125.00")},
			{LineNumber: o.Lines[1].Number, VendorItem: "SKU-2", Quantity: waybill.MustDecimal("4"), UOM: "CA", UnitPrice: waybill.MustDecimal("3.10"), Amount: waybill.MustDecimal("12.40")},
		}}
}

// Two deliveries for one order (a partial shipment and its backorder) make two 856s, then the
// posted invoice one 810 whose totals are the ERP's to the cent.
func TestShipNoticesThenInvoice(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b, erp := setupShipping(t, backend)
		o := acceptedOrder(t, b)
		erp.set(func(st waybill.OrderStatus) waybill.OrderStatus {
			st.DeliveryStatus, st.Lines = "partial", erpLines(o, "6", "4")
			st.Deliveries = []waybill.Delivery{partial(o), backorder(o, "assigned")}
			return st
		})
		b.sync(t, o)
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("856")) == 1 })
		require.Equal(t, waybill.OrderShipped, b.state(t, "PO-1001"))

		erp.set(func(st waybill.OrderStatus) waybill.OrderStatus {
			st.DeliveryStatus, st.InvoiceStatus, st.Lines = "full", "invoiced", erpLines(o, "10", "4")
			st.Deliveries = []waybill.Delivery{partial(o), backorder(o, "done")}
			st.Invoices = []waybill.ERPInvoice{postedInvoice(o)}
			return st
		})
		b.sync(t, o)
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("810")) == 1 })
		b.sync(t, o) // a second sync sends nothing again
		b.eventually(t, 10*time.Second, func() bool { return b.syncsDone(t) })
		require.Len(t, b.out.byDoc("856"), 2)
		require.Len(t, b.out.byDoc("810"), 1)
		require.Equal(t, waybill.OrderInvoiced, b.state(t, "PO-1001"))

		asn1, asn2, inv := b.out.byDoc("856")[0], b.out.byDoc("856")[1], b.out.byDoc("810")[0]
		require.Equal(t, "WH/OUT/00031", asn1.Meta["delivery"])
		require.Equal(t, "WH/OUT/00032", asn2.Meta["delivery"])
		for _, m := range []waybill.OutboundMessage{asn1, asn2, inv} {
			requireValidX12(t, m.Payload)
		}
		require.Contains(t, string(asn1.Payload), "SN1*1*6*EA**10*EA~")
		require.Contains(t, string(asn1.Payload), "SN1*2*4*CS**4*CS~", "the partner's units (CS), not the ERP's (CA)")
		require.Contains(t, string(asn2.Payload), "SN1*1*4*EA**10*EA~")
		require.Contains(t, string(inv.Payload), "TDS*14874*13740~")
		golden(t, "acme_856_partial.golden", asn1.Payload)
		golden(t, "acme_856_backorder.golden", asn2.Payload)
		golden(t, "acme_810.golden", inv.Payload)

		// SSCCs are valid and never repeat across the two notices.
		seen := map[string]bool{}
		for _, m := range []waybill.OutboundMessage{asn1, asn2} {
			for _, line := range strings.Split(string(m.Payload), "~") {
				if code, ok := strings.CutPrefix(strings.TrimSpace(line), "MAN*GM*"); ok {
					require.True(t, edi.ValidSSCC(code), code)
					require.False(t, seen[code], "SSCC %s used twice", code)
					seen[code] = true
				}
			}
		}
		require.Len(t, seen, 3, "one carton per shipped line")
	})
}

// requireValidX12 reads payload and fails on any envelope or schema error.
func requireValidX12(t *testing.T, payload []byte) {
	t.Helper()
	sum, err := x12.Acknowledge(context.Background(), strings.NewReader(string(payload)), &strings.Builder{}, x12.AckOptions{})
	require.NoError(t, err)
	require.Len(t, sum.Groups, 1)
	for _, s := range sum.Groups[0].Sets {
		var errs []string
		for _, e := range s.Errors {
			errs = append(errs, e.Error())
		}
		require.True(t, s.Accepted(), "set %s %s is not valid X12: %v\n%s", s.ID, s.ControlNumber, errs, payload)
	}
}

// syncsDone reports whether no sync_order or deliver_message job is waiting or running.
func (b *bundle) syncsDone(t *testing.T) bool {
	t.Helper()
	stats, err := b.app.Queue.Stats(context.Background())
	require.NoError(t, err)
	for _, s := range stats {
		switch s.State {
		case "available", "running", "retryable", "scheduled", "pending":
			if s.Count > 0 {
				return false
			}
		}
	}
	return true
}

// ack997 is Acme's 997 for our group gs06: accepting it whole when sets is empty, else one
// AK2..AK5 per "st02:status" (a rejected set carries an AK3/AK4 note).
func ack997(isa, gs06 string, sets ...string) []byte {
	var b strings.Builder
	b.WriteString("ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*WAYBILL        *261127*0900*U*00401*" + isa + "*0*P*:~\n")
	b.WriteString("GS*FA*ACMERETAIL*WAYBILL*20261127*0900*" + strings.TrimLeft(isa, "0") + "*X*004010~\n")
	b.WriteString("ST*997*0001~\n")
	b.WriteString("AK1*SH*" + gs06 + "~\n")
	n, accepted := 4, 0
	for _, s := range sets {
		st, status, _ := strings.Cut(s, ":")
		b.WriteString("AK2*856*" + st + "~\n")
		n++
		if status == "R" {
			b.WriteString("AK3*SN1*19*HL*8~\nAK4*2*382*6*X~\n")
			n += 2
		} else {
			accepted++
		}
		b.WriteString("AK5*" + status + "~\n")
		n++
	}
	group := "A"
	if accepted < len(sets) {
		group = "R"
	}
	if len(sets) == 0 {
		sets, accepted = []string{""}, 1
	}
	b.WriteString("AK9*" + group + "*" + itoa(len(sets)) + "*" + itoa(len(sets)) + "*" + itoa(accepted) + "~\n")
	b.WriteString("SE*" + itoa(n) + "*0001~\n")
	b.WriteString("GE*1*" + strings.TrimLeft(isa, "0") + "~\nIEA*1*" + isa + "~\n")
	return []byte(b.String())
}

func itoa(n int) string { return strconv.Itoa(n) }

// An 856 waits for its 997 within the partner's SLA (4h for Acme): past it, it is overdue; a 997
// that accepts it clears it; one that rejects it is an exception (dead letter with the AK3/AK4
// detail) whose replay sends a new 856.
func TestShipNoticeAcks(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		b, erp := setupShipping(t, backend)
		o := acceptedOrder(t, b)
		erp.set(func(st waybill.OrderStatus) waybill.OrderStatus {
			st.DeliveryStatus, st.Lines = "partial", erpLines(o, "6", "4")
			st.Deliveries = []waybill.Delivery{partial(o), backorder(o, "assigned")}
			return st
		})
		b.sync(t, o)
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("856")) == 1 })
		asn := b.out.byDoc("856")[0]

		overdue := func() []string {
			list, err := b.db.OverdueEDIOutbound(ctx, fixedNow.Add(5*time.Hour), 0)
			require.NoError(t, err)
			var out []string
			for _, o := range list {
				out = append(out, o.SetID)
			}
			return out
		}
		none, err := b.db.OverdueEDIOutbound(ctx, fixedNow.Add(3*time.Hour), 0)
		require.NoError(t, err)
		require.Empty(t, none, "within the 4h SLA nothing is overdue")
		require.Equal(t, []string{"856"}, overdue(), "past 4h the 856 is overdue (the 855's SLA is 24h)")
		n, err := b.flow.FlagOverdueAcks(ctx, fixedNow.Add(5*time.Hour))
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, err = b.flow.FlagOverdueAcks(ctx, fixedNow.Add(6*time.Hour))
		require.NoError(t, err)
		require.Zero(t, n, "flagged once")
		trail, err := b.db.AuditTrail(ctx, asn.CorrelationID)
		require.NoError(t, err)
		require.Contains(t, auditKinds(trail), "edi.ack_overdue", "the overdue ack shows in the order's trace")

		// The partner rejects it: an exception with the AK3/AK4 detail, no longer overdue.
		b.receive(t, "acme", ack997("000000201", asn.Meta["gs06"], asn.Meta["st02"]+":R"))
		var dead []*store.DeadLetter
		b.eventually(t, 10*time.Second, func() bool {
			dead, err = b.db.DeadLetters(ctx, store.DeadLetterFilter{})
			require.NoError(t, err)
			return len(dead) == 1
		})
		require.Equal(t, edi.ReasonAckRejected, dead[0].Reason)
		require.Contains(t, dead[0].Message, "segment SN1 at 19 in loop HL")
		require.Contains(t, dead[0].Message, "element 2 (382): code 6")
		require.Empty(t, overdue())

		// After the fix, the replay sends a new 856 with new control numbers and new SSCCs.
		require.NoError(t, b.app.Hub.Replay(ctx, dead[0].ID, "test"))
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("856")) == 2 })
		again := b.out.byDoc("856")[1]
		require.NotEqual(t, asn.Meta["isa13"], again.Meta["isa13"])
		require.NotContains(t, string(again.Payload), "MAN*GM*006141410000000012~", "an SSCC is never reused")

		// An accepting 997 (no AK2 detail) clears the new one.
		b.receive(t, "acme", ack997("000000202", again.Meta["gs06"]))
		b.eventually(t, 10*time.Second, func() bool { return len(overdue()) == 0 && b.syncsDone(t) })
		trail, err = b.db.AuditTrail(ctx, again.CorrelationID)
		require.NoError(t, err)
		require.Contains(t, auditKinds(trail), "edi.ack_received")
	})
}

// A delivery that ships more than the order fails the ASN gate: the 856 is held as a dead letter
// with the reason, the 810 waits for it; after the fix the replay sends the 856, then the 810.
func TestASNGateHoldsThenReplays(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		b, erp := setupShipping(t, backend)
		o := acceptedOrder(t, b)
		over := partial(o)
		over.Moves[0].Done = waybill.MustDecimal("12")
		erp.set(func(st waybill.OrderStatus) waybill.OrderStatus {
			st.DeliveryStatus, st.InvoiceStatus, st.Lines = "full", "invoiced", erpLines(o, "12", "4")
			st.Deliveries = []waybill.Delivery{over}
			st.Invoices = []waybill.ERPInvoice{postedInvoice(o)}
			return st
		})
		b.sync(t, o)
		var dead []*store.DeadLetter
		b.eventually(t, 10*time.Second, func() bool {
			var err error
			dead, err = b.db.DeadLetters(ctx, store.DeadLetterFilter{})
			require.NoError(t, err)
			return len(dead) == 2
		})
		require.Equal(t, edi.ReasonASNGate, dead[0].Reason)
		require.Contains(t, dead[0].Message, "line 1: 12 shipped in all, more than the 10 ordered")
		require.Equal(t, edi.ReasonInvoiceGate, dead[1].Reason)
		require.Contains(t, dead[1].Message, "the 856 for delivery WH/OUT/00031 has not been sent")
		b.sync(t, o) // held documents are not dead-lettered twice for the same reason
		b.eventually(t, 10*time.Second, func() bool { return b.syncsDone(t) })
		again, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{})
		require.NoError(t, err)
		require.Len(t, again, 2)
		require.Empty(t, b.out.byDoc("856"))
		require.Empty(t, b.out.byDoc("810"))

		// The warehouse corrects the delivery in the ERP; replaying sends the 856, then the 810.
		erp.set(func(st waybill.OrderStatus) waybill.OrderStatus {
			st.DeliveryStatus, st.InvoiceStatus, st.Lines = "full", "invoiced", erpLines(o, "10", "4")
			fixed := partial(o)
			fixed.Moves[0].Done = waybill.MustDecimal("10")
			st.Deliveries = []waybill.Delivery{fixed}
			st.Invoices = []waybill.ERPInvoice{postedInvoice(o)}
			return st
		})
		require.NoError(t, b.app.Hub.Replay(ctx, dead[0].ID, "test"))
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("810")) == 1 })
		require.Len(t, b.out.byDoc("856"), 1)
		require.Contains(t, string(b.out.byDoc("856")[0].Payload), "SN1*1*10*EA**10*EA~")
		require.Equal(t, []string{"856", "810"}, b.out.sequence("856", "810"), "the 856 and the 810 of one sync go out in that order")
		open, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{})
		require.NoError(t, err)
		require.Empty(t, open, "the 810's exception closes once it is sent")
	})
}

// An invoice whose lines do not add up to the ERP's totals is never sent.
func TestInvoiceGateTotals(t *testing.T) {
	t.Parallel()
	b, erp := setupShipping(t, "sqlite")
	o := acceptedOrder(t, b)
	bad := postedInvoice(o)
	bad.Untaxed, bad.Total = waybill.MustDecimal("137.41"), waybill.MustDecimal("148.75")
	full := partial(o)
	full.Moves[0].Done = waybill.MustDecimal("10")
	erp.set(func(st waybill.OrderStatus) waybill.OrderStatus {
		st.DeliveryStatus, st.InvoiceStatus, st.Lines = "full", "invoiced", erpLines(o, "10", "4")
		st.Deliveries, st.Invoices = []waybill.Delivery{full}, []waybill.ERPInvoice{bad}
		return st
	})
	b.sync(t, o)
	var dead []*store.DeadLetter
	b.eventually(t, 10*time.Second, func() bool {
		var err error
		dead, err = b.db.DeadLetters(context.Background(), store.DeadLetterFilter{})
		require.NoError(t, err)
		return len(dead) == 1
	})
	require.Equal(t, edi.ReasonInvoiceGate, dead[0].Reason)
	require.Contains(t, dead[0].Message, "lines and charges add up to 137.40, untaxed total says 137.41")
	require.Len(t, b.out.byDoc("856"), 1)
	require.Empty(t, b.out.byDoc("810"))
}

func auditKinds(trail []store.AuditRecord) []string {
	var kinds []string
	for _, r := range trail {
		kinds = append(kinds, r.Kind)
	}
	return kinds
}

// Globex (005010, its own delimiters) packs 4 units a carton and 2 cartons a pallet: one delivery
// of 6 + 2 units makes 3 cartons on 2 pallets, HL S/O/T/P/I.
func TestShipNoticePalletsGlobex(t *testing.T) {
	t.Parallel()
	b, erp := setupShipping(t, "sqlite")
	b.receive(t, "globex", read(t, "globex_850.x12"))
	b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 })
	o := b.order(t, "G-5001").Order
	erp.set(func(st waybill.OrderStatus) waybill.OrderStatus {
		st.DeliveryStatus, st.Lines = "full", erpLines(o, "6", "2")
		st.Deliveries = []waybill.Delivery{{Ref: waybill.ERPRef{Model: "stock.picking", ID: 40, Name: "WH/OUT/00040"}, State: "done",
			Carrier: "DHL", TrackingRef: "JD0002", DoneAt: shipDay1, Moves: []waybill.DeliveryMove{move(o, 0, "6", "6"), move(o, 1, "2", "2")}}}
		return st
	})
	b.sync(t, o)
	b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("856")) == 1 })
	asn := b.out.byDoc("856")[0].Payload
	requireValidX12(t, asn)
	require.Equal(t, 2, strings.Count(string(asn), "|T~"), "two pallets")
	require.Equal(t, 3, strings.Count(string(asn), "|P~"), "three cartons")
	require.Contains(t, string(asn), "TD5||2|DHLC~")
	golden(t, "globex_856_pallets.golden", asn)
}

// ChangeOrder makes the scripted ERP an waybill.OrderChanger: it records the changes and returns
// the lines as changed.
func (e *shippingERP) ChangeOrder(_ context.Context, _ waybill.ERPRef, changes []waybill.LineChange) ([]waybill.ERPLine, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.changes = append(e.changes, changes...)
	var out []waybill.ERPLine
	for _, c := range changes {
		q := c.Quantity
		if c.Cancel {
			q = waybill.Zero
		}
		l := waybill.ERPLine{Ref: c.ERPLine, LineNumber: c.LineNumber, Product: c.Product, Quantity: q}
		if c.UnitPrice != nil {
			l.UnitPrice = *c.UnitPrice
		}
		out = append(out, l)
	}
	return out, nil
}

var _ waybill.OrderChanger = (*shippingERP)(nil)

// po860 is Globex's 860 (005010) for G-5001: line 1 to 9 units, line 2 deleted.
func po860(isa, seq string) []byte {
	n := strings.TrimLeft(isa, "0")
	return []byte(strings.Join([]string{
		"ISA|00|          |00|          |01|081234567      |ZZ|WAYBILL        |261127|0800|^|00501|" + isa + "|0|P|>~",
		"GS|PC|081234567|WAYBILL|20261127|0800|" + n + "|X|005010~",
		"ST|860|0001~",
		"BCH|04|SA|G-5001||" + seq + "|20261126~",
		"POC|1|QI|9||EA|12.50||IN|G-77~",
		"POC|2|DI|0||EA|||UP|00012345678912~",
		"SE|5|0001~",
		"GE|1|" + n + "~",
		"IEA|1|" + isa + "~",
	}, "\r\n") + "\r\n")
}

// An 860 while the order is accepted is applied through the ERP and answered with an 865 AT; once
// the stock is allocated, the next 860 is refused with the reason (865 RJ).
func TestPOChangeAppliedThenRefused(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, backend string) {
		b, erp := setupShipping(t, backend)
		b.receive(t, "globex", read(t, "globex_850.x12"))
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("855")) == 1 })
		o := b.order(t, "G-5001").Order
		b.receive(t, "globex", po860("000000601", "1"))
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("865")) == 1 })
		ack := string(b.out.byDoc("865")[0].Payload)
		require.Contains(t, ack, "BCA|04|AT|G-5001||1|20261126||||20261126~")
		require.Contains(t, ack, "POC|1|QI|9||EA~\r\nACK|IA|9|EA~")
		require.Contains(t, ack, "POC|2|DI|0||EA~\r\nACK|IA|0|EA~")
		requireValidX12(t, b.out.byDoc("865")[0].Payload)
		golden(t, "globex_865_applied.golden", b.out.byDoc("865")[0].Payload)
		erp.mu.Lock()
		require.Len(t, erp.changes, 2)
		require.Equal(t, "9", erp.changes[0].Quantity.String())
		require.True(t, erp.changes[1].Cancel)
		erp.mu.Unlock()
		rec := b.order(t, "G-5001")
		require.Equal(t, "9", rec.Order.Lines[0].Qty.Accepted.String())
		require.True(t, rec.Order.Lines[1].Qty.Accepted.IsZero())
		require.Equal(t, "2", rec.Order.Lines[1].Qty.Cancelled.String())

		// The ERP reserves the stock; the next change is refused.
		erp.set(func(st waybill.OrderStatus) waybill.OrderStatus {
			st.Lines = erpLines(o, "0", "0")
			st.Deliveries = []waybill.Delivery{backorder(o, "assigned")}
			return st
		})
		b.sync(t, o)
		b.eventually(t, 10*time.Second, func() bool { return b.state(t, "G-5001") == waybill.OrderAllocated })
		b.receive(t, "globex", po860("000000602", "2"))
		b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("865")) == 2 })
		refused := string(b.out.byDoc("865")[1].Payload)
		require.Contains(t, refused, "BCA|04|RJ|G-5001||2|")
		require.Contains(t, refused, "MSG|order G-5001 is allocated; the stock is reserved, so changes are refused~")
		require.Contains(t, refused, "ACK|IR|9|EA~")
		erp.mu.Lock()
		require.Len(t, erp.changes, 2, "nothing more reached the ERP")
		erp.mu.Unlock()
	})
}

// Globex's 846 lists every cross-referenced item with the ERP's free-to-promise quantity, on the
// schedule of its profile.
func TestInventoryAdviceGlobex(t *testing.T) {
	t.Parallel()
	b, _ := setupShipping(t, "sqlite")
	sched, err := b.flow.InventorySchedules()
	require.NoError(t, err)
	require.Equal(t, map[string]time.Duration{"globex": 6 * time.Hour}, sched)
	require.NoError(t, b.flow.AdviseInventory(context.Background(), "globex"))
	b.eventually(t, 10*time.Second, func() bool { return len(b.out.byDoc("846")) == 1 })
	adv := b.out.byDoc("846")[0].Payload
	requireValidX12(t, adv)
	require.Contains(t, string(adv), "LIN||IN|G-77|VP|SKU-1|UP|00012345678905~")
	golden(t, "globex_846.golden", adv)
}

// sequence returns the doc types of the sent messages among docs, in sending order.
func (o *outbox) sequence(docs ...string) []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, m := range o.msgs {
		for _, d := range docs {
			if m.DocType == d {
				out = append(out, d)
			}
		}
	}
	return out
}
