package folder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/waybill-hub/waybill"
)

// memIntake is an in-memory Intake that detects duplicates by digest and by transport id, as
// the hub's does.
type memIntake struct {
	mu     sync.Mutex
	byKey  map[string]string
	stored []waybill.InboundMessage
	fail   func(waybill.InboundMessage) error
}

func (m *memIntake) Receive(_ context.Context, msg waybill.InboundMessage) (waybill.Receipt, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		if err := m.fail(msg); err != nil {
			return waybill.Receipt{}, err
		}
	}
	if m.byKey == nil {
		m.byKey = map[string]string{}
	}
	sum := sha256.Sum256(msg.Payload)
	digest := hex.EncodeToString(sum[:])
	for _, k := range []string{"d:" + msg.Partner + ":" + digest, "t:" + msg.Partner + ":" + msg.TransportID} {
		if id, ok := m.byKey[k]; ok {
			return waybill.Receipt{MessageID: id, Digest: digest, Duplicate: true, DuplicateOf: id}, nil
		}
	}
	id := fmt.Sprintf("m%d", len(m.stored)+1)
	m.byKey["d:"+msg.Partner+":"+digest] = id
	m.byKey["t:"+msg.Partner+":"+msg.TransportID] = id
	m.stored = append(m.stored, msg)
	return waybill.Receipt{MessageID: id, CorrelationID: "c-" + id, Digest: digest}, nil
}

func (m *memIntake) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.stored)
}

type bundle struct {
	w     *Watcher
	in    *memIntake
	clock *time.Time
	dirs  map[string]Partner
}

func setup(t *testing.T, stable time.Duration, ids ...string) *bundle {
	t.Helper()
	root := t.TempDir()
	clock := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	b := &bundle{in: &memIntake{}, clock: &clock, dirs: map[string]Partner{}}
	var ps []Partner
	for _, id := range ids {
		p := Partner{ID: id, Dir: filepath.Join(root, id, "in"), ArchiveDir: filepath.Join(root, id, "archive"), DocType: "x12"}
		require.NoError(t, os.MkdirAll(p.Dir, 0o755))
		ps = append(ps, p)
		b.dirs[id] = p
	}
	b.w = &Watcher{Intake: b.in, Partners: ps, StableFor: stable, Now: func() time.Time { return *b.clock }}
	require.NoError(t, b.w.Validate())
	return b
}

func (b *bundle) write(t *testing.T, partner, name, body string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(b.dirs[partner].Dir, name), []byte(body), 0o644))
}

