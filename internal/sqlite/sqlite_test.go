package sqlite_test

import (
	"context"
	"testing"

	"github.com/waybill-hub/waybill/internal/sqlite"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/internal/store/storetest"
)

// Open returns a migrated store in a fresh data directory.
func open(t *testing.T) *store.DB {
	t.Helper()
	b, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	db := store.New(b)
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, open)
}
