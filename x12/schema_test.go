package x12

import (
	"testing"
)

// TestEmbeddedSchemas parses every embedded definition file: each version's element and segment
// directories and every transaction set.
func TestEmbeddedSchemas(t *testing.T) {
	t.Parallel()
	c := DefaultCatalog()
	versions := c.Versions()
	if len(versions) == 0 {
		t.Skip("no embedded definitions yet")
	}
	for _, v := range versions {
		sets := c.Sets(v)
		if len(sets) == 0 {
			t.Errorf("version %s defines no transaction sets", v)
		}
		for _, id := range sets {
			s, err := c.Schema(v, id)
			if err != nil {
				t.Errorf("%s/%s: %v", v, id, err)
				continue
			}
			if s.ID != id || s.FunctionalID == "" || len(s.Root.Children) < 3 {
				t.Errorf("%s/%s: header %q %q, %d top-level entries", v, id, s.ID, s.FunctionalID, len(s.Root.Children))
			}
			first, last := s.Root.Children[0], s.Root.Children[len(s.Root.Children)-1]
			if first.SegmentID != "ST" || last.SegmentID != "SE" {
				t.Errorf("%s/%s: starts with %s and ends with %s, want ST and SE", v, id, first.SegmentID, last.SegmentID)
			}
			if fid, ok := functionalIDs[id]; ok && fid != s.FunctionalID {
				t.Errorf("%s/%s: functional group %s, the envelope checks expect %s", v, id, s.FunctionalID, fid)
			}
		}
	}
}

func TestLoadSchemaCached(t *testing.T) {
	t.Parallel()
	a, err := LoadSchema("004010", "850")
	if err != nil {
		t.Skipf("no embedded 850: %v", err)
	}
	b, _ := LoadSchema("004010", "850")
	if a != b {
		t.Error("LoadSchema does not cache")
	}
	if _, err := LoadSchema("004010", "123"); err == nil {
		t.Error("LoadSchema found an undefined set")
	}
	for in, want := range map[string]string{"004010VICS": "004010", "005010X231A1": "005010", "004060": "004010", "005040": "005010", "003040": "004010"} {
		if got, _ := SchemaVersion(in); got != want {
			t.Errorf("SchemaVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
