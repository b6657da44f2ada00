package edi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// interchange builds an 004010 interchange for Acme with pos purchase orders of lines lines each.
func interchange(isa, pos, lines int, poPrefix string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "ISA*00*          *00*          *ZZ*ACMERETAIL     *ZZ*WAYBILL        *261126*1200*U*00401*%09d*0*P*:~\n", isa)
	fmt.Fprintf(&b, "GS*PO*ACMERETAIL*WAYBILL*20261126*1200*%d*X*004010~\n", isa)
	for p := 1; p <= pos; p++ {
		fmt.Fprintf(&b, "ST*850*%04d~\nBEG*00*SA*%s-%d**20261126~\nN1*ST*Acme DC*92*1234~\n", p, poPrefix, p)
		for l := 1; l <= lines; l++ {
			item, price := "ACME-1001", "12.50"
			if l%2 == 0 {
				item, price = "ACME-1002", "3.10"
			}
			fmt.Fprintf(&b, "PO1*%d*%d*EA*%s**BP*%s~\n", l, l, price, item)
		}
		fmt.Fprintf(&b, "CTT*%d~\nSE*%d*%04d~\n", lines, lines+5, p)
	}
	fmt.Fprintf(&b, "GE*%d*%d~\nIEA*1*%09d~\n", pos, isa, isa)
	return []byte(b.String())
}

// BenchmarkOrderToAck measures 850 line items per second from receipt to confirmed sale order
// and delivered 855, on SQLite with the in-memory ERP at zero latency. Each iteration sends one
// interchange of 10 purchase orders with 50 lines each.
func BenchmarkOrderToAck(b *testing.B) {
	const pos, lines = 10, 50
	bb := setup(b, "sqlite")
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		bb.receive(b, "acme", interchange(1000+i, pos, lines, fmt.Sprintf("B%d", i)))
	}
	bb.eventually(b, 10*time.Minute, func() bool { return len(bb.out.byDoc("855")) == b.N*pos })
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*pos*lines)/elapsed.Seconds(), "lines/s")
	if n := bb.erp.Stats().Orders; n != b.N*pos {
		b.Fatalf("ERP holds %d orders, want %d", n, b.N*pos)
	}
	for _, m := range bb.out.byDoc("855") {
		if !strings.Contains(string(m.Payload), "BAK*00*AD*") || strings.Count(string(m.Payload), "ACK*IA*") != lines {
			b.Fatalf("an 855 does not accept every line:\n%s", m.Payload)
		}
	}
}
