// Package storetest is the conformance suite every store backend passes: run Exercise from the
// backend's tests with a function that opens a fresh, migrated, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// Opener returns a fresh, migrated, empty store; it registers its own cleanup.
type Opener func(t *testing.T) *store.DB

// Exercise runs the conformance suite against stores opened by open.
func Exercise(t *testing.T, open Opener) {
	t.Run("MessageRoundTrip", func(t *testing.T) { t.Parallel(); testMessageRoundTrip(t, open(t)) })
	t.Run("FindOriginal", func(t *testing.T) { t.Parallel(); testFindOriginal(t, open(t)) })
	t.Run("BusinessKey", func(t *testing.T) { t.Parallel(); testBusinessKey(t, open(t)) })
	t.Run("OrderLifecycle", func(t *testing.T) { t.Parallel(); testOrderLifecycle(t, open(t)) })
	t.Run("OrderOptimisticLock", func(t *testing.T) { t.Parallel(); testOrderOptimisticLock(t, open(t)) })
	t.Run("TransitionsAtCommit", func(t *testing.T) { t.Parallel(); testTransitionsAtCommit(t, open(t)) })
	t.Run("RollbackLeavesNothing", func(t *testing.T) { t.Parallel(); testRollback(t, open(t)) })
	t.Run("DeadLetters", func(t *testing.T) { t.Parallel(); testDeadLetters(t, open(t)) })
	t.Run("AuditChain", func(t *testing.T) { t.Parallel(); testAuditChain(t, open(t)) })
	t.Run("AuditTamper", func(t *testing.T) { t.Parallel(); testAuditTamper(t, open(t)) })
	t.Run("AuditConcurrentWriters", func(t *testing.T) { t.Parallel(); testAuditConcurrent(t, open(t)) })
	t.Run("Trace", func(t *testing.T) { t.Parallel(); testTrace(t, open(t)) })
	t.Run("ControlNumbersNeverReused", func(t *testing.T) { t.Parallel(); testControlNumbers(t, open(t)) })
	t.Run("Cursors", func(t *testing.T) { t.Parallel(); testCursors(t, open(t)) })
}

func newMessage(partner, payload string) *store.Message {
	return &store.Message{
		ID: store.NewID("msg"), CorrelationID: store.NewID("cor"), Direction: store.Inbound,
		Channel: waybill.ChannelHTTP, Partner: partner, DocType: "order-json", TransportID: fmt.Sprintf("t-%x", payload),
		Meta: map[string]string{"k": "v"}, Digest: fmt.Sprintf("d-%x", payload), Size: int64(len(payload)), Payload: []byte(payload),
		State: store.MessageReceived, ReceivedAt: time.Now().UTC().Truncate(time.Microsecond),
	}
}

func insert(t *testing.T, db *store.DB, m *store.Message) {
	t.Helper()
	require.NoError(t, db.InTx(context.Background(), func(tx *store.Tx) error { return tx.InsertMessage(context.Background(), m) }))
}

