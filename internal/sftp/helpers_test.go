package sftp

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/waybill-hub/waybill"
)

// memIntake is an in-memory Intake that detects duplicates by digest and by transport id, as
// the hub's does. hold, when set, is called before storing and may block.
type memIntake struct {
	mu     sync.Mutex
	byKey  map[string]string
	stored []waybill.InboundMessage
	dups   int
	hold   func(waybill.InboundMessage) error
}

func (m *memIntake) Receive(ctx context.Context, msg waybill.InboundMessage) (waybill.Receipt, error) {
	if m.hold != nil {
		if err := m.hold(msg); err != nil {
			return waybill.Receipt{}, err
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byKey == nil {
		m.byKey = map[string]string{}
	}
	sum := sha256.Sum256(msg.Payload)
	digest := hex.EncodeToString(sum[:])
	for _, k := range []string{"d:" + msg.Partner + ":" + digest, "t:" + msg.Partner + ":" + msg.TransportID} {
		if id, ok := m.byKey[k]; ok {
			m.dups++
			return waybill.Receipt{MessageID: id, Digest: digest, Duplicate: true, DuplicateOf: id}, nil
		}
	}
	id := fmt.Sprintf("m%d", len(m.stored)+1)
	m.byKey["d:"+msg.Partner+":"+digest] = id
	m.byKey["t:"+msg.Partner+":"+msg.TransportID] = id
	m.stored = append(m.stored, msg)
	return waybill.Receipt{MessageID: id, CorrelationID: "c-" + id, Digest: digest}, nil
}

func (m *memIntake) messages() []waybill.InboundMessage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]waybill.InboundMessage(nil), m.stored...)
}

func (m *memIntake) duplicates() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dups
}

func newSigner(t testing.TB) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	s, err := ssh.NewSignerFromKey(priv)
	require.NoError(t, err)
	return s
}

func authorized(signers ...ssh.Signer) []byte {
	var b []byte
	for _, s := range signers {
		b = append(b, ssh.MarshalAuthorizedKey(s.PublicKey())...)
	}
	return b
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s: %s", timeout, msg)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type mailboxBundle struct {
	m       *Mailbox
	addr    string
	intake  *memIntake
	hostKey ssh.Signer
	keys    map[string]ssh.Signer
	clock   *time.Time
	mu      sync.Mutex
}

// setupMailbox starts a mailbox on loopback with one key per partner id; the background sweeper
// is off (tests call Sweep with a fake clock).
func setupMailbox(t *testing.T, partners ...Partner) *mailboxBundle {
	t.Helper()
	return setupMailboxWith(t, nil, partners...)
}

// setupMailboxWith is setupMailbox with a chance to change the mailbox before it serves.
func setupMailboxWith(t *testing.T, mod func(*Mailbox), partners ...Partner) *mailboxBundle {
	t.Helper()
	clock := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	b := &mailboxBundle{intake: &memIntake{}, hostKey: newSigner(t), keys: map[string]ssh.Signer{}, clock: &clock}
	byID := map[string]Partner{}
	for _, p := range partners {
		k := newSigner(t)
		b.keys[p.ID] = k
		p.AuthorizedKeys = append(p.AuthorizedKeys, authorized(k)...)
		byID[p.ID] = p
	}
	b.m = &Mailbox{
		Root:       t.TempDir(),
		HostKey:    b.hostKey,
		Partners:   func(user string) (Partner, bool) { p, ok := byID[user]; return p, ok },
		Intake:     b.intake,
		StableFor:  10 * time.Second,
		SweepEvery: -1,
		Logger:     quiet,
		Now: func() time.Time {
			b.mu.Lock()
			defer b.mu.Unlock()
			return *b.clock
		},
	}
	if mod != nil {
		mod(b.m)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	b.addr = ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- b.m.Serve(ln) }()
	t.Cleanup(func() {
		require.NoError(t, b.m.Close())
		require.ErrorIs(t, <-served, ErrMailboxClosed)
	})
	return b
}

func (b *mailboxBundle) advance(d time.Duration) {
	b.mu.Lock()
	*b.clock = b.clock.Add(d)
	b.mu.Unlock()
}

