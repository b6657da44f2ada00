package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// ExerciseOps runs the conformance tests of the operations tables (operators, sessions, the
// archive index) and of the dashboard's aggregate queries.
func ExerciseOps(t *testing.T, open Opener) {
	t.Run("Operators", func(t *testing.T) { t.Parallel(); testOperators(t, open(t)) })
	t.Run("Sessions", func(t *testing.T) { t.Parallel(); testSessions(t, open(t)) })
	t.Run("ArchivePurgeRestore", func(t *testing.T) { t.Parallel(); testArchive(t, open(t)) })
	t.Run("DashboardAggregates", func(t *testing.T) { t.Parallel(); testAggregates(t, open(t)) })
}

func testOperators(t *testing.T, db *store.DB) {
	ctx := context.Background()
	_, err := db.Operator(ctx, "ann")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, db.PutOperator(ctx, store.Operator{Name: "ann", Role: "viewer", PasswordHash: "h1"}))
	require.NoError(t, db.PutOperator(ctx, store.Operator{Name: "bob", Role: "admin", PasswordHash: "h2"}))
	require.NoError(t, db.PutOperator(ctx, store.Operator{Name: "ann", Role: "operator", PasswordHash: "h3", Disabled: true}))
	op, err := db.Operator(ctx, "ann")
	require.NoError(t, err)
	require.Equal(t, "operator", op.Role)
	require.Equal(t, "h3", op.PasswordHash)
	require.True(t, op.Disabled)
	all, err := db.Operators(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.Equal(t, "ann", all[0].Name)
}

