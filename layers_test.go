package waybill_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/waybill-hub/waybill"

// layerRules says which of the module's packages each package may import: the layering of the
// design (the domain imports nothing of the module; an adapter imports the domain, and no other
// adapter). Packages not listed are wiring or use cases and may import what they need.
var layerRules = map[string][]string{
	".":                     {},
	"x12":                   {},
	"x12/schema":            {},
	"internal/as2":          {"."},
	"internal/sftp":         {"."},
	"internal/csvfeed":      {"."},
	"internal/folder":       {"."},
	"internal/odoo":         {"."},
	"internal/odoo/odoosim": {},
	"internal/memerp":       {"."},
	"internal/store":        {".", "x12"},
	"internal/sqlite":       {"internal/store"},
	"internal/postgres":     {"internal/store"},
}

// TestLayers checks the import rules above and that every package has a package doc comment.
func TestLayers(t *testing.T) {
	t.Parallel()
	pkgs := map[string][]string{} // directory → files
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && p != "." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			pkgs[filepath.ToSlash(filepath.Dir(p))] = append(pkgs[filepath.ToSlash(filepath.Dir(p))], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for dir, files := range pkgs {
		allowed, ruled := layerRules[dir]
		hasDoc := false
		for _, name := range files {
			src, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if f.Doc != nil && (strings.HasPrefix(f.Doc.Text(), "Package "+f.Name.Name+" ") || strings.HasPrefix(f.Doc.Text(), "Command ")) {
				hasDoc = true
			}
			if !ruled {
				continue
			}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if p != module && !strings.HasPrefix(p, module+"/") {
					continue
				}
				rel := strings.TrimPrefix(strings.TrimPrefix(p, module), "/")
				if rel == "" {
					rel = "."
				}
				ok := false
				for _, a := range allowed {
					ok = ok || a == rel
				}
				if !ok {
					t.Errorf("%s imports %s: package %s may import only %v of the module", name, p, dir, allowed)
				}
			}
		}
		if !hasDoc {
			t.Errorf("package %s has no package doc comment", path.Clean(dir))
		}
	}
}
