package as2

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// openssl runs the openssl command line in dir, skipping the test when openssl is not installed.
func openssl(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// opensslSupports reports whether "openssl cms <args>" succeeds on a small input (Debian's
// openssl, for one, is built without zlib and cannot compress).
func opensslSupports(t *testing.T, dir string, args ...string) bool {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed")
	}
	if err := os.WriteFile(filepath.Join(dir, "probe.txt"), []byte("probe\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, append([]string{"cms"}, append(args, "-in", "probe.txt", "-out", "probe.out")...)...)
	cmd.Dir = dir
	return cmd.Run() == nil
}

const contentEntity = "Content-Type: application/edi-x12\r\nContent-Transfer-Encoding: binary\r\nContent-Disposition: attachment; filename=\"po.edi\"\r\n\r\n" + samplePayload

// TestOpenSSLToReceiver posts messages built by openssl cms to a Waybill Receiver.
func TestOpenSSLToReceiver(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		tweak       func(toThem, toUs *Partner)
		build       []string // openssl cms arguments; "-in" comes from the previous step
		sign        bool     // sign (detached, SMIME) first
		contentType string
		wantEnc     EncAlg
		smimeOut    bool // openssl writes S/MIME (base64 body with headers) instead of DER
	}{
		{name: "base64 S/MIME envelope", sign: true, build: []string{"-encrypt", "-aes-256-cbc"}, smimeOut: true, wantEnc: AES256CBC},
		{name: "signed sha-256 then aes256-cbc", sign: true, build: []string{"-encrypt", "-aes-256-cbc"},
			contentType: "application/pkcs7-mime; smime-type=enveloped-data", wantEnc: AES256CBC},
		{name: "aes128-cbc unsigned", build: []string{"-encrypt", "-aes-128-cbc"},
			contentType: "application/pkcs7-mime; smime-type=enveloped-data", wantEnc: AES128CBC},
		{name: "aes256-gcm (AuthEnvelopedData)", sign: true, build: []string{"-encrypt", "-aes-256-gcm"},
			contentType: "application/pkcs7-mime; smime-type=authEnveloped-data", wantEnc: AES256GCM},
		{name: "aes128-gcm", build: []string{"-encrypt", "-aes-128-gcm"},
			contentType: "application/pkcs7-mime; smime-type=authEnveloped-data", wantEnc: AES128GCM},
		{name: "rsa-oaep key transport", build: []string{"-encrypt", "-aes-256-cbc", "-recip", "them.crt", "-keyopt", "rsa_padding_mode:oaep"},
			contentType: "application/pkcs7-mime; smime-type=enveloped-data", wantEnc: AES256CBC},
		{name: "3des when allowed", tweak: func(a, b *Partner) { b.AllowInsecureAlgs = true }, build: []string{"-encrypt", "-des3"},
			contentType: "application/pkcs7-mime; smime-type=enveloped-data", wantEnc: TripleDES},
		{name: "signed only (multipart/signed)", tweak: func(a, b *Partner) { b.Encrypt = false }, sign: true},
		{name: "opaque signed-data", tweak: func(a, b *Partner) { b.Encrypt = false },
			build:       []string{"-sign", "-nodetach", "-md", "sha256", "-signer", "us.crt", "-inkey", "us.key"},
			contentType: "application/pkcs7-mime; smime-type=signed-data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := setup(t, func(a, b *Partner) {
				b.Encrypt = true
				if tt.tweak != nil {
					tt.tweak(a, b)
				}
			})
			dir := t.TempDir()
			writePEM(t, dir, "us", p.ourKP)
			writePEM(t, dir, "them", p.theirKP)
			if err := os.WriteFile(filepath.Join(dir, "content"), []byte(contentEntity), 0o600); err != nil {
				t.Fatal(err)
			}
			in, micData := "content", []byte(samplePayload)
			if tt.build != nil && tt.build[0] == "-encrypt" {
				micData = []byte(contentEntity)
			}
			if tt.sign {
				openssl(t, dir, "cms", "-sign", "-binary", "-md", "sha256", "-in", in, "-signer", "us.crt", "-inkey", "us.key", "-outform", "SMIME", "-out", "signed")
				in, micData = "signed", []byte(contentEntity)
			}
			if tt.build != nil && tt.build[1] == "-nodetach" {
				micData = []byte(contentEntity)
			}
			var body []byte
			hdr := map[string]string{"Disposition-Notification-Options": mdnOptions(SHA256)}
			if tt.smimeOut {
				openssl(t, dir, "cms", "-encrypt", "-aes-256-cbc", "-binary", "-in", in, "-outform", "SMIME", "-out", "out.mime", "them.crt")
				e, err := parseEntity(readFile(t, dir, "out.mime"))
				if err != nil {
					t.Fatal(err)
				}
				body = e.body
				hdr["Content-Type"], hdr["Content-Transfer-Encoding"] = e.header.Get("Content-Type"), e.header.Get("Content-Transfer-Encoding")
			} else if tt.build != nil {
				args := append([]string{"cms"}, tt.build...)
				args = append(args, "-binary", "-in", in, "-outform", "DER", "-out", "out.der")
				if tt.build[0] == "-encrypt" && !strings.Contains(strings.Join(tt.build, " "), "-recip") {
					args = append(args, "them.crt")
				}
				openssl(t, dir, args...)
				body = readFile(t, dir, "out.der")
				hdr["Content-Type"] = tt.contentType
			} else {
				// openssl's S/MIME output: the top headers become HTTP headers.
				e, err := parseEntity(readFile(t, dir, in))
				if err != nil {
					t.Fatal(err)
				}
				body, hdr["Content-Type"] = e.body, e.header.Get("Content-Type")
			}
			status, m := postRaw(t, p, hdr, body)
			if m == nil || !m.Positive() {
				t.Fatalf("status %d, MDN %+v", status, m)
			}
			if !m.Signed {
				t.Errorf("asked a signed MDN, got an unsigned one")
			}
			wantMIC, _ := computeMIC(micData, SHA256)
			if !sameMIC(m.ReceivedMIC, wantMIC) {
				t.Errorf("MIC = %q, want %q", m.ReceivedMIC, wantMIC)
			}
			msgs := p.intake.messages()
			if len(msgs) != 1 || string(msgs[0].Payload) != samplePayload {
				t.Fatalf("intake got %v", msgs)
			}
			if got := msgs[0].Meta[MetaEncAlg]; got != string(tt.wantEnc) {
				t.Errorf("enc alg = %q, want %q", got, tt.wantEnc)
			}
			if msgs[0].Filename != "po.edi" {
				t.Errorf("filename = %q", msgs[0].Filename)
			}
		})
	}
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// capture is a partner endpoint that records one request and answers 200 without an MDN.
type capture struct {
	mu   sync.Mutex
	hdr  http.Header
	body []byte
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.hdr, c.body = r.Header.Clone(), b
	c.mu.Unlock()
}

