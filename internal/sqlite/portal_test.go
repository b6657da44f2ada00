package sqlite_test

import (
	"testing"

	"github.com/waybill-hub/waybill/internal/store/storetest"
)

func TestPortalConformance(t *testing.T) {
	t.Parallel()
	storetest.ExercisePortal(t, open)
}
