package sftp

import (
	"context"
	"fmt"
	"path"
	"time"

	"github.com/waybill-hub/waybill"
)

// Uploader delivers outbound files over SFTP: to the partner's own server when Remotes knows
// one, otherwise to the partner's out/ folder of Mailbox. Each file is written under a temporary
// name (".<name>.<unique>.tmp") and renamed once complete, so the partner never sees half a file.
//
// It is safe for concurrent use; each Send opens its own connection.
type Uploader struct {
	// Remotes returns the partner's server, or false to use the Mailbox.
	Remotes func(partner string) (Remote, bool)
	Mailbox *Mailbox
	Now     func() time.Time
}

var (
	_ waybill.Sender = (*Uploader)(nil)
	_ waybill.Sender = (*Mailbox)(nil)
)

// Send uploads msg and returns once the file carries its final name. The SendResult's
// TransportID is the remote path. Errors are coded: EUNAVAILABLE (retry) for network faults,
// EUNAUTHORIZED or EFORBIDDEN for access problems, EINVALID for a bad file name, ENOTFOUND when
// the partner has no SFTP destination.
func (u *Uploader) Send(ctx context.Context, msg waybill.OutboundMessage) (waybill.SendResult, error) {
	var r Remote
	ok := false
	if u.Remotes != nil {
		r, ok = u.Remotes(msg.Partner)
	}
	if !ok {
		if u.Mailbox == nil {
			return waybill.SendResult{}, waybill.Errorf(waybill.ENOTFOUND, "sftp_destination", "partner %s has no sftp destination", msg.Partner)
		}
		return u.Mailbox.Send(ctx, msg)
	}
	if err := r.Validate(); err != nil {
		return waybill.SendResult{}, err
	}
	if r.OutDir == "" {
		return waybill.SendResult{}, waybill.Errorf(waybill.EINVALID, "config", "sftp remote of partner %s: out_dir is required to send", r.Partner)
	}
	name, err := outboundName(msg)
	if err != nil {
		return waybill.SendResult{}, err
	}
	s, err := connect(ctx, r)
	if err != nil {
		return waybill.SendResult{}, err
	}
	defer s.Close()
	now := time.Now
	if u.Now != nil {
		now = u.Now
	}
	final := path.Join(r.OutDir, name)
	tmp := path.Join(r.OutDir, fmt.Sprintf(".%s.%d.tmp", name, now().UnixNano()))
	if err := put(s, tmp, msg.Payload); err != nil {
		_ = s.Remove(tmp) // best effort; the connection may be gone
		return waybill.SendResult{}, remoteErr(err, "sftp: uploading %s to %s of partner %s", tmp, r.Addr, r.Partner)
	}
	if err := s.PosixRename(tmp, final); err != nil {
		// Servers without the posix-rename extension: plain rename (fails if final exists).
		if err2 := s.Rename(tmp, final); err2 != nil {
			_ = s.Remove(tmp)
			return waybill.SendResult{}, remoteErr(err2, "sftp: renaming %s to %s on %s of partner %s", tmp, final, r.Addr, r.Partner)
		}
	}
	return waybill.SendResult{TransportID: "sftp://" + r.User + "@" + r.Addr + final, At: now().UTC(),
		Meta: map[string]string{"sftp_path": final}}, nil
}

func put(s *session, remote string, payload []byte) error {
	f, err := s.Create(remote)
	if err != nil {
		return err
	}
	if _, err := f.Write(payload); err != nil {
		f.Close()
		return err
	}
	if st, err := f.Stat(); err == nil && st.Size() != int64(len(payload)) {
		f.Close()
		return fmt.Errorf("remote size %d after writing %d bytes", st.Size(), len(payload))
	}
	return f.Close()
}
