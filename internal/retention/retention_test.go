package retention_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/retention"
	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
)

type bundle struct {
	db  *store.DB
	arc *retention.Archiver
	dir string
	now time.Time
}

func setup(t *testing.T, p retention.Policy) *bundle {
	t.Helper()
	b, err := sqlite.Open(context.Background(), t.TempDir())
	require.NoError(t, err)
	db := store.New(b)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.Migrate(context.Background()))
	dir := t.TempDir()
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	return &bundle{db: db, dir: dir, now: now,
		arc: &retention.Archiver{DB: db, Archive: retention.Folder{Dir: dir}, Policy: p, Now: func() time.Time { return now }}}
}

func (b *bundle) put(t *testing.T, docType string, age time.Duration, payload string) *store.Message {
	t.Helper()
	m := &store.Message{ID: store.NewID("msg"), CorrelationID: store.NewID("cor"), Direction: store.Inbound, Channel: waybill.ChannelHTTP,
		Partner: "acme/../x", DocType: docType, Digest: fmt.Sprintf("%x", payload), Size: int64(len(payload)), Payload: []byte(payload),
		State: store.MessageProcessed, ReceivedAt: b.now.Add(-age)}
	require.NoError(t, b.db.InTx(context.Background(), func(tx *store.Tx) error { return tx.InsertMessage(context.Background(), m) }))
	return m
}

func TestRunArchivesPurgesAndReadsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, retention.Policy{DefaultDays: 30, Rules: []retention.Rule{{DocType: "x12", OnlineDays: 7}}, Batch: 2})
	day := 24 * time.Hour
	oldX12 := b.put(t, "x12", 8*day, "ISA*00*old")
	newX12 := b.put(t, "x12", 6*day, "ISA*00*new")
	oldJSON := b.put(t, "order-json", 31*day, `{"po_number":"1"}`)
	midJSON := b.put(t, "order-json", 8*day, `{"po_number":"2"}`)
	var more []*store.Message
	for i := range 5 {
		more = append(more, b.put(t, "x12", 10*day, fmt.Sprintf("ISA*bulk*%d", i)))
	}

	res, err := b.arc.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, 7, res.Archived, "the old x12, five bulk x12 in batches of 2, the old json")

	for _, m := range append([]*store.Message{oldX12, oldJSON}, more...) {
		got, err := b.db.Message(ctx, m.ID)
		require.NoError(t, err)
		require.Nil(t, got.Payload, "%s purged", m.ID)
		back, err := b.arc.LoadPayload(ctx, got)
		require.NoError(t, err)
		require.Equal(t, m.Payload, back)
	}
	for _, m := range []*store.Message{newX12, midJSON} {
		got, err := b.db.Message(ctx, m.ID)
		require.NoError(t, err)
		require.Equal(t, m.Payload, got.Payload, "%s still online", m.ID)
	}
	// The partner id cannot climb out of the archive folder.
	key := retention.Key(oldX12)
	require.NotContains(t, key, "..")
	_, err = os.Stat(filepath.Join(b.dir, filepath.FromSlash(key)))
	require.NoError(t, err)

	// A second run has nothing to do.
	res, err = b.arc.Run(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Archived)

	// Restore puts the payload back; the next run purges it again without trouble.
	require.NoError(t, b.arc.Restore(ctx, oldX12.ID))
	got, err := b.db.Message(ctx, oldX12.ID)
	require.NoError(t, err)
	require.Equal(t, oldX12.Payload, got.Payload)
	res, err = b.arc.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Archived)
}

func TestLoadDetectsCorruption(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b := setup(t, retention.Policy{DefaultDays: 1})
	m := b.put(t, "x12", 48*time.Hour, "ISA*00*payload")
	_, err := b.arc.Run(ctx)
	require.NoError(t, err)
	require.NoError(t, retention.Folder{Dir: b.dir}.Put(ctx, retention.Key(m), []byte("something else")))
	_, err = b.arc.LoadPayload(ctx, m)
	require.ErrorIs(t, err, retention.ErrCorrupt)
	require.NoError(t, os.Remove(filepath.Join(b.dir, filepath.FromSlash(retention.Key(m)))))
	_, err = b.arc.LoadPayload(ctx, m)
	require.True(t, retention.IsNotExist(err), "%v", err)
}

func TestFolderRejectsEscapingKeys(t *testing.T) {
	t.Parallel()
	f := retention.Folder{Dir: t.TempDir()}
	for _, k := range []string{"", "../x.gz", "/etc/passwd", "a/../../x"} {
		require.Error(t, f.Put(context.Background(), k, []byte("x")), k)
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p    retention.Policy
		want string
	}{
		{retention.Default(), ""},
		{retention.Policy{DefaultDays: -1}, "retention.default_days must not be negative"},
		{retention.Policy{Rules: []retention.Rule{{OnlineDays: 3}}}, "retention.rules[0].doc_type is required"},
		{retention.Policy{Rules: []retention.Rule{{DocType: "x12", OnlineDays: 3}, {DocType: "x12", OnlineDays: 4}}}, `retention.rules[1].doc_type "x12" appears twice`},
		{retention.Policy{Rules: []retention.Rule{{DocType: "x12"}}}, "retention.rules[0].online_days must be at least 1"},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if tt.want == "" {
			require.NoError(t, err)
			continue
		}
		require.EqualError(t, err, tt.want)
	}
}
