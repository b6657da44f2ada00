package as2

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waybill-hub/waybill"
)

// rewriteTransport edits request and response bodies in flight, as a faulty network or a
// tampering party would.
type rewriteTransport struct {
	req, resp func([]byte) []byte
}

func (rt rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if rt.req != nil && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		b = rt.req(b)
		r = r.Clone(r.Context())
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || rt.resp == nil {
		return resp, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	b = rt.resp(b)
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func replacer(old, new string) func([]byte) []byte {
	return func(b []byte) []byte { return bytes.ReplaceAll(b, []byte(old), []byte(new)) }
}

// TestNegativeMDN sends messages the receiver must refuse and checks the disposition of the
// negative MDN (RFC 4130 §7.4.3) and the coded error Send returns.
func TestNegativeMDN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tweak   func(toThem, toUs *Partner)
		prepare func(t *testing.T, p *pair)
		want    Failure
	}{
		{name: "signed with a certificate the partner does not have",
			tweak: func(a, b *Partner) { b.TheirCerts = []*x509.Certificate{validKeypair(t, "someone else", 4).Cert} },
			want:  FailAuthentication},
		{name: "partner holds only an expired copy of our certificate",
			tweak: func(a, b *Partner) {
				b.TheirCerts = []*x509.Certificate{newKeypair(t, "waybill-old", 0, -60*24*time.Hour, -time.Hour).Cert}
			},
			want: FailAuthentication},
		{name: "encrypted for a certificate the partner has no key for",
			tweak: func(a, b *Partner) {
				// A newer certificate is the one we encrypt for; the real one still verifies the MDN.
				a.TheirCerts = append(a.TheirCerts, newKeypair(t, "acme-wrong", 5, -time.Hour, 30*24*time.Hour).Cert)
			},
			want: FailDecryption},
		{name: "content altered after signing",
			tweak: func(a, b *Partner) { a.Encrypt = false },
			prepare: func(t *testing.T, p *pair) {
				p.sender.client = &http.Client{Transport: rewriteTransport{req: replacer("BAK*00", "BAK*01")}}
			},
			want: FailIntegrity},
		{name: "unsigned from a partner that must sign",
			tweak: func(a, b *Partner) { a.Sign = false; b.Sign = true },
			want:  FailInsufficientSecurity},
		{name: "unencrypted from a partner that must encrypt",
			tweak: func(a, b *Partner) { a.Encrypt = false; b.Encrypt = true },
			want:  FailInsufficientSecurity},
		{name: "sha1 signature not allowed",
			tweak: func(a, b *Partner) { a.SignAlg, a.AllowInsecureAlgs = SHA1, true },
			want:  FailInsufficientSecurity},
		{name: "3des not allowed",
			tweak: func(a, b *Partner) { a.EncAlg, a.AllowInsecureAlgs = TripleDES, true },
			want:  FailInsufficientSecurity},
		{name: "unknown sender",
			tweak: func(a, b *Partner) { b.AS2ID = "SOMEONE" },
			want:  FailAuthentication},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := setup(t, tt.tweak)
			if tt.prepare != nil {
				tt.prepare(t, p)
			}
			res, err := p.sender.Send(context.Background(), outbound("bad", samplePayload))
			if waybill.Code(err) != waybill.EREJECTED || waybill.Reason(err) != "as2_mdn_negative" {
				t.Fatalf("err = %v (code %s), want a negative MDN", err, waybill.Code(err))
			}
			want := "automatic-action/MDN-sent-automatically; processed/error: " + string(tt.want)
			if got := res.Meta[MetaMDNDisposition]; got != want {
				t.Errorf("disposition = %q, want %q", got, want)
			}
			if n := len(p.intake.messages()); n != 0 {
				t.Errorf("intake got %d messages from a refused one", n)
			}
		})
	}
}

func TestSenderCertificateProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		tweak func(p *pair)
	}{
		{"our only certificate expired", func(p *pair) {
			p.sender.SetStation(&Station{AS2ID: "WAYBILL", Certs: []Keypair{newKeypair(t, "old", 0, -48*time.Hour, -time.Hour)}})
		}},
		{"the partner's certificate expired", func(p *pair) {
			c := *p.toThem
			c.TheirCerts = []*x509.Certificate{newKeypair(t, "acme-old", 1, -48*time.Hour, -time.Hour).Cert}
			if err := p.usSide.Put(&c); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := setup(t, nil)
			tt.tweak(p)
			_, err := p.sender.Send(context.Background(), outbound("x", samplePayload))
			if waybill.Code(err) != waybill.EUNAUTHORIZED || waybill.Reason(err) != "as2_certificate" {
				t.Fatalf("err = %v (code %s reason %s), want EUNAUTHORIZED as2_certificate", err, waybill.Code(err), waybill.Reason(err))
			}
			if n := len(p.intake.messages()); n != 0 {
				t.Errorf("a message went out: %d received", n)
			}
		})
	}
}

func TestBadMDN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		tweak  func(toThem, toUs *Partner)
		resp   func([]byte) []byte
		code   waybill.ErrorCode
		reason string
	}{
		{"signed MDN altered", nil, replacer("processed", "processed "), waybill.EUNAUTHORIZED, "as2_mdn_signature"},
		{"MIC does not match", func(a, b *Partner) { a.SignedMDN = false }, func(b []byte) []byte {
			return bytes.Replace(b, []byte("Received-Content-MIC: "), []byte("Received-Content-MIC: AAAA"), 1)
		}, waybill.EINVALID, "as2_mic_mismatch"},
		{"unsigned MDN when a signed one was asked", nil, func(b []byte) []byte { return b }, waybill.EUNAUTHORIZED, "as2_mdn_unsigned"},
		{"no MDN at all", nil, func([]byte) []byte { return nil }, waybill.EUNAVAILABLE, "as2_mdn_missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := setup(t, tt.tweak)
			if tt.reason == "as2_mdn_unsigned" {
				// The receiver ignores the request for a signature: strip the option in flight.
				p.sender.client = &http.Client{Transport: headerDropper{"Disposition-Notification-Options"}}
			} else {
				p.sender.client = &http.Client{Transport: rewriteTransport{resp: tt.resp}}
			}
			_, err := p.sender.Send(context.Background(), outbound("m", samplePayload))
			if waybill.Code(err) != tt.code || waybill.Reason(err) != tt.reason {
				t.Fatalf("err = %v (code %s reason %s), want %s %s", err, waybill.Code(err), waybill.Reason(err), tt.code, tt.reason)
			}
		})
	}
}

type headerDropper struct{ name string }

func (h headerDropper) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Del(h.name)
	return http.DefaultTransport.RoundTrip(r)
}

// postRaw posts a hand-made AS2 request to the pair's receiver and returns the HTTP status and
// the MDN, if any.
func postRaw(t *testing.T, p *pair, hdr map[string]string, body []byte) (int, *MDN) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.receiverSrv.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"AS2-Version": "1.2", "AS2-From": "WAYBILL", "AS2-To": `"ACME AS2"`,
		"Message-ID": "<raw-1@WAYBILL>", "Disposition-Notification-To": "as2@waybill"}
	for k, v := range hdr {
		base[k] = v
	}
	for k, v := range base {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || len(rb) == 0 {
		return resp.StatusCode, nil
	}
	m, err := p.sender.readMDN(context.Background(), p.toThem, textproto.MIMEHeader(resp.Header), rb)
	if err != nil {
		t.Fatalf("reading the MDN: %v", err)
	}
	return resp.StatusCode, m
}

func TestMalformedMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		hdr  map[string]string
		body string
		want Failure
	}{
		{"garbage envelope", map[string]string{"Content-Type": "application/pkcs7-mime; smime-type=enveloped-data"}, "not DER at all", FailDecryption},
		{"truncated envelope", map[string]string{"Content-Type": "application/pkcs7-mime; smime-type=enveloped-data"}, "\x30\x82\x01\x00\x06", FailDecryption},
		{"garbage compressed data", map[string]string{"Content-Type": "application/pkcs7-mime; smime-type=compressed-data"}, "\x30\x03\x02\x01\x00", FailDecompression},
		{"multipart/signed without parts", map[string]string{"Content-Type": `multipart/signed; protocol="application/pkcs7-signature"; boundary=x`}, "nothing here", FailUnexpected},
		{"multipart/signed with a bad signature", map[string]string{"Content-Type": `multipart/signed; protocol="application/pkcs7-signature"; boundary=x`},
			"--x\r\nContent-Type: application/edi-x12\r\n\r\nISA~\r\n--x\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\nMIIB\r\n--x--\r\n", FailAuthentication},
		{"unparsable content type", map[string]string{"Content-Type": "application/pkcs7-mime; ===="}, "x", FailUnexpected},
		{"addressed to someone else", map[string]string{"AS2-To": "OTHER", "Content-Type": "application/edi-x12"}, "ISA~", FailUnexpected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := setup(t, func(a, b *Partner) { b.Sign, b.Encrypt = false, false })
			status, m := postRaw(t, p, tt.hdr, []byte(tt.body))
			if m == nil {
				t.Fatalf("status %d without an MDN", status)
			}
			if m.Positive() || m.Failure() != tt.want {
				t.Errorf("disposition %q, want failure %s", m.Disposition, tt.want)
			}
			if m.OriginalMessageID != "<raw-1@WAYBILL>" {
				t.Errorf("Original-Message-ID = %q", m.OriginalMessageID)
			}
		})
	}
	t.Run("missing Message-ID", func(t *testing.T) {
		t.Parallel()
		p := setup(t, nil)
		status, m := postRaw(t, p, map[string]string{"Message-ID": "", "Content-Type": "application/edi-x12"}, []byte("ISA~"))
		if status != http.StatusBadRequest || m != nil {
			t.Errorf("status %d, MDN %v; want 400 without MDN", status, m)
		}
	})
	t.Run("GET", func(t *testing.T) {
		t.Parallel()
		p := setup(t, nil)
		resp, err := http.Get(p.receiverSrv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("status %d", resp.StatusCode)
		}
	})
}

func TestRawArchiveBeforeIntake(t *testing.T) {
	t.Parallel()
	p := setup(t, nil)
	arch := &memArchive{}
	p.receiver.opts.Archive = arch
	res, err := p.sender.Send(context.Background(), outbound("arch", samplePayload))
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := arch.get(res.TransportID)
	if !ok || !strings.Contains(string(raw), "Content-Type: application/pkcs7-mime") || strings.Contains(string(raw), "BAK*00") {
		t.Errorf("archive holds %q; want the still-encrypted request", raw[:min(len(raw), 200)])
	}
	arch.fail = true
	if _, err := p.sender.Send(context.Background(), outbound("arch2", samplePayload)); waybill.Code(err) != waybill.EUNAVAILABLE {
		t.Errorf("archive failure: err = %v, want EUNAVAILABLE", err)
	}
	if n := len(p.intake.messages()); n != 1 {
		t.Errorf("intake got %d messages, want 1", n)
	}
}

type memArchive struct {
	mu   sync.Mutex
	m    map[string][]byte
	fail bool
}

func (a *memArchive) Archive(_ context.Context, id string, raw []byte) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail {
		return io.ErrUnexpectedEOF
	}
	if a.m == nil {
		a.m = map[string][]byte{}
	}
	a.m[id] = raw
	return nil
}

func (a *memArchive) get(id string) ([]byte, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.m[id]
	return b, ok
}
