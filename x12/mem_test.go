//go:build x12mem

package x12

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// genStream is an io.Reader producing size bytes of back-to-back interchanges of 850s, generated
// on the fly so the test holds no big file.
type genStream struct {
	tmpl      []byte
	isaCtl    int // offset of ISA13 in tmpl
	ieaCtl    int // offset of IEA02 in tmpl
	remaining int64
	cur       []byte
	n         int
}

func newGenStream(size int64) *genStream {
	t := gen850s(1<<20, 1)
	return &genStream{tmpl: t, isaCtl: bytes.Index(t, []byte("*000000001*")) + 1,
		ieaCtl: bytes.LastIndex(t, []byte("IEA*1*")) + 6, remaining: size}
}

func (g *genStream) Read(p []byte) (int, error) {
	if len(g.cur) == 0 {
		if g.remaining <= 0 {
			return 0, io.EOF
		}
		g.n++
		ctl := []byte(strconv.Itoa(1000000000 + g.n)[1:])
		copy(g.tmpl[g.isaCtl:], ctl)
		copy(g.tmpl[g.ieaCtl:], ctl)
		g.cur = g.tmpl
		g.remaining -= int64(len(g.tmpl))
	}
	n := copy(p, g.cur)
	g.cur = g.cur[n:]
	return n, nil
}

func vmHWM(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			kb, _ := strconv.Atoi(f[1])
			return kb
		}
	}
	return 0
}

// TestMemory1GB reads and validates 1 GB of 850s and checks that peak resident memory stays
// under 20 MB. Run: go test -tags x12mem -run TestMemory1GB ./x12/
func TestMemory1GB(t *testing.T) {
	schema, err := testCatalog.Schema("004010", "850")
	if err != nil {
		t.Fatal(err)
	}
	g := newGenStream(1 << 30)
	d := NewDecoder(g)
	sets := 0
	for {
		ev, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Kind == SetRead {
			sets++
			if errs := Validate(ev.Set, schema, nil); len(errs) > 0 {
				t.Fatal(errs[0])
			}
		}
	}
	if len(d.Errors()) > 0 {
		t.Fatal(d.Errors()[0])
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	hwm := vmHWM(t)
	t.Logf("%d interchanges, %d sets; peak RSS %d KB, heap sys %d KB", g.n, sets, hwm, ms.HeapSys>>10)
	if hwm > 20<<10 {
		t.Errorf("peak resident memory %d KB, want under 20 MB", hwm)
	}
}

// TestMemoryManySmallInterchanges reads 200 MB of tiny interchanges (about 600,000): what the
// decoder remembers for duplicate checks and warnings must not grow with their number.
func TestMemoryManySmallInterchanges(t *testing.T) {
	one := []byte(interchange("PO", "BEG*00*SA*PO1**20240101~PO1*1*1*EA*1**UP*1"))
	g := &genStream{tmpl: one, isaCtl: bytes.Index(one, []byte("*000000001*")) + 1,
		ieaCtl: bytes.LastIndex(one, []byte("IEA*1*")) + 6, remaining: 200 << 20}
	d := NewDecoder(g)
	for {
		_, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(d.Errors()) > 0 {
		t.Fatal(d.Errors()[0])
	}
	hwm := vmHWM(t)
	t.Logf("%d interchanges; peak RSS %d KB", g.n, hwm)
	if hwm > 20<<10 {
		t.Errorf("peak resident memory %d KB, want under 20 MB", hwm)
	}
}
