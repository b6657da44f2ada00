// Package retention keeps raw payloads online for a number of days per document type, then
// archives them (gzip-compressed, one object per message, in a folder or an S3-compatible bucket) and
// purges them from the database, keeping every message's metadata. Audit records are never
// purged here: the audit trail is hash-chained and outlives the payloads it describes. An
// archived payload can be read back (PayloadLoader), so trace shows it and replay works.
package retention

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"time"

	"github.com/waybill-hub/waybill/internal/store"
)

// Rule keeps payloads of one document type online for OnlineDays after receipt.
type Rule struct {
	DocType    string `koanf:"doc_type"`
	OnlineDays int    `koanf:"online_days"`
}

// Policy is the retention policy. Its exported fields may be changed until the first Run.
type Policy struct {
	// DefaultDays keeps payloads of types without a rule online this many days (0: forever).
	DefaultDays int `koanf:"default_days"`
	// Rules override DefaultDays per document type ("x12", "order-json", "855", ...).
	Rules []Rule `koanf:"rules"`
	// Batch is how many payloads one step archives and purges in one transaction.
	Batch int `koanf:"batch"`
	// Every is how often the scheduled job runs.
	Every time.Duration `koanf:"every"`
}

// Default keeps payloads 90 days online, archiving in batches of 200 once an hour.
func Default() Policy { return Policy{DefaultDays: 90, Batch: 200, Every: time.Hour} }

// Validate checks the policy; errors name the field.
func (p Policy) Validate() error {
	var errs []error
	if p.DefaultDays < 0 {
		errs = append(errs, fmt.Errorf("retention.default_days must not be negative"))
	}
	seen := map[string]bool{}
	for i, r := range p.Rules {
		switch {
		case r.DocType == "":
			errs = append(errs, fmt.Errorf("retention.rules[%d].doc_type is required", i))
		case seen[r.DocType]:
			errs = append(errs, fmt.Errorf("retention.rules[%d].doc_type %q appears twice", i, r.DocType))
		case r.OnlineDays < 1:
			errs = append(errs, fmt.Errorf("retention.rules[%d].online_days must be at least 1", i))
		}
		seen[r.DocType] = true
	}
	if p.Batch < 0 || p.Batch > 10000 {
		errs = append(errs, fmt.Errorf("retention.batch must be between 1 and 10000"))
	}
	return errors.Join(errs...)
}

// PayloadLoader reads back the payload of a message whose payload column is NULL because
// retention archived and purged it. The hub's process_message (on replay) and the dashboard's raw
// view call it when Message.Payload is nil and the message is not a duplicate; *Archiver
// implements it. An error wrapping store.ErrNotFound means the message was never archived.
type PayloadLoader interface {
	LoadPayload(ctx context.Context, m *store.Message) ([]byte, error)
}

var _ PayloadLoader = (*Archiver)(nil)

// ErrCorrupt is returned when an archived object does not match the digest stored with its message.
var ErrCorrupt = errors.New("archived payload does not match its digest")

// Archiver applies a Policy to a store with an Archive. It is safe for concurrent use, and
// several replicas may run it at once: archiving is idempotent (same key, same bytes) and a
// payload is purged only after its archive entry is recorded.
type Archiver struct {
	DB      *store.DB
	Archive Archive
	Policy  Policy
	Log     *slog.Logger
	Now     func() time.Time
}

// Result counts what one Run did.
type Result struct {
	Archived int   // payloads written to the archive and purged
	Bytes    int64 // their total size
}

func (a *Archiver) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now().UTC()
}