func testMessageRoundTrip(t *testing.T, db *store.DB) {
	ctx := context.Background()
	m := newMessage("acme", "hello\x00binary\xff")
	insert(t, db, m)
	got, err := db.Message(ctx, m.ID)
	require.NoError(t, err)
	require.Equal(t, m.Payload, got.Payload)
	require.Equal(t, m.Digest, got.Digest)
	require.Equal(t, m.Meta, got.Meta)
	require.Equal(t, m.ReceivedAt, got.ReceivedAt)
	require.Equal(t, store.MessageReceived, got.State)

	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.SetMessageState(ctx, m.ID, store.MessageProcessed) }))
	got, err = db.Message(ctx, m.ID)
	require.NoError(t, err)
	require.Equal(t, store.MessageProcessed, got.State)

	_, err = db.Message(ctx, "msg_missing")
	require.ErrorIs(t, err, store.ErrNotFound)

	list, err := db.Messages(ctx, store.MessageFilter{Partner: "acme"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Nil(t, list[0].Payload, "listing does not load payloads")
}

func testFindOriginal(t *testing.T, db *store.DB) {
	ctx := context.Background()
	a := newMessage("acme", "one")
	insert(t, db, a)
	tests := []struct {
		name, partner, digest, transport string
		want                             string
	}{
		{"same digest", "acme", a.Digest, "", a.ID},
		{"same transport id", "acme", "other", a.TransportID, a.ID},
		{"other partner", "globex", a.Digest, a.TransportID, ""},
		{"nothing alike", "acme", "other", "other", ""},
	}
	for _, tc := range tests {
		err := db.InTx(ctx, func(tx *store.Tx) error {
			m, err := tx.FindOriginal(ctx, tc.partner, tc.digest, tc.transport)
			if tc.want == "" {
				if !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("%s: got %v, want ErrNotFound", tc.name, err)
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", tc.name, err)
			}
			if m.ID != tc.want {
				return fmt.Errorf("%s: got %s, want %s", tc.name, m.ID, tc.want)
			}
			return nil
		})
		require.NoError(t, err)
	}
}

func testBusinessKey(t *testing.T, db *store.DB) {
	ctx := context.Background()
	var first, second *store.BusinessKey
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		first, err = tx.ClaimBusinessKey(ctx, store.BusinessKey{Key: "po:acme/1", Kind: "po", MessageID: "m1", OrderID: "o1", CorrelationID: "c1"})
		return err
	}))
	require.Nil(t, first, "first claim wins")
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		var err error
		second, err = tx.ClaimBusinessKey(ctx, store.BusinessKey{Key: "po:acme/1", Kind: "po", MessageID: "m2", OrderID: "o2", CorrelationID: "c2"})
		return err
	}))
	require.NotNil(t, second)
	require.Equal(t, "o1", second.OrderID)
	require.Equal(t, "c1", second.CorrelationID)
}

func newOrder() *waybill.Order {
	return &waybill.Order{
		ID: store.NewID("ord"), CorrelationID: store.NewID("cor"), Partner: "acme", Account: "ACME", Channel: waybill.ChannelHTTP,
		PONumber: "PO-1", State: waybill.OrderReceived, Currency: "USD",
		Lines: []waybill.Line{{Number: "1", VendorItem: "SKU-1", Quantity: waybill.MustDecimal("5"), UOM: "EA",
			UnitPrice: waybill.MustDecimal("12.345"), Qty: waybill.LineQty{Ordered: waybill.MustDecimal("5")}}},
	}
}

func testOrderLifecycle(t *testing.T, db *store.DB) {
	ctx := context.Background()
	o := newOrder()
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertOrder(ctx, o, "m1") }))
	steps := []struct {
		to  waybill.OrderState
		by  waybill.Owner
		bad bool
	}{
		{waybill.OrderAccepted, waybill.OwnerERP, true},  // skipping validation is illegal
		{waybill.OrderValidated, waybill.OwnerERP, true}, // not the owner
		{waybill.OrderValidated, waybill.OwnerHub, false},
		{waybill.OrderAccepted, waybill.OwnerERP, false},
		{waybill.OrderAllocated, waybill.OwnerERP, false},
		{waybill.OrderValidated, waybill.OwnerHub, true}, // no way back
	}
	for _, s := range steps {
		err := db.InTx(ctx, func(tx *store.Tx) error {
			rec, err := tx.Order(ctx, o.ID)
			if err != nil {
				return err
			}
			_, err = tx.Transition(ctx, rec, s.to, s.by, "test", "")
			return err
		})
		if s.bad {
			var te *waybill.TransitionError
			require.ErrorAs(t, err, &te, "→ %s by %s", s.to, s.by)
			require.Equal(t, waybill.ECONFLICT, waybill.Code(err))
		} else {
			require.NoError(t, err, "→ %s by %s", s.to, s.by)
		}
	}
	rec, err := db.Order(ctx, o.ID)
	require.NoError(t, err)
	require.Equal(t, waybill.OrderAllocated, rec.Order.State)
	require.Equal(t, "12.345", rec.Order.Lines[0].UnitPrice.String())
	evs, err := db.OrderEvents(ctx, o.ID)
	require.NoError(t, err)
	var path []string
	for _, e := range evs {
		path = append(path, string(e.From)+"→"+string(e.To))
		require.Equal(t, o.CorrelationID, e.CorrelationID)
	}
	require.Equal(t, []string{"received→validated", "validated→accepted", "accepted→allocated"}, path)
	list, err := db.Orders(ctx, store.OrderFilter{PONumber: "PO-1"})
	require.NoError(t, err)
	require.Len(t, list, 1)
}

