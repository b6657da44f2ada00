package sqlite_test

import (
	"context"
	"testing"

	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/x12"
	"github.com/waybill-hub/waybill/x12/x12test"
)

// TestX12ControlNumbers runs the x12 package's control-number suite against the store, including
// a reopen of the same database file (numbers persist across restarts).
func TestX12ControlNumbers(t *testing.T) {
	t.Parallel()
	dirs := map[x12.ControlNumbers]string{}
	openAt := func(t *testing.T, dir string) x12.ControlNumbers {
		b, err := sqlite.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		db := store.New(b)
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		cn := store.ControlNumbers{DB: db}
		dirs[cn] = dir
		return cn
	}
	x12test.ControlNumbers(t,
		func(t *testing.T) x12.ControlNumbers { return openAt(t, t.TempDir()) },
		func(t *testing.T, old x12.ControlNumbers) x12.ControlNumbers { return openAt(t, dirs[old]) })
}
