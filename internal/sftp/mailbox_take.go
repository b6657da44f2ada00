package sftp

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
)

// TempSuffixes are the name endings of files still being written; they are never taken, and
// the Uploader writes under such a name before renaming.
var TempSuffixes = []string{".tmp", ".part", ".partial", ".filepart", "~"}

// IsTempName reports whether a file name is hidden (".name") or ends in one of TempSuffixes.
func IsTempName(name string) bool {
	if strings.HasPrefix(name, ".") {
		return true
	}
	lower := strings.ToLower(name)
	for _, s := range TempSuffixes {
		if strings.HasSuffix(lower, s) {
			return true
		}
	}
	return false
}

// TransportID identifies one version of a file: where it was, its modification time and size.
// The same file seen twice gets the same id (so the Intake answers Duplicate); a new file dropped
// under an old name gets a new one.
func TransportID(where string, modTime time.Time, size int64) string {
	return fmt.Sprintf("%s@%s#%d", where, modTime.UTC().Format(time.RFC3339Nano), size)
}

func (m *Mailbox) key(id, rel string) string { return id + "/" + rel }

func (m *Mailbox) partnerDir(id string) string { return filepath.Join(m.Root, id) }

func (m *Mailbox) doneWriting(key string) {
	m.mu.Lock()
	if m.writing[key]--; m.writing[key] <= 0 {
		delete(m.writing, key)
	}
	m.mu.Unlock()
}

// take stores in/<name> of partner p through the Intake and moves it to the archive. It returns
// nil without doing anything when the file is gone, open for writing or already being taken.
func (m *Mailbox) take(p Partner, rel string) error {
	key := m.key(p.ID, rel)
	m.mu.Lock()
	if m.busy[key] || m.writing[key] > 0 {
		m.mu.Unlock()
		return nil
	}
	m.busy[key] = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.busy, key)
		delete(m.seen, key)
		m.mu.Unlock()
	}()

	full := filepath.Join(m.partnerDir(p.ID), filepath.FromSlash(rel))
	st, err := os.Lstat(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("taking %s of partner %s: %w", rel, p.ID, err)
	}
	if !st.Mode().IsRegular() {
		return nil
	}
	payload, err := os.ReadFile(full)
	if err != nil {
		return fmt.Errorf("reading %s of partner %s: %w", rel, p.ID, err)
	}
	name := path.Base(rel)
	ctx, cancel := m.receiveCtx()
	defer cancel()
	rcpt, err := m.Intake.Receive(ctx, waybill.InboundMessage{
		Channel:     waybill.ChannelSFTP,
		Partner:     p.ID,
		DocType:     p.DocType,
		TransportID: TransportID("mailbox:"+p.ID+"/"+rel, st.ModTime(), st.Size()),
		Filename:    name,
		Payload:     payload,
		ReceivedAt:  m.now().UTC(),
		Meta:        map[string]string{"sftp_path": "/" + rel},
	})
	if err != nil {
		return fmt.Errorf("storing %s of partner %s: %w", rel, p.ID, err)
	}
	dst, err := archiveLocal(full, filepath.Join(m.ArchiveRoot, p.ID), m.now())
	if err != nil {
		return fmt.Errorf("archiving %s of partner %s: %w", rel, p.ID, err)
	}
	m.logger().Info("sftp mailbox file received", "partner", p.ID, "file", rel, "message_id", rcpt.MessageID,
		"correlation_id", rcpt.CorrelationID, "duplicate", rcpt.Duplicate, "archived_as", dst)
	return nil
}

// archiveLocal moves file into dir/<UTC day>/, choosing a free name when one is taken.
func archiveLocal(file, dir string, now time.Time) (string, error) {
	day := filepath.Join(dir, now.UTC().Format("2006-01-02"))
	if err := os.MkdirAll(day, 0o750); err != nil {
		return "", err
	}
	base := filepath.Base(file)
	ext := filepath.Ext(base)
	stem := strings.TrimSuffix(base, ext)
	for i := 0; i < 1000; i++ {
		name := base
		if i > 0 {
			name = fmt.Sprintf("%s.%d%s", stem, i, ext)
		}
		dst := filepath.Join(day, name)
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		if err := os.Rename(file, dst); err != nil {
			return "", err
		}
		return dst, nil
	}
	return "", fmt.Errorf("no free archive name for %s in %s", base, day)
}

// SweepResult counts what one sweep did.
type SweepResult struct {
	Taken      int            // files stored and archived
	Waiting    int            // files not stable yet, open, or over the per-partner bound
	Failed     int            // files whose store or archive failed; they stay for the next sweep
	PerPartner map[string]int // files taken per partner
}