func testOrderOptimisticLock(t *testing.T, db *store.DB) {
	ctx := context.Background()
	o := newOrder()
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertOrder(ctx, o, "m1") }))
	a, err := db.Order(ctx, o.ID)
	require.NoError(t, err)
	b, err := db.Order(ctx, o.ID)
	require.NoError(t, err)
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateOrder(ctx, a) }))
	err = db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateOrder(ctx, b) })
	require.ErrorIs(t, err, store.ErrConflict)
}

// testTransitionsAtCommit saves 70 orders with TransitionAtCommit in one transaction (more than
// one statement's worth), then tries again with one order changed meanwhile: that commit fails
// with ErrConflict and changes none of them.
func testTransitionsAtCommit(t *testing.T, db *store.DB) {
	ctx := context.Background()
	const n = 70
	ids := make([]string, n)
	for i := range n {
		o := newOrder()
		o.State = waybill.OrderValidated
		o.PONumber = fmt.Sprintf("PO-C%02d", i)
		ids[i] = o.ID
		require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertOrder(ctx, o, "m1") }))
	}
	move := func(to waybill.OrderState, by waybill.Owner, recs []*store.OrderRecord) error {
		return db.InTx(ctx, func(tx *store.Tx) error {
			for i, r := range recs {
				r.Order.ERP = waybill.ERPRef{Model: "sale.order", ID: int64(1000 + i), Name: fmt.Sprintf("S%05d", i)}
				if _, err := tx.TransitionAtCommit(ctx, r, to, by, "test", ""); err != nil {
					return err
				}
			}
			return nil
		})
	}
	load := func() []*store.OrderRecord {
		recs := make([]*store.OrderRecord, n)
		for i, id := range ids {
			r, err := db.Order(ctx, id)
			require.NoError(t, err)
			recs[i] = r
		}
		return recs
	}
	require.NoError(t, move(waybill.OrderAccepted, waybill.OwnerERP, load()))
	for i, r := range load() {
		require.Equal(t, waybill.OrderAccepted, r.Order.State)
		require.Equal(t, 2, r.Version)
		require.Equal(t, fmt.Sprintf("S%05d", i), r.Order.ERP.Name)
		require.EqualValues(t, 1000+i, r.Order.ERP.ID)
		evs, err := db.OrderEvents(ctx, r.Order.ID)
		require.NoError(t, err)
		require.Len(t, evs, 1)
		require.Equal(t, waybill.OrderAccepted, evs[0].To)
	}

	recs := load()
	stale := *recs[41]
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateOrder(ctx, recs[41]) })) // changed meanwhile
	recs[41] = &stale
	err := move(waybill.OrderAllocated, waybill.OwnerERP, recs)
	require.ErrorIs(t, err, store.ErrConflict)
	for _, r := range load() {
		require.Equal(t, waybill.OrderAccepted, r.Order.State, "the failed commit changed nothing")
	}
	_, err = db.Order(ctx, ids[0])
	require.NoError(t, err)
	list, err := db.Orders(ctx, store.OrderFilter{State: waybill.OrderAllocated})
	require.NoError(t, err)
	require.Empty(t, list)
}

func testRollback(t *testing.T, db *store.DB) {
	ctx := context.Background()
	m := newMessage("acme", "rolled back")
	boom := errors.New("boom")
	err := db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.InsertMessage(ctx, m); err != nil {
			return err
		}
		if err := tx.Audit(ctx, store.AuditRecord{Kind: "test", CorrelationID: m.CorrelationID, Summary: "x"}); err != nil {
			return err
		}
		return boom
	})
	require.ErrorIs(t, err, boom)
	_, err = db.Message(ctx, m.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
	trail, err := db.AuditTrail(ctx, m.CorrelationID)
	require.NoError(t, err)
	require.Empty(t, trail)
}

