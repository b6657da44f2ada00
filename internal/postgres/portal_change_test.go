package postgres_test

import (
	"os"
	"testing"

	"github.com/waybill-hub/waybill/internal/postgres"
	"github.com/waybill-hub/waybill/internal/store/storetest"
)

func TestChangeRequestConformance(t *testing.T) {
	if os.Getenv(postgres.TestURLEnv) == "" {
		t.Skipf("%s is not set; PostgreSQL tests skipped", postgres.TestURLEnv)
	}
	t.Parallel()
	storetest.ExerciseChangeRequests(t, open)
}