// Sweep takes the files of every partner's in/ that have kept their size and modification time
// for StableFor and are not open for writing, at most MaxPerSweep per partner. It returns the
// first error met; the other files of the sweep are still tried.
func (m *Mailbox) Sweep(ctx context.Context) (SweepResult, error) {
	m.init()
	res := SweepResult{PerPartner: map[string]int{}}
	dirs, err := os.ReadDir(m.Root)
	if errors.Is(err, fs.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("listing mailbox root: %w", err)
	}
	var first error
	live := map[string]bool{}
	for _, d := range dirs {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if !d.IsDir() {
			continue
		}
		p, ok := m.partnerOf(d.Name())
		if !ok {
			continue
		}
		if err := m.sweepPartner(p, &res, live); err != nil && first == nil {
			first = err
		}
	}
	m.mu.Lock()
	for k := range m.seen {
		if !live[k] {
			delete(m.seen, k)
		}
	}
	m.mu.Unlock()
	return res, first
}

func (m *Mailbox) sweepPartner(p Partner, res *SweepResult, live map[string]bool) error {
	entries, err := os.ReadDir(filepath.Join(m.partnerDir(p.ID), "in"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	type cand struct {
		rel  string
		info fs.FileInfo
	}
	var cands []cand
	for _, e := range entries {
		if !e.Type().IsRegular() || IsTempName(e.Name()) {
			continue
		}
		if info, err := e.Info(); err == nil {
			cands = append(cands, cand{"in/" + e.Name(), info})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].info.ModTime().Before(cands[j].info.ModTime()) })
	var first error
	taken := 0
	now := m.now()
	for _, c := range cands {
		key := m.key(p.ID, c.rel)
		live[key] = true
		m.mu.Lock()
		o, ok := m.seen[key]
		if !ok || o.size != c.info.Size() || !o.modTime.Equal(c.info.ModTime()) {
			o = observation{size: c.info.Size(), modTime: c.info.ModTime(), since: now}
			m.seen[key] = o
		}
		open := m.writing[key] > 0
		m.mu.Unlock()
		if open || now.Sub(o.since) < m.StableFor || taken >= m.MaxPerSweep {
			res.Waiting++
			continue
		}
		taken++
		if err := m.take(p, c.rel); err != nil {
			res.Failed++
			m.logger().Warn("sftp mailbox file not taken; it stays for the next sweep", "partner", p.ID, "file", c.rel, "err", err)
			if first == nil {
				first = err
			}
			continue
		}
		res.Taken++
		res.PerPartner[p.ID]++
	}
	return first
}

func (m *Mailbox) sweepLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-m.done:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			select {
			case <-m.done:
			case <-ctx.Done():
			}
			cancel()
		}()
		if _, err := m.Sweep(ctx); err != nil {
			m.logger().Warn("sftp mailbox sweep", "err", err)
		}
		cancel()
	}
}

// Send puts msg in the partner's out/ folder: written under a hidden temporary name, synced, then
// renamed, so the partner never downloads half a file. It implements waybill.Sender for partners
// that fetch from the mailbox.
func (m *Mailbox) Send(ctx context.Context, msg waybill.OutboundMessage) (waybill.SendResult, error) {
	m.init()
	if !validID.MatchString(msg.Partner) {
		return waybill.SendResult{}, waybill.Errorf(waybill.EINVALID, "sftp_partner", "sftp mailbox: invalid partner id %q", msg.Partner)
	}
	name, err := outboundName(msg)
	if err != nil {
		return waybill.SendResult{}, err
	}
	if err := m.ensureDirs(msg.Partner); err != nil {
		return waybill.SendResult{}, waybill.Unavailable(err, "sftp mailbox: preparing out/ of %s", msg.Partner)
	}
	out := filepath.Join(m.partnerDir(msg.Partner), "out")
	tmp, err := os.CreateTemp(out, "."+name+".*.tmp")
	if err != nil {
		return waybill.SendResult{}, waybill.Unavailable(err, "sftp mailbox: writing to out/ of %s", msg.Partner)
	}
	_, err = tmp.Write(msg.Payload)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(out, name))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return waybill.SendResult{}, waybill.Unavailable(err, "sftp mailbox: writing %s to out/ of %s", name, msg.Partner)
	}
	return waybill.SendResult{TransportID: "mailbox:" + msg.Partner + "/out/" + name, At: m.now().UTC()}, nil
}

// outboundName is the file name of an outbound message: its Filename, or its ID and a suffix by
// document type. Path separators are refused.
func outboundName(msg waybill.OutboundMessage) (string, error) {
	name := msg.Filename
	if name == "" {
		if msg.ID == "" {
			return "", waybill.Errorf(waybill.EINVALID, "sftp_filename", "outbound message has neither filename nor id")
		}
		ext := ".dat"
		switch msg.DocType {
		case "csv", "csv-shipment", "csv-invoice":
			ext = ".csv"
		case "":
		default:
			ext = ".edi"
		}
		name = msg.ID + ext
	}
	if strings.ContainsAny(name, `/\`) || name == "." || name == ".." || IsTempName(name) {
		return "", waybill.Errorf(waybill.EINVALID, "sftp_filename", "outbound file name %q is not a plain final file name", name)
	}
	return name, nil
}
