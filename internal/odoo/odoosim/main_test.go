package odoosim

import (
	"fmt"
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	verifyReserved = true // every call of every test checks the reservation sums (reserved.go)
	code := m.Run()
	if msg := reservedMismatch.Load(); msg != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", *msg)
		code = 1
	}
	os.Exit(code)
}
