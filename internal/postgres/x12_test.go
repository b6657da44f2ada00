package postgres_test

import (
	"context"
	"testing"

	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/x12"
	"github.com/waybill-hub/waybill/x12/x12test"
)

func TestX12ControlNumbers(t *testing.T) {
	t.Parallel()
	x12test.ControlNumbers(t, func(t *testing.T) x12.ControlNumbers {
		db := store.New(postgres.TestBackend(t))
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		return store.ControlNumbers{DB: db}
	}, nil)
}
