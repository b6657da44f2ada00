package sqlite_test

import (
	"testing"

	"github.com/waybill-hub/waybill/internal/store/storetest"
)

func TestEDIFulfilmentConformance(t *testing.T) {
	t.Parallel()
	storetest.ExerciseEDIFulfilment(t, open)
}
