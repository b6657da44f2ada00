package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The -update flag may be registered by another test file of this package; look it up instead
// of registering it twice.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const testSchemas = "../../x12/testdata/schema"

// runEDI runs `waybill edi ARGS...` and returns its output and exit status.
func runEDI(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newEDICmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	code := 0
	var ee *ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.Code
	case err != nil:
		t.Fatalf("edi %v: %v", args, err)
	}
	return out.String(), code
}

func ediGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "edi", name+".golden")
	if updating() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from its golden file:\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestEDIGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		golden string
		args   []string
		code   int
	}{
		{"inspect_po", []string{"inspect", "--schemas", testSchemas, "testdata/edi/po.x12"}, 0},
		{"inspect_po_errors", []string{"inspect", "--schemas", testSchemas, "testdata/edi/po_errors.x12"}, 1},
		{"inspect_po_errors.json", []string{"inspect", "--json", "--schemas", testSchemas, "testdata/edi/po_errors.x12"}, 1},
		{"tojson_po", []string{"tojson", "--schemas", testSchemas, "testdata/edi/po.x12"}, 0},
		{"ack_po", []string{"ack", "--schemas", testSchemas, "--now", "2024-01-06T10:00:00Z", "testdata/edi/po.x12"}, 0},
		{"ack_po_errors", []string{"ack", "--schemas", testSchemas, "--now", "2024-01-06T10:00:00Z", "testdata/edi/po_errors.x12"}, 1},
		{"ack_po_errors_999", []string{"ack", "--kind", "999", "--schemas", testSchemas, "--now", "2024-01-06T10:00:00Z", "testdata/edi/po_errors.x12"}, 1},
		{"validate_po_guide", []string{"validate", "--schemas", testSchemas, "--guide", "testdata/edi/guide_po.txt", "testdata/edi/po.x12"}, 1},
		{"inspect_ta1.json", []string{"inspect", "--json", "testdata/edi/ta1.x12"}, 0},
		{"inspect_ta1", []string{"inspect", "testdata/edi/ta1.x12"}, 0},
		{"validate_po_guide.json", []string{"validate", "--json", "--schemas", testSchemas, "--guide", "testdata/edi/guide_po.txt", "testdata/edi/po.x12"}, 1},
		{"validate_po_strict", []string{"validate", "--strict", "--schemas", testSchemas, "testdata/edi/po_errors.x12"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			out, code := runEDI(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s", code, tt.code, out)
			}
			ediGolden(t, tt.golden, out)
		})
	}
}

func TestEDIUsageAndIOErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"inspect"},
		{"inspect", "a", "b"},
		{"inspect", "testdata/edi/does-not-exist.x12"},
		{"validate", "--guide", "testdata/edi/does-not-exist.txt", "testdata/edi/po.x12"},
		{"ack", "--kind", "998", "testdata/edi/po.x12"},
	} {
		if _, code := runEDI(t, args...); code != 2 {
			t.Errorf("edi %v: exit %d, want 2", args, code)
		}
	}
}

