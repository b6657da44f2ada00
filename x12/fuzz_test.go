package x12

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the decoder, the validator and the acknowledgement writer:
// none may panic, and memory stays bounded by the size limits. Seeds come from testdata and,
// when present, the shared sample corpus. Run: go test -fuzz FuzzReader ./x12/
func FuzzReader(f *testing.F) {
	f.Add([]byte(interchange("PO", "BEG*00*SA*PO1**20240101~PO1*1*1*EA*1**UP*1~CTT*1")))
	f.Add([]byte(interchange("SH", "HL*1**S~HL*2*1*O~HL*3*2*I")))
	f.Add([]byte(ackInput()))
	for _, pattern := range []string{"../cmd/waybill/testdata/edi/*.x12", "../../shared/edi-samples/*.x12"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := NewDecoder(bytes.NewReader(data), WithMaxSetSize(1<<20), WithReaderOptions(WithMaxSegmentSize(64<<10)))
		for {
			ev, err := d.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return
			}
			if ev.Kind == SetRead {
				if s, err := testCatalog.Schema("004010", ev.Set.ID); err == nil {
					Validate(ev.Set, s, nil)
					Loops(ev.Set, s)
				}
				if ev.Set.ID == "997" || ev.Set.ID == "999" {
					ParseAck(ev.Set)
				}
			}
		}
		Acknowledge(context.Background(), bytes.NewReader(data), io.Discard, AckOptions{Catalog: testCatalog})
	})
}
