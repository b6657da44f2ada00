package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// PendingMDN is an AS2 message we sent whose asynchronous MDN has not arrived yet.
type PendingMDN struct {
	MessageID  string // the AS2 Message-ID we sent
	Partner    string
	OutboundID string // the hub's outbound message id
	MIC        string // "base64digest, alg" the MDN must return
	SignedMDN  bool
	SentAt     time.Time
	Deadline   time.Time
}

// PutPendingMDN records p, replacing a record with the same MessageID (a resend of the same
// outbound message reuses its Message-ID).
func (db *DB) PutPendingMDN(ctx context.Context, p PendingMDN) error {
	return db.InTx(ctx, func(tx *Tx) error {
		if _, err := tx.ex.Exec(ctx, `DELETE FROM as2_pending_mdns WHERE message_id = ?`, p.MessageID); err != nil {
			return fmt.Errorf("replacing pending MDN %s: %w", p.MessageID, err)
		}
		_, err := tx.ex.Exec(ctx, `INSERT INTO as2_pending_mdns (message_id, partner, outbound_id, mic, signed_mdn, sent_at, deadline)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, p.MessageID, p.Partner, p.OutboundID, p.MIC, boolInt(p.SignedMDN), micros(p.SentAt), micros(p.Deadline))
		if err != nil {
			return fmt.Errorf("recording pending MDN %s: %w", p.MessageID, err)
		}
		return nil
	})
}

// TakePendingMDN removes and returns the record for messageID; ok is false when there is none
// (never recorded, or already taken by another replica: each record is taken once).
func (db *DB) TakePendingMDN(ctx context.Context, messageID string) (p PendingMDN, ok bool, err error) {
	err = db.InTx(ctx, func(tx *Tx) error {
		got, err := scanPendingMDN(tx.ex.QueryRow(ctx, `SELECT `+pendingMDNCols+` FROM as2_pending_mdns WHERE message_id = ?`, messageID))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		n, err := tx.ex.Exec(ctx, `DELETE FROM as2_pending_mdns WHERE message_id = ?`, messageID)
		if err != nil {
			return err
		}
		if n == 1 {
			p, ok = got, true
		}
		return nil
	})
	if err != nil {
		return PendingMDN{}, false, fmt.Errorf("taking pending MDN %s: %w", messageID, err)
	}
	return p, ok, nil
}

// PendingMDNs returns every pending record, oldest first.
func (db *DB) PendingMDNs(ctx context.Context) ([]PendingMDN, error) {
	rows, err := db.b.Query(ctx, `SELECT `+pendingMDNCols+` FROM as2_pending_mdns ORDER BY sent_at, message_id`)
	if err != nil {
		return nil, fmt.Errorf("listing pending MDNs: %w", err)
	}
	defer rows.Close()
	var out []PendingMDN
	for rows.Next() {
		p, err := scanPendingMDN(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

const pendingMDNCols = `message_id, partner, outbound_id, mic, signed_mdn, sent_at, deadline`

func scanPendingMDN(r Row) (PendingMDN, error) {
	var p PendingMDN
	var signed int
	var sent, deadline int64
	if err := r.Scan(&p.MessageID, &p.Partner, &p.OutboundID, &p.MIC, &signed, &sent, &deadline); err != nil {
		return PendingMDN{}, err
	}
	p.SignedMDN, p.SentAt, p.Deadline = signed != 0, fromMicros(sent), fromMicros(deadline)
	return p, nil
}

// RawRecord is one entry of the raw transport archive: bytes exactly as they arrived on the wire.
type RawRecord struct {
	ID          string
	Channel     string
	TransportID string
	Digest      string
	Size        int64
	Raw         []byte
	ReceivedAt  time.Time
}

// ArchiveRaw stores raw bytes as received and returns the record's id. Every call adds a record
// (a resent AS2 message is archived again: it is what came over the wire).
func (db *DB) ArchiveRaw(ctx context.Context, channel, transportID string, raw []byte) (string, error) {
	sum := sha256.Sum256(raw)
	id := NewID("raw")
	_, err := db.b.Exec(ctx, `INSERT INTO transport_raw (id, channel, transport_id, digest, size, raw, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		id, channel, transportID, hex.EncodeToString(sum[:]), int64(len(raw)), raw, micros(db.now()))
	if err != nil {
		return "", fmt.Errorf("archiving raw %s message %s: %w", channel, transportID, err)
	}
	return id, nil
}

// RawRecords returns the archived records of a transport id on a channel, oldest first, with
// their bytes.
func (db *DB) RawRecords(ctx context.Context, channel, transportID string) ([]RawRecord, error) {
	rows, err := db.b.Query(ctx, `SELECT id, channel, transport_id, digest, size, raw, received_at FROM transport_raw
		WHERE channel = ? AND transport_id = ? ORDER BY received_at, id`, channel, transportID)
	if err != nil {
		return nil, fmt.Errorf("reading raw %s message %s: %w", channel, transportID, err)
	}
	defer rows.Close()
	var out []RawRecord
	for rows.Next() {
		var r RawRecord
		var at int64
		if err := rows.Scan(&r.ID, &r.Channel, &r.TransportID, &r.Digest, &r.Size, &r.Raw, &at); err != nil {
			return nil, err
		}
		r.ReceivedAt = fromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// PurgeRaw deletes raw records received before cutoff and returns how many went.
func (db *DB) PurgeRaw(ctx context.Context, cutoff time.Time) (int64, error) {
	n, err := db.b.Exec(ctx, `DELETE FROM transport_raw WHERE received_at < ?`, micros(cutoff))
	if err != nil {
		return 0, fmt.Errorf("purging raw transport archive: %w", err)
	}
	return n, nil
}
