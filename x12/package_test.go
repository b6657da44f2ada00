package x12

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestStandardLibraryOnly keeps the package importable on its own: no imports outside the
// standard library, and a package doc comment.
func TestStandardLibraryOnly(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("*.go")
	doc := false
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if af.Doc != nil && strings.HasPrefix(af.Doc.Text(), "Package x12 ") {
			doc = true
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if first, _, _ := strings.Cut(p, "/"); strings.Contains(first, ".") {
				t.Errorf("%s imports %s, outside the standard library", f, p)
			}
		}
	}
	if !doc {
		t.Error("package x12 has no package doc comment")
	}
}
