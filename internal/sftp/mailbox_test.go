package sftp

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/waybill-hub/waybill"
)

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestMailboxUploadIsStoredOnClose(t *testing.T) {
	t.Parallel()
	b := setupMailbox(t, Partner{ID: "acme", DocType: "x12"})
	c, _ := b.client(t, "acme")
	putFile(t, c, "/in/po1.edi", "ISA*00*...~")

	// Close returned: the file is stored and archived already.
	msgs := b.intake.messages()
	require.Len(t, msgs, 1)
	require.Equal(t, waybill.ChannelSFTP, msgs[0].Channel)
	require.Equal(t, "acme", msgs[0].Partner)
	require.Equal(t, "x12", msgs[0].DocType)
	require.Equal(t, "po1.edi", msgs[0].Filename)
	require.Equal(t, "ISA*00*...~", string(msgs[0].Payload))
	require.Contains(t, msgs[0].TransportID, "mailbox:acme/in/po1.edi@")
	require.Empty(t, listDir(t, filepath.Join(b.m.Root, "acme", "in")))
	archived, err := os.ReadFile(filepath.Join(b.m.Root, ".archive", "acme", "2026-11-26", "po1.edi"))
	require.NoError(t, err)
	require.Equal(t, "ISA*00*...~", string(archived))

	// Relative paths start at the jail's root.
	putFile(t, c, "in/po2.edi", "second")
	require.Len(t, b.intake.messages(), 2)
}

func TestMailboxTempNameThenRename(t *testing.T) {
	t.Parallel()
	b := setupMailbox(t, Partner{ID: "acme"})
	c, _ := b.client(t, "acme")
	putFile(t, c, "/in/po.edi.tmp", "whole file")
	require.Empty(t, b.intake.messages(), "a temporary name is not taken on close")
	require.NoError(t, c.Rename("/in/po.edi.tmp", "/in/po.edi"))
	require.Len(t, b.intake.messages(), 1)
	require.Equal(t, "po.edi", b.intake.messages()[0].Filename)

	// The Uploader does the same (hidden temporary name, posix-rename) from the partner's side.
	u := &Uploader{Remotes: func(string) (Remote, bool) { r := b.remote("acme"); r.OutDir = "/in"; return r, true }}
	res, err := u.Send(context.Background(), waybill.OutboundMessage{Partner: "acme", Filename: "po2.edi", Payload: []byte("via uploader")})
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(res.TransportID, "/in/po2.edi"), res.TransportID)
	msgs := b.intake.messages()
	require.Len(t, msgs, 2)
	require.Equal(t, "po2.edi", msgs[1].Filename)
	require.Equal(t, "via uploader", string(msgs[1].Payload))
}

func TestMailboxJail(t *testing.T) {
	t.Parallel()
	b := setupMailbox(t, Partner{ID: "acme"}, Partner{ID: "globex"})
	g, _ := b.client(t, "globex")
	putFile(t, g, "/in/secret.tmp", "globex only")
	require.NoError(t, os.WriteFile(filepath.Join(b.m.Root, "globex", "out", "invoice.edi"), []byte("globex invoice"), 0o644))
	c, _ := b.client(t, "acme")
	require.NoError(t, os.Symlink(filepath.Join(b.m.Root, "globex"), filepath.Join(b.m.Root, "acme", "out", "escape")))
	names := func(dir string) []string {
		infos, err := c.ReadDir(dir)
		require.NoError(t, err)
		var out []string
		for _, i := range infos {
			out = append(out, i.Name())
		}
		sort.Strings(out)
		return out
	}
	require.Equal(t, []string{"in", "out"}, names("/"))
	require.Equal(t, []string{"in", "out"}, names("/../../.."), "'..' stops at the jail root")
	require.Empty(t, names("/out"), "symbolic links are not listed")

	denied := []struct {
		name string
		op   func() error
	}{
		{"read another partner's file", func() error { _, err := c.Open("/../globex/out/invoice.edi"); return err }},
		{"read through a symlink", func() error { _, err := c.Open("/out/escape/out/invoice.edi"); return err }},
		{"read outside the root", func() error { _, err := c.Open("/etc/passwd"); return err }},
		{"list through a symlink", func() error { _, err := c.ReadDir("/out/escape"); return err }},
		{"write to out/", func() error { _, err := c.Create("/out/x.edi"); return err }},
		{"write at the root", func() error { _, err := c.Create("/x.edi"); return err }},
		{"write into another jail", func() error { _, err := c.Create("/../globex/in/x.edi"); return err }},
		{"make a directory", func() error { return c.Mkdir("/in/sub") }},
		{"make a symlink", func() error { return c.Symlink("/etc/passwd", "/in/link") }},
		{"remove a folder", func() error { return c.RemoveDirectory("/in") }},
		{"rename out of in/", func() error { return c.Rename("/in/a.tmp", "/out/a.edi") }},
	}
	for _, tt := range denied {
		require.Error(t, tt.op(), tt.name)
	}
	// What the partner can do: read and remove its own out/ files.
	require.NoError(t, os.WriteFile(filepath.Join(b.m.Root, "acme", "out", "855.edi"), []byte("ack"), 0o644))
	f, err := c.Open("/out/855.edi")
	require.NoError(t, err)
	body, err := io.ReadAll(f)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.Equal(t, "ack", string(body))
	require.NoError(t, c.Remove("/out/855.edi"))
	// Nothing of globex's moved.
	require.Equal(t, []string{"secret.tmp"}, listDir(t, filepath.Join(b.m.Root, "globex", "in")))
	require.Equal(t, []string{"invoice.edi"}, listDir(t, filepath.Join(b.m.Root, "globex", "out")))
}

