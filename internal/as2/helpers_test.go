package as2

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill-hub/waybill"
)

// testNow is the clock of every test: certificates are minted around it.
var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

var testKeys struct {
	sync.Mutex
	keys map[int]*rsa.PrivateKey
}

// testKey returns RSA key number i, generated once per test binary (key generation is the slow
// part; certificates are cheap).
func testKey(t testing.TB, i int) *rsa.PrivateKey {
	t.Helper()
	testKeys.Lock()
	defer testKeys.Unlock()
	if k, ok := testKeys.keys[i]; ok {
		return k
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if testKeys.keys == nil {
		testKeys.keys = map[int]*rsa.PrivateKey{}
	}
	testKeys.keys[i] = k
	return k
}

var serial struct {
	sync.Mutex
	n int64
}

// newKeypair mints a self-signed certificate valid from notBefore to notAfter around testNow.
func newKeypair(t testing.TB, cn string, keyIndex int, notBefore, notAfter time.Duration) Keypair {
	t.Helper()
	key := testKey(t, keyIndex)
	serial.Lock()
	serial.n++
	sn := big.NewInt(1000 + serial.n)
	serial.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Waybill test"}},
		NotBefore:    testNow.Add(notBefore),
		NotAfter:     testNow.Add(notAfter),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return Keypair{Cert: cert, Key: key}
}

// validKeypair is valid from a day before testNow to thirty days after.
func validKeypair(t testing.TB, cn string, keyIndex int) Keypair {
	return newKeypair(t, cn, keyIndex, -24*time.Hour, 30*24*time.Hour)
}

// writePEM writes the certificate and key of kp to dir and returns their paths.
func writePEM(t testing.TB, dir, name string, kp Keypair) (certPath, keyPath string) {
	t.Helper()
	certPath = filepath.Join(dir, name+".crt")
	keyPath = filepath.Join(dir, name+".key")
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.Cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(kp.Key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certPath, keyPath
}

// fakeIntake is a waybill.Intake that remembers messages and reports duplicates by partner and
// TransportID, as the hub does.
type fakeIntake struct {
	mu   sync.Mutex
	msgs []waybill.InboundMessage
	seen map[string]string
	err  error
}

func (f *fakeIntake) Receive(_ context.Context, m waybill.InboundMessage) (waybill.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return waybill.Receipt{}, f.err
	}
	if f.seen == nil {
		f.seen = map[string]string{}
	}
	key := m.Partner + "|" + m.TransportID
	if orig, ok := f.seen[key]; ok {
		return waybill.Receipt{MessageID: orig, Duplicate: true, DuplicateOf: orig}, nil
	}
	id := "msg-" + big.NewInt(int64(len(f.msgs)+1)).String()
	f.seen[key] = id
	f.msgs = append(f.msgs, m)
	return waybill.Receipt{MessageID: id, CorrelationID: "corr-" + id}, nil
}

func (f *fakeIntake) messages() []waybill.InboundMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]waybill.InboundMessage(nil), f.msgs...)
}

// pair is two AS2 stations on loopback: "us" (WAYBILL) sends to "them" (ACME), which runs a
// Waybill Receiver too; our async MDN endpoint is served as well.
type pair struct {
	ourKP, theirKP      Keypair
	us, them            *Station
	usSide, themSide    *Partners // profiles each side keeps of the other
	toThem, toUs        *Partner  // profile of ACME at WAYBILL, of WAYBILL at ACME
	sender              *Sender
	receiver            *Receiver
	intake              *fakeIntake
	receiverSrv, mdnSrv *httptest.Server
	asyncMDNs           chan AsyncMDN
	clock               *testClock
}

// testClock is a settable clock shared by both sides of a pair.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *testClock) Now() time.Time      { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *testClock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// setup builds a pair; tweak adjusts the two profiles before they are stored.
func setup(t testing.TB, tweak func(toThem, toUs *Partner)) *pair {
	t.Helper()
	p := &pair{ourKP: validKeypair(t, "waybill", 0), theirKP: validKeypair(t, "acme", 1),
		intake: &fakeIntake{}, asyncMDNs: make(chan AsyncMDN, 4), clock: newTestClock(testNow)}
	p.us = &Station{AS2ID: "WAYBILL", Certs: []Keypair{p.ourKP}}
	p.them = &Station{AS2ID: "ACME AS2", Certs: []Keypair{p.theirKP}}
	p.receiver = NewReceiver(p.them, nil, p.intake, ReceiverOptions{Now: p.clock.Now, Logger: quietLogger,
		AsyncBackoff: time.Millisecond})
	p.receiverSrv = httptest.NewServer(p.receiver)
	t.Cleanup(p.receiverSrv.Close)
	var sender *Sender
	p.mdnSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { sender.MDNHandler().ServeHTTP(w, r) }))
	t.Cleanup(p.mdnSrv.Close)
	p.toThem = &Partner{ID: "acme", AS2ID: "ACME AS2", URL: p.receiverSrv.URL, TheirCerts: []*x509.Certificate{p.theirKP.Cert},
		Sign: true, Encrypt: true, SignedMDN: true, AsyncMDNURL: p.mdnSrv.URL, MDNTimeout: 10 * time.Second}
	p.toUs = &Partner{ID: "waybill", AS2ID: "WAYBILL", TheirCerts: []*x509.Certificate{p.ourKP.Cert}}
	if tweak != nil {
		tweak(p.toThem, p.toUs)
	}
	var err error
	if p.usSide, err = NewPartners(p.toThem); err != nil {
		t.Fatal(err)
	}
	if p.themSide, err = NewPartners(p.toUs); err != nil {
		t.Fatal(err)
	}
	p.receiver.partners = p.themSide
	sender = NewSender(p.us, p.usSide, p.receiverSrv.Client(), nil)
	sender.Now = p.clock.Now
	sender.Logger = quietLogger
	sender.OnAsyncMDN = func(_ context.Context, m AsyncMDN) { p.asyncMDNs <- m }
	p.sender = sender
	t.Cleanup(p.receiver.Wait)
	return p
}

func outbound(id string, payload string) waybill.OutboundMessage {
	return waybill.OutboundMessage{ID: id, Partner: "acme", Channel: waybill.ChannelAS2, DocType: "855",
		Filename: "po-" + id + ".edi", ContentType: "application/edi-x12", Payload: []byte(payload)}
}

const samplePayload = "ISA*00*          *00*          *ZZ*WAYBILL        *ZZ*ACME           *261126*1200*U*00401*000000001*0*P*>~\nGS*PR*WAYBILL*ACME*20261126*1200*1*X*004010~\nST*855*0001~\nBAK*00*AD*4500012345*20261126~\nSE*3*0001~\nGE*1*1~\nIEA*1*000000001~\n"

// hangingHandler never answers until release is closed or the client gives up.
func hangingHandler(release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
}

// quietLogger keeps expected refusals out of the test output.
var quietLogger = slog.New(slog.DiscardHandler)