func TestEDIInspectJSONContract(t *testing.T) {
	t.Parallel()
	out, code := runEDI(t, "inspect", "--json", "--schemas", testSchemas, "testdata/edi/po_errors.x12")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Interchanges []map[string]json.RawMessage `json:"interchanges"`
		Errors       []map[string]json.RawMessage `json:"errors"`
		Warnings     []map[string]json.RawMessage `json:"warnings"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sender_qualifier", "sender_id", "receiver_qualifier", "receiver_id", "control_number", "version", "groups"} {
		if _, ok := doc.Interchanges[0][k]; !ok {
			t.Errorf("interchange lacks %q", k)
		}
	}
	for _, k := range []string{"code", "message", "offset", "segment_position", "segment_id", "element_position"} {
		if _, ok := doc.Errors[0][k]; !ok {
			t.Errorf("error lacks %q", k)
		}
	}
	if doc.Warnings == nil {
		t.Error("warnings is not a list")
	}
}

// TestEDISamples holds `edi inspect --json` against the shared corpus of public samples and its
// EXPECTED.tsv, as the check-edi-samples tool does. It skips when the corpus is absent.
func TestEDISamples(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "edi-samples")
	f, err := os.Open(filepath.Join(dir, "EXPECTED.tsv"))
	if err != nil {
		t.Skipf("no sample corpus: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 3 {
			continue
		}
		file, expect, sets := cols[0], cols[1], cols[2]
		t.Run(file, func(t *testing.T) {
			t.Parallel()
			out, code := runEDI(t, "inspect", "--json", filepath.Join(dir, file))
			var doc documentJSON
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatalf("stdout is not JSON: %v", err)
			}
			switch {
			case code != 0 && code != 1:
				t.Fatalf("exit %d", code)
			case expect == "accept" && code != 0:
				t.Errorf("exit %d, want 0; errors: %+v", code, doc.Errors)
			case expect == "reject" && code != 1:
				t.Errorf("exit %d, want 1", code)
			}
			if expect == "reject" && sets != "-" {
				located := false
				for _, e := range doc.Errors {
					located = located || e.SegmentPosition > 0
				}
				if !located {
					t.Errorf("no located error: %+v", doc.Errors)
				}
			}
			if sets == "-" || (expect == "either" && code != 0) {
				return
			}
			want := map[string]int{}
			for _, s := range strings.Split(sets, ",") {
				id, n, _ := strings.Cut(s, "x")
				want[id] += atoiTest(n)
			}
			got := map[string]int{}
			for _, ic := range doc.Interchanges {
				for _, g := range ic.Groups {
					for _, s := range g.Sets {
						got[s.ID]++
					}
				}
			}
			if len(got) != len(want) {
				t.Errorf("sets %v, want %v", got, want)
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("sets %v, want %v", got, want)
				}
			}
		})
	}
}

func atoiTest(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestEDISampleNotes holds what PROVENANCE.md says about particular samples.
func TestEDISampleNotes(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "edi-samples")
	if _, err := os.Stat(filepath.Join(dir, "PROVENANCE.md")); err != nil {
		t.Skipf("no sample corpus: %v", err)
	}
	inspect := func(t *testing.T, file string) documentJSON {
		out, _ := runEDI(t, "inspect", "--json", filepath.Join(dir, file))
		var doc documentJSON
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	has := func(doc documentJSON, segID, code string, elem int) bool {
		for _, e := range doc.Errors {
			if e.SegmentID == segID && e.Code == code && e.ElementPosition == elem && e.SegmentPosition > 0 {
				return true
			}
		}
		return false
	}
	t.Run("EBCDIC is named", func(t *testing.T) {
		t.Parallel()
		doc := inspect(t, "850_botsplugins_11.x12")
		if len(doc.Errors) == 0 || !strings.Contains(doc.Errors[0].Message, "EBCDIC") {
			t.Errorf("errors %+v, want one naming EBCDIC", doc.Errors)
		}
	})
	t.Run("empty 997 lacks AK1 and AK9", func(t *testing.T) {
		t.Parallel()
		doc := inspect(t, "997_staedi_5_broken.x12")
		if !has(doc, "AK1", "3", 0) || !has(doc, "AK9", "3", 0) {
			t.Errorf("errors %+v, want mandatory AK1 and AK9 missing (code 3)", doc.Errors)
		}
	})
	t.Run("invalid 997 AK101 and AK402", func(t *testing.T) {
		t.Parallel()
		doc := inspect(t, "997_staedi_3_broken.x12")
		if !has(doc, "AK1", "5", 1) || !has(doc, "AK4", "5", 2) {
			t.Errorf("errors %+v, want AK101 and AK402 too long (code 5)", doc.Errors)
		}
	})
	t.Run("ISA14=1 gets a TA1", func(t *testing.T) {
		t.Parallel()
		out, code := runEDI(t, "ack", filepath.Join(dir, "850_botsplugins_9.x12"))
		if code != 0 || !strings.Contains(out, "TA1*112240001*971107*1220*A*000") {
			t.Errorf("exit %d, ack:\n%s", code, out)
		}
	})
	t.Run("several interchanges", func(t *testing.T) {
		t.Parallel()
		if doc := inspect(t, "997_staedi_2.x12"); len(doc.Interchanges) != 3 {
			t.Errorf("%d interchanges, want 3", len(doc.Interchanges))
		}
	})
}
