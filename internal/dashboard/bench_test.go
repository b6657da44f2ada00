package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/waybill-hub/waybill/internal/config"
	"github.com/waybill-hub/waybill/internal/store"
)

// BenchmarkPages renders each dashboard page over a store holding WAYBILL_BENCH_MESSAGES
// generated messages (default 1,000,000) spread over 180 days, with one order per message
// (most of them closed, the last week's spread over the open states), their received and
// accepted events, an 855 each (acknowledged after a day), an audit record and trace keys each,
// and a dead letter per thousand. The
// target is under 200 ms a page. Run:
//
//	go test -run '^$' -bench Pages -benchtime 20x ./internal/dashboard/
//
// (set WAYBILL_TEST_DATABASE_URL for the PostgreSQL half; generation takes a minute or two).
func BenchmarkPages(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("WAYBILL_BENCH_MESSAGES"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	for _, be := range backends() {
		b.Run(be, func(b *testing.B) {
			bb := setupWith(b, be, func(c *config.Config) { c.Pipeline = config.Default().Pipeline })
			start := time.Now()
			generate(b, bb.db, n)
			b.Logf("%s: generated %d messages in %s", be, n, time.Since(start).Round(time.Second))
			cookie := loginB(b, bb)
			today := time.Now().UTC()
			pages := []struct{ name, path string }{
				{"business-today", "/ui/"},
				{"business-30d", "/ui/?from=" + today.AddDate(0, 0, -29).Format("2006-01-02") + "&to=" + today.Format("2006-01-02")},
				{"exceptions", "/ui/exceptions"},
				{"trace", "/ui/trace?q=PO-" + strconv.Itoa(n-500)},
				{"technical", "/ui/technical"},
				{"message", "/ui/messages/msg_" + strconv.Itoa(n-500)},
			}
			for _, p := range pages {
				b.Run(p.name, func(b *testing.B) {
					var worst time.Duration
					for b.Loop() {
						s := time.Now()
						req := httptest.NewRequest(http.MethodGet, p.path, nil)
						req.AddCookie(cookie)
						rec := httptest.NewRecorder()
						bb.app.Mux().ServeHTTP(rec, req)
						if rec.Code != http.StatusOK {
							b.Fatalf("%s: %d %s", p.path, rec.Code, rec.Body.String())
						}
						worst = max(worst, time.Since(s))
					}
					b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
					b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
					b.ReportMetric(0, "ns/op")
				})
			}
		})
	}
}

func loginB(b *testing.B, bb *bundle) *http.Cookie {
	req := httptest.NewRequest(http.MethodPost, "/ui/login", strings.NewReader(url.Values{"name": {"ann"}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	bb.app.Mux().ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "waybill_session" {
			return c
		}
	}
	b.Fatalf("login failed: %d %s", rec.Code, rec.Body.String())
	return nil
}

// generate fills the store with n messages and what they produced, in a few set-based
// statements (portable SQL: a recursive sequence, || and %), then refreshes the planner's
// statistics as a long-running database would have them.
func generate(b *testing.B, db *store.DB, n int) {
	b.Helper()
	ctx := context.Background()
	be := db.Backend()
	now := time.Now().UTC().UnixMicro()
	span := int64(180 * 24 * time.Hour / time.Microsecond)
	step := span / int64(n)
	week := int64(7 * 24 * time.Hour / time.Microsecond)
	seq := fmt.Sprintf(`WITH RECURSIVE seq(n) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT n + 1 FROM seq WHERE n < %d)`, n)
	at := fmt.Sprintf(`(%d - (%d - n) * %d)`, now, n, step)
	recent := fmt.Sprintf(`%s > %d`, at, now-week)
	stmts := []string{
		`INSERT INTO messages (id, correlation_id, direction, channel, partner, doc_type, transport_id, filename, content_type, meta,
			digest, size, payload, state, duplicate_of, received_at, updated_at) ` + seq + `
		 SELECT 'msg_' || n, 'cor_' || n, 'in', 'as2', 'p' || (n % 20), 'x12', 'as2-' || n, '', 'application/edi-x12', '{}',
			'd' || n, 1000, NULL, 'processed', '', ` + at + `, ` + at + ` FROM seq`,
		`INSERT INTO orders (id, correlation_id, message_id, partner, account, channel, po_number, state, doc, erp_model, erp_id,
			erp_name, version, created_at, updated_at) ` + seq + `
		 SELECT 'ord_' || n, 'cor_' || n, 'msg_' || n, 'p' || (n % 20), 'A' || (n % 20), 'as2', 'PO-' || n,
			CASE WHEN n % 50 = 0 THEN 'rejected'
			     WHEN NOT (` + recent + `) THEN 'closed'
			     WHEN n % 997 = 0 THEN 'on_hold'
			     ELSE CASE n % 7 WHEN 0 THEN 'received' WHEN 1 THEN 'validated' WHEN 2 THEN 'accepted' WHEN 3 THEN 'allocated'
			          WHEN 4 THEN 'fulfilled' WHEN 5 THEN 'shipped' ELSE 'invoiced' END END,
			'{"partner":"p' || (n % 20) || '","po_number":"PO-' || n || '","lines":[{"number":"1","quantity":"5","uom":"EA","qty":{"ordered":"5","accepted":"' || (n % 2 + 4) || '"}}]}',
			'sale.order', n, 'S' || n, 1, ` + at + `, ` + at + ` FROM seq`,
		`INSERT INTO order_events (order_id, from_state, to_state, source, actor, reason, at, correlation_id) ` + seq + `
		 SELECT 'ord_' || n, '', 'received', 'hub', 'as2', '', ` + at + `, 'cor_' || n FROM seq`,
		`INSERT INTO order_events (order_id, from_state, to_state, source, actor, reason, at, correlation_id) ` + seq + `
		 SELECT 'ord_' || n, 'validated', 'accepted', 'erp', 'submit_order', '', ` + at + ` + 45000000 + (n % 60) * 1000000, 'cor_' || n
		 FROM seq WHERE n % 50 <> 0`,
		`INSERT INTO edi_outbound (message_id, partner, set_id, interchange, group_control, set_control, order_id, queued_at, ack_due_at,
			ack_status, ack_message_id, acked_at) ` + seq + `
		 SELECT 'out_' || n, 'p' || (n % 20), '855', '' || n, '' || n, '0001', 'ord_' || n, ` + at + ` + 50000000, ` + at + ` + 86450000000,
			CASE WHEN ` + at + ` < ` + fmt.Sprint(now-int64(24*time.Hour/time.Microsecond)) + ` THEN 'A' ELSE '' END, '', 0
		 FROM seq WHERE n % 50 <> 0`,
		`INSERT INTO audit_log (at, kind, correlation_id, partner, subject, actor, summary, detail, refs) ` + seq + `
		 SELECT ` + at + `, 'message.received', 'cor_' || n, 'p' || (n % 20), 'msg_' || n, 'as2', 'received x12 over as2', '{}', 'PO-' || n FROM seq`,
		`INSERT INTO trace_keys (key, correlation_id) ` + seq + ` SELECT 'PO-' || n, 'cor_' || n FROM seq`,
		`INSERT INTO trace_keys (key, correlation_id) ` + seq + ` SELECT 'msg_' || n, 'cor_' || n FROM seq`,
		`INSERT INTO dead_letters (id, job_kind, job_args, message_id, order_id, correlation_id, partner, code, reason, message, location,
			attempts, state, created_at) ` + seq + `
		 SELECT 'dl_' || n, 'process_message', '{}', 'msg_' || n, '', 'cor_' || n, 'p' || (n % 20), 'invalid',
			CASE n % 5000 WHEN 0 THEN 'unknown_item' WHEN 1000 THEN 'x12_syntax' WHEN 2000 THEN 'unknown_customer' WHEN 3000 THEN 'price_mismatch' ELSE 'bad_date' END,
			'generated failure', 'ISA/GS/ST 0001/PO1[1]/PO107', 1,
			CASE WHEN ` + recent + ` THEN 'open' ELSE 'replayed' END, ` + at + ` FROM seq WHERE n % 1000 = 0`,
	}
	for _, q := range stmts {
		s := time.Now()
		if _, err := be.Exec(ctx, q); err != nil {
			b.Fatalf("generating: %v\n%s", err, q)
		}
		b.Logf("%s rows in %s", strings.Fields(q)[2], time.Since(s).Round(time.Millisecond))
	}
	// The generated audit records count as sealed, as a long-running hub's would be: otherwise
	// the sealer would spend the benchmark chaining a million records on the same database.
	if _, err := be.Exec(ctx, `UPDATE audit_log SET hash = 'generated'`); err != nil {
		b.Fatalf("sealing: %v", err)
	}
	if _, err := be.Exec(ctx, `UPDATE audit_head SET seq = (SELECT MAX(seq) FROM audit_log), hash = 'generated' WHERE id = 1`); err != nil {
		b.Fatalf("sealing: %v", err)
	}
	// Statistics (and, on PostgreSQL, the visibility map that index-only scans need) as
	// autovacuum keeps them on a running database.
	analyze := "ANALYZE"
	if be.Name() == "postgres" {
		analyze = "VACUUM ANALYZE"
	}
	if _, err := be.Exec(ctx, analyze); err != nil {
		b.Fatalf("%s: %v", analyze, err)
	}
}
