package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
)

// AuditRecord is one entry of the append-only audit trail: a receipt, a transition, an external
// call, an outbound document, an operator action. Refs are the external and ERP identifiers it
// mentions (PO numbers, control numbers, AS2 message ids, sale order names); trace finds records
// by any of them.
type AuditRecord struct {
	Seq           int64
	At            time.Time
	Kind          string // "message.received", "order.transition", "erp.call", "outbound.sent", "dlq.replay", ...
	CorrelationID string
	Partner       string
	Subject       string // the hub id it is about
	Actor         string
	Summary       string
	Detail        map[string]any
	Refs          []string
	Hash          string // set once sealed into the chain
}

// Audit appends r to the trail inside the transaction and indexes its refs for trace. The record
// is written when the transaction commits, with the transaction's other records and trace keys.
func (tx *Tx) Audit(ctx context.Context, r AuditRecord) error {
	if r.At.IsZero() {
		r.At = tx.db.now()
	}
	detail := "{}"
	if len(r.Detail) > 0 {
		b, err := json.Marshal(r.Detail)
		if err != nil {
			return err
		}
		detail = string(b)
	}
	refs := cleanRefs(r.Refs)
	tx.audits = append(tx.audits, auditRow{at: micros(r.At), kind: r.Kind, corr: r.CorrelationID, partner: r.Partner,
		subject: r.Subject, actor: r.Actor, summary: r.Summary, detail: detail, refs: strings.Join(refs, "\n")})
	// The correlation id itself needs no key: CorrelationsFor finds it in the audit log.
	keys := refs
	if r.Subject != "" {
		keys = append(keys, r.Subject)
	}
	for _, k := range keys {
		if err := tx.addTraceKey(ctx, k, r.CorrelationID); err != nil {
			return err
		}
	}
	return nil
}

// auditRow is an audit record waiting for its transaction's commit.
type auditRow struct {
	at                                                         int64
	kind, corr, partner, subject, actor, summary, detail, refs string
}

func (r auditRow) args() []any {
	return []any{r.at, r.kind, r.corr, r.partner, r.subject, r.actor, r.summary, r.detail, r.refs}
}

// AuditLocker is implemented by backends whose audit write lock (see Backend.AuditWriteLock) is
// a SQL expression that PostgreSQL can evaluate in the statement appending a transaction's audit
// records, before their sequence numbers are drawn: the records, the lock and the transaction's
// trace keys then take one statement instead of three.
type AuditLocker interface {
	AuditLockExpr() string
}

const auditInsert = `INSERT INTO audit_log (at, kind, correlation_id, partner, subject, actor, summary, detail, refs)`

// writeAudit writes the transaction's order events, audit records and trace keys, in statements of
// at most traceKeyBatch of each.
func (tx *Tx) writeAudit(ctx context.Context) error {
	if len(tx.audits) == 0 && len(tx.traceKeys) == 0 && len(tx.events) == 0 {
		return nil
	}
	lk, ok := tx.db.b.(AuditLocker)
	if !ok {
		return tx.writeAuditPortable(ctx)
	}
	audits, keys, events := tx.audits, tx.traceKeys, tx.events
	tx.audits, tx.traceKeys, tx.events = nil, nil, nil
	for len(audits) > 0 || len(keys) > 0 || len(events) > 0 {
		na, nk, ne := min(len(audits), traceKeyBatch), min(len(keys), traceKeyBatch), min(len(events), traceKeyBatch)
		args := make([]any, 0, 9*na+2*nk+8*ne)
		var ctes []string
		if na > 0 {
			ctes = append(ctes, `l AS MATERIALIZED (SELECT `+lk.AuditLockExpr()+`)`)
		}
		if nk > 0 {
			ctes = append(ctes, `k AS (INSERT INTO trace_keys (key, correlation_id) VALUES (?, ?)`+
				strings.Repeat(`, (?, ?)`, nk-1)+` ON CONFLICT DO NOTHING)`)
			for _, k := range keys[:nk] {
				args = append(args, k.key, k.corr)
			}
		}
		if ne > 0 {
			ctes = append(ctes, `e AS (`+eventInsert+` VALUES (?, ?, ?, ?, ?, ?, ?, ?)`+
				strings.Repeat(`, (?, ?, ?, ?, ?, ?, ?, ?)`, ne-1)+`)`)
			for _, ev := range events[:ne] {
				args = eventArgs(args, ev)
			}
		}
		q := `WITH ` + strings.Join(ctes, ", ") + " "
		if na > 0 {
			// The lock is taken when l is read, which the join does before it yields the first
			// row: before any record draws its sequence number.
			q += auditInsert + ` SELECT v.* FROM l, (VALUES (CAST(? AS BIGINT), ?, ?, ?, ?, ?, ?, ?, ?)` +
				strings.Repeat(`, (CAST(? AS BIGINT), ?, ?, ?, ?, ?, ?, ?, ?)`, na-1) + `) AS v`
			for _, r := range audits[:na] {
				args = append(args, r.args()...)
			}
		} else {
			q += `SELECT 1`
		}
		if err := tx.execDeferred(ctx, q, args...); err != nil {
			return fmt.Errorf("appending events and audit records: %w", err)
		}
		audits, keys, events = audits[na:], keys[nk:], events[ne:]
	}
	return nil
}