func TestMailboxLogin(t *testing.T) {
	t.Parallel()
	hash, err := HashPassword("s3cret")
	require.NoError(t, err)
	b := setupMailbox(t, Partner{ID: "acme", PasswordHash: hash}, Partner{ID: "globex"})
	host := b.hostKey.PublicKey()
	tests := []struct {
		name string
		user string
		auth ssh.AuthMethod
		ok   bool
	}{
		{"key", "acme", ssh.PublicKeys(b.keys["acme"]), true},
		{"password allowed by the profile", "acme", ssh.Password("s3cret"), true},
		{"wrong password", "acme", ssh.Password("guess"), false},
		{"no password in the profile", "globex", ssh.Password(""), false},
		{"another partner's key", "acme", ssh.PublicKeys(b.keys["globex"]), false},
		{"unknown user", "nobody", ssh.PublicKeys(b.keys["acme"]), false},
		{"unknown key", "acme", ssh.PublicKeys(newSigner(t)), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, nc, err := tryDial(b.addr, host, &ssh.ClientConfig{User: tt.user, Auth: []ssh.AuthMethod{tt.auth}})
			if !tt.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			c.Close()
			nc.Close()
		})
	}
}

func TestMailboxDroppedUploadIsNotTaken(t *testing.T) {
	t.Parallel()
	b := setupMailbox(t, Partner{ID: "acme"})
	c, nc := b.client(t, "acme")
	f, err := c.Create("/in/big.edi")
	require.NoError(t, err)
	_, err = f.Write([]byte("ISA*00*first half"))
	require.NoError(t, err)
	nc.Close() // the line drops before the partner closes the file

	in := filepath.Join(b.m.Root, "acme", "in")
	eventually(t, 5*time.Second, func() bool {
		names := listDir(t, in)
		return len(names) == 1 && names[0] == "big.edi.partial"
	}, "the partial upload is set aside")
	b.advance(time.Hour)
	res, err := b.m.Sweep(context.Background())
	require.NoError(t, err)
	require.Zero(t, res.Taken)
	require.Empty(t, b.intake.messages())
}

func TestMailboxPiecesTakenWhenStable(t *testing.T) {
	t.Parallel()
	b := setupMailbox(t, Partner{ID: "acme", Pieces: true})
	c, _ := b.client(t, "acme")
	putFile(t, c, "/in/inv.csv", "a;b\n")
	require.Empty(t, b.intake.messages(), "close does not complete a file uploaded in pieces")

	res, err := b.m.Sweep(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Waiting)

	// A second piece, appended in another session: the window starts again.
	b.advance(6 * time.Second)
	f, err := c.OpenFile("/in/inv.csv", os.O_WRONLY)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte("1;2\n"), 4)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	// The mtime may not move within the same second; the size does.
	res, err = b.m.Sweep(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Waiting)
	b.advance(6 * time.Second)
	res, err = b.m.Sweep(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Waiting, "window restarted at the second piece")

	b.advance(5 * time.Second)
	res, err = b.m.Sweep(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Taken)
	require.Equal(t, "a;b\n1;2\n", string(b.intake.messages()[0].Payload))
}

func TestMailboxFailedStoreIsRetriedBySweep(t *testing.T) {
	t.Parallel()
	b := setupMailbox(t, Partner{ID: "acme"})
	down := true
	b.intake.hold = func(waybill.InboundMessage) error {
		if down {
			return waybill.Unavailable(errors.New("db down"), "store unavailable")
		}
		return nil
	}
	c, _ := b.client(t, "acme")
	f, err := c.Create("/in/po.edi")
	require.NoError(t, err)
	_, err = f.Write([]byte("ISA"))
	require.NoError(t, err)
	require.Error(t, f.Close(), "the partner learns the file was not stored")
	require.Equal(t, []string{"po.edi"}, listDir(t, filepath.Join(b.m.Root, "acme", "in")))

	down = false
	b.advance(time.Minute)
	_, err = b.m.Sweep(context.Background())
	require.NoError(t, err)
	_, err = b.m.Sweep(context.Background()) // first sight started the window; now it is stable
	require.NoError(t, err)
	b.advance(time.Minute)
	res, err := b.m.Sweep(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, res.Taken)
	require.Len(t, b.intake.messages(), 1)
}

