package sftp

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
)

type remoteBundle struct {
	srv    *openSSH
	dir    string // the partner's server file system
	in     string
	out    string
	arch   string
	intake *memIntake
}

func setupRemote(t *testing.T) *remoteBundle {
	t.Helper()
	b := &remoteBundle{srv: startOpenSSH(t), dir: t.TempDir(), intake: &memIntake{}}
	b.in, b.out, b.arch = filepath.Join(b.dir, "outbox"), filepath.Join(b.dir, "inbox"), filepath.Join(b.dir, "done")
	for _, d := range []string{b.in, b.out, b.arch} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	return b
}

func (b *remoteBundle) poller(mod func(*Remote)) *Poller {
	r := b.srv.remote("acme")
	r.InDir, r.ArchiveDir, r.DocType = b.in, b.arch, "x12"
	if mod != nil {
		mod(&r)
	}
	return &Poller{Remote: r, Intake: b.intake, Logger: quiet}
}

func (b *remoteBundle) drop(t *testing.T, name, body string, age time.Duration) {
	t.Helper()
	p := filepath.Join(b.in, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	mt := time.Now().Add(-age).Truncate(time.Second)
	require.NoError(t, os.Chtimes(p, mt, mt))
}

func TestPollerOpenSSHArchive(t *testing.T) {
	t.Parallel()
	b := setupRemote(t)
	b.drop(t, "po2.edi", "second", time.Minute)
	b.drop(t, "po1.edi", "first", 2*time.Minute)
	b.drop(t, ".po3.edi.tmp", "being written", 0)
	n, err := b.poller(nil).Poll(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, n)
	msgs := b.intake.messages()
	require.Len(t, msgs, 2)
	require.Equal(t, "po1.edi", msgs[0].Filename, "oldest first")
	require.Equal(t, "first", string(msgs[0].Payload))
	require.Equal(t, waybill.ChannelSFTP, msgs[0].Channel)
	require.True(t, strings.HasPrefix(msgs[0].TransportID, "sftp://hub@"+b.srv.addr+b.in+"/po1.edi@"), msgs[0].TransportID)
	require.Equal(t, []string{".po3.edi.tmp"}, listDir(t, b.in))
	require.Equal(t, []string{"po1.edi", "po2.edi"}, listDir(t, b.arch))

	// The same name again (a new file): archived beside the first one.
	b.drop(t, "po1.edi", "first, again", 0)
	n, err = b.poller(nil).Poll(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, listDir(t, b.arch), 3)
	require.Len(t, b.intake.messages(), 3)
}

// TestPollerStoppedBeforeDelete is the hub killed between storing a file and deleting it on the
// partner's server: the next poll stores nothing new and deletes it.
func TestPollerStoppedBeforeDelete(t *testing.T) {
	t.Parallel()
	b := setupRemote(t)
	b.drop(t, "po.edi", "ISA once", time.Minute)
	p := b.poller(func(r *Remote) { r.ArchiveDir, r.Delete = "", true })
	crash := errors.New("killed")
	p.afterStore = func(string) error { return crash }
	n, err := p.Poll(context.Background())
	require.ErrorIs(t, err, crash)
	require.Zero(t, n)
	require.Len(t, b.intake.messages(), 1, "stored")
	require.Equal(t, []string{"po.edi"}, listDir(t, b.in), "not deleted")

	p.afterStore = nil
	n, err = p.Poll(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Len(t, b.intake.messages(), 1, "processed once")
	require.Equal(t, 1, b.intake.duplicates())
	require.Empty(t, listDir(t, b.in))
}

func TestPollerStoreFailsKeepsRemote(t *testing.T) {
	t.Parallel()
	b := setupRemote(t)
	b.drop(t, "po.edi", "ISA", time.Minute)
	b.intake.hold = func(waybill.InboundMessage) error { return waybill.Unavailable(nil, "store down") }
	_, err := b.poller(nil).Poll(context.Background())
	require.Equal(t, waybill.EUNAVAILABLE, waybill.Code(err))
	require.Equal(t, []string{"po.edi"}, listDir(t, b.in))
	require.Empty(t, listDir(t, b.arch))
}

func TestPollerBoundedPerPoll(t *testing.T) {
	t.Parallel()
	b := setupRemote(t)
	for i := range 7 {
		b.drop(t, "f"+string(rune('a'+i))+".edi", "file "+string(rune('a'+i)), time.Duration(10-i)*time.Minute)
	}
	p := b.poller(func(r *Remote) { r.MaxFiles = 3 })
	n, err := p.Poll(context.Background())
	require.NoError(t, err)
	require.Equal(t, 3, n)
	require.Len(t, listDir(t, b.in), 4)
}

func TestPollerHostKeyPinned(t *testing.T) {
	t.Parallel()
	b := setupRemote(t)
	b.drop(t, "po.edi", "ISA", time.Minute)
	p := b.poller(func(r *Remote) { r.HostKey = newSigner(t).PublicKey() })
	_, err := p.Poll(context.Background())
	require.Equal(t, waybill.EUNAUTHORIZED, waybill.Code(err))
	require.Equal(t, "sftp_host_key", waybill.Reason(err))
	require.Empty(t, b.intake.messages())

	p = b.poller(func(r *Remote) { r.Key = newSigner(t) })
	_, err = p.Poll(context.Background())
	require.Equal(t, waybill.EUNAUTHORIZED, waybill.Code(err))
	require.Equal(t, "sftp_login", waybill.Reason(err))
}

func TestUploaderOpenSSH(t *testing.T) {
	t.Parallel()
	b := setupRemote(t)
	r := b.srv.remote("acme")
	r.OutDir = b.out
	u := &Uploader{Remotes: func(string) (Remote, bool) { return r, true }}
	res, err := u.Send(context.Background(), waybill.OutboundMessage{ID: "856-7", Partner: "acme", DocType: "856", Payload: []byte("ISA*856")})
	require.NoError(t, err)
	require.Equal(t, "sftp://hub@"+b.srv.addr+b.out+"/856-7.edi", res.TransportID)
	body, err := os.ReadFile(filepath.Join(b.out, "856-7.edi"))
	require.NoError(t, err)
	require.Equal(t, "ISA*856", string(body))

	// Sending again replaces the file atomically.
	_, err = u.Send(context.Background(), waybill.OutboundMessage{ID: "856-7", Partner: "acme", DocType: "856", Payload: []byte("ISA*856 v2")})
	require.NoError(t, err)
	require.Equal(t, []string{"856-7.edi"}, listDir(t, b.out))
}

// cutConn closes the connection once more than limit bytes were written through it.
type cutConn struct {
	net.Conn
	written atomic.Int64
	limit   int64
}

func (c *cutConn) Write(p []byte) (int, error) {
	if c.written.Add(int64(len(p))) > c.limit {
		c.Conn.Close()
		return 0, net.ErrClosed
	}
	return c.Conn.Write(p)
}

func TestUploaderConnectionDroppedMidUpload(t *testing.T) {
	t.Parallel()
	b := setupRemote(t)
	r := b.srv.remote("acme")
	r.OutDir = b.out
	r.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &cutConn{Conn: c, limit: 96 << 10}, nil
	}
	u := &Uploader{Remotes: func(string) (Remote, bool) { return r, true }}
	payload := []byte(strings.Repeat("ISA*big~", 64<<10)) // 512 KiB
	_, err := u.Send(context.Background(), waybill.OutboundMessage{ID: "810-1", Partner: "acme", DocType: "810", Payload: payload})
	require.Error(t, err)
	require.Equal(t, waybill.EUNAVAILABLE, waybill.Code(err), "retried later")
	for _, name := range listDir(t, b.out) {
		require.True(t, IsTempName(name), "only a temporary file may be left, found %s", name)
	}
}

func TestRemoteValidate(t *testing.T) {
	t.Parallel()
	key := newSigner(t)
	ok := Remote{Partner: "acme", Addr: "h:22", User: "u", Key: key, HostKey: key.PublicKey(), InDir: "/out", Delete: true}
	tests := []struct {
		name string
		mod  func(*Remote)
		want string
	}{
		{"ok", func(*Remote) {}, ""},
		{"no host key", func(r *Remote) { r.HostKey = nil }, "host_key is required"},
		{"no auth", func(r *Remote) { r.Key = nil }, "key or password"},
		{"no in dir", func(r *Remote) { r.InDir = "" }, "in_dir"},
		{"both archive and delete", func(r *Remote) { r.ArchiveDir = "/done" }, "exactly one"},
		{"neither", func(r *Remote) { r.Delete = false }, "exactly one"},
		{"bad pattern", func(r *Remote) { r.Pattern = "[" }, "pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ok
			tt.mod(&r)
			err := r.ValidatePoll()
			if tt.want == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestPollerLeavesFileChangingDuringDownload(t *testing.T) {
	t.Parallel()
	b := setupRemote(t)
	b.drop(t, "po.edi", "ISA first part", time.Minute)
	p := b.poller(nil)
	p.afterDownload = func(name string) {
		f, err := os.OpenFile(filepath.Join(b.in, name), os.O_APPEND|os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteString(" and the rest")
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	n, err := p.Poll(context.Background())
	require.NoError(t, err)
	require.Zero(t, n)
	require.Empty(t, b.intake.messages())
	require.Equal(t, []string{"po.edi"}, listDir(t, b.in))

	p.afterDownload = nil
	n, err = p.Poll(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, "ISA first part and the rest", string(b.intake.messages()[0].Payload))
}

func TestPollerRunAndPasswordLogin(t *testing.T) {
	t.Parallel()
	hash, err := HashPassword("pw")
	require.NoError(t, err)
	b := setupMailbox(t, Partner{ID: "acme", PasswordHash: hash})
	require.NoError(t, os.MkdirAll(filepath.Join(b.m.Root, "acme", "out"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(b.m.Root, "acme", "out", "855.edi"), []byte("ack"), 0o644))
	r := b.remote("acme")
	r.Key, r.Password = nil, "pw"
	r.InDir, r.Delete = "/out", true
	in := &memIntake{}
	p := &Poller{Remote: r, Intake: in, Interval: 10 * time.Millisecond, Logger: quiet}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	eventually(t, 5*time.Second, func() bool { return len(in.messages()) == 1 }, "Run polls")
	cancel()
	require.ErrorIs(t, <-done, context.Canceled)
	require.Empty(t, listDir(t, filepath.Join(b.m.Root, "acme", "out")))
}