// TestSenderToOpenSSL has openssl cms decrypt and verify what a Waybill Sender posts.
func TestSenderToOpenSSL(t *testing.T) {
	t.Parallel()
	for _, alg := range []EncAlg{AES128CBC, AES256CBC, AES128GCM, AES256GCM} {
		t.Run(string(alg), func(t *testing.T) {
			t.Parallel()
			got := &capture{}
			srv := httptest.NewServer(got)
			defer srv.Close()
			p := setup(t, func(a, b *Partner) { a.URL, a.MDN, a.SignedMDN, a.EncAlg = srv.URL, MDNNone, false, alg })
			// openssl reads multipart/signed either canonically (CRLF lines) or, with -binary,
			// expecting a bare LF before each boundary; RFC 2046 framing (CRLF before the
			// boundary, which is ours) verifies in the canonical mode, so send CRLF lines.
			payload := string(canonicalCRLF([]byte(samplePayload)))
			res, err := p.sender.Send(context.Background(), outbound("ossl", payload))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			writePEM(t, dir, "us", p.ourKP)
			writePEM(t, dir, "them", p.theirKP)
			if err := os.WriteFile(filepath.Join(dir, "msg.der"), got.body, 0o600); err != nil {
				t.Fatal(err)
			}
			openssl(t, dir, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", "msg.der", "-recip", "them.crt", "-inkey", "them.key", "-out", "signed.mime")
			content := openssl(t, dir, "cms", "-verify", "-inform", "SMIME", "-in", "signed.mime", "-noverify")
			if !bytes.HasSuffix(content, []byte(payload)) || !bytes.Contains(content, []byte("Content-Type: application/edi-x12")) {
				t.Errorf("openssl verified content = %q", content)
			}
			wantMIC, _ := computeMIC(content, SHA256)
			if !sameMIC(res.Meta[MetaMIC], wantMIC) {
				t.Errorf("our MIC %q, MIC over what openssl verified %q", res.Meta[MetaMIC], wantMIC)
			}
			if ct := got.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/pkcs7-mime") {
				t.Errorf("Content-Type = %q", ct)
			}
			for _, h := range []string{"AS2-From", "AS2-To", "Message-ID", "AS2-Version"} {
				if got.hdr.Get(h) == "" {
					t.Errorf("missing header %s", h)
				}
			}
		})
	}
}

