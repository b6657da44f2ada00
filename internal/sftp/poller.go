package sftp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"sort"
	"time"

	"github.com/waybill-hub/waybill"
)

// Poller fetches a partner's files from its own SFTP server.
//
// Its exported fields may be changed until the first call to Poll. Poll must not run concurrently
// with itself on the same Poller (run one Poller per Remote).
type Poller struct {
	Remote Remote
	Intake waybill.Intake
	// Interval is the pause between polls in Run (default 1 minute).
	Interval time.Duration
	Now      func() time.Time
	Logger   *slog.Logger

	// afterDownload, when set (tests), runs between downloading a file and checking it again.
	afterDownload func(name string)
	// afterStore, when set (tests), runs after a file is stored and before it is deleted or
	// archived remotely; an error stops the poll there, as a crash would.
	afterStore func(name string) error
}

func (p *Poller) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}

func (p *Poller) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// Run polls every Interval until ctx is done, then returns ctx.Err(). It returns early only for
// a configuration error; failed polls are logged and tried again at the next tick. Run one Poller
// per partner server, each in its own goroutine, so a slow or flooded partner delays no other.
func (p *Poller) Run(ctx context.Context) error {
	if err := p.Remote.ValidatePoll(); err != nil {
		return err
	}
	every := p.Interval
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		n, err := p.Poll(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			p.logger().Warn("sftp poll failed", "partner", p.Remote.Partner, "server", p.Remote.Addr,
				"files", n, "code", waybill.Code(err), "err", err)
		case n > 0:
			p.logger().Debug("sftp poll", "partner", p.Remote.Partner, "files", n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Poll connects, lists InDir and, oldest first and at most MaxFiles, downloads each complete
// file, stores it through the Intake and then deletes or archives it on the server. It returns
// the number of files stored and removed from InDir (duplicates included).
//
// A file whose size or modification time changes during the download is left for the next poll.
// A file is removed remotely only after Receive returned; if that removal fails, the next poll
// stores it again, the Intake answers Duplicate and the removal is retried. Errors are coded
// (EUNAVAILABLE for network faults, EUNAUTHORIZED for host key or login problems).
func (p *Poller) Poll(ctx context.Context) (int, error) {
	r := p.Remote
	if err := r.ValidatePoll(); err != nil {
		return 0, err
	}
	if p.Intake == nil {
		return 0, waybill.Errorf(waybill.EINVALID, "config", "sftp poller of partner %s: intake is required", r.Partner)
	}
	s, err := connect(ctx, r)
	if err != nil {
		return 0, err
	}
	defer s.Close()

	infos, err := s.ReadDir(r.InDir)
	if err != nil {
		return 0, remoteErr(err, "sftp: listing %s on %s of partner %s", r.InDir, r.Addr, r.Partner)
	}
	var files []os.FileInfo
	for _, fi := range infos {
		if !fi.Mode().IsRegular() || IsTempName(fi.Name()) {
			continue
		}
		if r.Pattern != "" {
			if ok, _ := path.Match(r.Pattern, fi.Name()); !ok {
				continue
			}
		}
		files = append(files, fi)
	}
	sort.Slice(files, func(i, j int) bool {
		if !files[i].ModTime().Equal(files[j].ModTime()) {
			return files[i].ModTime().Before(files[j].ModTime())
		}
		return files[i].Name() < files[j].Name()
	})
	limit := r.MaxFiles
	if limit <= 0 {
		limit = 50
	}
	if len(files) > limit {
		files = files[:limit]
	}
	n := 0
	for _, fi := range files {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		ok, err := p.fetch(ctx, s, fi)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// fetch handles one remote file; it reports false when the file was left for a later poll.
func (p *Poller) fetch(ctx context.Context, s *session, fi os.FileInfo) (bool, error) {
	r := p.Remote
	remote := path.Join(r.InDir, fi.Name())
	payload, err := download(s, remote)
	if err != nil {
		return false, remoteErr(err, "sftp: downloading %s from %s of partner %s", remote, r.Addr, r.Partner)
	}
	if p.afterDownload != nil {
		p.afterDownload(fi.Name())
	}
	after, err := s.Stat(remote)
	if err != nil {
		return false, remoteErr(err, "sftp: checking %s on %s of partner %s", remote, r.Addr, r.Partner)
	}
	if after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime()) || int64(len(payload)) != fi.Size() {
		p.logger().Info("sftp remote file still changing; left for the next poll", "partner", r.Partner, "file", remote)
		return false, nil
	}
	rcpt, err := p.Intake.Receive(ctx, waybill.InboundMessage{
		Channel:     waybill.ChannelSFTP,
		Partner:     r.Partner,
		DocType:     r.DocType,
		TransportID: TransportID("sftp://"+r.User+"@"+r.Addr+remote, fi.ModTime(), fi.Size()),
		Filename:    fi.Name(),
		Payload:     payload,
		ReceivedAt:  p.now().UTC(),
		Meta:        map[string]string{"sftp_server": r.Addr, "sftp_path": remote},
	})
	if err != nil {
		return false, fmt.Errorf("storing %s of partner %s: %w", remote, r.Partner, err)
	}
	if p.afterStore != nil {
		if err := p.afterStore(fi.Name()); err != nil {
			return false, err
		}
	}
	if err := p.finish(s, remote, fi.Name()); err != nil {
		return false, err
	}
	p.logger().Info("sftp remote file received", "partner", r.Partner, "file", remote, "message_id", rcpt.MessageID,
		"correlation_id", rcpt.CorrelationID, "duplicate", rcpt.Duplicate)
	return true, nil
}

func download(s *session, remote string) ([]byte, error) {
	f, err := s.Open(remote)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// finish deletes or archives a stored remote file.
func (p *Poller) finish(s *session, remote, name string) error {
	r := p.Remote
	if r.Delete {
		if err := s.Remove(remote); err != nil && !errors.Is(err, os.ErrNotExist) {
			return remoteErr(err, "sftp: deleting stored %s on %s of partner %s", remote, r.Addr, r.Partner)
		}
		return nil
	}
	dst := path.Join(r.ArchiveDir, name)
	if _, err := s.Lstat(dst); err == nil {
		dst = path.Join(r.ArchiveDir, fmt.Sprintf("%s.%s", name, p.now().UTC().Format("20060102T150405.000000000")))
	}
	if err := s.Rename(remote, dst); err != nil {
		return remoteErr(err, "sftp: archiving stored %s to %s on %s of partner %s", remote, dst, r.Addr, r.Partner)
	}
	return nil
}
