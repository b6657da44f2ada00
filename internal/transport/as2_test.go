package transport_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/as2"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/internal/transport"
)

// An order sent over AS2 by a second AS2 station (signed, encrypted, signed MDN asked) is stored,
// processed and acknowledged; the MDN comes only once the message is durable; a resend with the
// same Message-ID gets the same positive MDN and is not processed again.
func TestAS2InboundOrder(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be, options{})
		ctx := context.Background()
		out := waybill.OutboundMessage{ID: "acme-po-1", Partner: "hub", DocType: "order-json", ContentType: "application/json",
			Payload: orderJSON("AS2-PO-1")}
		res, err := b.acmeSender.Send(ctx, out)
		require.NoError(t, err)
		require.Contains(t, res.Meta[as2.MetaMDNDisposition], "processed")
		require.Equal(t, "true", res.Meta[as2.MetaMDNSigned])
		msgs := b.messages(t, "acme")
		require.Len(t, msgs, 1, "the MDN came after the message was stored")
		require.Equal(t, res.TransportID, msgs[0].TransportID)
		require.Equal(t, "true", msgs[0].Meta[as2.MetaSigned])
		require.Equal(t, "true", msgs[0].Meta[as2.MetaEncrypted])
		b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "AS2-PO-1") == waybill.OrderAccepted })

		again, err := b.acmeSender.Send(ctx, out)
		require.NoError(t, err, "a resend gets a positive MDN")
		require.Equal(t, res.TransportID, again.TransportID)
		require.Contains(t, again.Meta[as2.MetaMDNDisposition], "processed")
		msgs = b.messages(t, "acme")
		require.Len(t, msgs, 2)
		dups := 0
		for _, m := range msgs {
			if m.State == store.MessageDuplicate {
				dups++
			}
		}
		require.Equal(t, 1, dups)
		require.Len(t, b.orders(t, "AS2-PO-1"), 1)
		require.Equal(t, 1, b.erp.Stats().Orders)

		raw, err := b.db.RawRecords(ctx, "as2", res.TransportID)
		require.NoError(t, err)
		require.Len(t, raw, 2, "both requests archived raw, before opening")
		require.Contains(t, strings.ToLower(string(raw[0].Raw[:200])), "as2-from: \"acme as2\"")
	})
}

// A malformed AS2 message gets a negative MDN with the right disposition and stores nothing.
func TestAS2MalformedGetsNegativeMDN(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	resp := post(t, b.hubURL+"/as2", "", []byte("this is not S/MIME"), map[string]string{
		"AS2-From": `"ACME AS2"`, "AS2-To": "WAYBILL", "Message-ID": "<bad-1@ACME>", "AS2-Version": "1.2",
		"Content-Type": "application/pkcs7-mime; smime-type=enveloped-data", "Disposition-Notification-To": "as2@acme"})
	body := readAll(t, resp)
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, body, "processed/error: decryption-failed")
	require.Empty(t, b.messages(t, "acme"))
}

// A message signed with a certificate the profile does not hold (expired or wrong) is refused
// with authentication-failed and not stored.
func TestAS2WrongCertificate(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	impostor := newStation(t, t.TempDir(), "ACME AS2")
	snd := as2.NewSender(impostor.st, b.acmePeers, nil, nil)
	_, err := snd.Send(context.Background(), waybill.OutboundMessage{ID: "x1", Partner: "hub", DocType: "order-json", Payload: orderJSON("BAD-1")})
	require.Error(t, err)
	require.Equal(t, waybill.EREJECTED, waybill.Code(err))
	require.Contains(t, err.Error(), "authentication-failed")
	require.Empty(t, b.messages(t, "acme"))
}

// A document the hub emits for an AS2 partner is sent, the partner's signed MDN verified, and the
// MDN recorded in the trace (outbound.sent).
func TestAS2Outbound(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, be string) {
		b := setup(t, be, options{})
		ctx := context.Background()
		id := emit(t, b, "acme", waybill.ChannelAS2, "855", "855.edi", []byte("ISA*00*...~"))
		b.eventually(t, 10*time.Second, func() bool { m, _ := b.db.Message(ctx, id); return m.State == store.MessageSent })
		got := b.acmeInbox.received()
		require.Len(t, got, 1)
		require.Equal(t, "ISA*00*...~", string(got[0].Payload))
		m, err := b.db.Message(ctx, id)
		require.NoError(t, err)
		trail, err := b.db.AuditTrail(ctx, m.CorrelationID)
		require.NoError(t, err)
		last := trail[len(trail)-1]
		require.Equal(t, "outbound.sent", last.Kind)
		require.Contains(t, last.Detail[as2.MetaMDNDisposition], "processed")
		require.Equal(t, "true", last.Detail[as2.MetaMDNSigned])
		require.Equal(t, last.Detail[as2.MetaMIC], last.Detail[as2.MetaMDNMIC])
	})
}

