package transport

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/folder"
)

// buildFolders makes the watcher of every partner's folder and the out folders.
func (c *Channels) buildFolders() []error {
	var errs []error
	var parts []folder.Partner
	for _, pt := range c.sorted() {
		f := pt.Transport.Folder
		if f == nil {
			continue
		}
		if f.OutDir != "" {
			c.outDirs[pt.ID] = f.OutDir
		}
		if f.Dir == "" {
			if f.OutDir == "" {
				errs = append(errs, fmt.Errorf("partner %s: transport.folder: needs dir or out_dir", pt.ID))
			}
			continue
		}
		archive := f.ArchiveDir
		if archive == "" {
			archive = filepath.Join(c.cfg.Folder.ArchiveDir, pt.ID)
		}
		p := folder.Partner{ID: pt.ID, Dir: f.Dir, ArchiveDir: archive, DocType: c.docType(pt), Pattern: f.Pattern}
		if err := p.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("partner %s: transport.folder: %w", pt.ID, err))
			continue
		}
		parts = append(parts, p)
	}
	if len(parts) > 0 {
		stable := c.cfg.Folder.StableFor
		if stable < 0 {
			stable = 0
		}
		c.watcher = &folder.Watcher{Intake: c.hub, Partners: parts, StableFor: stable, Interval: c.cfg.Folder.Interval,
			Now: c.cfg.Now, Logger: c.log.With("channel", "folder")}
	}
	return errs
}

// folderSender writes outbound files into a partner's out folder under a temporary name, syncs
// and renames them, so an on-premise reader never sees half a file.
type folderSender struct {
	dirs map[string]string
	now  func() time.Time
}

func (s folderSender) Send(_ context.Context, msg waybill.OutboundMessage) (waybill.SendResult, error) {
	dir, ok := s.dirs[msg.Partner]
	if !ok {
		return waybill.SendResult{}, waybill.Errorf(waybill.ENOTFOUND, "folder_destination", "partner %s has no out folder", msg.Partner)
	}
	name, err := outName(msg)
	if err != nil {
		return waybill.SendResult{}, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return waybill.SendResult{}, waybill.Unavailable(err, "making out folder of %s", msg.Partner)
	}
	final := filepath.Join(dir, name)
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d.tmp", name, s.now().UnixNano()))
	if err := writeSync(tmp, msg.Payload); err != nil {
		os.Remove(tmp)
		return waybill.SendResult{}, waybill.Unavailable(err, "writing %s for %s", tmp, msg.Partner)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return waybill.SendResult{}, waybill.Unavailable(err, "renaming %s for %s", final, msg.Partner)
	}
	return waybill.SendResult{TransportID: final, At: s.now().UTC(), Meta: map[string]string{"folder_path": final}}, nil
}

func writeSync(name string, b []byte) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// outName is the outbound file name: the message's Filename (its base name only), or its ID with
// an extension for the document type.
func outName(msg waybill.OutboundMessage) (string, error) {
	if msg.Filename != "" {
		name := filepath.Base(filepath.Clean("/" + msg.Filename))
		if name == "/" || name == "." || name == ".." || name[0] == '.' {
			return "", waybill.Errorf(waybill.EINVALID, "bad_filename", "outbound file name %q is not usable", msg.Filename)
		}
		return name, nil
	}
	if msg.ID == "" {
		return "", waybill.Errorf(waybill.EINVALID, "bad_filename", "an outbound message needs a file name or an id")
	}
	ext := ".dat"
	switch msg.DocType {
	case DocCSV:
		ext = ".csv"
	case "webhook", "order-json":
		ext = ".json"
	default:
		if len(msg.DocType) == 3 && msg.DocType[0] >= '0' && msg.DocType[0] <= '9' {
			ext = ".edi"
		}
	}
	return msg.ID + ext, nil
}
