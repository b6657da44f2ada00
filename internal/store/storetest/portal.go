package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// ExercisePortal runs the conformance tests of the customer portal's tables: API keys,
// idempotency records, webhook subscriptions and their delivery outbox, returns, change requests
// and the account-scoped order list.
func ExercisePortal(t *testing.T, open Opener) {
	t.Run("PortalKeys", func(t *testing.T) { t.Parallel(); testPortalKeys(t, open(t)) })
	t.Run("PortalIdempotency", func(t *testing.T) { t.Parallel(); testPortalIdempotency(t, open(t)) })
	t.Run("PortalIdempotencyConcurrent", func(t *testing.T) { t.Parallel(); testPortalIdempotencyConcurrent(t, open(t)) })
	t.Run("PortalWebhookOutbox", func(t *testing.T) { t.Parallel(); testPortalOutbox(t, open(t)) })
	t.Run("PortalReturns", func(t *testing.T) { t.Parallel(); testPortalReturns(t, open(t)) })
	t.Run("PortalReturnsToFollow", func(t *testing.T) { t.Parallel(); testPortalReturnsToFollow(t, open(t)) })
	t.Run("PortalReturnClaim", func(t *testing.T) { t.Parallel(); testPortalReturnClaim(t, open(t)) })
	t.Run("PortalOrdersScoped", func(t *testing.T) { t.Parallel(); testPortalOrders(t, open(t)) })
}

