package dashboard_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/dashboard"
	"github.com/waybill-hub/waybill/internal/store"
)

func TestBusinessHealthRangesAndCache(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	ctx := context.Background()
	today := time.Date(2026, 5, 20, 0, 0, 0, 0, time.UTC)
	clock := today.Add(10 * time.Hour)
	// Orders created over the last ten days: day -k gets k orders for acme and one for globex.
	insert := func(at time.Time, partner string, state waybill.OrderState) {
		b.db.SetClock(func() time.Time { return at })
		o := &waybill.Order{ID: store.NewID("ord"), CorrelationID: store.NewID("cor"), Partner: partner, PONumber: store.NewID("po"),
			Channel: waybill.ChannelHTTP, State: state}
		require.NoError(t, b.db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertOrder(ctx, o, "msg") }))
	}
	for k := 0; k <= 10; k++ {
		at := today.Add(-time.Duration(k)*24*time.Hour + time.Hour)
		for range k {
			insert(at, "acme", waybill.OrderClosed)
		}
		insert(at, "globex", waybill.OrderRejected)
	}
	srv, err := dashboard.New(dashboard.Config{DB: b.db, Actions: b.app.Hub, Queue: b.app.Queue, Now: func() time.Time { return clock },
		Partners: []string{"acme", "initech"}})
	require.NoError(t, err)

	received := func(from, to time.Time) map[string]int64 {
		h, err := srv.BusinessHealth(ctx, from, to)
		require.NoError(t, err)
		out := map[string]int64{"total": h.Total.Received}
		for _, p := range h.Partners {
			out[p.Partner] = p.Received
		}
		require.Equal(t, h.Total.Received, out["acme"]+out["globex"]+out["initech"])
		return out
	}
	day := 24 * time.Hour
	require.Equal(t, map[string]int64{"total": 1, "acme": 0, "globex": 1, "initech": 0}, received(today, today.Add(day)))
	week := received(today.Add(-6*day), today.Add(day))
	require.Equal(t, map[string]int64{"total": 28, "acme": 21, "globex": 7, "initech": 0}, week, "0+1+...+6 and one a day")

	// A late insert on a settled day shows once the cache entry is older than its TTL; today's
	// counts are always live.
	insert(today.Add(-5*day), "acme", waybill.OrderClosed)
	insert(today.Add(2*time.Hour), "acme", waybill.OrderClosed)
	again := received(today.Add(-6*day), today.Add(day))
	require.Equal(t, int64(29), again["total"], "today's new order counts at once")
	clock = clock.Add(6 * time.Minute)
	again = received(today.Add(-6*day), today.Add(day))
	require.Equal(t, int64(30), again["total"], "the settled day is read again after the TTL")
	require.Equal(t, int64(7), again["globex"])
}

// TestASNOnTime counts an 856 as on time when it was sent within the ASN window of its delivery
// being done in the ERP; one still queued, or sent later, is not.
func TestASNOnTime(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	ctx := context.Background()
	shipped := time.Date(2026, 5, 20, 8, 0, 0, 0, time.UTC)
	emit := func(sentAfter time.Duration, send bool) {
		b.db.SetClock(func() time.Time { return shipped.Add(time.Minute) })
		m := &store.Message{ID: store.NewID("out"), CorrelationID: store.NewID("cor"), Direction: store.Outbound, Channel: waybill.ChannelAS2,
			Partner: "acme", DocType: "856", Meta: map[string]string{store.MetaShippedAt: shipped.Format(time.RFC3339)}, Digest: "d",
			Payload: []byte("x"), Size: 1, State: store.MessageQueued, ReceivedAt: shipped.Add(time.Minute)}
		require.NoError(t, b.db.InTx(ctx, func(tx *store.Tx) error { return tx.InsertMessage(ctx, m) }))
		if send {
			b.db.SetClock(func() time.Time { return shipped.Add(sentAfter) })
			require.NoError(t, b.db.InTx(ctx, func(tx *store.Tx) error { return tx.MarkSent(ctx, m.ID, "", nil) }))
		}
	}
	emit(10*time.Minute, true) // on time
	emit(3*time.Hour, true)    // sent, but late (held by the ASN gate, say)
	emit(0, false)             // not sent yet
	srv, err := dashboard.New(dashboard.Config{DB: b.db, Actions: b.app.Hub, Queue: b.app.Queue,
		Now: func() time.Time { return shipped.Add(4 * time.Hour) }})
	require.NoError(t, err)
	day := shipped.Truncate(24 * time.Hour)
	h, err := srv.BusinessHealth(ctx, day, day.Add(24*time.Hour))
	require.NoError(t, err)
	var acme dashboard.PartnerHealth
	for _, p := range h.Partners {
		if p.Partner == "acme" {
			acme = p
		}
	}
	require.EqualValues(t, 3, acme.ASNTimed)
	require.EqualValues(t, 1, acme.ASNOnTime)
	require.Equal(t, "33%", acme.ASNOnTimeRate())
}

// TestUnpublishedInvoicesIncludeHeld counts an 810 held for a person (a total that does not
// balance) as an unpublished invoice, as a queued one is.
func TestUnpublishedInvoicesIncludeHeld(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite")
	ctx := context.Background()
	require.NoError(t, b.db.InTx(ctx, func(tx *store.Tx) error {
		return tx.PutEDIFulfilment(ctx, &store.EDIFulfilment{Partner: "acme", SetID: "810", ERPRef: "INV/2026/00012", OrderID: "ord_1",
			State: "held", Reason: "totals do not balance"})
	}))
	srv, err := dashboard.New(dashboard.Config{DB: b.db, Actions: b.app.Hub, Queue: b.app.Queue})
	require.NoError(t, err)
	now := time.Now().UTC()
	h, err := srv.BusinessHealth(ctx, now.Truncate(24*time.Hour), now.Truncate(24*time.Hour).Add(24*time.Hour))
	require.NoError(t, err)
	var pending int64
	for _, p := range h.Partners {
		if p.Partner == "acme" {
			pending = p.InvoicesPending
		}
	}
	require.EqualValues(t, 1, pending)
}
