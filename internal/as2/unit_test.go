package as2

import (
	"bytes"
	"crypto/x509"
	"flag"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s:\ngot:\n%s\nwant:\n%s", name, path, got, want)
	}
}

func TestReportGolden(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		mic  string
		f    Failure
	}{
		{"mdn_processed", "K1ARo1gr3g0QuGm5TiZnmQFMD9XNc0bYOdCgUjcwdiQ=, sha-256", ""},
		{"mdn_decryption_failed", "", FailDecryption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := buildReport("Waybill AS2", "ACME AS2", "<m1@WAYBILL>", tt.mic, tt.f,
				mdnText("<m1@WAYBILL>", tt.f, "no recipient info matches", at), "BOUNDARY")
			golden(t, tt.name, got)
			e, err := parseEntity(got)
			if err != nil {
				t.Fatal(err)
			}
			m, err := parseReport(e)
			if err != nil {
				t.Fatal(err)
			}
			if m.Positive() != (tt.f == "") || m.Failure() != tt.f || m.ReceivedMIC != tt.mic || m.OriginalMessageID != "<m1@WAYBILL>" {
				t.Errorf("parsed %+v", m)
			}
		})
	}
}

func TestDisposition(t *testing.T) {
	t.Parallel()
	tests := []struct {
		disp     string
		positive bool
		failure  Failure
	}{
		{"automatic-action/MDN-sent-automatically; processed", true, ""},
		{"automatic-action/MDN-sent-automatically; processed/warning: duplicate-document", true, ""},
		{"automatic-action/MDN-sent-automatically; processed/error: decryption-failed", false, FailDecryption},
		{"automatic-action/MDN-sent-automatically; processed/Error: Authentication-Failed", false, FailAuthentication},
		{"automatic-action/MDN-sent-automatically; failed/Failure: unsupported format", false, "unsupported format"},
		{"garbage", false, ""},
	}
	for _, tt := range tests {
		m := &MDN{Disposition: tt.disp}
		if m.Positive() != tt.positive || m.Failure() != tt.failure {
			t.Errorf("%q: positive %v failure %q, want %v %q", tt.disp, m.Positive(), m.Failure(), tt.positive, tt.failure)
		}
	}
}

func TestParseMDNRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		opts    string
		signed  bool
		alg     MICAlg
		insecOK bool
		ok      bool
	}{
		{"signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256", true, SHA256, false, true},
		{"signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, sha1, sha-256", true, SHA256, false, true},
		{"signed-receipt-protocol=required, pkcs7-signature; signed-receipt-micalg=required, sha1", true, SHA1, true, true},
		{"signed-receipt-protocol=required, pgp-signature", false, SHA256, false, false},
		{"signed-receipt-micalg=required, md5", false, SHA256, false, false},
		{"", false, SHA256, false, true},
	}
	for _, tt := range tests {
		h := textproto.MIMEHeader{}
		h.Set("Disposition-Notification-To", "x")
		h.Set("Disposition-Notification-Options", tt.opts)
		r := parseMDNRequest(h)
		if r.signed != tt.signed || r.micAlg("", tt.insecOK) != tt.alg || r.requiredOK != tt.ok {
			t.Errorf("%q: signed %v alg %s ok %v; want %v %s %v", tt.opts, r.signed, r.micAlg("", tt.insecOK), r.requiredOK, tt.signed, tt.alg, tt.ok)
		}
	}
}

