package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/internal/store/storetest"
)

func open(t *testing.T) *store.DB {
	t.Helper()
	b := postgres.TestBackend(t)
	db := store.New(b)
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestConformance(t *testing.T) {
	if os.Getenv(postgres.TestURLEnv) == "" {
		t.Skipf("%s is not set; PostgreSQL tests skipped", postgres.TestURLEnv)
	}
	t.Parallel()
	storetest.Exercise(t, open)
}