func testDeadLetters(t *testing.T, db *store.DB) {
	ctx := context.Background()
	mk := func(partner, kind, reason string) *store.DeadLetter {
		d := &store.DeadLetter{JobKind: kind, JobArgs: `{"x":1}`, CorrelationID: store.NewID("cor"), Partner: partner,
			Code: "invalid", Reason: reason, Message: "it failed", Attempts: 1}
		require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertDeadLetter(ctx, d) }))
		return d
	}
	a := mk("acme", "process_message", "x12_syntax")
	mk("globex", "process_message", "unknown_item")
	mk("acme", "submit_order", "unknown_item")

	all, err := db.DeadLetters(ctx, store.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, all, 3)
	byPartner, err := db.DeadLetters(ctx, store.DeadLetterFilter{Partner: "acme"})
	require.NoError(t, err)
	require.Len(t, byPartner, 2)
	byKind, err := db.DeadLetters(ctx, store.DeadLetterFilter{Kind: "process_message", Partner: "acme"})
	require.NoError(t, err)
	require.Len(t, byKind, 1)
	require.Equal(t, a.ID, byKind[0].ID)
	counts, err := db.CountDeadLetters(ctx)
	require.NoError(t, err)
	require.Equal(t, map[string]int64{"x12_syntax": 1, "unknown_item": 2}, counts)

	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ResolveDeadLetter(ctx, a.ID, store.DeadReplayed, "alice")
		return err
	}))
	err = db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ResolveDeadLetter(ctx, a.ID, store.DeadReplayed, "bob")
		return err
	})
	require.ErrorIs(t, err, store.ErrConflict, "a dead letter is replayed once")
	got, err := db.DeadLetter(ctx, a.ID)
	require.NoError(t, err)
	require.Equal(t, store.DeadReplayed, got.State)
	require.Equal(t, "alice", got.ResolvedBy)
	open, err := db.DeadLetters(ctx, store.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, open, 2)
}

func appendAudit(t *testing.T, db *store.DB, corr string, n int) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
			return tx.Audit(ctx, store.AuditRecord{Kind: "test", CorrelationID: corr, Summary: fmt.Sprintf("record %d", i),
				Detail: map[string]any{"i": i}, Refs: []string{fmt.Sprintf("REF-%d", i)}})
		}))
	}
}

func testAuditChain(t *testing.T, db *store.DB) {
	ctx := context.Background()
	appendAudit(t, db, "c1", 5)
	rep, err := db.VerifyAudit(ctx)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep)
	require.EqualValues(t, 5, rep.Unsealed)
	n, err := db.SealAudit(ctx)
	require.NoError(t, err)
	require.Equal(t, 5, n)
	appendAudit(t, db, "c1", 3)
	n, err = db.SealAudit(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	rep, err = db.VerifyAudit(ctx)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep)
	require.EqualValues(t, 8, rep.Checked)
	require.EqualValues(t, 0, rep.Unsealed)
}