func testPortalKeys(t *testing.T, db *store.DB) {
	ctx := context.Background()
	k := &store.PortalKey{ID: "abcdefghijklm", Hash: "h1", Name: "web", Client: "portal", Accounts: []string{"ACME", "GLOBEX"},
		Scopes: []string{"catalog:read", "orders:write"}, RateLimit: 10, Burst: 20, ExpiresAt: time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)}
	require.NoError(t, db.InsertPortalKey(ctx, k))
	require.NoError(t, db.InsertPortalKey(ctx, &store.PortalKey{ID: "other", Hash: "h2", Client: "other", Accounts: []string{"X"}, Scopes: []string{"*"}}))
	got, err := db.PortalKey(ctx, k.ID)
	require.NoError(t, err)
	require.Equal(t, k.Accounts, got.Accounts)
	require.Equal(t, k.Scopes, got.Scopes)
	require.Equal(t, 10, got.RateLimit)
	require.True(t, got.ExpiresAt.Equal(k.ExpiresAt))
	require.True(t, got.Active(time.Now()))
	require.False(t, got.Active(time.Now().Add(2*time.Hour)), "expired")
	list, err := db.PortalKeys(ctx, "portal")
	require.NoError(t, err)
	require.Len(t, list, 1)
	all, err := db.PortalKeys(ctx, "")
	require.NoError(t, err)
	require.Len(t, all, 2)
	require.NoError(t, db.RevokePortalKey(ctx, k.ID))
	require.NoError(t, db.RevokePortalKey(ctx, k.ID), "revoking twice is a no-op")
	got, err = db.PortalKey(ctx, k.ID)
	require.NoError(t, err)
	require.False(t, got.Active(time.Now()))
	require.ErrorIs(t, db.RevokePortalKey(ctx, "nope"), store.ErrNotFound)
	_, err = db.PortalKey(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testPortalIdempotency(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC()
	rec := &store.Idempotency{KeyID: "k", IdemKey: "i1", BodyHash: "b1", Account: "ACME"}
	prev, err := db.ClaimIdempotency(ctx, rec, now.Add(-time.Hour))
	require.NoError(t, err)
	require.Nil(t, prev)
	require.NoError(t, db.SetIdempotencyMessage(ctx, "k", "i1", "msg_1", "cor_1"))
	prev, err = db.ClaimIdempotency(ctx, &store.Idempotency{KeyID: "k", IdemKey: "i1", BodyHash: "b2", Account: "ACME"}, now.Add(-time.Hour))
	require.NoError(t, err)
	require.NotNil(t, prev)
	require.Equal(t, "b1", prev.BodyHash)
	require.Equal(t, "cor_1", prev.CorrelationID)
	require.Zero(t, prev.Status)
	require.NoError(t, db.FinishIdempotency(ctx, "k", "i1", 201, []byte(`{"id":"ord_1"}`)))
	got, err := db.Idempotency(ctx, "k", "i1")
	require.NoError(t, err)
	require.Equal(t, 201, got.Status)
	require.JSONEq(t, `{"id":"ord_1"}`, string(got.Response))

	// Another API key's same Idempotency-Key is another record.
	prev, err = db.ClaimIdempotency(ctx, &store.Idempotency{KeyID: "k2", IdemKey: "i1", BodyHash: "b9", Account: "X"}, now.Add(-time.Hour))
	require.NoError(t, err)
	require.Nil(t, prev)

	// An expired record is replaced.
	prev, err = db.ClaimIdempotency(ctx, &store.Idempotency{KeyID: "k", IdemKey: "i1", BodyHash: "b3", Account: "ACME"}, now.Add(time.Hour))
	require.NoError(t, err)
	require.Nil(t, prev)
	got, err = db.Idempotency(ctx, "k", "i1")
	require.NoError(t, err)
	require.Equal(t, "b3", got.BodyHash)
	require.Zero(t, got.Status)

	// A claim that stored nothing can be released; a finished one cannot.
	require.NoError(t, db.ReleaseIdempotency(ctx, "k", "i1"))
	_, err = db.Idempotency(ctx, "k", "i1")
	require.ErrorIs(t, err, store.ErrNotFound)
	n, err := db.PurgeIdempotency(ctx, now.Add(time.Hour))
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
}

func testPortalIdempotencyConcurrent(t *testing.T, db *store.DB) {
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prev, err := db.ClaimIdempotency(ctx, &store.Idempotency{KeyID: "k", IdemKey: "race", BodyHash: "b", Account: "A"}, time.Now().Add(-time.Hour))
			require.NoError(t, err)
			if prev == nil {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, winners, "exactly one concurrent claim wins")
}

func testPortalOutbox(t *testing.T, db *store.DB) {
	ctx := context.Background()
	w := &store.Webhook{ID: store.NewID("whk"), Client: "portal", Account: "ACME", URL: "https://example.test/h", Secret: "whsec_x",
		Events: []string{"order.accepted"}, Active: true}
	require.NoError(t, db.InsertWebhook(ctx, w))
	require.NoError(t, db.InsertWebhook(ctx, &store.Webhook{ID: store.NewID("whk"), Client: "portal", Account: "GLOBEX", URL: "https://g.test", Secret: "s", Events: []string{"*"}, Active: true}))
	subs, err := db.Webhooks(ctx, "ACME")
	require.NoError(t, err)
	require.Len(t, subs, 1)
	require.Equal(t, w.Events, subs[0].Events)

	// A delivery queued in a rolled-back transaction does not exist.
	errBoom := context.Canceled
	err = db.InTx(ctx, func(tx *store.Tx) error {
		require.NoError(t, tx.InsertDelivery(ctx, &store.Delivery{ID: store.NewID("evt"), WebhookID: w.ID, Account: "ACME", Event: "order.accepted", Payload: []byte(`{}`)}))
		return errBoom
	})
	require.ErrorIs(t, err, errBoom)
	due, err := db.DueDeliveries(ctx, time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, due)

	d := &store.Delivery{ID: store.NewID("evt"), WebhookID: w.ID, Account: "ACME", Event: "order.accepted", Payload: []byte(`{"a":1}`)}
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		subs, err := tx.WebhooksFor(ctx, "ACME")
		require.NoError(t, err)
		require.Len(t, subs, 1)
		return tx.InsertDelivery(ctx, d)
	}))
	due, err = db.DueDeliveries(ctx, time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.JSONEq(t, `{"a":1}`, string(due[0].Payload))

	// Two dispatchers: one claim wins.
	ok1, err := db.ClaimDelivery(ctx, due[0], time.Now().Add(time.Minute))
	require.NoError(t, err)
	ok2, err := db.ClaimDelivery(ctx, due[0], time.Now().Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok1)
	require.False(t, ok2)
	due, err = db.DueDeliveries(ctx, time.Now().Add(time.Second), 10)
	require.NoError(t, err)
	require.Empty(t, due, "leased")

	d.State, d.Attempts, d.LastStatus, d.LastError = store.DeliveryDead, 3, 500, "the receiver answered 500"
	require.NoError(t, db.RecordDeliveryAttempt(ctx, d))
	got, err := db.Delivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryDead, got.State)
	require.Equal(t, 3, got.Attempts)
	require.NoError(t, db.ReplayDelivery(ctx, d.ID))
	got, err = db.Delivery(ctx, d.ID)
	require.NoError(t, err)
	require.Equal(t, store.DeliveryPending, got.State)
	require.Zero(t, got.Attempts)
	require.ErrorIs(t, db.ReplayDelivery(ctx, "nope"), store.ErrNotFound)

	log, err := db.Deliveries(ctx, w.ID, "", 10)
	require.NoError(t, err)
	require.Len(t, log, 1)
	log, err = db.Deliveries(ctx, w.ID, log[0].ID, 10)
	require.NoError(t, err)
	require.Empty(t, log)

	require.NoError(t, db.DeactivateWebhook(ctx, w.ID))
	subs, err = db.Webhooks(ctx, "ACME")
	require.NoError(t, err)
	require.Empty(t, subs)
}

