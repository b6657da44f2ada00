package sftp

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/waybill-hub/waybill"
)

// Partner is a mailbox account.
type Partner struct {
	// ID is the partner id and the SSH user name. It names the partner's folder, so it must be
	// 1-64 letters, digits, '.', '_' or '-', not starting with a dot.
	ID string
	// AuthorizedKeys holds the partner's public keys in OpenSSH authorized_keys format.
	AuthorizedKeys []byte
	// PasswordHash is a bcrypt hash (see HashPassword). Empty means password login is refused.
	PasswordHash string
	// DocType is passed to the Intake ("x12", "csv-order"; "" to detect).
	DocType string
	// Pieces says the partner uploads a file in several sessions (append, resume), so closing it
	// does not mean it is complete: its files are taken only by the stable window.
	Pieces bool
}

// PartnerLookup returns the mailbox account of an SSH user, or false when there is none. It is
// called for every login attempt and must be safe for concurrent use.
type PartnerLookup func(user string) (Partner, bool)

// ErrMailboxClosed is returned by Serve after Close.
var ErrMailboxClosed = errors.New("sftp mailbox closed")

// Mailbox is the built-in SFTP server. Partner folders live under Root/<id>/ (in/ and out/, made
// at first login); taken files are moved to ArchiveRoot/<id>/<UTC day>/.
//
// Its exported fields may be changed until the first call to Serve or Sweep. Serve may be called
// for several listeners; all methods are safe for concurrent use.
type Mailbox struct {
	Root string
	// ArchiveRoot defaults to Root/.archive, which no partner can reach (ids never start with a dot).
	ArchiveRoot string
	HostKey     ssh.Signer
	Partners    PartnerLookup
	Intake      waybill.Intake
	// StableFor is how long a file in in/ must keep its size and modification time before the
	// sweeper takes it without a close (for Pieces partners, and for files left when the hub
	// stopped). Default 30s.
	StableFor time.Duration
	// SweepEvery is the pause between sweeps while serving. Default StableFor/2; negative
	// disables the background sweeper (call Sweep yourself).
	SweepEvery time.Duration
	// MaxPerSweep bounds the files a sweep takes per partner. Default 50.
	MaxPerSweep int
	// MaxFileSize bounds one uploaded file; writes past it fail. Default 256 MiB.
	MaxFileSize int64
	// ReceiveTimeout bounds one Intake.Receive. Default 1 minute.
	ReceiveTimeout time.Duration
	Now            func() time.Time
	Logger         *slog.Logger

	initOnce  sync.Once
	config    *ssh.ServerConfig
	mu        sync.Mutex
	closed    bool
	done      chan struct{}
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	busy      map[string]bool // partner/rel being taken
	writing   map[string]int  // partner/rel open for writing
	seen      map[string]observation
	wg        sync.WaitGroup
}

type observation struct {
	size    int64
	modTime time.Time
	since   time.Time
}

func (m *Mailbox) init() {
	m.initOnce.Do(func() {
		if m.ArchiveRoot == "" {
			m.ArchiveRoot = filepath.Join(m.Root, ".archive")
		}
		if m.StableFor <= 0 {
			m.StableFor = 30 * time.Second
		}
		if m.SweepEvery == 0 {
			m.SweepEvery = m.StableFor / 2
		}
		if m.MaxPerSweep <= 0 {
			m.MaxPerSweep = 50
		}
		if m.MaxFileSize <= 0 {
			m.MaxFileSize = 256 << 20
		}
		if m.ReceiveTimeout <= 0 {
			m.ReceiveTimeout = time.Minute
		}
		m.done = make(chan struct{})
		m.listeners = map[net.Listener]struct{}{}
		m.conns = map[net.Conn]struct{}{}
		m.busy = map[string]bool{}
		m.writing = map[string]int{}
		m.seen = map[string]observation{}
		m.config = &ssh.ServerConfig{
			MaxAuthTries:      6,
			PublicKeyCallback: m.checkKey,
			PasswordCallback:  m.checkPassword,
		}
		if m.HostKey != nil {
			m.config.AddHostKey(m.HostKey)
		}
		if m.SweepEvery > 0 {
			m.wg.Add(1)
			go m.sweepLoop()
		}
	})
}

// Validate checks the configuration.
func (m *Mailbox) Validate() error {
	switch {
	case m.Root == "":
		return waybill.Errorf(waybill.EINVALID, "config", "sftp mailbox: root is required")
	case m.HostKey == nil:
		return waybill.Errorf(waybill.EINVALID, "config", "sftp mailbox: host_key is required")
	case m.Partners == nil:
		return waybill.Errorf(waybill.EINVALID, "config", "sftp mailbox: partners lookup is required")
	case m.Intake == nil:
		return waybill.Errorf(waybill.EINVALID, "config", "sftp mailbox: intake is required")
	}
	return nil
}

func (m *Mailbox) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Mailbox) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}

func (m *Mailbox) lookup(user string) (Partner, bool) {
	p, ok := m.Partners(user)
	if !ok || p.ID != user || !validID.MatchString(p.ID) {
		return Partner{}, false
	}
	return p, true
}

