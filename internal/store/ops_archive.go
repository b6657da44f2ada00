package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ArchiveEntry records where an archived payload went. A message whose payload column is NULL
// and which has an entry can be read back from the archive (retention's PayloadLoader).
type ArchiveEntry struct {
	MessageID  string
	Location   string // the archive's key for the object (a relative path or an object key)
	Digest     string // SHA-256 of the payload, hex
	Size       int64
	ArchivedAt time.Time
	PurgedAt   time.Time // zero while the payload is still online too
}

// OnlineFilter selects messages whose payload is still in the database, for retention.
type OnlineFilter struct {
	DocTypes    []string  // only these document types (none: any)
	ExceptTypes []string  // not these document types
	Before      time.Time // received strictly before
	Limit       int       // at most this many (default 500)
}

// OnlinePayloads returns messages (with payloads) matching f, oldest first. Duplicates carry no
// payload and are never returned.
func (db *DB) OnlinePayloads(ctx context.Context, f OnlineFilter) ([]*Message, error) {
	where := []string{"payload IS NOT NULL", "received_at < ?"}
	args := []any{micros(f.Before)}
	in := func(col string, vals []string, not bool) {
		if len(vals) == 0 {
			return
		}
		ph := strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")
		op := " IN "
		if not {
			op = " NOT IN "
		}
		where = append(where, col+op+"("+ph+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("doc_type", f.DocTypes, false)
	in("doc_type", f.ExceptTypes, true)
	limit := f.Limit
	if limit <= 0 {
		limit = 500
	}
	q := `SELECT ` + messageCols + `, payload FROM messages WHERE ` + strings.Join(where, " AND ") +
		fmt.Sprintf(" ORDER BY received_at, id LIMIT %d", limit)
	rows, err := db.b.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing online payloads: %w", err)
	}
	defer rows.Close()
	var out []*Message
	for rows.Next() {
		m, err := scanMessage(rows, true)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// RecordArchive stores (or replaces) the archive entry of a message.
func (tx *Tx) RecordArchive(ctx context.Context, e ArchiveEntry) error {
	if e.ArchivedAt.IsZero() {
		e.ArchivedAt = tx.db.now()
	}
	n, err := tx.ex.Exec(ctx, `UPDATE message_archive SET location = ?, digest = ?, size = ?, archived_at = ? WHERE message_id = ?`,
		e.Location, e.Digest, e.Size, micros(e.ArchivedAt), e.MessageID)
	if err != nil {
		return fmt.Errorf("recording archive of %s: %w", e.MessageID, err)
	}
	if n > 0 {
		return nil
	}
	_, err = tx.ex.Exec(ctx, `INSERT INTO message_archive (message_id, location, digest, size, archived_at, purged_at) VALUES (?, ?, ?, ?, ?, 0)`,
		e.MessageID, e.Location, e.Digest, e.Size, micros(e.ArchivedAt))
	if err != nil {
		return fmt.Errorf("recording archive of %s: %w", e.MessageID, err)
	}
	return nil
}

// PurgePayload drops a message's payload from the database, keeping its metadata; the message
// must have an archive entry (ErrNotFound otherwise), so that nothing is purged unarchived.
func (tx *Tx) PurgePayload(ctx context.Context, id string) error {
	now := micros(tx.db.now())
	n, err := tx.ex.Exec(ctx, `UPDATE message_archive SET purged_at = ? WHERE message_id = ?`, now, id)
	if err != nil {
		return fmt.Errorf("purging payload of %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("purging payload of %s: not archived: %w", id, ErrNotFound)
	}
	if _, err := tx.ex.Exec(ctx, `UPDATE messages SET payload = NULL WHERE id = ?`, id); err != nil {
		return fmt.Errorf("purging payload of %s: %w", id, err)
	}
	return nil
}

// RestorePayload puts an archived payload back online (before a replay, or to inspect it); the
// archive entry stays, marked not purged, so the next retention run purges it again without
// archiving it twice.
func (tx *Tx) RestorePayload(ctx context.Context, id string, payload []byte) error {
	n, err := tx.ex.Exec(ctx, `UPDATE messages SET payload = ? WHERE id = ?`, payload, id)
	if err != nil {
		return fmt.Errorf("restoring payload of %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("restoring payload of %s: %w", id, ErrNotFound)
	}
	_, err = tx.ex.Exec(ctx, `UPDATE message_archive SET purged_at = 0 WHERE message_id = ?`, id)
	return err
}

// ArchiveEntry returns a message's archive entry; ErrNotFound when it was never archived.
func (db *DB) ArchiveEntry(ctx context.Context, id string) (*ArchiveEntry, error) {
	var e ArchiveEntry
	var a, p int64
	err := db.b.QueryRow(ctx, `SELECT message_id, location, digest, size, archived_at, purged_at FROM message_archive WHERE message_id = ?`, id).
		Scan(&e.MessageID, &e.Location, &e.Digest, &e.Size, &a, &p)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("archive entry of %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("archive entry of %s: %w", id, err)
	}
	e.ArchivedAt, e.PurgedAt = fromMicros(a), fromMicros(p)
	return &e, nil
}

// ArchiveStats counts archived messages and how many of those are purged from the database.
func (db *DB) ArchiveStats(ctx context.Context) (archived, purged int64, err error) {
	err = db.b.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN purged_at > 0 THEN 1 ELSE 0 END), 0) FROM message_archive`).
		Scan(&archived, &purged)
	return archived, purged, err
}