func (a *Archiver) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// Run archives and purges every payload the policy says is due, in batches, until none is left
// or ctx ends.
func (a *Archiver) Run(ctx context.Context) (Result, error) {
	var res Result
	if err := a.Policy.Validate(); err != nil {
		return res, err
	}
	now := a.now()
	var ruled []string
	for _, r := range a.Policy.Rules {
		ruled = append(ruled, r.DocType)
		f := store.OnlineFilter{DocTypes: []string{r.DocType}, Before: now.Add(-days(r.OnlineDays))}
		if err := a.drain(ctx, f, &res); err != nil {
			return res, err
		}
	}
	if a.Policy.DefaultDays > 0 {
		f := store.OnlineFilter{ExceptTypes: ruled, Before: now.Add(-days(a.Policy.DefaultDays))}
		if err := a.drain(ctx, f, &res); err != nil {
			return res, err
		}
	}
	return res, nil
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

func (a *Archiver) drain(ctx context.Context, f store.OnlineFilter, res *Result) error {
	f.Limit = a.Policy.Batch
	if f.Limit <= 0 {
		f.Limit = 200
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := a.DB.OnlinePayloads(ctx, f)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		entries := make([]store.ArchiveEntry, 0, len(batch))
		for _, m := range batch {
			key := Key(m)
			if err := a.Archive.Put(ctx, key, m.Payload); err != nil {
				return fmt.Errorf("archiving message %s: %w", m.ID, err)
			}
			entries = append(entries, store.ArchiveEntry{MessageID: m.ID, Location: key, Digest: digest(m.Payload), Size: int64(len(m.Payload))})
		}
		err = a.DB.InTx(ctx, func(tx *store.Tx) error {
			for _, e := range entries {
				if err := tx.RecordArchive(ctx, e); err != nil {
					return err
				}
				if err := tx.PurgePayload(ctx, e.MessageID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, e := range entries {
			res.Archived++
			res.Bytes += e.Size
		}
		a.log().Debug("retention: archived payloads", "count", len(entries), "before", f.Before)
		if len(batch) < f.Limit {
			return nil
		}
	}
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Key is where a message's payload is archived: partner/yyyy/mm/dd/message-id.gz (by receipt
// date, UTC), with path separators and dots in the partner id replaced.
func Key(m *store.Message) string {
	p := strings.NewReplacer("/", "_", "\\", "_", "..", "_").Replace(m.Partner)
	if p == "" {
		p = "_"
	}
	return path.Join(p, m.ReceivedAt.UTC().Format("2006/01/02"), m.ID+".gz")
}

// LoadPayload reads an archived payload back and checks it against the digest recorded when it
// was archived. It implements the PayloadLoader seam the hub and the dashboard use when a
// message's payload column is NULL.
func (a *Archiver) LoadPayload(ctx context.Context, m *store.Message) ([]byte, error) {
	e, err := a.DB.ArchiveEntry(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	b, err := a.Archive.Get(ctx, e.Location)
	if err != nil {
		return nil, fmt.Errorf("reading archived payload of %s: %w", m.ID, err)
	}
	if digest(b) != e.Digest {
		return nil, fmt.Errorf("message %s at %s: %w", m.ID, e.Location, ErrCorrupt)
	}
	return b, nil
}

// Restore puts a message's archived payload back into the database (before a replay); a message
// whose payload is online is left alone.
func (a *Archiver) Restore(ctx context.Context, id string) error {
	m, err := a.DB.Message(ctx, id)
	if err != nil {
		return err
	}
	if m.Payload != nil {
		return nil
	}
	b, err := a.LoadPayload(ctx, m)
	if err != nil {
		return err
	}
	return a.DB.InTx(ctx, func(tx *store.Tx) error { return tx.RestorePayload(ctx, id, b) })
}

// Schedule runs the archiver every Policy.Every (first run at once) until ctx ends, logging
// failures; it is the scheduled retention job of "waybill serve".
func (a *Archiver) Schedule(ctx context.Context) {
	every := a.Policy.Every
	if every <= 0 {
		every = time.Hour
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := a.Run(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log().Warn("retention run failed", "error", err, "archived", res.Archived)
		case res.Archived > 0:
			a.log().Info("retention: payloads archived and purged", "count", res.Archived, "bytes", res.Bytes)
		}
		t.Reset(every)
	}
}