func (b *bundle) left(t *testing.T, partner string) []string {
	t.Helper()
	es, err := os.ReadDir(b.dirs[partner].Dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestScanStoresThenArchives(t *testing.T) {
	t.Parallel()
	b := setup(t, 0, "acme")
	b.write(t, "acme", "po1.edi", "ISA*...")
	b.write(t, "acme", "po2.edi.tmp", "half")
	b.write(t, "acme", ".hidden", "x")
	res, err := b.w.Scan(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Taken)
	require.Equal(t, 1, b.in.count())
	msg := b.in.stored[0]
	require.Equal(t, waybill.ChannelFolder, msg.Channel)
	require.Equal(t, "acme", msg.Partner)
	require.Equal(t, "po1.edi", msg.Filename)
	require.Equal(t, "ISA*...", string(msg.Payload))
	require.ElementsMatch(t, []string{"po2.edi.tmp", ".hidden"}, b.left(t, "acme"))
	archived, err := os.ReadFile(filepath.Join(b.dirs["acme"].ArchiveDir, "2026-11-26", "po1.edi"))
	require.NoError(t, err)
	require.Equal(t, "ISA*...", string(archived))
}

func TestScanWaitsForStableSize(t *testing.T) {
	t.Parallel()
	b := setup(t, 2*time.Second, "acme")
	path := filepath.Join(b.dirs["acme"].Dir, "po.csv")
	b.write(t, "acme", "po.csv", "a,b")

	res, err := b.w.Scan(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Waiting, "first sight starts the window")

	// The writer appends: the window starts again.
	*b.clock = b.clock.Add(time.Second)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("\n1,2")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	*b.clock = b.clock.Add(1500 * time.Millisecond)
	res, err = b.w.Scan(context.Background())
	require.NoError(t, err)
	require.Equal(t, 0, res.Taken)
	require.Equal(t, 1, res.Waiting)

	*b.clock = b.clock.Add(2 * time.Second)
	res, err = b.w.Scan(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Taken)
	require.Equal(t, "a,b\n1,2", string(b.in.stored[0].Payload))
}

func TestFailedReceiveLeavesFile(t *testing.T) {
	t.Parallel()
	b := setup(t, 0, "acme")
	b.write(t, "acme", "po.edi", "ISA")
	down := true
	b.in.fail = func(waybill.InboundMessage) error {
		if down {
			return waybill.Unavailable(errors.New("db down"), "store unavailable")
		}
		return nil
	}
	res, err := b.w.Scan(context.Background())
	require.Error(t, err)
	require.Equal(t, waybill.EUNAVAILABLE, waybill.Code(err))
	require.Equal(t, 1, res.Failed)
	require.Equal(t, []string{"po.edi"}, b.left(t, "acme"))

	down = false
	res, err = b.w.Scan(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Taken)
	require.Empty(t, b.left(t, "acme"))
}

// TestStoredButNotArchived is the hub stopping between storing a file and moving it: the next
// scan stores nothing new (the intake answers duplicate) and archives it.
func TestStoredButNotArchived(t *testing.T) {
	t.Parallel()
	b := setup(t, 0, "acme")
	b.write(t, "acme", "po.edi", "ISA")
	p := b.dirs["acme"]
	info, err := os.Stat(filepath.Join(p.Dir, "po.edi"))
	require.NoError(t, err)
	_, err = b.in.Receive(context.Background(), waybill.InboundMessage{Partner: "acme", TransportID: TransportID("po.edi", info), Payload: []byte("ISA")})
	require.NoError(t, err)

	res, err := b.w.Scan(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Taken)
	require.Equal(t, 1, res.Duplicates)
	require.Equal(t, 1, b.in.count())
	require.Empty(t, b.left(t, "acme"))
}

func TestFairnessBetweenPartners(t *testing.T) {
	t.Parallel()
	b := setup(t, 0, "flood", "quiet")
	b.w.MaxPerScan = 10
	for i := range 100 {
		b.write(t, "flood", fmt.Sprintf("f%03d.edi", i), fmt.Sprint("flood ", i))
	}
	b.write(t, "quiet", "q.edi", "quiet")
	res, err := b.w.Scan(context.Background())
	require.NoError(t, err)
	require.Equal(t, map[string]int{"flood": 10, "quiet": 1}, res.PerPartner)
	require.Equal(t, 90, res.Waiting)
	for range 9 {
		_, err := b.w.Scan(context.Background())
		require.NoError(t, err)
	}
	require.Equal(t, 101, b.in.count())
	require.Empty(t, b.left(t, "flood"))
}

func TestArchiveNameClash(t *testing.T) {
	t.Parallel()
	b := setup(t, 0, "acme")
	b.write(t, "acme", "po.edi", "one")
	_, err := b.w.Scan(context.Background())
	require.NoError(t, err)
	b.write(t, "acme", "po.edi", "two")
	_, err = b.w.Scan(context.Background())
	require.NoError(t, err)
	day := filepath.Join(b.dirs["acme"].ArchiveDir, "2026-11-26")
	two, err := os.ReadFile(filepath.Join(day, "po.1.edi"))
	require.NoError(t, err)
	require.Equal(t, "two", string(two))
	require.Equal(t, 2, b.in.count())
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		p    Partner
		want string
	}{
		{"no id", Partner{Dir: "a", ArchiveDir: "b"}, "id is required"},
		{"no dir", Partner{ID: "x", ArchiveDir: "b"}, "dir is required"},
		{"no archive", Partner{ID: "x", Dir: "a"}, "archive_dir is required"},
		{"archive inside", Partner{ID: "x", Dir: "a", ArchiveDir: "a/arch"}, "must not be inside dir"},
		{"same", Partner{ID: "x", Dir: "a", ArchiveDir: "a/"}, "must differ"},
		{"bad pattern", Partner{ID: "x", Dir: "a", ArchiveDir: "b", Pattern: "["}, "pattern"},
		{"ok", Partner{ID: "x", Dir: "a/in", ArchiveDir: "a/archive", Pattern: "*.edi"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
			require.Equal(t, waybill.EINVALID, waybill.Code(err))
		})
	}
}

func TestRun(t *testing.T) {
	t.Parallel()
	b := setup(t, 0, "acme")
	b.w.Now = nil
	b.w.Interval = 5 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.w.Run(ctx) }()
	b.write(t, "acme", "po.edi", "ISA")
	deadline := time.Now().Add(5 * time.Second)
	for b.in.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Equal(t, 1, b.in.count())
}