func testPortalReturns(t *testing.T, db *store.DB) {
	ctx := context.Background()
	r := &waybill.ReturnAuthorization{ID: store.NewID("rma"), Account: "ACME", OrderID: "ord_1", State: waybill.ReturnRequested,
		Lines: []waybill.ReturnLine{{LineNumber: "1", Quantity: waybill.MustDecimal("2.5")}}}
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertReturn(ctx, r) }))
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertReturn(ctx, &waybill.ReturnAuthorization{ID: store.NewID("rma"), Account: "GLOBEX", OrderID: "ord_2", State: waybill.ReturnRequested})
	}))
	pending, err := db.PendingReturns(ctx, 10)
	require.NoError(t, err)
	require.Len(t, pending, 2)
	r.State, r.ERP = waybill.ReturnApproved, waybill.ERPRef{Model: "stock.picking", ID: 7, Name: "WH/RET/1"}
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateReturn(ctx, r) }))
	got, err := db.Return(ctx, r.ID)
	require.NoError(t, err)
	require.Equal(t, waybill.ReturnApproved, got.State)
	require.Equal(t, "2.5", got.Lines[0].Quantity.String())
	list, err := db.Returns(ctx, store.ReturnFilter{Account: "ACME"})
	require.NoError(t, err)
	require.Len(t, list, 1)
	list, err = db.Returns(ctx, store.ReturnFilter{Account: "ACME", State: waybill.ReturnRequested})
	require.NoError(t, err)
	require.Empty(t, list)
	list, err = db.Returns(ctx, store.ReturnFilter{})
	require.NoError(t, err)
	require.Empty(t, list, "no account, no returns")
	_, err = db.Return(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		return tx.InsertChangeRequest(ctx, &store.ChangeRequest{ID: store.NewID("chg"), Account: "ACME", OrderID: "ord_1", Kind: "cancel", Detail: "{}", State: "requested"})
	}))
	crs, err := db.ChangeRequests(ctx, "ord_1")
	require.NoError(t, err)
	require.Len(t, crs, 1)
	require.Equal(t, "cancel", crs[0].Kind)
}

// testPortalReturnsToFollow checks the dispatcher's follow-up query: only the asked states, only
// returns not updated or touched since the cut-off (strictly before it), least recently checked
// first, within the limit; TouchReturn moves a return to the back without changing it.
func testPortalReturnsToFollow(t *testing.T, db *store.DB) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := t0
	db.SetClock(func() time.Time { return clock })
	insertAt := func(at time.Time, state waybill.ReturnState) *waybill.ReturnAuthorization {
		t.Helper()
		clock = at
		r := &waybill.ReturnAuthorization{ID: store.NewID("rma"), Account: "ACME", OrderID: "ord_1", State: state,
			Lines: []waybill.ReturnLine{{LineNumber: "1", Quantity: waybill.MustDecimal("1")}}}
		require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertReturn(ctx, r) }))
		return r
	}
	approved := insertAt(t0, waybill.ReturnApproved)
	received := insertAt(t0.Add(time.Minute), waybill.ReturnReceived)
	insertAt(t0, waybill.ReturnRequested)
	insertAt(t0, waybill.ReturnCredited)
	following := []waybill.ReturnState{waybill.ReturnApproved, waybill.ReturnReceived}
	ids := func(before time.Time, limit int) []string {
		t.Helper()
		list, err := db.ReturnsToFollow(ctx, following, before, limit)
		require.NoError(t, err)
		out := []string{}
		for _, r := range list {
			out = append(out, r.ID)
		}
		return out
	}

	require.Equal(t, []string{approved.ID, received.ID}, ids(t0.Add(2*time.Minute), 10), "the asked states, least recently checked first")
	require.Equal(t, []string{approved.ID}, ids(t0.Add(30*time.Second), 10), "only those not checked since the cut-off")
	require.Empty(t, ids(t0, 10), "a return checked exactly at the cut-off is not due")
	require.Equal(t, []string{approved.ID}, ids(t0.Add(2*time.Minute), 1), "within the limit")
	none, err := db.ReturnsToFollow(ctx, nil, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Empty(t, none, "no states, no returns")

	clock = t0.Add(5 * time.Minute)
	require.NoError(t, db.TouchReturn(ctx, approved.ID))
	require.Equal(t, []string{received.ID}, ids(t0.Add(2*time.Minute), 10), "a touched return waits for the next round")
	require.Equal(t, []string{received.ID, approved.ID}, ids(t0.Add(10*time.Minute), 10), "a touched return goes to the back")
	got, err := db.Return(ctx, approved.ID)
	require.NoError(t, err)
	require.Equal(t, waybill.ReturnApproved, got.State, "touching changes nothing but the check time")
	require.Equal(t, "1", got.Lines[0].Quantity.String())
	require.ErrorIs(t, db.TouchReturn(ctx, "rma_missing"), store.ErrNotFound)

	clock = t0.Add(6 * time.Minute)
	received.State, received.Credit = waybill.ReturnCredited, waybill.ERPRef{Model: "account.move", ID: 9, Name: "RINV/2026/0001"}
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.UpdateReturn(ctx, received) }))
	require.Equal(t, []string{approved.ID}, ids(t0.Add(time.Hour), 10), "a credited return is no longer followed")
}