// TestMDNVerifiedByOpenSSL has openssl verify the signature of a Waybill MDN.
func TestMDNVerifiedByOpenSSL(t *testing.T) {
	t.Parallel()
	p := setup(t, func(a, b *Partner) { b.Sign, b.Encrypt = false, false })
	req, _ := http.NewRequest(http.MethodPost, p.receiverSrv.URL, strings.NewReader(samplePayload))
	for k, v := range map[string]string{"AS2-From": "WAYBILL", "AS2-To": "ACME AS2", "Message-ID": "<m@x>",
		"Content-Type": "application/edi-x12", "Disposition-Notification-To": "x", "Disposition-Notification-Options": mdnOptions(SHA256)} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	dir := t.TempDir()
	mdn := buildEntity([]header{{"MIME-Version", "1.0"}, {"Content-Type", resp.Header.Get("Content-Type")}}, body)
	if err := os.WriteFile(filepath.Join(dir, "mdn.mime"), mdn, 0o600); err != nil {
		t.Fatal(err)
	}
	out := openssl(t, dir, "cms", "-verify", "-inform", "SMIME", "-in", "mdn.mime", "-noverify")
	if !bytes.Contains(out, []byte("Disposition: automatic-action/MDN-sent-automatically; processed")) {
		t.Errorf("openssl verified %q", out)
	}
}

// TestCompressionWithOpenSSL checks CompressedData against openssl cms -compress/-uncompress
// when openssl was built with zlib.
func TestCompressionWithOpenSSL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if !opensslSupports(t, dir, "-compress", "-outform", "DER") {
		t.Skip("this openssl has no zlib support (cms -compress fails)")
	}
	if err := os.WriteFile(filepath.Join(dir, "content"), []byte(contentEntity), 0o600); err != nil {
		t.Fatal(err)
	}
	openssl(t, dir, "cms", "-compress", "-binary", "-in", "content", "-outform", "DER", "-out", "c.der")
	oid, inner, err := parseContentInfo(readFile(t, dir, "c.der"))
	if err != nil || !oid.Equal(oidCompressedData) {
		t.Fatalf("parse: %v %v", oid, err)
	}
	out, err := decompressCMS(inner)
	if err != nil || string(out) != contentEntity {
		t.Fatalf("decompress = %q, %v", out, err)
	}
	ours, err := compressCMS([]byte(contentEntity))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ours.der"), ours, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := openssl(t, dir, "cms", "-uncompress", "-binary", "-inform", "DER", "-in", "ours.der"); string(got) != contentEntity {
		t.Errorf("openssl uncompressed %q", got)
	}
}
