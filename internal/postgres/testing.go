package postgres

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestURLEnv names the environment variable holding the PostgreSQL URL tests run against.
const TestURLEnv = "WAYBILL_TEST_DATABASE_URL"

var schemaSeq atomic.Int64

// TestBackend opens a Backend on a schema of its own in the database named by TestURLEnv, and
// drops the schema when the test ends. It skips the test when the variable is not set.
func TestBackend(t testing.TB) *Backend {
	t.Helper()
	url := os.Getenv(TestURLEnv)
	if url == "" {
		t.Skipf("%s is not set; PostgreSQL tests skipped", TestURLEnv)
	}
	// Short: River derives LISTEN channel names from the schema, and those are limited to 63 bytes.
	schema := fmt.Sprintf("wbt_%d_%d", time.Now().UnixNano()%1e9, schemaSeq.Add(1))
	ctx := context.Background()
	b, err := Open(ctx, url, Options{Schema: schema, MaxConns: 10})
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	t.Cleanup(func() {
		b.Close()
		conn, err := pgx.Connect(ctx, url)
		if err == nil {
			conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
			conn.Close(ctx)
		}
	})
	return b
}

// URLWithSchema returns url with search_path set to schema (for subprocesses in tests).
func URLWithSchema(url, schema string) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}
