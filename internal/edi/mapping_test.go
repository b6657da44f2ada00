package edi_test

import (
	"errors"
	"os"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/edi"
	"github.com/waybill-hub/waybill/mappings"
	"github.com/waybill-hub/waybill/x12"
)

func TestOverlayErrors(t *testing.T) {
	t.Parallel()
	base, err := mappings.FS.ReadFile("base/004010/850/v1.yaml")
	require.NoError(t, err)
	tests := []struct{ name, overlay, want string }{
		{"replaces an unknown rule", "partner: p\nset: \"850\"\nversion: v1\nbase: v1\nreplace:\n  - {name: nope, segment: BEG}\n",
			"the overlay names nope, which base v1 does not have"},
		{"unknown key", "partner: p\nset: \"850\"\nversion: v1\nbase: v1\ncolour: red\n", "field colour not found"},
		{"no base", "partner: p\nset: \"850\"\nversion: v1\n", "base is required"},
		{"missing base version", "partner: p\nset: \"850\"\nversion: v1\nbase: v9\n", "no such mapping"},
		{"unknown code table", "partner: p\nset: \"850\"\nversion: v1\nbase: v1\nadd:\n  - {name: x, segment: REF, set: {po_number: {element: 2, map: nope}}}\n",
			`names code table "nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lib := edi.NewLibrary(fstest.MapFS{"base/004010/850/v1.yaml": {Data: base},
				"partners/p/850/v1.yaml": {Data: []byte(tt.overlay)}})
			_, err := lib.Resolve("p", "004010", "850", "v1")
			require.ErrorContains(t, err, tt.want)
		})
	}
	_, err = edi.NewLibrary(mappings.FS).Resolve("p", "004010", "850", "v7")
	require.True(t, errors.Is(err, edi.ErrNoMapping))
}

func TestTranslateReportsBadValues(t *testing.T) {
	t.Parallel()
	m, err := edi.NewLibrary(mappings.FS).Base("004010", "850", "v1")
	require.NoError(t, err)
	in, err := os.ReadFile("testdata/acme_850.x12")
	require.NoError(t, err)
	bad := strings.Replace(string(in), "PO1*1*10*EA", "PO1*1*ten*EA", 1)
	_, err = m.TranslateAll([]byte(bad))
	require.ErrorContains(t, err, `segment PO1 #8 element 02 (rule line): "ten" is not a number`)
}

// FuzzTranslate checks that the evaluator never panics and that whatever it accepts decodes.
func FuzzTranslate(f *testing.F) {
	for _, name := range []string{"testdata/acme_850.x12", "testdata/globex_850.x12"} {
		data, _ := os.ReadFile(name)
		f.Add(data)
	}
	lib := edi.NewLibrary(mappings.FS)
	m4, _ := lib.Base("004010", "850", "v1")
	mg, _ := lib.Resolve("globex", "005010", "850", "v1")
	m855, _ := lib.Base("004010", "855", "v1")
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := x12.NewDecoder(strings.NewReader(string(data)))
		for {
			ev, err := dec.Next()
			if err != nil {
				return
			}
			if ev.Kind != x12.SetRead {
				continue
			}
			for _, m := range []*edi.Mapping{m4, mg} {
				tree, errs := m.Translate(ev.Set, nil)
				if len(errs) == 0 && tree == nil {
					t.Fatal("no tree and no errors")
				}
				// Whatever translates renders as an 855 without panicking.
				o, err := edi.DecodeOrder(tree)
				if err != nil {
					continue
				}
				doc, err := edi.ToTree(edi.BuildAck(o, nil, nil, time.Time{}))
				if err != nil {
					t.Fatal(err)
				}
				var buf strings.Builder
				_ = m855.Render(doc, x12.NewWriter(&buf, x12.DefaultDelimiters))
			}
		}
	})
}

func TestRenderKeepsDelimitersOutOfValues(t *testing.T) {
	t.Parallel()
	m, err := edi.NewLibrary(mappings.FS).Base("004010", "855", "v1")
	require.NoError(t, err)
	doc := map[string]any{"po_number": "PO*1~2", "ack_type": "AD", "ship_to": map[string]any{"code": "1", "name": "Bob's *Best* Shop:1"},
		"lines": []any{map[string]any{"number": "1", "quantity": "1", "uom": "EA", "status": "accepted", "ack_quantity": "1"}}}
	var buf strings.Builder
	w := x12.NewWriter(&buf, x12.DefaultDelimiters, x12.WithLineEnding("\n"))
	require.NoError(t, m.Render(doc, w))
	require.NoError(t, w.Flush())
	require.Contains(t, buf.String(), "BAK*00*AD*PO 1 2~")
	require.Contains(t, buf.String(), "N1*ST*Bob's  Best  Shop 1**1~")
}
