package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/store"
)

// ExerciseTransport runs the conformance tests of the transport tables: pending AS2 MDNs and the
// raw transport archive.
func ExerciseTransport(t *testing.T, open Opener) {
	t.Run("PendingMDNs", func(t *testing.T) { t.Parallel(); testPendingMDNs(t, open(t)) })
	t.Run("PendingMDNTakenOnce", func(t *testing.T) { t.Parallel(); testPendingMDNTakenOnce(t, open(t)) })
	t.Run("RawArchive", func(t *testing.T) { t.Parallel(); testRawArchive(t, open(t)) })
	t.Run("PartnerBacklog", func(t *testing.T) { t.Parallel(); testPartnerBacklog(t, open(t)) })
}

func testPartnerBacklog(t *testing.T, db *store.DB) {
	ctx := context.Background()
	for i := range 5 {
		insert(t, db, newMessage("busy", fmt.Sprintf("p%d", i)))
	}
	done := newMessage("busy", "processed")
	done.State = store.MessageProcessed
	insert(t, db, done)
	insert(t, db, newMessage("quiet", "q"))
	require.NoError(t, db.InTx(ctx, func(tx *store.Tx) error {
		m, err := tx.PartnerBacklog(ctx, store.BacklogMessages, "busy", 3)
		require.NoError(t, err)
		require.Equal(t, 3, m, "counted up to the limit")
		o, err := tx.PartnerBacklog(ctx, store.BacklogOrders, "busy", 3)
		require.NoError(t, err)
		require.Zero(t, o)
		m, err = tx.PartnerBacklog(ctx, store.BacklogMessages, "busy", 100)
		require.NoError(t, err)
		require.Equal(t, 5, m)
		m, err = tx.PartnerBacklog(ctx, store.BacklogMessages, "quiet", 100)
		require.NoError(t, err)
		require.Equal(t, 1, m)
		return nil
	}))
}

func testPendingMDNs(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	_, ok, err := db.TakePendingMDN(ctx, "<missing@HUB>")
	require.NoError(t, err)
	require.False(t, ok)
	p1 := store.PendingMDN{MessageID: "<m1@HUB>", Partner: "acme", OutboundID: "out_1", MIC: "abc=, sha-256", SignedMDN: true,
		SentAt: now, Deadline: now.Add(time.Minute)}
	p2 := store.PendingMDN{MessageID: "<m2@HUB>", Partner: "globex", OutboundID: "out_2", MIC: "def=, sha-256",
		SentAt: now.Add(time.Second), Deadline: now.Add(2 * time.Minute)}
	require.NoError(t, db.PutPendingMDN(ctx, p2))
	require.NoError(t, db.PutPendingMDN(ctx, p1))
	// A resend replaces the record.
	p1.MIC = "xyz=, sha-256"
	require.NoError(t, db.PutPendingMDN(ctx, p1))
	all, err := db.PendingMDNs(ctx)
	require.NoError(t, err)
	require.Equal(t, []store.PendingMDN{p1, p2}, all)
	got, ok, err := db.TakePendingMDN(ctx, "<m1@HUB>")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, p1, got)
	_, ok, err = db.TakePendingMDN(ctx, "<m1@HUB>")
	require.NoError(t, err)
	require.False(t, ok, "a record is taken once")
	all, err = db.PendingMDNs(ctx)
	require.NoError(t, err)
	require.Equal(t, []store.PendingMDN{p2}, all)
}

func testPendingMDNTakenOnce(t *testing.T, db *store.DB) {
	ctx := context.Background()
	now := time.Now().UTC()
	require.NoError(t, db.PutPendingMDN(ctx, store.PendingMDN{MessageID: "<race@HUB>", Partner: "acme", OutboundID: "o", MIC: "m",
		SentAt: now, Deadline: now}))
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := db.TakePendingMDN(ctx, "<race@HUB>")
			if err != nil {
				return // a serialization failure is a miss, not a second take
			}
			if ok {
				mu.Lock()
				taken++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 1, taken)
}

func testRawArchive(t *testing.T, db *store.DB) {
	ctx := context.Background()
	raw := []byte("POST /as2\r\nAS2-From: ACME\r\n\r\n\x00\x01binary\xff")
	id1, err := db.ArchiveRaw(ctx, "as2", "<m1@ACME>", raw)
	require.NoError(t, err)
	id2, err := db.ArchiveRaw(ctx, "as2", "<m1@ACME>", raw)
	require.NoError(t, err)
	require.NotEqual(t, id1, id2)
	_, err = db.ArchiveRaw(ctx, "as2", "<m2@ACME>", []byte("other"))
	require.NoError(t, err)
	recs, err := db.RawRecords(ctx, "as2", "<m1@ACME>")
	require.NoError(t, err)
	require.Len(t, recs, 2)
	require.Equal(t, raw, recs[0].Raw)
	require.Equal(t, int64(len(raw)), recs[0].Size)
	require.Len(t, recs[0].Digest, 64)
	n, err := db.PurgeRaw(ctx, time.Now().Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, int64(3), n)
	recs, err = db.RawRecords(ctx, "as2", "<m1@ACME>")
	require.NoError(t, err)
	require.Empty(t, recs)
}
