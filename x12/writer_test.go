package x12

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

func TestRoundTripCanonical(t *testing.T) {
	t.Parallel()
	for _, eol := range []string{"", "\n", "\r\n"} {
		in := interchange("PO", "BEG*00*SA*PO1**20240101~REF*DP*038~PO1*1*1*EA*1**UP*1", "BEG*00*SA*PO2**20240101~PO1*1*2*EA*1**UP*1")
		in = strings.ReplaceAll(in, "~\n", "~"+eol)
		r := NewReader(strings.NewReader(in))
		var out bytes.Buffer
		w := NewWriter(&out, DefaultDelimiters, WithLineEnding(eol))
		first := true
		for {
			s, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if first {
				w = NewWriter(&out, r.Delimiters(), WithLineEnding(eol))
				first = false
			}
			w.WriteRaw(s)
		}
		w.Flush()
		if out.String() != in {
			t.Errorf("eol %q: round trip differs:\n got %q\nwant %q", eol, out.String(), in)
		}
	}
}

func TestWriterEnvelopes(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	w := NewWriter(&out, DefaultDelimiters, WithLineEnding("\n"))
	ic := &Interchange{SenderQualifier: "ZZ", SenderID: "ME", ReceiverQualifier: "ZZ", ReceiverID: "YOU", Date: "240101", Time: "1200", Version: "00501", ControlNumber: "7"}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.BeginInterchange(ic))
	must(w.BeginGroup(&Group{FunctionalID: "PO", SenderID: "ME", ReceiverID: "YOU", Date: "20240101", Time: "1200", ControlNumber: "3", Version: "005010"}))
	must(w.BeginSet("850", "0001", ""))
	must(w.WriteSegment("BEG", "00", "SA", "PO1", "", "20240101"))
	must(w.EndSet())
	must(w.EndGroup())
	must(w.EndInterchange())
	must(w.Flush())
	want := "ISA*00*          *00*          *ZZ*ME             *ZZ*YOU            *240101*1200*^*00501*000000007*0*P*:~\n" +
		"GS*PO*ME*YOU*20240101*1200*3*X*005010~\nST*850*0001~\nBEG*00*SA*PO1**20240101~\nSE*3*0001~\nGE*1*3~\nIEA*1*000000007~\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	if len(strings.SplitN(out.String(), "\n", 2)[0]) != 106 {
		t.Error("ISA is not 106 bytes")
	}
	_, d := readSets(t, out.String())
	if len(d.Errors()) != 0 {
		t.Errorf("the written interchange does not read back cleanly: %v", d.Errors())
	}
	if err := w.EndSet(); err == nil {
		t.Error("EndSet outside a set succeeded")
	}
	if err := w.WriteSegment("REF", "DP", "A~B"); !errors.Is(err, ErrDelimiterInData) {
		t.Errorf("a terminator inside a value: got %v", err)
	}
}

func TestMemoryControlNumbersConcurrent(t *testing.T) {
	t.Parallel()
	var m MemoryControlNumbers
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				n, err := m.Next(context.Background(), "ME", "YOU", ControlInterchange)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[n] {
					t.Errorf("number %d handed out twice", n)
				}
				seen[n] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 800 {
		t.Errorf("%d numbers, want 800", len(seen))
	}
	if n, _ := m.Next(context.Background(), "ME", "OTHER", ControlInterchange); n != 1 {
		t.Errorf("another partner starts at %d, want 1", n)
	}
	if FormatControl(ControlInterchange, 7) != "000000007" || FormatControl(ControlSet, 7) != "0007" {
		t.Error("FormatControl")
	}
}
