package folder

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/waybill-hub/waybill"
)

// Partner is one watched folder.
type Partner struct {
	// ID is the partner the files belong to; it becomes InboundMessage.Partner.
	ID string `yaml:"id"`
	// Dir is the folder to watch. Only regular files directly inside it are taken; sub-folders,
	// hidden files (".name") and files with a temporary suffix (see TempSuffixes) are ignored, so a
	// writer that writes "x.tmp" and renames it to "x.csv" is never read half-written.
	Dir string `yaml:"dir"`
	// ArchiveDir receives each file once the hub has stored it, under a folder per UTC day
	// (ArchiveDir/2006-01-02/name). It must not be inside Dir.
	ArchiveDir string `yaml:"archive_dir"`
	// DocType is passed as InboundMessage.DocType ("x12", "csv-order"; "" lets the hub detect it).
	DocType string `yaml:"doc_type"`
	// Pattern, when set, is a filepath.Match pattern a file name must match ("*.edi").
	Pattern string `yaml:"pattern"`
}

// Validate reports the first field that is missing or inconsistent, naming it.
func (p Partner) Validate() error {
	switch {
	case p.ID == "":
		return waybill.Errorf(waybill.EINVALID, "config", "folder partner: id is required")
	case p.Dir == "":
		return waybill.Errorf(waybill.EINVALID, "config", "folder partner %s: dir is required", p.ID)
	case p.ArchiveDir == "":
		return waybill.Errorf(waybill.EINVALID, "config", "folder partner %s: archive_dir is required", p.ID)
	}
	if rel, err := filepath.Rel(filepath.Clean(p.Dir), filepath.Clean(p.ArchiveDir)); err == nil && !strings.HasPrefix(rel, "..") && rel != "." {
		// An archive inside the watched folder would only be safe because sub-folders are skipped;
		// say so plainly instead of relying on it.
		return waybill.Errorf(waybill.EINVALID, "config", "folder partner %s: archive_dir must not be inside dir", p.ID)
	} else if rel == "." {
		return waybill.Errorf(waybill.EINVALID, "config", "folder partner %s: archive_dir must differ from dir", p.ID)
	}
	if p.Pattern != "" {
		if _, err := filepath.Match(p.Pattern, "x"); err != nil {
			return waybill.Errorf(waybill.EINVALID, "config", "folder partner %s: pattern %q: %v", p.ID, p.Pattern, err)
		}
	}
	return nil
}

// TempSuffixes are the name endings of files still being written; they are never taken.
var TempSuffixes = []string{".tmp", ".part", ".partial", ".filepart", ".crdownload", "~"}

// IsTempName reports whether name is hidden or carries one of TempSuffixes.
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

// Watcher polls partner folders and hands complete files to the hub.
//
// Its exported fields may be changed until the first call to Scan or Run. Scan and Run must not
// be called concurrently with each other.
type Watcher struct {
	Intake   waybill.Intake
	Partners []Partner
	// StableFor is how long a file's size and modification time must stay the same before it is
	// taken. Zero takes a file on the first scan that sees it (for writers that rename into place).
	StableFor time.Duration
	// MaxPerScan bounds the files taken per partner per scan (default 50).
	MaxPerScan int
	// Interval is the pause between scans in Run (default 5s).
	Interval time.Duration
	// Now returns the current time; tests replace it. Default time.Now.
	Now    func() time.Time
	Logger *slog.Logger

	mu   sync.Mutex
	seen map[string]observation // path → last observation
}

type observation struct {
	size    int64
	modTime time.Time
	since   time.Time // when this size and mtime were first seen
}

// ScanResult counts what one scan did.
type ScanResult struct {
	Taken      int            // files stored (new or duplicate) and archived
	Duplicates int            // of Taken, files the hub had seen before
	Waiting    int            // files not yet stable
	Failed     int            // files whose Receive or archive move failed; they stay for the next scan
	PerPartner map[string]int // files taken per partner
}

// Validate checks the configuration, naming the partner and field at fault.
func (w *Watcher) Validate() error {
	if w.Intake == nil {
		return waybill.Errorf(waybill.EINVALID, "config", "folder watcher: intake is required")
	}
	ids := map[string]bool{}
	for _, p := range w.Partners {
		if err := p.Validate(); err != nil {
			return err
		}
		if ids[p.ID] {
			return waybill.Errorf(waybill.EINVALID, "config", "folder partner %s: listed twice", p.ID)
		}
		ids[p.ID] = true
	}
	return nil
}

func (w *Watcher) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Watcher) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

