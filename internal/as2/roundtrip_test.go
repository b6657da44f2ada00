package as2

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill-hub/waybill"
)

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		tweak func(toThem, toUs *Partner)
		want  map[string]string // inbound Meta subset
	}{
		{"plain, unsigned MDN", func(a, b *Partner) { a.Sign, a.Encrypt, a.SignedMDN = false, false, false },
			map[string]string{MetaSigned: "false", MetaEncrypted: "false"}},
		{"signed sha-256", func(a, b *Partner) { a.Encrypt = false; b.Sign = true },
			map[string]string{MetaSigned: "true", MetaSignAlg: "sha-256", MetaEncrypted: "false"}},
		{"signed and encrypted aes256-cbc", func(a, b *Partner) { b.Sign, b.Encrypt = true, true },
			map[string]string{MetaSigned: "true", MetaEncrypted: "true", MetaEncAlg: "aes256-cbc"}},
		{"aes128-cbc sha-512", func(a, b *Partner) { a.EncAlg, a.SignAlg = AES128CBC, SHA512 },
			map[string]string{MetaEncAlg: "aes128-cbc", MetaSignAlg: "sha-512"}},
		{"aes128-gcm", func(a, b *Partner) { a.EncAlg = AES128GCM },
			map[string]string{MetaEncAlg: "aes128-gcm"}},
		{"aes256-gcm", func(a, b *Partner) { a.EncAlg = AES256GCM },
			map[string]string{MetaEncAlg: "aes256-gcm"}},
		{"encrypted, unsigned", func(a, b *Partner) { a.Sign = false },
			map[string]string{MetaSigned: "false", MetaEncrypted: "true"}},
		{"compressed, signed, encrypted", func(a, b *Partner) { a.Compress = true },
			map[string]string{MetaCompressed: "true", MetaSigned: "true", MetaEncrypted: "true"}},
		{"compressed only", func(a, b *Partner) { a.Compress, a.Sign, a.Encrypt, a.SignedMDN = true, false, false, false },
			map[string]string{MetaCompressed: "true", MetaSigned: "false"}},
		{"legacy 3des sha1 when allowed", func(a, b *Partner) {
			a.EncAlg, a.SignAlg, a.AllowInsecureAlgs, b.AllowInsecureAlgs = TripleDES, SHA1, true, true
		}, map[string]string{MetaEncAlg: "3des", MetaSignAlg: "sha1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := setup(t, tt.tweak)
			res, err := p.sender.Send(context.Background(), outbound("o1", samplePayload))
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got := res.Meta[MetaMDNDisposition]; got != "automatic-action/MDN-sent-automatically; processed" {
				t.Errorf("disposition = %q", got)
			}
			if res.Meta[MetaMDNMIC] == "" || !sameMIC(res.Meta[MetaMDNMIC], res.Meta[MetaMIC]) {
				t.Errorf("MDN MIC %q, sent MIC %q", res.Meta[MetaMDNMIC], res.Meta[MetaMIC])
			}
			if got, want := res.Meta[MetaMDNSigned], boolString(p.toThem.SignedMDN); got != want {
				t.Errorf("MDN signed = %s, want %s", got, want)
			}
			msgs := p.intake.messages()
			if len(msgs) != 1 {
				t.Fatalf("intake got %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if string(m.Payload) != samplePayload {
				t.Errorf("payload = %q, want %q", m.Payload, samplePayload)
			}
			if m.Partner != "waybill" || m.TransportID != res.TransportID || m.DocType != "x12" || m.Filename != "po-o1.edi" {
				t.Errorf("inbound = partner %q transport %q doc %q file %q", m.Partner, m.TransportID, m.DocType, m.Filename)
			}
			if m.Meta[MetaMIC] != res.Meta[MetaMDNMIC] {
				t.Errorf("receiver recorded MIC %q, MDN carried %q", m.Meta[MetaMIC], res.Meta[MetaMDNMIC])
			}
			for k, v := range tt.want {
				if m.Meta[k] != v {
					t.Errorf("Meta[%s] = %q, want %q", k, m.Meta[k], v)
				}
			}
		})
	}
}

func TestDuplicateGetsSamePositiveMDN(t *testing.T) {
	t.Parallel()
	p := setup(t, nil)
	ctx := context.Background()
	first, err := p.sender.Send(ctx, outbound("dup", samplePayload))
	if err != nil {
		t.Fatal(err)
	}
	second, err := p.sender.Send(ctx, outbound("dup", samplePayload))
	if err != nil {
		t.Fatalf("resend: %v", err)
	}
	if first.TransportID != second.TransportID {
		t.Errorf("a resend must reuse the Message-ID: %s then %s", first.TransportID, second.TransportID)
	}
	if second.Meta[MetaMDNDisposition] != first.Meta[MetaMDNDisposition] || !sameMIC(second.Meta[MetaMDNMIC], first.Meta[MetaMDNMIC]) {
		t.Errorf("duplicate MDN %v differs from the first %v", second.Meta, first.Meta)
	}
	if n := len(p.intake.messages()); n != 1 {
		t.Errorf("intake stored %d messages, want 1", n)
	}
}

