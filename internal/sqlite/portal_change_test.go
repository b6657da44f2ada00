package sqlite_test

import (
	"testing"

	"github.com/waybill-hub/waybill/internal/store/storetest"
)

func TestChangeRequestConformance(t *testing.T) {
	t.Parallel()
	storetest.ExerciseChangeRequests(t, open)
}
