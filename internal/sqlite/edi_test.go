package sqlite_test

import (
	"testing"

	"github.com/waybill-hub/waybill/internal/store/storetest"
)

func TestEDIConformance(t *testing.T) {
	t.Parallel()
	storetest.ExerciseEDI(t, open)
}