// Run scans every Interval until ctx is done, then returns ctx.Err(). Errors of single files are
// logged and retried on later scans; Run stops early only on an invalid configuration.
func (w *Watcher) Run(ctx context.Context) error {
	if err := w.Validate(); err != nil {
		return err
	}
	interval := w.Interval
	if interval <= 0 {
		interval = 5 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := w.Scan(ctx); err != nil && ctx.Err() == nil {
			w.logger().Warn("folder scan", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Scan makes one pass over every partner folder. It returns the counts and the first error met
// (files that failed stay in place; the others of the same scan are still processed).
func (w *Watcher) Scan(ctx context.Context) (ScanResult, error) {
	res := ScanResult{PerPartner: map[string]int{}}
	var first error
	w.mu.Lock()
	if w.seen == nil {
		w.seen = map[string]observation{}
	}
	w.mu.Unlock()
	live := map[string]bool{}
	for _, p := range w.Partners {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if err := w.scanPartner(ctx, p, &res, live); err != nil && first == nil {
			first = err
		}
	}
	w.mu.Lock()
	for path := range w.seen {
		if !live[path] {
			delete(w.seen, path)
		}
	}
	w.mu.Unlock()
	return res, first
}

func (w *Watcher) scanPartner(ctx context.Context, p Partner, res *ScanResult, live map[string]bool) error {
	entries, err := os.ReadDir(p.Dir)
	if err != nil {
		res.Failed++
		return fmt.Errorf("listing folder of partner %s: %w", p.ID, err)
	}
	// Oldest first, so a backlog drains in arrival order.
	type cand struct {
		name string
		info fs.FileInfo
	}
	var cands []cand
	for _, e := range entries {
		if !e.Type().IsRegular() || IsTempName(e.Name()) {
			continue
		}
		if p.Pattern != "" {
			if ok, _ := filepath.Match(p.Pattern, e.Name()); !ok {
				continue
			}
		}
		info, err := e.Info()
		if err != nil {
			continue // vanished since the listing
		}
		cands = append(cands, cand{e.Name(), info})
	}
	sort.Slice(cands, func(i, j int) bool {
		if !cands[i].info.ModTime().Equal(cands[j].info.ModTime()) {
			return cands[i].info.ModTime().Before(cands[j].info.ModTime())
		}
		return cands[i].name < cands[j].name
	})
	limit := w.MaxPerScan
	if limit <= 0 {
		limit = 50
	}
	var first error
	taken := 0
	for _, c := range cands {
		path := filepath.Join(p.Dir, c.name)
		live[path] = true
		if !w.stable(path, c.info) {
			res.Waiting++
			continue
		}
		if taken >= limit {
			res.Waiting++
			continue
		}
		taken++
		dup, err := w.take(ctx, p, path, c.info)
		if err != nil {
			res.Failed++
			w.logger().Warn("folder file not taken; it stays for the next scan", "partner", p.ID, "file", c.name, "err", err)
			if first == nil {
				first = err
			}
			continue
		}
		res.Taken++
		res.PerPartner[p.ID]++
		if dup {
			res.Duplicates++
		}
		delete(live, path)
	}
	return first
}

// stable records the observation and reports whether the file has kept its size and mtime for
// StableFor.
func (w *Watcher) stable(path string, info fs.FileInfo) bool {
	now := w.now()
	w.mu.Lock()
	defer w.mu.Unlock()
	o, ok := w.seen[path]
	if !ok || o.size != info.Size() || !o.modTime.Equal(info.ModTime()) {
		o = observation{size: info.Size(), modTime: info.ModTime(), since: now}
		w.seen[path] = o
	}
	return now.Sub(o.since) >= w.StableFor
}

// take stores the file through the Intake and then archives it. It reports whether the hub saw
// the file as a duplicate.
func (w *Watcher) take(ctx context.Context, p Partner, path string, info fs.FileInfo) (bool, error) {
	payload, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	if int64(len(payload)) != info.Size() {
		// Still being written between stat and read: wait for the next scan.
		w.mu.Lock()
		delete(w.seen, path)
		w.mu.Unlock()
		return false, waybill.Unavailable(nil, "file %s changed while being read", path)
	}
	name := filepath.Base(path)
	msg := waybill.InboundMessage{
		Channel:     waybill.ChannelFolder,
		Partner:     p.ID,
		DocType:     p.DocType,
		TransportID: TransportID(name, info),
		Filename:    name,
		Payload:     payload,
		ReceivedAt:  w.now().UTC(),
		Meta:        map[string]string{"folder": p.Dir},
	}
	rcpt, err := w.Intake.Receive(ctx, msg)
	if err != nil {
		return false, fmt.Errorf("storing %s of partner %s: %w", name, p.ID, err)
	}
	dst, err := archive(path, p.ArchiveDir, w.now())
	if err != nil {
		// Stored but not moved: the next scan receives it again and the hub answers duplicate.
		return false, fmt.Errorf("archiving %s of partner %s: %w", name, p.ID, err)
	}
	w.mu.Lock()
	delete(w.seen, path)
	w.mu.Unlock()
	w.logger().Info("folder file received", "partner", p.ID, "file", name, "message_id", rcpt.MessageID,
		"correlation_id", rcpt.CorrelationID, "duplicate", rcpt.Duplicate, "archived_as", dst)
	return rcpt.Duplicate, nil
}

// TransportID identifies one version of a file: its name, modification time and size. A file
// dropped again under the same name with other content is a new message; the same file seen twice
// (archiving failed, the hub stopped between storing and archiving) is a duplicate.
func TransportID(name string, info fs.FileInfo) string {
	return fmt.Sprintf("%s@%s#%d", name, info.ModTime().UTC().Format(time.RFC3339Nano), info.Size())
}

// archive moves path into dir/<UTC day>/, choosing a free name when one is taken.
func archive(path, dir string, now time.Time) (string, error) {
	day := filepath.Join(dir, now.UTC().Format("2006-01-02"))
	if err := os.MkdirAll(day, 0o750); err != nil {
		return "", err
	}
	base := filepath.Base(path)
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
		} else if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if err := os.Rename(path, dst); err != nil {
			return "", err
		}
		return dst, nil
	}
	return "", fmt.Errorf("no free archive name for %s in %s", base, day)
}