// writeAuditPortable writes the events, the audit records (under the backend's write lock) and
// the trace keys, each in statements of their own.
func (tx *Tx) writeAuditPortable(ctx context.Context) error {
	for evs := tx.events; len(evs) > 0; {
		n := min(len(evs), traceKeyBatch)
		args := make([]any, 0, 8*n)
		for _, ev := range evs[:n] {
			args = eventArgs(args, ev)
		}
		q := eventInsert + ` VALUES (?, ?, ?, ?, ?, ?, ?, ?)` + strings.Repeat(`, (?, ?, ?, ?, ?, ?, ?, ?)`, n-1)
		if err := tx.execDeferred(ctx, q, args...); err != nil {
			return fmt.Errorf("storing events of order %s: %w", evs[0].OrderID, err)
		}
		evs = evs[n:]
	}
	tx.events = nil
	if len(tx.audits) > 0 {
		if err := tx.db.b.AuditWriteLock(ctx, tx.ex); err != nil {
			return fmt.Errorf("locking audit trail: %w", err)
		}
	}
	for rows := tx.audits; len(rows) > 0; {
		n := min(len(rows), traceKeyBatch)
		q := auditInsert + ` VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)` + strings.Repeat(`, (?, ?, ?, ?, ?, ?, ?, ?, ?)`, n-1)
		args := make([]any, 0, 9*n)
		for _, r := range rows[:n] {
			args = append(args, r.args()...)
		}
		if err := tx.execDeferred(ctx, q, args...); err != nil {
			return fmt.Errorf("appending audit records: %w", err)
		}
		rows = rows[n:]
	}
	tx.audits = nil
	return tx.writeTraceKeys(ctx)
}

type traceKey struct{ key, corr string }