func testPortalOrders(t *testing.T, db *store.DB) {
	ctx := context.Background()
	var ids []string
	for i, acct := range []string{"ACME", "ACME", "GLOBEX", "ACME"} {
		o := &waybill.Order{ID: store.NewID("ord"), CorrelationID: "cor_" + acct, Partner: "portal", Account: acct, Channel: waybill.ChannelPortal,
			PONumber: "PO-" + string(rune('A'+i)), State: waybill.OrderReceived}
		require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertOrder(ctx, o, "msg") }))
		if acct == "ACME" {
			ids = append(ids, o.ID)
		}
	}
	page, err := db.PortalOrders(ctx, store.PortalOrderFilter{Account: "ACME", Limit: 2})
	require.NoError(t, err)
	require.Len(t, page, 2)
	require.Equal(t, ids[2], page[0].Order.ID, "newest first")
	rest, err := db.PortalOrders(ctx, store.PortalOrderFilter{Account: "ACME", Before: page[1].Order.ID, Limit: 2})
	require.NoError(t, err)
	require.Len(t, rest, 1)
	require.Equal(t, ids[0], rest[0].Order.ID)
	none, err := db.PortalOrders(ctx, store.PortalOrderFilter{})
	require.NoError(t, err)
	require.Empty(t, none, "no account, no orders")
	byPO, err := db.PortalOrders(ctx, store.PortalOrderFilter{Account: "GLOBEX", PONumber: "PO-A"})
	require.NoError(t, err)
	require.Empty(t, byPO, "another account's PO number")
	corr, err := db.OrdersByCorrelation(ctx, "cor_ACME")
	require.NoError(t, err)
	require.Len(t, corr, 3)
}

// testPortalReturnClaim checks that of processes racing for one due return, exactly one claims
// it; that a claimed return is not due until its claim runs out; and that it is due again then.
func testPortalReturnClaim(t *testing.T, db *store.DB) {
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := t0
	db.SetClock(func() time.Time { return clock })
	r := &waybill.ReturnAuthorization{ID: store.NewID("rma"), Account: "ACME", OrderID: "ord_1", State: waybill.ReturnRequested,
		Lines: []waybill.ReturnLine{{LineNumber: "1", Quantity: waybill.MustDecimal("1")}}}
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertReturn(ctx, r) }))
	requested := []waybill.ReturnState{waybill.ReturnRequested}
	cutoff, until := t0.Add(time.Minute), t0.Add(2*time.Minute)

	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := db.ClaimReturn(ctx, r.ID, cutoff, until)
			assert.NoError(t, err)
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	require.EqualValues(t, 1, wins.Load(), "one process claims the return")
	due, err := db.ReturnsToFollow(ctx, requested, cutoff, 10)
	require.NoError(t, err)
	require.Empty(t, due, "a claimed return is not due")
	due, err = db.ReturnsToFollow(ctx, requested, until.Add(time.Second), 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "due again once the claim ran out")
	ok, err := db.ClaimReturn(ctx, r.ID, until.Add(time.Second), until.Add(time.Minute))
	require.NoError(t, err)
	require.True(t, ok, "and can be claimed again")
	ok, err = db.ClaimReturn(ctx, "rma_missing", until, until)
	require.NoError(t, err)
	require.False(t, ok)
}
