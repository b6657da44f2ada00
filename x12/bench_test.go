package x12

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
)

// gen850s returns an interchange of realistic purchase orders of about size bytes: one group,
// sets with header references, dates, carrier, ship-to and bill-to loops, 5 to 40 lines with
// descriptions, and totals. isa13 is the interchange control number.
func gen850s(size int, isa13 int) []byte {
	var b bytes.Buffer
	b.Grow(size + 4096)
	fmt.Fprintf(&b, "ISA*00*          *00*          *ZZ*BUYERCO        *ZZ*WAYBILL        *240105*0930*U*00401*%09d*0*P*>~\n", isa13)
	b.WriteString("GS*PO*BUYERCO*WAYBILL*20240105*0930*1*X*004010~\n")
	n := 0
	for b.Len() < size {
		n++
		start := b.Len()
		segs := 0
		seg := func(format string, args ...any) {
			fmt.Fprintf(&b, format, args...)
			b.WriteString("~\n")
			segs++
		}
		seg("ST*850*%04d", n)
		seg("BEG*00*SA*PO%07d**20240105", n)
		seg("CUR*BY*USD")
		seg("REF*DP*%03d", n%1000)
		seg("REF*IA*%06d", 100000+n%900000)
		seg("PER*BD*JANE BUYER*TE*5555550100")
		seg("DTM*002*20240120")
		seg("DTM*010*20240115")
		seg("TD5*O*2*UPSN*M*UPS GROUND")
		seg("N1*ST*STORE %d*92*%04d", n%500, n%500)
		seg("N3*%d MAIN STREET*SUITE 100", n%9000)
		seg("N4*SPRINGFIELD*IL*62701*US")
		seg("N1*BT*BUYERCO ACCOUNTS PAYABLE*92*0001")
		seg("N3*1 CORPORATE DRIVE")
		seg("N4*CHICAGO*IL*60601*US")
		lines := 5 + n%36
		for l := 1; l <= lines; l++ {
			seg("PO1*%d*%d*EA*%d.%02d**UP*0%011d*VN*ITEM-%05d", l, 1+l%24, 1+l%90, l%100, 10000000000+int64(n)*100+int64(l), l)
			seg("PID*F****WIDGET MODEL %d, BLUE, PACK OF %d", l, 1+l%12)
			seg("DTM*002*20240120")
		}
		seg("CTT*%d", lines)
		seg("AMT*TT*%d.00", 100+n%10000)
		fmt.Fprintf(&b, "SE*%d*%04d~\n", segs+1, n)
		_ = start
	}
	fmt.Fprintf(&b, "GE*%d*1~\nIEA*1*%09d~\n", n, isa13)
	return b.Bytes()
}

var bench10MB = sync.OnceValue(func() []byte { return gen850s(10<<20, 1) })

func BenchmarkTokenize(b *testing.B) {
	data := bench10MB()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r := NewReader(bytes.NewReader(data))
		elems := 0
		for {
			s, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			elems += s.Len()
		}
		if elems == 0 {
			b.Fatal("no elements")
		}
	}
}

// BenchmarkReadValidate reads with envelope checks and validates every set against the
// package's test definition of the 850 and, in the "embedded" variant, the shipped one.
func BenchmarkReadValidate(b *testing.B) {
	b.Run("testdata", func(b *testing.B) { benchReadValidate(b, testCatalog) })
	b.Run("embedded", func(b *testing.B) { benchReadValidate(b, DefaultCatalog()) })
}

func benchReadValidate(b *testing.B, c *Catalog) {
	data := bench10MB()
	schema, err := c.Schema("004010", "850")
	if err != nil {
		b.Skip(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d := NewDecoder(bytes.NewReader(data))
		sets := 0
		for {
			ev, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if ev.Kind == SetRead {
				sets++
				if errs := Validate(ev.Set, schema, nil); len(errs) > 0 {
					b.Fatalf("set %d: %v", sets, errs[0])
				}
			}
		}
		if len(d.Errors()) > 0 {
			b.Fatal(d.Errors()[0])
		}
	}
}

func BenchmarkAck997(b *testing.B) {
	b.Run("testdata", func(b *testing.B) { benchAck997(b, testCatalog) })
	b.Run("embedded", func(b *testing.B) { benchAck997(b, DefaultCatalog()) })
}

func benchAck997(b *testing.B, c *Catalog) {
	if _, err := c.Schema("004010", "850"); err != nil {
		b.Skip(err)
	}
	data := bench10MB()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		sum, err := Acknowledge(context.Background(), bytes.NewReader(data), io.Discard, AckOptions{Catalog: c, Kind: "997"})
		if err != nil {
			b.Fatal(err)
		}
		if len(sum.Groups) != 1 || sum.Groups[0].Accepted() != len(sum.Groups[0].Sets) {
			b.Fatal("unexpected rejections")
		}
	}
}
