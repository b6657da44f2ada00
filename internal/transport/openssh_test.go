package transport_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/sftp"
	"github.com/waybill-hub/waybill/internal/transport"
)

const opensshSFTPServer = "/usr/lib/openssh/sftp-server"

// openSSH is a partner's SFTP server: an SSH server of the test's own whose sftp subsystem is
// Debian's OpenSSH sftp-server, serving the real file system.
type openSSH struct {
	addr    string
	hostKey ssh.Signer
	hubKey  ssh.Signer // the key the hub logs in with
	root    string     // the partner's folders: root/outbox (for the hub), root/inbox (from the hub)
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
}

func startOpenSSH(t *testing.T) *openSSH {
	t.Helper()
	if _, err := os.Stat(opensshSFTPServer); err != nil {
		t.Skipf("OpenSSH sftp-server not installed (%s): apt-get install -y openssh-sftp-server", opensshSFTPServer)
	}
	o := &openSSH{hostKey: newSSHKey(t), hubKey: newSSHKey(t), root: t.TempDir()}
	for _, d := range []string{"outbox", "inbox"} {
		require.NoError(t, os.MkdirAll(filepath.Join(o.root, d), 0o755))
	}
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(_ ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if !bytes.Equal(k.Marshal(), o.hubKey.PublicKey().Marshal()) {
			return nil, errors.New("unknown key")
		}
		return nil, nil
	}}
	cfg.AddHostKey(o.hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	o.addr = ln.Addr().String()
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
			go func() { defer o.wg.Done(); o.serve(nc, cfg) }()
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
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:4+binary.BigEndian.Uint32(req.Payload)]) == "sftp"
				_ = req.Reply(ok, nil)
				if ok {
					cmd := exec.Command(opensshSFTPServer, "-e", "-l", "ERROR")
					cmd.Stdin, cmd.Stdout, cmd.Stderr = ch, ch, io.Discard
					_ = cmd.Run()
					return
				}
			}
		}()
	}
}

// profile is the hub's profile of this partner server; keyFile holds the hub's private key.
func (o *openSSH) profile(t *testing.T, dir string) *partner.SFTP {
	t.Helper()
	b, err := ssh.MarshalPrivateKey(o.hubKeyRaw(t), "")
	require.NoError(t, err)
	keyFile := filepath.Join(dir, "initech-hub.key")
	writeFile(t, keyFile, pem.EncodeToMemory(b))
	return &partner.SFTP{Remote: &partner.SFTPRemote{Addr: o.addr, User: "hub", KeyFile: keyFile,
		HostKey: string(ssh.MarshalAuthorizedKey(o.hostKey.PublicKey())), InDir: filepath.Join(o.root, "outbox"),
		OutDir: filepath.Join(o.root, "inbox"), Delete: true, Pattern: "*.json"}}
}

var rawKeys sync.Map // ssh.Signer → private key, for writing key files

func (o *openSSH) hubKeyRaw(t *testing.T) any {
	k, ok := rawKeys.Load(o.hubKey)
	require.True(t, ok)
	return k
}

// crashAfterStore stores through the hub and then fails, as if the hub died between storing a
// file and deleting it remotely.
type crashAfterStore struct {
	intake waybill.Intake
	stored int
}

func (c *crashAfterStore) Receive(ctx context.Context, m waybill.InboundMessage) (waybill.Receipt, error) {
	if _, err := c.intake.Receive(ctx, m); err != nil {
		return waybill.Receipt{}, err
	}
	c.stored++
	return waybill.Receipt{}, waybill.Unavailable(errors.New("killed"), "hub killed after storing")
}

// A file polled from a partner's OpenSSH server is stored, processed once and deleted remotely;
// when the hub dies between storing and the remote delete, the next poll stores it again (a
// duplicate), deletes it, and the order exists once. Outbound files land on the server under
// their final name.
func TestPollerOpenSSHKilledBetweenStoreAndDelete(t *testing.T) {
	t.Parallel()
	o := startOpenSSH(t)
	b := setup(t, "sqlite", options{
		cfg: func(c *transport.Config) { c.SFTP.PollInterval = -1 },
		profiles: func(b *bundle) []transport.PartnerTransport {
			return []transport.PartnerTransport{{ID: "initech", Dir: b.dir, Transport: partner.Transport{SFTP: o.profile(t, b.dir)}}}
		}})
	ctx := context.Background()
	writeFile(t, filepath.Join(o.root, "outbox", "po-7.json"), orderJSON("POLL-7"))
	writeFile(t, filepath.Join(o.root, "outbox", "notes.txt"), []byte("not matched by the pattern"))

	real := b.ch.Pollers()[0]
	crash := &crashAfterStore{intake: b.app.Hub}
	dying := &sftp.Poller{Remote: real.Remote, Intake: crash}
	_, err := dying.Poll(ctx)
	require.Error(t, err)
	require.Equal(t, 1, crash.stored)
	require.FileExists(t, filepath.Join(o.root, "outbox", "po-7.json"), "not deleted: the hub died first")

	n, err := real.Poll(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NoFileExists(t, filepath.Join(o.root, "outbox", "po-7.json"))
	require.FileExists(t, filepath.Join(o.root, "outbox", "notes.txt"))
	b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "POLL-7") == waybill.OrderAccepted })
	require.Len(t, b.orders(t, "POLL-7"), 1, "processed once")
	msgs := b.messages(t, "initech")
	require.Len(t, msgs, 2)

	id := emit(t, b, "initech", waybill.ChannelSFTP, "855", "ack-7.edi", []byte("ISA*ack7~"))
	b.eventually(t, 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(o.root, "inbox", "ack-7.edi"))
		return err == nil
	})
	entries, _ := os.ReadDir(filepath.Join(o.root, "inbox"))
	require.Len(t, entries, 1, "no temporary file left")
	_ = id
}
