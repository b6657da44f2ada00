package sftp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"strings"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/waybill-hub/waybill"
)

// Remote is a partner's own SFTP server and how the hub uses it.
type Remote struct {
	Partner string
	Addr    string // host:port
	User    string
	// Key and/or Password authenticate the hub; at least one is required.
	Key      ssh.Signer
	Password string
	// HostKey is the server's pinned public key; a server showing another key is refused.
	HostKey ssh.PublicKey
	// InDir is listed by the Poller; OutDir receives the Uploader's files.
	InDir  string
	OutDir string
	// After a file is stored, it is moved to ArchiveDir, or deleted when Delete is set.
	// Exactly one of the two must be chosen for polling.
	ArchiveDir string
	Delete     bool
	DocType    string
	// Pattern, when set, is a path.Match pattern a file name must match to be fetched ("*.edi").
	Pattern string
	// MaxFiles bounds the files fetched in one Poll (default 50), so one partner's backlog does
	// not hold a shared poll loop.
	MaxFiles int
	// Timeout bounds dialling and the SSH handshake (default 30s).
	Timeout time.Duration
	// Dial opens the TCP connection; default net.Dialer. Tests use it to cut connections.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Validate checks what both polling and uploading need; ValidatePoll adds the polling fields.
func (r Remote) Validate() error {
	field := func(name string) error {
		return waybill.Errorf(waybill.EINVALID, "config", "sftp remote of partner %s: %s is required", r.Partner, name)
	}
	switch {
	case r.Partner == "":
		return waybill.Errorf(waybill.EINVALID, "config", "sftp remote: partner is required")
	case r.Addr == "":
		return field("addr")
	case r.User == "":
		return field("user")
	case r.Key == nil && r.Password == "":
		return field("key or password")
	case r.HostKey == nil:
		return field("host_key")
	}
	return nil
}

// ValidatePoll checks the fields a Poller needs.
func (r Remote) ValidatePoll() error {
	if err := r.Validate(); err != nil {
		return err
	}
	switch {
	case r.InDir == "":
		return waybill.Errorf(waybill.EINVALID, "config", "sftp remote of partner %s: in_dir is required", r.Partner)
	case r.Delete == (r.ArchiveDir != ""):
		return waybill.Errorf(waybill.EINVALID, "config", "sftp remote of partner %s: choose exactly one of archive_dir and delete", r.Partner)
	}
	if r.Pattern != "" {
		if _, err := path.Match(r.Pattern, "x"); err != nil {
			return waybill.Errorf(waybill.EINVALID, "config", "sftp remote of partner %s: pattern %q: %v", r.Partner, r.Pattern, err)
		}
	}
	return nil
}

// session is an open SFTP client and the SSH connection under it.
type session struct {
	*pkgsftp.Client
	conn *ssh.Client
	stop func() bool
}

func (s *session) Close() error {
	s.stop()
	err := s.Client.Close()
	s.conn.Close()
	return err
}

// connect dials r and opens an SFTP session. The session is closed when ctx ends, which fails any
// operation in flight. Errors are coded: a wrong host key or refused login is EUNAUTHORIZED, a
// network fault EUNAVAILABLE.
func connect(ctx context.Context, r Remote) (*session, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	dial := r.Dial
	if dial == nil {
		d := &net.Dialer{Timeout: timeout}
		dial = d.DialContext
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, err := dial(dctx, "tcp", r.Addr)
	if err != nil {
		return nil, waybill.Unavailable(err, "sftp: connecting to %s of partner %s", r.Addr, r.Partner)
	}
	var auth []ssh.AuthMethod
	if r.Key != nil {
		auth = append(auth, ssh.PublicKeys(r.Key))
	}
	if r.Password != "" {
		auth = append(auth, ssh.Password(r.Password))
	}
	hostKeyErr := errors.New("host key mismatch")
	cfg := &ssh.ClientConfig{
		User: r.User,
		Auth: auth,
		HostKeyCallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			if string(key.Marshal()) != string(r.HostKey.Marshal()) {
				return hostKeyErr
			}
			return nil
		},
		HostKeyAlgorithms: []string{r.HostKey.Type()},
		Timeout:           timeout,
	}
	if r.HostKey.Type() == ssh.KeyAlgoRSA {
		cfg.HostKeyAlgorithms = []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	_ = nc.SetDeadline(time.Now().Add(timeout))
	c, chans, reqs, err := ssh.NewClientConn(nc, r.Addr, cfg)
	if err != nil {
		nc.Close()
		switch {
		case errors.Is(err, hostKeyErr):
			return nil, &waybill.Error{Code: waybill.EUNAUTHORIZED, Reason: "sftp_host_key",
				Message: fmt.Sprintf("sftp server %s of partner %s shows another host key than the pinned one", r.Addr, r.Partner), Err: err}
		case strings.Contains(err.Error(), "unable to authenticate"):
			return nil, &waybill.Error{Code: waybill.EUNAUTHORIZED, Reason: "sftp_login",
				Message: fmt.Sprintf("sftp server %s of partner %s refused the login of %s", r.Addr, r.Partner, r.User), Err: err}
		}
		return nil, waybill.Unavailable(err, "sftp: handshake with %s of partner %s", r.Addr, r.Partner)
	}
	_ = nc.SetDeadline(time.Time{})
	sc := ssh.NewClient(c, chans, reqs)
	cl, err := pkgsftp.NewClient(sc)
	if err != nil {
		sc.Close()
		return nil, waybill.Unavailable(err, "sftp: starting the sftp subsystem on %s of partner %s", r.Addr, r.Partner)
	}
	stop := context.AfterFunc(ctx, func() { sc.Close() })
	return &session{Client: cl, conn: sc, stop: stop}, nil
}

// remoteErr codes an error of a file operation: permission problems are EFORBIDDEN (permanent
// until the partner fixes its server), anything else EUNAVAILABLE.
func remoteErr(err error, format string, args ...any) error {
	if errors.Is(err, os.ErrPermission) {
		return &waybill.Error{Code: waybill.EFORBIDDEN, Reason: "sftp_permission", Message: fmt.Sprintf(format, args...), Err: err}
	}
	return waybill.Unavailable(err, format, args...)
}