// An asynchronous MDN posted to the hub's MDN endpoint marks the delivery acknowledged.
func TestAS2OutboundAsyncMDN(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	ctx := context.Background()
	rebuild(t, b, func(a *partner.AS2) { a.MDN, a.AsyncMDNURL, a.MDNTimeout = "async", b.hubURL+"/as2/mdn", time.Minute })
	id := emit(t, b, "acme", waybill.ChannelAS2, "856", "856.edi", []byte("ISA*asn~"))
	b.eventually(t, 10*time.Second, func() bool { m, _ := b.db.Message(ctx, id); return m.State == store.MessageAcked })
	m, _ := b.db.Message(ctx, id)
	require.Contains(t, b.kinds(t, m.CorrelationID), "outbound.mdn")
	pending, err := b.db.PendingMDNs(ctx)
	require.NoError(t, err)
	require.Empty(t, pending)
}

// An asynchronous MDN that never comes becomes, after its deadline, a dead letter of the
// delivery (reason as2_mdn_missing) that an operator can replay.
func TestAS2MissingMDNBecomesDeadLetter(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	ctx := context.Background()
	rebuild(t, b, func(a *partner.AS2) {
		a.MDN, a.AsyncMDNURL, a.MDNTimeout = "async", "http://127.0.0.1:1/nowhere", 50*time.Millisecond
	})
	id := emit(t, b, "acme", waybill.ChannelAS2, "810", "810.edi", []byte("ISA*inv~"))
	b.eventually(t, 10*time.Second, func() bool { m, _ := b.db.Message(ctx, id); return m.State == store.MessageSent })
	require.Eventually(t, func() bool { n, _ := b.ch.CheckMDNs(ctx); return n == 1 }, 5*time.Second, 20*time.Millisecond)
	dls, err := b.db.DeadLetters(ctx, store.DeadLetterFilter{})
	require.NoError(t, err)
	require.Len(t, dls, 1)
	require.Equal(t, "as2_mdn_missing", dls[0].Reason)
	require.Equal(t, id, dls[0].MessageID)
	m, _ := b.db.Message(ctx, id)
	require.Equal(t, store.MessageDead, m.State)
	n, err := b.ch.CheckMDNs(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "each missing MDN is reported once")

	// The partner is back (MDN now synchronous): the replay sends the message again, same Message-ID.
	rebuild(t, b, nil)
	require.NoError(t, b.app.Hub.Replay(ctx, dls[0].ID, "ops"))
	b.eventually(t, 10*time.Second, func() bool { m, _ := b.db.Message(ctx, id); return m.State == store.MessageSent })
	got := b.acmeInbox.received()
	require.Len(t, got, 1, "the partner took the message once (the resend was a duplicate Message-ID)")
}

func emit(t *testing.T, b *bundle, partner string, ch waybill.Channel, docType, filename string, payload []byte) string {
	t.Helper()
	var id string
	err := b.db.InTx(context.Background(), func(tx *store.Tx) error {
		var err error
		id, err = b.app.Hub.Emit(context.Background(), tx, &waybill.OutboundMessage{Partner: partner, Channel: ch, DocType: docType,
			Filename: filename, Payload: payload})
		return err
	})
	require.NoError(t, err)
	return id
}

// rebuild reloads acme's AS2 profile (as in setup, changed by mod) into the running channels.
func rebuild(t *testing.T, b *bundle, mod func(*partner.AS2)) {
	t.Helper()
	a := &partner.AS2{AS2ID: "ACME AS2", URL: b.acmeServer.URL, CertFiles: []string{"acme-as2.crt"}, Sign: true, Encrypt: true,
		SignedMDN: true, MDNTimeout: 10 * time.Second}
	if mod != nil {
		mod(a)
	}
	require.NoError(t, b.ch.ReloadAS2(transport.PartnerTransport{ID: "acme", Dir: b.dir, Transport: partner.Transport{AS2: a}}))
}

func readAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(data)
}

// Every AS2 certificate (ours and the partner's) is exported with its time to expiry.
func TestAS2CertificateExpiryMetric(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	resp, err := http.Get(b.hubURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body := readAll(t, resp)
	var lines []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "waybill_as2_certificate_expiry_seconds{") {
			lines = append(lines, l)
		}
	}
	require.Len(t, lines, 2, body)
	require.Contains(t, strings.Join(lines, "\n"), `ours="true",partner=""`)
	require.Contains(t, strings.Join(lines, "\n"), `ours="false",partner="acme"`)
	require.Len(t, b.ch.CertExpiries(), 2)
	require.Greater(t, b.ch.CertExpiries()[0].Remaining(time.Now()), 300*24*time.Hour)
}

// A partner whose certificate in our profile has expired is refused (authentication-failed),
// and nothing is stored; a rollover to its new certificate (ReloadAS2) lets it through at once.
func TestAS2ExpiredPartnerCertificate(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	key := b.acme.st.Certs[0].Key
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: b.acme.cert.Subject, NotBefore: time.Now().Add(-2 * 365 * 24 * time.Hour),
		NotAfter: time.Now().Add(-24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	require.NoError(t, err)
	writeFile(t, filepath.Join(b.dir, "acme-expired.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	rebuild(t, b, func(a *partner.AS2) { a.CertFiles = []string{"acme-expired.crt"} })
	out := waybill.OutboundMessage{ID: "exp-1", Partner: "hub", DocType: "order-json", Payload: orderJSON("EXP-1")}
	_, err = b.acmeSender.Send(context.Background(), out)
	require.Error(t, err)
	require.Contains(t, err.Error(), "authentication-failed")
	require.Empty(t, b.messages(t, "acme"))

	rebuild(t, b, func(a *partner.AS2) { a.CertFiles = []string{"acme-expired.crt", "acme-as2.crt"} })
	_, err = b.acmeSender.Send(context.Background(), out)
	require.NoError(t, err)
	require.Len(t, b.messages(t, "acme"), 1)
}

// An asynchronous MDN the hub owes goes through the outbound pipeline: stored, retried when the
// partner's endpoint fails, and recorded as sent.
func TestAS2InboundAsyncMDNIsDurable(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	ctx := context.Background()
	got := make(chan as2.AsyncMDN, 1)
	b.acmeSender.OnAsyncMDN = func(_ context.Context, m as2.AsyncMDN) { got <- m }
	var calls atomic.Int32
	mdns := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			http.Error(w, "down for a moment", http.StatusServiceUnavailable)
			return
		}
		b.acmeSender.MDNHandler().ServeHTTP(w, r)
	}))
	defer mdns.Close()
	require.NoError(t, b.acmePeers.Put(&as2.Partner{ID: "hub", AS2ID: "WAYBILL", URL: b.hubURL + "/as2",
		TheirCerts: []*x509.Certificate{b.hubStation.cert}, Sign: true, Encrypt: true, SignedMDN: true,
		MDN: as2.MDNAsync, AsyncMDNURL: mdns.URL, MDNTimeout: time.Minute}))
	out := waybill.OutboundMessage{ID: "acme-po-async", Partner: "hub", DocType: "order-json", ContentType: "application/json",
		Payload: orderJSON("AS2-ASYNC-1")}
	_, err := b.acmeSender.Send(ctx, out)
	require.NoError(t, err)
	select {
	case m := <-got:
		require.Contains(t, m.Meta[as2.MetaMDNDisposition], "processed")
	case <-time.After(20 * time.Second):
		t.Fatal("the asynchronous MDN did not arrive")
	}
	require.GreaterOrEqual(t, calls.Load(), int32(2), "the first post failed and was retried")
	b.eventually(t, 10*time.Second, func() bool {
		ms, err := b.app.Storage.DB.Messages(ctx, store.MessageFilter{Partner: "acme", Direction: store.Outbound, DocType: "mdn"})
		return err == nil && len(ms) == 1 && ms[0].State == store.MessageSent
	})
}