func cleanRefs(refs []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range refs {
		r = strings.TrimSpace(r)
		if r == "" || seen[r] || strings.ContainsAny(r, "\n") {
			continue
		}
		seen[r] = true
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// addTraceKey links key to corr when the transaction commits: a transaction's keys (a receipt's
// message and transport ids, an order's PO and id, ...) are written in one statement.
func (tx *Tx) addTraceKey(_ context.Context, key, corr string) error {
	k := traceKey{key, corr}
	if tx.traced[k] {
		return nil
	}
	if tx.traced == nil {
		tx.traced = map[traceKey]bool{}
	}
	tx.traced[k] = true
	tx.traceKeys = append(tx.traceKeys, k)
	return nil
}

// traceKeyBatch bounds the rows of one INSERT (and so the variants of the statement kept prepared).
const traceKeyBatch = 16

func (tx *Tx) writeTraceKeys(ctx context.Context) error {
	for keys := tx.traceKeys; len(keys) > 0; {
		n := min(len(keys), traceKeyBatch)
		q := `INSERT INTO trace_keys (key, correlation_id) VALUES (?, ?)` + strings.Repeat(`, (?, ?)`, n-1) + ` ON CONFLICT DO NOTHING`
		args := make([]any, 0, 2*n)
		for _, k := range keys[:n] {
			args = append(args, k.key, k.corr)
		}
		if err := tx.execDeferred(ctx, q, args...); err != nil {
			return fmt.Errorf("indexing trace keys: %w", err)
		}
		keys = keys[n:]
	}
	tx.traceKeys = nil
	return nil
}

// TraceKey links key to correlation id corr without an audit record (for ids learned later).
func (tx *Tx) TraceKey(ctx context.Context, key, corr string) error {
	return tx.addTraceKey(ctx, key, corr)
}

// CorrelationsFor returns the correlation ids a key (PO number, message id, control number, ERP
// name, correlation id) is linked to.
func (db *DB) CorrelationsFor(ctx context.Context, key string) ([]string, error) {
	rows, err := db.b.Query(ctx, `SELECT correlation_id FROM trace_keys WHERE key = ?
		UNION SELECT correlation_id FROM audit_log WHERE correlation_id = ? ORDER BY 1`, key, key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// AuditTrail returns the records of one correlation id in order.
func (db *DB) AuditTrail(ctx context.Context, corr string) ([]AuditRecord, error) {
	rows, err := db.b.Query(ctx, `SELECT `+auditCols+` FROM audit_log WHERE correlation_id = ? ORDER BY seq`, corr)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditRecord
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

const auditCols = `seq, at, kind, correlation_id, partner, subject, actor, summary, detail, refs, hash`

func scanAudit(r Row) (AuditRecord, error) {
	var a AuditRecord
	var at int64
	var detail, refs string
	if err := r.Scan(&a.Seq, &at, &a.Kind, &a.CorrelationID, &a.Partner, &a.Subject, &a.Actor, &a.Summary, &detail, &refs, &a.Hash); err != nil {
		return a, err
	}
	a.At = fromMicros(at)
	if detail != "" && detail != "{}" {
		_ = json.Unmarshal([]byte(detail), &a.Detail)
	}
	if refs != "" {
		a.Refs = strings.Split(refs, "\n")
	}
	return a, nil
}

// chainHash is the hash of a record chained to its predecessor. It covers the sequence number, so
// deleting a record breaks the chain at the next one.
func chainHash(prev string, seq, at int64, kind, corr, partner, subject, actor, summary, detail, refs string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s\x00%s", prev, seq, at, kind, corr, partner, subject,
		actor, summary, detail, refs)
	return hex.EncodeToString(h.Sum(nil))
}

// SealAudit chains every committed, unsealed audit record into the hash chain, in seq order, and
// returns how many it sealed. It is safe to run from several processes: the head row serializes
// sealers.
func (db *DB) SealAudit(ctx context.Context) (int, error) {
	// Find the highest seq such that every record up to it is committed.
	var upto int64
	err := db.b.Quiesce(ctx, func(ctx context.Context, ex Executor) error {
		return ex.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_log`).Scan(&upto)
	})
	if err != nil {
		return 0, fmt.Errorf("sealing audit trail: %w", err)
	}
	total := 0
	for {
		n := 0
		err := db.InTx(ctx, func(tx *Tx) error {
			var headSeq int64
			var headHash string
			if err := tx.ex.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`+db.forUpdate()).Scan(&headSeq, &headHash); err != nil {
				return err
			}
			rows, err := tx.ex.Query(ctx, `SELECT seq, at, kind, correlation_id, partner, subject, actor, summary, detail, refs
				FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT 2000`, headSeq, upto)
			if err != nil {
				return err
			}
			type sealed struct {
				seq  int64
				hash string
			}
			var batch []sealed
			prev := headHash
			for rows.Next() {
				var seq, at int64
				var kind, corr, partner, subject, actor, summary, detail, refs string
				if err := rows.Scan(&seq, &at, &kind, &corr, &partner, &subject, &actor, &summary, &detail, &refs); err != nil {
					rows.Close()
					return err
				}
				prev = chainHash(prev, seq, at, kind, corr, partner, subject, actor, summary, detail, refs)
				batch = append(batch, sealed{seq, prev})
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			// The hashes are written a chunk at a time, in chunks of 256, 128, ..., 1 rows: few
			// statements per batch, and few statement texts to keep prepared.
			for rest := batch; len(rest) > 0; {
				n := 256
				for n > len(rest) {
					n /= 2
				}
				q := `UPDATE audit_log SET hash = v.column2 FROM (VALUES (CAST(? AS BIGINT), ?)` +
					strings.Repeat(`, (CAST(? AS BIGINT), ?)`, n-1) + `) AS v WHERE audit_log.seq = v.column1`
				args := make([]any, 0, 2*n)
				for _, s := range rest[:n] {
					args = append(args, s.seq, s.hash)
				}
				if _, err := tx.ex.Exec(ctx, q, args...); err != nil {
					return err
				}
				rest = rest[n:]
			}
			if len(batch) > 0 {
				last := batch[len(batch)-1]
				if _, err := tx.ex.Exec(ctx, `UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, last.seq, last.hash); err != nil {
					return err
				}
			}
			n = len(batch)
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("sealing audit trail: %w", err)
		}
		total += n
		if n < 2000 {
			return total, nil
		}
	}
}

func (db *DB) forUpdate() string {
	if db.b.Name() == "postgres" {
		return " FOR UPDATE"
	}
	return ""
}

// AuditProblem is one place where the stored trail does not match its chain.
type AuditProblem struct {
	Seq     int64
	Problem string
}

// AuditReport is the result of VerifyAudit.
type AuditReport struct {
	Checked  int64 // sealed records whose hash was recomputed
	Unsealed int64 // records newer than the chain head, not yet sealed
	HeadSeq  int64
	Problems []AuditProblem
}

// OK reports whether the chain verified.
func (r AuditReport) OK() bool { return len(r.Problems) == 0 }

// VerifyAudit recomputes the hash chain over every sealed record and reports edits (a hash that no
// longer matches), deletions (the chain breaks at the next record, or the head points past the
// last record) and tampering with the head.
func (db *DB) VerifyAudit(ctx context.Context) (AuditReport, error) {
	var rep AuditReport
	var headHash string
	if err := db.b.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&rep.HeadSeq, &headHash); err != nil {
		return rep, fmt.Errorf("reading audit head: %w", err)
	}
	rows, err := db.b.Query(ctx, `SELECT seq, at, kind, correlation_id, partner, subject, actor, summary, detail, refs, hash
		FROM audit_log ORDER BY seq`)
	if err != nil {
		return rep, err
	}
	defer rows.Close()
	prev := ""
	var lastSealed int64
	for rows.Next() {
		var seq, at int64
		var kind, corr, partner, subject, actor, summary, detail, refs, hash string
		if err := rows.Scan(&seq, &at, &kind, &corr, &partner, &subject, &actor, &summary, &detail, &refs, &hash); err != nil {
			return rep, err
		}
		if seq > rep.HeadSeq {
			rep.Unsealed++
			if hash != "" {
				rep.Problems = append(rep.Problems, AuditProblem{seq, "record beyond the chain head carries a hash"})
			}
			continue
		}
		want := chainHash(prev, seq, at, kind, corr, partner, subject, actor, summary, detail, refs)
		rep.Checked++
		if hash != want {
			rep.Problems = append(rep.Problems, AuditProblem{seq, "hash does not match: record edited, or a record before it deleted or edited"})
			if len(rep.Problems) > 100 {
				break
			}
		}
		prev = hash
		lastSealed = seq
	}
	if err := rows.Err(); err != nil {
		return rep, err
	}
	if rep.HeadSeq != lastSealed {
		rep.Problems = append(rep.Problems, AuditProblem{rep.HeadSeq, fmt.Sprintf("chain head names record %d, last sealed record is %d: records deleted", rep.HeadSeq, lastSealed)})
	} else if prev != headHash {
		rep.Problems = append(rep.Problems, AuditProblem{rep.HeadSeq, "chain head hash does not match the last record"})
	}
	return rep, nil
}
