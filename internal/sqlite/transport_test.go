package sqlite_test

import (
	"testing"

	"github.com/waybill-hub/waybill/internal/store/storetest"
)

func TestTransportConformance(t *testing.T) {
	t.Parallel()
	storetest.ExerciseTransport(t, open)
}