// remote describes the mailbox as a Remote for the partner's side.
func (b *mailboxBundle) remote(id string) Remote {
	return Remote{Partner: id, Addr: b.addr, User: id, Key: b.keys[id], HostKey: b.hostKey.PublicKey()}
}

// client logs in as partner id with its key and returns the SFTP client and the raw connection.
func (b *mailboxBundle) client(t *testing.T, id string) (*pkgsftp.Client, net.Conn) {
	t.Helper()
	return dialSFTP(t, b.addr, b.hostKey.PublicKey(), &ssh.ClientConfig{User: id, Auth: []ssh.AuthMethod{ssh.PublicKeys(b.keys[id])}})
}

func dialSFTP(t *testing.T, addr string, hostKey ssh.PublicKey, cfg *ssh.ClientConfig) (*pkgsftp.Client, net.Conn) {
	t.Helper()
	c, nc, err := tryDial(addr, hostKey, cfg)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(); nc.Close() })
	return c, nc
}

func tryDial(addr string, hostKey ssh.PublicKey, cfg *ssh.ClientConfig) (*pkgsftp.Client, net.Conn, error) {
	cfg.HostKeyCallback = ssh.FixedHostKey(hostKey)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	conn, chans, reqs, err := ssh.NewClientConn(nc, addr, cfg)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	c, err := pkgsftp.NewClient(ssh.NewClient(conn, chans, reqs))
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return c, nc, nil
}

func putFile(t *testing.T, c *pkgsftp.Client, name, body string) {
	t.Helper()
	f, err := c.Create(name)
	require.NoError(t, err)
	_, err = f.Write([]byte(body))
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const opensshSFTPServer = "/usr/lib/openssh/sftp-server"

// openSSH is Debian's sftp-server behind a loopback SSH server of the test's own, which accepts
// one client key and runs the binary for each "sftp" subsystem request.
type openSSH struct {
	addr      string
	hostKey   ssh.Signer
	clientKey ssh.Signer
	ln        net.Listener
	wg        sync.WaitGroup
	mu        sync.Mutex
	conns     []net.Conn
}

func startOpenSSH(t *testing.T) *openSSH {
	t.Helper()
	if _, err := os.Stat(opensshSFTPServer); err != nil {
		t.Skipf("OpenSSH sftp-server not installed (%s): apt-get install -y openssh-sftp-server", opensshSFTPServer)
	}
	o := &openSSH{hostKey: newSigner(t), clientKey: newSigner(t)}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if string(k.Marshal()) != string(o.clientKey.PublicKey().Marshal()) {
			return nil, fmt.Errorf("unknown key")
		}
		return nil, nil
	}}
	cfg.AddHostKey(o.hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	o.ln, o.addr = ln, ln.Addr().String()
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			o.mu.Lock()
			o.conns = append(o.conns, nc)
			o.mu.Unlock()
			o.wg.Add(1)
			go func() {
				defer o.wg.Done()
				o.serve(nc, cfg)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		o.mu.Lock()
		for _, c := range o.conns {
			c.Close()
		}
		o.mu.Unlock()
		o.wg.Wait()
	})
	return o
}

func (o *openSSH) serve(nc net.Conn, cfg *ssh.ServerConfig) {
	defer nc.Close()
	sc, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	for nch := range chans {
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for req := range creqs {
				ok := req.Type == "subsystem" && subsystem(req.Payload) == "sftp"
				_ = req.Reply(ok, nil)
				if ok {
					runSFTPServer(ch)
					return
				}
			}
		}()
	}
}

func runSFTPServer(ch ssh.Channel) {
	cmd := exec.Command(opensshSFTPServer, "-e", "-l", "ERROR")
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return
	}
	go func() {
		_, _ = io.Copy(stdin, ch)
		stdin.Close()
	}()
	_, _ = io.Copy(ch, stdout)
	_ = cmd.Wait()
}

func (o *openSSH) remote(partner string) Remote {
	return Remote{Partner: partner, Addr: o.addr, User: "hub", Key: o.clientKey, HostKey: o.hostKey.PublicKey()}
}
