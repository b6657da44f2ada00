package csvfeed

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeOrders checks that no input panics the decoder, that what it accepts is well formed,
// and that accepted orders survive a write and a second read unchanged.
// Run longer with: go test -run '^$' -fuzz FuzzDecodeOrders -fuzztime 1m ./internal/csvfeed
func FuzzDecodeOrders(f *testing.F) {
	f.Add(euOrders, false)
	f.Add(badOrders, true)
	f.Add("Bestellnummer;Datum\n\"a;b\";01.01.2026\n", true)
	f.Add("\ufeff", false)
	eu := loadMapping(f, "orders-eu.yaml")
	bad := badMapping(PolicyAcceptGood)
	f.Fuzz(func(t *testing.T, input string, useBad bool) {
		m := eu
		if useBad {
			m = bad
		}
		orders, rowErrs, err := DecodeOrders(strings.NewReader(input), m)
		for _, re := range rowErrs {
			if re.Row < 1 || re.Message == "" {
				t.Fatalf("row error without row or message: %+v", re)
			}
		}
		if err != nil {
			if orders != nil {
				t.Fatalf("orders returned with error %v", err)
			}
			return
		}
		for _, o := range orders {
			if o.PONumber == "" || len(o.Lines) == 0 {
				t.Fatalf("accepted order without PO number or lines: %+v", o)
			}
			seen := map[string]bool{}
			for _, l := range o.Lines {
				if l.Number == "" || seen[l.Number] {
					t.Fatalf("order %s: empty or repeated line number %q", o.PONumber, l.Number)
				}
				seen[l.Number] = true
			}
		}
		var buf bytes.Buffer
		if err := EncodeOrders(&buf, m, orders); err != nil {
			t.Fatalf("encoding accepted orders: %v", err)
		}
		back, rowErrs, err := DecodeOrders(&buf, m)
		if err != nil || len(rowErrs) > 0 {
			t.Fatalf("re-reading written orders: %v %v\n%s", err, rowErrs, buf.String())
		}
		if len(orders) == 0 {
			return
		}
		if diff := cmp.Diff(orders, back, eqDecimal); diff != "" {
			t.Fatalf("round trip differs (-first +second):\n%s\nwritten:\n%s", diff, buf.String())
		}
	})
}