func testAuditTamper(t *testing.T, db *store.DB) {
	ctx := context.Background()
	tests := []struct {
		name   string
		tamper string
	}{
		{"edited summary", `UPDATE audit_log SET summary = 'forged' WHERE seq = (SELECT MIN(seq) FROM audit_log) + 2`},
		{"deleted middle record", `DELETE FROM audit_log WHERE seq = (SELECT MIN(seq) FROM audit_log) + 3`},
		{"deleted last record", `DELETE FROM audit_log WHERE seq = (SELECT MAX(seq) FROM audit_log)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case starts from a clean, verified chain of its own.
			_, err := db.Backend().Exec(ctx, `DELETE FROM audit_log`)
			require.NoError(t, err)
			_, err = db.Backend().Exec(ctx, `UPDATE audit_head SET seq = 0, hash = '' WHERE id = 1`)
			require.NoError(t, err)
			appendAudit(t, db, "c-"+tc.name, 6)
			_, err = db.SealAudit(ctx)
			require.NoError(t, err)
			rep, err := db.VerifyAudit(ctx)
			require.NoError(t, err)
			require.True(t, rep.OK(), "%+v", rep)

			_, err = db.Backend().Exec(ctx, tc.tamper)
			require.NoError(t, err)
			rep, err = db.VerifyAudit(ctx)
			require.NoError(t, err)
			require.False(t, rep.OK(), "tampering (%s) not detected", tc.name)
		})
	}
}

func testAuditConcurrent(t *testing.T, db *store.DB) {
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	stop := make(chan struct{})
	sealed := make(chan int, 1)
	go func() { // seal while writers write
		total := 0
		for {
			n, err := db.SealAudit(ctx)
			if err != nil {
				errs <- err
			}
			total += n
			select {
			case <-stop:
				sealed <- total
				return
			default:
			}
		}
	}()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				err := db.InTx(ctx, func(tx *store.Tx) error {
					return tx.Audit(ctx, store.AuditRecord{Kind: "test", CorrelationID: fmt.Sprintf("w%d", w), Summary: fmt.Sprint(i)})
				})
				if err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(stop)
	total := <-sealed
	n, err := db.SealAudit(ctx)
	require.NoError(t, err)
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 200, total+n)
	rep, err := db.VerifyAudit(ctx)
	require.NoError(t, err)
	require.True(t, rep.OK(), "%+v", rep)
	require.EqualValues(t, 200, rep.Checked)
}

func testTrace(t *testing.T, db *store.DB) {
	ctx := context.Background()
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.Audit(ctx, store.AuditRecord{Kind: "message.received", CorrelationID: "c9", Subject: "msg_1", Summary: "received",
			Refs: []string{"PO-77", "ISA:000000001"}}); err != nil {
			return err
		}
		if err := tx.Audit(ctx, store.AuditRecord{Kind: "order.transition", CorrelationID: "c9", Subject: "ord_1", Summary: "accepted",
			Refs: []string{"S00042", "PO-77"}}); err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditRecord{Kind: "message.received", CorrelationID: "c10", Summary: "other", Refs: []string{"PO-78"}})
	}))
	for _, key := range []string{"PO-77", "S00042", "msg_1", "ord_1", "c9", "ISA:000000001"} {
		cs, err := db.CorrelationsFor(ctx, key)
		require.NoError(t, err)
		require.Equal(t, []string{"c9"}, cs, key)
	}
	trail, err := db.AuditTrail(ctx, "c9")
	require.NoError(t, err)
	require.Len(t, trail, 2)
	require.Equal(t, "received", trail[0].Summary)
	require.Equal(t, "accepted", trail[1].Summary)
	require.Less(t, trail[0].Seq, trail[1].Seq)
}

func testControlNumbers(t *testing.T, db *store.DB) {
	ctx := context.Background()
	var mu sync.Mutex
	var got []int64
	var wg sync.WaitGroup
	for w := 0; w < 6; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				v, err := db.NextControlNumber(ctx, "ZZ:HUB", "ZZ:ACME", "ISA")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, v)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(got, func(i, j int) bool { return got[i] < got[j] })
	for i, v := range got {
		require.EqualValues(t, i+1, v, "control numbers are 1..n with no gap or reuse")
	}
	other, err := db.NextControlNumber(ctx, "ZZ:HUB", "ZZ:ACME", "GS")
	require.NoError(t, err)
	require.EqualValues(t, 1, other, "levels count separately")
}

func testCursors(t *testing.T, db *store.DB) {
	ctx := context.Background()
	v, err := db.Cursor(ctx, "odoo.sale.order")
	require.NoError(t, err)
	require.Equal(t, "", v)
	for _, want := range []string{"2026-11-26 10:00:00|5", "2026-11-26 10:00:01|1"} {
		require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.SetCursor(ctx, "odoo.sale.order", want) }))
		v, err = db.Cursor(ctx, "odoo.sale.order")
		require.NoError(t, err)
		require.Equal(t, want, v)
	}
}