// TestMailboxFairness: a partner whose files the hub is slow to store does not hold up another.
func TestMailboxFairness(t *testing.T) {
	t.Parallel()
	b := setupMailbox(t, Partner{ID: "flood"}, Partner{ID: "quiet"})
	release := make(chan struct{})
	b.intake.hold = func(m waybill.InboundMessage) error {
		if m.Partner == "flood" {
			<-release
		}
		return nil
	}
	defer close(release)
	flood, _ := b.client(t, "flood")
	for i := range 5 {
		go func() {
			f, err := flood.Create("/in/f" + string(rune('a'+i)) + ".edi")
			if err == nil {
				_, _ = f.Write([]byte("flood"))
				_ = f.Close()
			}
		}()
	}
	quiet, _ := b.client(t, "quiet")
	putFile(t, quiet, "/in/q.edi", "quiet")
	msgs := b.intake.messages()
	require.Len(t, msgs, 1)
	require.Equal(t, "quiet", msgs[0].Partner)
}

func TestMailboxSend(t *testing.T) {
	t.Parallel()
	b := setupMailbox(t, Partner{ID: "acme"})
	u := &Uploader{Mailbox: b.m}
	res, err := u.Send(context.Background(), waybill.OutboundMessage{ID: "855-1", Partner: "acme", DocType: "855", Payload: []byte("ack")})
	require.NoError(t, err)
	require.Equal(t, "mailbox:acme/out/855-1.edi", res.TransportID)
	require.Equal(t, []string{"855-1.edi"}, listDir(t, filepath.Join(b.m.Root, "acme", "out")))

	_, err = u.Send(context.Background(), waybill.OutboundMessage{Partner: "acme", Filename: "../x.edi", Payload: []byte("x")})
	require.Equal(t, waybill.EINVALID, waybill.Code(err))
	_, err = (&Uploader{}).Send(context.Background(), waybill.OutboundMessage{Partner: "acme", Filename: "x.edi"})
	require.Equal(t, waybill.ENOTFOUND, waybill.Code(err))

	// The partner's side: a Poller against the mailbox fetches out/ and deletes what it stored.
	partnerInbox := &memIntake{}
	r := b.remote("acme")
	r.InDir, r.Delete = "/out", true
	n, err := (&Poller{Remote: r, Intake: partnerInbox}).Poll(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, "ack", string(partnerInbox.messages()[0].Payload))
	require.Empty(t, listDir(t, filepath.Join(b.m.Root, "acme", "out")))
}

func TestMailboxSweepBoundedPerPartner(t *testing.T) {
	t.Parallel()
	b := setupMailboxWith(t, func(m *Mailbox) { m.MaxPerSweep = 5 }, Partner{ID: "flood", Pieces: true}, Partner{ID: "quiet", Pieces: true})
	flood, _ := b.client(t, "flood")
	for i := range 20 {
		putFile(t, flood, "/in/f"+strconv.Itoa(i)+".edi", "flood "+strconv.Itoa(i))
	}
	quiet, _ := b.client(t, "quiet")
	putFile(t, quiet, "/in/q.edi", "quiet")
	_, err := b.m.Sweep(context.Background())
	require.NoError(t, err)
	b.advance(time.Minute)
	res, err := b.m.Sweep(context.Background())
	require.NoError(t, err)
	require.Equal(t, map[string]int{"flood": 5, "quiet": 1}, res.PerPartner)
	for range 3 {
		_, err = b.m.Sweep(context.Background())
		require.NoError(t, err)
	}
	require.Len(t, b.intake.messages(), 21)
}

func TestMailboxBackgroundSweeper(t *testing.T) {
	t.Parallel()
	b := setupMailbox(t) // only for its helpers; a second mailbox runs the real sweeper
	in := &memIntake{}
	root := t.TempDir()
	m := &Mailbox{Root: root, HostKey: b.hostKey, Intake: in, Logger: quiet,
		Partners:  func(user string) (Partner, bool) { return Partner{ID: user}, user == "acme" },
		StableFor: 20 * time.Millisecond, SweepEvery: 5 * time.Millisecond}
	require.NoError(t, os.MkdirAll(filepath.Join(root, "acme", "in"), 0o755))
	// A file left behind when the hub stopped before storing it.
	require.NoError(t, os.WriteFile(filepath.Join(root, "acme", "in", "left.edi"), []byte("left"), 0o644))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- m.Serve(ln) }()
	eventually(t, 5*time.Second, func() bool { return len(in.messages()) == 1 }, "the sweeper takes the file")
	require.NoError(t, m.Close())
	require.ErrorIs(t, <-done, ErrMailboxClosed)
}

func TestMailboxMaxFileSize(t *testing.T) {
	t.Parallel()
	b := setupMailboxWith(t, func(m *Mailbox) { m.MaxFileSize = 1000 }, Partner{ID: "acme"})
	c, _ := b.client(t, "acme")
	f, err := c.Create("/in/huge.edi")
	require.NoError(t, err)
	_, err = f.Write(make([]byte, 4000))
	require.Error(t, err)
	_ = f.Close()
	require.Empty(t, b.intake.messages())
	require.Equal(t, []string{"huge.edi.partial"}, listDir(t, filepath.Join(b.m.Root, "acme", "in")))
}
