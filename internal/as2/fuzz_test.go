package as2

import (
	"crypto/x509"
	"net/textproto"
	"testing"
)

// FuzzOpen feeds arbitrary AS2 bodies to the unwrapping code: it must refuse them with a
// ProcessingError, never panic.
func FuzzOpen(f *testing.F) {
	kp := validKeypair(f, "fuzz", 0)
	p := &Partner{ID: "fuzz", AS2ID: "FUZZ", TheirCerts: []*x509.Certificate{kp.Cert}}
	signed, err := signEntity([]byte(contentEntity), kp, SHA256)
	if err != nil {
		f.Fatal(err)
	}
	env, err := encryptEnvelope(signed, []*x509.Certificate{kp.Cert}, AES128GCM)
	if err != nil {
		f.Fatal(err)
	}
	comp, err := compressCMS([]byte(contentEntity))
	if err != nil {
		f.Fatal(err)
	}
	se, _ := parseEntity(signed)
	f.Add(se.header.Get("Content-Type"), se.body)
	f.Add("application/pkcs7-mime; smime-type=enveloped-data", env)
	f.Add("application/pkcs7-mime; smime-type=compressed-data", comp)
	f.Add("application/edi-x12", []byte(samplePayload))
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", ct)
		o, err := open(topEntity(h, body), p, []Keypair{kp}, testNow)
		if err == nil && o.micData == nil && len(o.payload) > 0 {
			t.Errorf("opened without MIC data")
		}
	})
}

// FuzzBER checks berToDER never panics and that its output is stable.
func FuzzBER(f *testing.F) {
	der, _ := compressCMS([]byte("hello"))
	f.Add(der)
	f.Add([]byte{0x30, 0x80, 0x04, 0x01, 0x41, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := berToDER(b)
		if err != nil {
			return
		}
		again, err := berToDER(out)
		if err != nil || string(again) != string(out) {
			t.Errorf("berToDER is not idempotent: %x -> %x -> %x (%v)", b, out, again, err)
		}
	})
}

// FuzzParseReport feeds arbitrary MDN bodies to the MDN reader.
func FuzzParseReport(f *testing.F) {
	f.Add([]byte(string(buildReport("ua", "R", "<m@x>", "abc=, sha-256", "", "text", "B"))))
	f.Add([]byte("Content-Type: multipart/report; boundary=b\r\n\r\n--b\r\n\r\n--b--"))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := parseEntity(b)
		if err != nil {
			return
		}
		if m, err := parseReport(e); err == nil {
			_ = m.Positive()
			_ = m.Failure()
		}
	})
}
