package edi_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/waybill-hub/waybill/internal/edi"
)

// TestMappingExamples runs every golden example of the mapping library; -update rewrites the
// expected outputs.
func TestMappingExamples(t *testing.T) {
	t.Parallel()
	lib := edi.NewLibrary(os.DirFS("../../mappings"))
	versionOf := func(p string) string {
		if p == "globex" {
			return "005010"
		}
		return "004010"
	}
	res, err := lib.RunExamples("", versionOf)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) < 5 {
		t.Fatalf("found %d examples, want at least 5", len(res))
	}
	for _, r := range res {
		if r.Err != nil {
			t.Errorf("%s %s: %v", r.Mapping, r.Name, r.Err)
			continue
		}
		if *update && !r.OK() {
			parts := strings.Fields(r.Mapping)
			var dir string
			if parts[0] == "base" {
				dir = filepath.Join("../../mappings/base", parts[1], parts[2], parts[3])
			} else {
				dir = filepath.Join("../../mappings/partners", parts[0], parts[1], parts[2])
			}
			ext := ".json"
			if set := parts[len(parts)-2]; set != "850" && set != "860" { // outbound sets: expected X12
				ext = ".x12"
			}
			if err := os.WriteFile(filepath.Join(dir, r.Name+ext), r.Got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if !r.OK() {
			t.Errorf("%s %s differs:\n%s", r.Mapping, r.Name, r.Diff())
		}
	}
}
