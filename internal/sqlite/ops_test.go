package sqlite_test

import (
	"testing"

	"github.com/waybill-hub/waybill/internal/store/storetest"
)

func TestOpsConformance(t *testing.T) {
	t.Parallel()
	storetest.ExerciseOps(t, open)
}