func testSessions(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	db.SetClock(func() time.Time { return now })
	require.NoError(t, db.CreateSession(ctx, "secret-1", store.Session{Operator: "ann", CSRF: "c1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	require.NoError(t, db.CreateSession(ctx, "secret-2", store.Session{Operator: "ann", CSRF: "c2", CreatedAt: now, ExpiresAt: now.Add(time.Minute)}))
	s, err := db.Session(ctx, "secret-1")
	require.NoError(t, err)
	require.Equal(t, "ann", s.Operator)
	require.Equal(t, "c1", s.CSRF)
	_, err = db.Session(ctx, "secret-x")
	require.ErrorIs(t, err, store.ErrNotFound)

	now = now.Add(2 * time.Minute)
	_, err = db.Session(ctx, "secret-2")
	require.ErrorIs(t, err, store.ErrNotFound, "expired sessions are not returned")
	n, err := db.PurgeSessions(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.NoError(t, db.DeleteSession(ctx, "secret-1"))
	_, err = db.Session(ctx, "secret-1")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testArchive(t *testing.T, db *store.DB) {
	ctx := context.Background()
	old := newMessage("acme", "old payload")
	old.ReceivedAt = time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Microsecond)
	other := newMessage("acme", "other type")
	other.DocType = "x12"
	other.ReceivedAt = old.ReceivedAt
	fresh := newMessage("acme", "fresh payload")
	for _, m := range []*store.Message{old, other, fresh} {
		insert(t, db, m)
	}
	cut := time.Now().UTC().Add(-24 * time.Hour)
	list, err := db.OnlinePayloads(ctx, store.OnlineFilter{Before: cut, DocTypes: []string{"order-json"}})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, old.ID, list[0].ID)
	require.Equal(t, old.Payload, list[0].Payload)
	list, err = db.OnlinePayloads(ctx, store.OnlineFilter{Before: cut, ExceptTypes: []string{"order-json"}})
	require.NoError(t, err)
	require.Len(t, list, 1)
	require.Equal(t, other.ID, list[0].ID)

	// Purging needs an archive entry first.
	err = db.InTx(ctx, func(tx *store.Tx) error { return tx.PurgePayload(ctx, old.ID) })
	require.ErrorIs(t, err, store.ErrNotFound)
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		if err := tx.RecordArchive(ctx, store.ArchiveEntry{MessageID: old.ID, Location: "a/b", Digest: old.Digest, Size: old.Size}); err != nil {
			return err
		}
		return tx.PurgePayload(ctx, old.ID)
	}))
	got, err := db.Message(ctx, old.ID)
	require.NoError(t, err)
	require.Nil(t, got.Payload)
	require.Equal(t, old.Digest, got.Digest, "metadata is kept")
	e, err := db.ArchiveEntry(ctx, old.ID)
	require.NoError(t, err)
	require.Equal(t, "a/b", e.Location)
	require.False(t, e.PurgedAt.IsZero())
	archived, purged, err := db.ArchiveStats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, archived)
	require.EqualValues(t, 1, purged)
	list, err = db.OnlinePayloads(ctx, store.OnlineFilter{Before: cut, DocTypes: []string{"order-json"}})
	require.NoError(t, err)
	require.Empty(t, list)

	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.RestorePayload(ctx, old.ID, []byte("old payload")) }))
	got, err = db.Message(ctx, old.ID)
	require.NoError(t, err)
	require.Equal(t, []byte("old payload"), got.Payload)
	e, err = db.ArchiveEntry(ctx, old.ID)
	require.NoError(t, err)
	require.True(t, e.PurgedAt.IsZero())
	_, err = db.ArchiveEntry(ctx, fresh.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testAggregates(t *testing.T, db *store.DB) {
	ctx := context.Background()
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	clock := day.Add(9 * time.Hour)
	db.SetClock(func() time.Time { return clock })
	mk := func(partner, po string, to ...waybill.OrderState) {
		m := newMessage(partner, po)
		m.ReceivedAt = clock
		insert(t, db, m)
		o := &waybill.Order{ID: store.NewID("ord"), CorrelationID: m.CorrelationID, Partner: partner, PONumber: po,
			Channel: waybill.ChannelHTTP, State: waybill.OrderReceived, RequestedShip: day.Add(-time.Hour),
			Lines: []waybill.Line{{Number: "1", Quantity: waybill.MustDecimal("2"), RequestedShip: day.Add(time.Hour)}}}
		require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
			if err := tx.InsertOrder(ctx, o, m.ID); err != nil {
				return err
			}
			return tx.InsertEvent(ctx, waybill.OrderEvent{OrderID: o.ID, To: waybill.OrderReceived, Source: waybill.OwnerHub, Actor: "t", At: clock, CorrelationID: o.CorrelationID})
		}))
		for _, s := range to {
			clock = clock.Add(10 * time.Minute)
			require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
				rec, err := tx.Order(ctx, o.ID)
				if err != nil {
					return err
				}
				owner := waybill.OwnerHub
				if s == waybill.OrderAccepted {
					owner = waybill.OwnerERP
				}
				_, err = tx.Transition(ctx, rec, s, owner, "t", "")
				return err
			}))
		}
	}
	mk("acme", "PO1", waybill.OrderValidated, waybill.OrderAccepted)
	mk("acme", "PO2", waybill.OrderValidated)
	mk("globex", "PO3", waybill.OrderOnHold)

	created, err := db.OrdersCreated(ctx, day, day.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []store.PartnerStateCount{{Partner: "acme", State: waybill.OrderAccepted, Count: 1}, {Partner: "acme", State: waybill.OrderValidated, Count: 1},
		{Partner: "globex", State: waybill.OrderOnHold, Count: 1}}, created)
	created, err = db.OrdersCreated(ctx, day.Add(24*time.Hour), day.Add(48*time.Hour))
	require.NoError(t, err)
	require.Empty(t, created)

	backlog, err := db.OrdersInStates(ctx, []waybill.OrderState{waybill.OrderValidated, waybill.OrderOnHold})
	require.NoError(t, err)
	require.Equal(t, []store.PartnerStateCount{{Partner: "acme", State: waybill.OrderValidated, Count: 1}, {Partner: "globex", State: waybill.OrderOnHold, Count: 1}}, backlog)

	reached, err := db.OrdersReached(ctx, waybill.OrderAccepted, day, day.Add(24*time.Hour), 0)
	require.NoError(t, err)
	require.Len(t, reached, 1)
	require.Equal(t, "acme", reached[0].Partner)
	require.Equal(t, 20*time.Minute, reached[0].At.Sub(reached[0].CreatedAt))

	ships, err := db.ShipDates(ctx, []waybill.OrderState{waybill.OrderAccepted, waybill.OrderValidated}, 0)
	require.NoError(t, err)
	require.Len(t, ships, 2)
	for _, sd := range ships {
		require.Equal(t, day.Add(-time.Hour), sd.Requested, "the order's own date, not a line's")
	}
	docs, err := db.OrderDocs(ctx, []string{reached[0].OrderID, "ord_missing"})
	require.NoError(t, err)
	require.Len(t, docs, 1)
	require.Equal(t, "PO1", docs[0].PONumber)

	vol, err := db.MessageVolume(ctx, store.Inbound, day.Add(-24*time.Hour), day.Add(24*time.Hour), 24*time.Hour)
	require.NoError(t, err)
	require.Len(t, vol, 1)
	require.Equal(t, day, vol[0].At)
	require.EqualValues(t, 3, vol[0].Count)

	out := newMessage("acme", "855 doc")
	out.Direction, out.DocType, out.State, out.ReceivedAt = store.Outbound, "855", store.MessageSent, day.Add(time.Hour)
	insert(t, db, out)
	byDoc, err := db.MessagesByDoc(ctx, store.Outbound, day, day.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []store.DocCount{{Partner: "acme", DocType: "855", State: store.MessageSent, Count: 1}}, byDoc)
	overdue, err := db.AwaitingAck(ctx, day.Add(2*time.Hour))
	require.NoError(t, err)
	require.Len(t, overdue, 1)
	overdue, err = db.AwaitingAck(ctx, day)
	require.NoError(t, err)
	require.Empty(t, overdue)

	// Outbound EDI sets: PO1's 855 queued 30 minutes after its acceptance, acknowledged; a
	// rejected 856; an 810 whose acknowledgement is overdue.
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		for i, o := range []*store.EDIOutbound{
			{SetID: "855", OrderID: reached[0].OrderID, QueuedAt: reached[0].At.Add(30 * time.Minute), AckDueAt: day.Add(48 * time.Hour)},
			{SetID: "856", QueuedAt: day.Add(2 * time.Hour)},
			{SetID: "810", QueuedAt: day.Add(3 * time.Hour), AckDueAt: day.Add(4 * time.Hour)},
		} {
			o.MessageID, o.Partner, o.Interchange, o.Group, o.SetControl = store.NewID("msg"), "acme", "1", "1", fmt.Sprint(i+1)
			if err := tx.InsertEDIOutbound(ctx, o); err != nil {
				return err
			}
		}
		if _, err := tx.AckEDIOutbound(ctx, "acme", "1", "1", "A", "msg_997"); err != nil {
			return err
		}
		_, err := tx.AckEDIOutbound(ctx, "acme", "1", "2", "R", "msg_997")
		return err
	}))
	sets, err := db.OutboundSets(ctx, day, day.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []store.SetCount{{Partner: "acme", SetID: "810", AckStatus: "", Count: 1}, {Partner: "acme", SetID: "855", AckStatus: "A", Count: 1},
		{Partner: "acme", SetID: "856", AckStatus: "R", Count: 1}}, sets)
	byDay, err := db.OutboundSetsByDay(ctx, day.Add(-24*time.Hour), day.Add(24*time.Hour))
	require.NoError(t, err)
	require.Len(t, byDay, 3)
	for i, c := range byDay {
		require.Equal(t, day, c.Day)
		require.Equal(t, sets[i], c.SetCount)
	}
	createdByDay, err := db.OrdersCreatedByDay(ctx, day, day.Add(48*time.Hour))
	require.NoError(t, err)
	require.Len(t, createdByDay, 3)
	require.Equal(t, day, createdByDay[0].Day)
	late, err := db.OverdueAcks(ctx, day.Add(5*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []store.SetCount{{Partner: "acme", SetID: "810", AckStatus: "", Count: 1}}, late)
	late, err = db.OverdueAcks(ctx, day.Add(3*time.Hour))
	require.NoError(t, err)
	require.Empty(t, late)
	turn, err := db.AckTurnaround(ctx, day, day.Add(24*time.Hour), 0)
	require.NoError(t, err)
	require.Len(t, turn, 1)
	require.Equal(t, 50*time.Minute, turn[0].At.Sub(turn[0].CreatedAt))

	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertDeadLetter(ctx, &store.DeadLetter{JobKind: "process_message", JobArgs: "{}", CorrelationID: "c",
			Code: "EINVALID", Reason: "bad_segment", Message: "m", CreatedAt: day.Add(time.Hour)})
	}))
	dls, err := db.DeadLettersCreated(ctx, day, day.Add(24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, []store.KindCount{{Kind: "process_message", Reason: "bad_segment", Count: 1}}, dls)
}