func (m *Mailbox) checkKey(meta ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
	p, ok := m.lookup(meta.User())
	if !ok || !keyAllowed(p.AuthorizedKeys, key) {
		return nil, fmt.Errorf("public key of %q not authorized", meta.User())
	}
	return &ssh.Permissions{Extensions: map[string]string{"partner": p.ID}}, nil
}

func (m *Mailbox) checkPassword(meta ssh.ConnMetadata, password []byte) (*ssh.Permissions, error) {
	p, ok := m.lookup(meta.User())
	if !checkPassword(p.PasswordHash, password) || !ok {
		return nil, fmt.Errorf("password of %q refused", meta.User())
	}
	return &ssh.Permissions{Extensions: map[string]string{"partner": p.ID}}, nil
}

// Serve accepts SSH connections on ln until Close, then returns ErrMailboxClosed. It closes ln.
func (m *Mailbox) Serve(ln net.Listener) error {
	if err := m.Validate(); err != nil {
		return err
	}
	m.init()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		ln.Close()
		return ErrMailboxClosed
	}
	m.listeners[ln] = struct{}{}
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.listeners, ln)
		m.mu.Unlock()
		ln.Close()
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			m.mu.Lock()
			closed := m.closed
			m.mu.Unlock()
			if closed {
				return ErrMailboxClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("sftp mailbox accepting: %w", err)
		}
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			nc.Close()
			return ErrMailboxClosed
		}
		m.conns[nc] = struct{}{}
		m.wg.Add(1)
		m.mu.Unlock()
		go m.handleConn(nc)
	}
}

// Close stops the listeners, drops every connection (open uploads end as partial files, never
// taken) and waits for the handlers and the sweeper to finish.
func (m *Mailbox) Close() error {
	m.init()
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	for ln := range m.listeners {
		ln.Close()
	}
	for c := range m.conns {
		c.Close()
	}
	m.mu.Unlock()
	m.wg.Wait()
	return nil
}

func (m *Mailbox) handleConn(nc net.Conn) {
	defer m.wg.Done()
	defer func() {
		m.mu.Lock()
		delete(m.conns, nc)
		m.mu.Unlock()
		nc.Close()
	}()
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second)) // handshake only
	sc, chans, reqs, err := ssh.NewServerConn(nc, m.config)
	if err != nil {
		m.logger().Info("sftp mailbox login failed", "remote", nc.RemoteAddr().String(), "err", err)
		return
	}
	_ = nc.SetDeadline(time.Time{})
	defer sc.Close()
	go ssh.DiscardRequests(reqs)
	p, ok := m.lookup(sc.Permissions.Extensions["partner"])
	if !ok {
		return
	}
	if err := m.ensureDirs(p.ID); err != nil {
		m.logger().Error("sftp mailbox folders", "partner", p.ID, "err", err)
		return
	}
	var sessions sync.WaitGroup
	for nch := range chans {
		if nch.ChannelType() != "session" {
			_ = nch.Reject(ssh.UnknownChannelType, "only session channels")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		sessions.Add(1)
		go func() {
			defer sessions.Done()
			m.session(p, ch, creqs)
		}()
	}
	sessions.Wait()
}

// session serves the "sftp" subsystem on one channel and refuses shells and commands. It returns
// once the channel's requests end and the SFTP server on it has stopped.
func (m *Mailbox) session(p Partner, ch ssh.Channel, reqs <-chan *ssh.Request) {
	var serving sync.WaitGroup
	defer func() {
		ch.Close()
		serving.Wait()
	}()
	started := false
	for req := range reqs {
		ok := !started && req.Type == "subsystem" && subsystem(req.Payload) == "sftp"
		if req.WantReply {
			_ = req.Reply(ok, nil)
		}
		if !ok {
			continue
		}
		started = true
		serving.Add(1)
		go func() {
			defer serving.Done()
			defer ch.Close()
			h, closeJail, err := m.jail(p)
			if err != nil {
				m.logger().Error("sftp mailbox jail", "partner", p.ID, "err", err)
				return
			}
			defer closeJail()
			srv := pkgsftp.NewRequestServer(ch, h)
			if err := srv.Serve(); err != nil && !errors.Is(err, io.EOF) {
				m.logger().Debug("sftp mailbox session ended", "partner", p.ID, "err", err)
			}
		}()
	}
}

func subsystem(payload []byte) string {
	if len(payload) < 4 {
		return ""
	}
	n := binary.BigEndian.Uint32(payload)
	if int(n) != len(payload)-4 {
		return ""
	}
	return string(payload[4:])
}

func (m *Mailbox) ensureDirs(id string) error {
	for _, d := range []string{"in", "out"} {
		if err := os.MkdirAll(filepath.Join(m.Root, id, d), 0o750); err != nil {
			return err
		}
	}
	return nil
}

// partnerOf returns the account of the partner owning folder id, if it still exists.
func (m *Mailbox) partnerOf(id string) (Partner, bool) {
	if !validID.MatchString(id) {
		return Partner{}, false
	}
	return m.lookup(id)
}

// receiveCtx bounds one Receive and ends it when the mailbox closes.
func (m *Mailbox) receiveCtx() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), m.ReceiveTimeout)
	go func() {
		select {
		case <-m.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}