func TestAsyncMDN(t *testing.T) {
	t.Parallel()
	p := setup(t, func(a, b *Partner) { a.MDN = MDNAsync })
	ctx := context.Background()
	res, err := p.sender.Send(ctx, outbound("async1", samplePayload))
	if err != nil {
		t.Fatal(err)
	}
	if res.Meta[MetaMDNPending] != "true" {
		t.Errorf("Meta = %v, want a pending MDN", res.Meta)
	}
	select {
	case m := <-p.asyncMDNs:
		if m.Err != nil {
			t.Fatalf("async MDN error: %v", m.Err)
		}
		if !m.MDN.Positive() || !m.MDN.Signed || m.Pending.MessageID != res.TransportID {
			t.Errorf("async MDN = %+v for %s", m.MDN, m.Pending.MessageID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no asynchronous MDN")
	}
	if pend, _ := p.sender.PendingMDNs(ctx); len(pend) != 0 {
		t.Errorf("still pending: %v", pend)
	}
}

func TestAsyncMDNRetried(t *testing.T) {
	t.Parallel()
	p := setup(t, func(a, b *Partner) { a.MDN = MDNAsync })
	var calls atomic.Int32
	next := p.mdnSrv.Config.Handler
	p.mdnSrv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		next.ServeHTTP(w, r)
	})
	if _, err := p.sender.Send(context.Background(), outbound("retry", samplePayload)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-p.asyncMDNs:
		if m.Err != nil || !m.MDN.Positive() {
			t.Fatalf("async MDN %+v: %v", m.MDN, m.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no asynchronous MDN after a failed first post")
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("%d posts, want 2", n)
	}
}

func TestAsyncMDNNeverComes(t *testing.T) {
	t.Parallel()
	p := setup(t, func(a, b *Partner) { a.MDN, a.MDNTimeout = MDNAsync, time.Hour })
	// The partner takes the message but never posts the MDN: point it at a dead endpoint.
	p.toThem.AsyncMDNURL = "http://127.0.0.1:1/never"
	ctx := context.Background()
	res, err := p.sender.Send(ctx, outbound("lost", samplePayload))
	if err != nil {
		t.Fatal(err)
	}
	p.receiver.Wait() // the receiver's attempt to post has failed
	if got, _ := p.sender.Expired(ctx, testNow.Add(59*time.Minute)); len(got) != 0 {
		t.Errorf("expired before the deadline: %v", got)
	}
	got, err := p.sender.Expired(ctx, testNow.Add(time.Hour))
	if err != nil || len(got) != 1 || got[0].MessageID != res.TransportID || got[0].OutboundID != "lost" {
		t.Fatalf("Expired = %v, %v; want the one message", got, err)
	}
	if again, _ := p.sender.Expired(ctx, testNow.Add(2*time.Hour)); len(again) != 0 {
		t.Errorf("an expired MDN is reported once, got again %v", again)
	}
}

func TestSyncMDNTimeoutIsUnavailable(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	p := setup(t, func(a, b *Partner) { a.MDNTimeout = 200 * time.Millisecond })
	p.receiverSrv.Config.Handler = hangingHandler(release)
	defer close(release)
	_, err := p.sender.Send(context.Background(), outbound("slow", samplePayload))
	if waybill.Code(err) != waybill.EUNAVAILABLE {
		t.Fatalf("err = %v (code %s), want EUNAVAILABLE", err, waybill.Code(err))
	}
}

func TestIntakeFailureIsRetried(t *testing.T) {
	t.Parallel()
	p := setup(t, nil)
	p.intake.err = waybill.Unavailable(errors.New("database is locked"), "storing")
	_, err := p.sender.Send(context.Background(), outbound("later", samplePayload))
	if waybill.Code(err) != waybill.EUNAVAILABLE {
		t.Fatalf("err = %v, want EUNAVAILABLE (503 without MDN)", err)
	}
}

func TestCertificateRollover(t *testing.T) {
	t.Parallel()
	p := setup(t, nil)
	ctx := context.Background()
	switchAt := time.Hour
	// Both sides announce a new certificate valid from the switch time, and each installs the
	// other's: nothing changes before the switch.
	theirNew := newKeypair(t, "acme-2027", 2, switchAt, 365*24*time.Hour)
	ourNew := newKeypair(t, "waybill-2027", 3, switchAt, 365*24*time.Hour)
	p.receiver.SetStation(&Station{AS2ID: p.them.AS2ID, Certs: []Keypair{p.theirKP, theirNew}})
	p.sender.SetStation(&Station{AS2ID: "WAYBILL", Certs: []Keypair{p.ourKP, ourNew}})
	toThem, toUs := *p.toThem, *p.toUs
	toThem.TheirCerts = append(toThem.TheirCerts, theirNew.Cert)
	toUs.TheirCerts = append(toUs.TheirCerts, ourNew.Cert)
	if err := p.usSide.Put(&toThem); err != nil {
		t.Fatal(err)
	}
	if err := p.themSide.Put(&toUs); err != nil {
		t.Fatal(err)
	}
	if _, err := p.sender.Send(ctx, outbound("before", samplePayload)); err != nil {
		t.Fatalf("before the switch: %v", err)
	}
	p.clock.Add(switchAt + time.Minute)
	if _, err := p.sender.Send(ctx, outbound("after", samplePayload)); err != nil {
		t.Fatalf("after the switch: %v", err)
	}
	msgs := p.intake.messages()
	if len(msgs) != 2 || msgs[0].Meta[MetaSigner] == msgs[1].Meta[MetaSigner] {
		t.Fatalf("want two messages signed with different certificates: %v", msgs)
	}
	if want := ourNew.Cert.SerialNumber.Text(16); !strings.HasSuffix(msgs[1].Meta[MetaSigner], want) {
		t.Errorf("after the switch signer = %s, want serial %s", msgs[1].Meta[MetaSigner], want)
	}
}

func TestCertExpiries(t *testing.T) {
	t.Parallel()
	p := setup(t, nil)
	got := CertExpiries(p.us, p.usSide.All())
	if len(got) != 2 || !got[0].Ours || got[1].Partner != "acme" {
		t.Fatalf("CertExpiries = %+v", got)
	}
	if r := got[1].Remaining(testNow); r != 30*24*time.Hour {
		t.Errorf("Remaining = %v, want 720h", r)
	}
}

func TestAsyncNegativeMDN(t *testing.T) {
	t.Parallel()
	p := setup(t, func(a, b *Partner) {
		a.MDN = MDNAsync
		b.TheirCerts = []*x509.Certificate{validKeypair(t, "not us", 4).Cert}
	})
	if _, err := p.sender.Send(context.Background(), outbound("neg", samplePayload)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-p.asyncMDNs:
		if waybill.Code(m.Err) != waybill.EREJECTED || m.MDN.Failure() != FailAuthentication {
			t.Fatalf("async MDN %q: err %v", m.MDN.Disposition, m.Err)
		}
		if m.Meta[MetaMDNDisposition] != m.MDN.Disposition {
			t.Errorf("Meta = %v", m.Meta)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no asynchronous MDN")
	}
}

func TestMDNHandlerRefusesStrays(t *testing.T) {
	t.Parallel()
	p := setup(t, nil)
	post := func(from string, body string) int {
		req, _ := http.NewRequest(http.MethodPost, p.mdnSrv.URL, strings.NewReader(body))
		req.Header.Set("AS2-From", from)
		req.Header.Set("Content-Type", `multipart/report; report-type=disposition-notification; boundary="B"`)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	report := buildReport("ua", "ACME AS2", "<nobody@WAYBILL>", "", "", "x", "B")
	e, _ := parseEntity(report)
	if got := post("SOMEONE", string(e.body)); got != http.StatusBadRequest {
		t.Errorf("unknown partner: status %d", got)
	}
	if got := post(`"ACME AS2"`, string(e.body)); got != http.StatusBadRequest {
		t.Errorf("no pending message: status %d", got)
	}
	// ACME's profile asks signed MDNs, but an MDN for no pending message is refused first;
	// an unsigned MDN for a pending one is taken and reported as an error.
	if err := p.sender.mdns.PutPending(context.Background(), PendingMDN{MessageID: "<nobody@WAYBILL>", Partner: "acme", SignedMDN: true}); err != nil {
		t.Fatal(err)
	}
	if got := post(`"ACME AS2"`, string(e.body)); got != http.StatusOK {
		t.Errorf("pending message: status %d", got)
	}
	m := <-p.asyncMDNs
	if waybill.Reason(m.Err) != "as2_mdn_unsigned" {
		t.Errorf("err = %v, want as2_mdn_unsigned", m.Err)
	}
}
