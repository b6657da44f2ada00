package as2

import (
	"bytes"
	"crypto/x509"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps the adapter rule: of this module, only the root waybill package.
func TestImports(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	docs := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly|parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Doc != nil && strings.HasPrefix(f.Doc.Text(), "Package as2 ") {
			docs++
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "github.com/waybill-hub/waybill/") {
				t.Errorf("%s imports %s; only the root waybill package is allowed", name, path)
			}
		}
	}
	if docs != 1 {
		t.Errorf("%d files carry the package doc comment, want 1", docs)
	}
}

// TestSignThenCompress opens a message signed first and compressed after (RFC 5402 allows
// both orders; our Sender compresses first).
func TestSignThenCompress(t *testing.T) {
	t.Parallel()
	kp := validKeypair(t, "stc", 0)
	p := &Partner{ID: "x", AS2ID: "X", TheirCerts: []*x509.Certificate{kp.Cert}, Sign: true}
	signed, err := signEntity([]byte(contentEntity), kp, SHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := compressCMS(signed)
	if err != nil {
		t.Fatal(err)
	}
	top, err := parseEntity(smimeEntity(der, "compressed-data"))
	if err != nil {
		t.Fatal(err)
	}
	o, err := open(top, p, nil, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !o.signed || !o.compressed || string(o.payload) != samplePayload || !bytes.Equal(o.micData, []byte(contentEntity)) {
		t.Errorf("opened signed=%v compressed=%v payload=%q", o.signed, o.compressed, o.payload)
	}
}
