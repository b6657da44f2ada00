package x12test

import (
	"testing"

	"github.com/waybill-hub/waybill/x12"
)

func TestMemoryControlNumbers(t *testing.T) {
	ControlNumbers(t, func(t *testing.T) x12.ControlNumbers { return &x12.MemoryControlNumbers{} }, nil)
}