func TestSplitMultipart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		want       []string
		err        bool
	}{
		{"crlf", "--b\r\nA\r\n--b\r\nB\r\n--b--\r\n", []string{"A", "B"}, false},
		{"preamble and lf before boundary", "pre\n--b\nA\r\n\n--b\nB\n--b--", []string{"A\r\n", "B"}, false},
		{"part ending in crlf", "--b\r\nA\r\n\r\n--b--", []string{"A\r\n"}, false},
		{"no closing boundary", "--b\r\nA\r\n", nil, true},
		{"no boundary", "text", nil, true},
		{"no parts", "--b--", nil, true},
	}
	for _, tt := range tests {
		parts, err := splitMultipart([]byte(tt.body), "b")
		if (err != nil) != tt.err {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		var got []string
		for _, p := range parts {
			got = append(got, string(p))
		}
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: parts %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestMIC(t *testing.T) {
	t.Parallel()
	got, err := computeMIC([]byte("abc"), SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=, sha-256"; got != want {
		t.Errorf("MIC = %q, want %q", got, want)
	}
	for _, same := range []string{"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=,sha256", " ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0= , SHA-256"} {
		if !sameMIC(got, same) {
			t.Errorf("%q should equal %q", same, got)
		}
	}
	for _, other := range []string{"ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=, sha1", "", "x, sha-256"} {
		if sameMIC(got, other) {
			t.Errorf("%q should differ from %q", other, got)
		}
	}
}

// indefinite rewrites every constructed element of a DER encoding with an indefinite length,
// as streaming CMS producers write them.
func indefinite(t *testing.T, der []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	for len(der) > 0 {
		tag, rest, err := berTag(der)
		if err != nil {
			t.Fatal(err)
		}
		n, rest, err := berLength(rest)
		if err != nil {
			t.Fatal(err)
		}
		content := rest[:n]
		der = rest[n:]
		out.Write(tag)
		if tag[0]&0x20 != 0 {
			out.WriteByte(0x80)
			out.Write(indefinite(t, content))
			out.Write([]byte{0, 0})
		} else {
			writeTLV(&out, nil, content)
		}
	}
	return out.Bytes()
}

func TestBERIndefiniteLengths(t *testing.T) {
	t.Parallel()
	content := []byte(contentEntity)
	der, err := compressCMS(content)
	if err != nil {
		t.Fatal(err)
	}
	ber := indefinite(t, der)
	if bytes.Equal(ber, der) {
		t.Fatal("indefinite() changed nothing")
	}
	back, err := berToDER(ber)
	if err != nil || !bytes.Equal(back, der) {
		t.Fatalf("berToDER = %x, %v; want %x", back, err, der)
	}
	oid, inner, err := parseContentInfo(ber)
	if err != nil || !oid.Equal(oidCompressedData) {
		t.Fatal(oid, err)
	}
	if out, err := decompressCMS(inner); err != nil || !bytes.Equal(out, content) {
		t.Errorf("decompress = %q, %v", out, err)
	}
	kp := validKeypair(t, "ber", 0)
	env, err := encryptEnvelope(content, []*x509.Certificate{kp.Cert}, AES256GCM)
	if err != nil {
		t.Fatal(err)
	}
	oid, inner, err = parseContentInfo(indefinite(t, env))
	if err != nil {
		t.Fatal(err)
	}
	d, err := decryptEnvelope(oid, inner, []Keypair{kp}, false)
	if err != nil || !bytes.Equal(d.content, content) {
		t.Errorf("decrypt = %q, %v", d.content, err)
	}
	for _, bad := range [][]byte{{0x30, 0x80, 0x02, 0x01}, {0x30, 0x85, 1, 2, 3, 4, 5}, {0x04, 0x80, 0, 0}, {0x30, 0x05}} {
		if _, err := berToDER(bad); err == nil {
			t.Errorf("berToDER(%x) accepted", bad)
		}
	}
}

func TestPartnerValidate(t *testing.T) {
	t.Parallel()
	cert := validKeypair(t, "v", 0).Cert
	ok := func() *Partner {
		return &Partner{ID: "acme", AS2ID: "ACME", URL: "https://as2.acme.example/as2", TheirCerts: []*x509.Certificate{cert}, Sign: true, Encrypt: true}
	}
	tests := []struct {
		name   string
		change func(p *Partner)
		want   string
	}{
		{"valid", func(*Partner) {}, ""},
		{"no id", func(p *Partner) { p.ID = "" }, "id is required"},
		{"bad url", func(p *Partner) { p.URL = "ftp://x" }, "url"},
		{"sha1 without allow", func(p *Partner) { p.SignAlg = SHA1 }, "allow_insecure_algs"},
		{"3des with allow", func(p *Partner) { p.EncAlg, p.AllowInsecureAlgs = TripleDES, true }, ""},
		{"unknown cipher", func(p *Partner) { p.EncAlg = "rc2" }, "enc_alg"},
		{"async without url", func(p *Partner) { p.MDN = MDNAsync }, "async_mdn_url"},
		{"encrypt without certs", func(p *Partner) { p.TheirCerts = nil }, "their_certs"},
	}
	for _, tt := range tests {
		p := ok()
		tt.change(p)
		err := p.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v, want one naming %q", tt.name, err, tt.want)
		}
	}
}

func TestAS2IDQuoting(t *testing.T) {
	t.Parallel()
	for _, id := range []string{"ACME", "ACME AS2", `we "quote"`, `back\slash`} {
		if got := unquoteAS2ID(quoteAS2ID(id)); got != id {
			t.Errorf("%q -> %q -> %q", id, quoteAS2ID(id), got)
		}
	}
}

func TestStationValidate(t *testing.T) {
	t.Parallel()
	a, b := validKeypair(t, "a", 0), validKeypair(t, "b", 1)
	tests := []struct {
		name string
		st   Station
		want string
	}{
		{"valid", Station{AS2ID: "WAYBILL", Certs: []Keypair{a, b}}, ""},
		{"no certs", Station{AS2ID: "WAYBILL"}, "at least one"},
		{"bad name", Station{AS2ID: "WAY\nBILL", Certs: []Keypair{a}}, "as2_id"},
		{"key of another certificate", Station{AS2ID: "WAYBILL", Certs: []Keypair{{Cert: a.Cert, Key: b.Key}}}, "does not match"},
	}
	for _, tt := range tests {
		err := tt.st.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: err = %v, want %q", tt.name, err, tt.want)
		}
	}
}
