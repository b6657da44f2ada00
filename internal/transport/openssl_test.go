package transport_test

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
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/store"
)

func openssl(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl is not installed (apt-get install -y openssl)")
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	require.NoError(t, err, "openssl %s\n%s", strings.Join(args, " "), stderr.String())
	return out
}

// A message signed and encrypted by `openssl cms` (the partner's key, our certificate) is
// received by the running hub, answered with a positive signed MDN, and its order processed once
// (the resend is a duplicate).
func TestOpenSSLToHub(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	dir := t.TempDir()
	entity := "Content-Type: application/json\r\nContent-Disposition: attachment; filename=\"po-ossl.json\"\r\n\r\n" + string(orderJSON("OSSL-1"))
	writeFile(t, filepath.Join(dir, "content"), []byte(entity))
	openssl(t, dir, "cms", "-sign", "-binary", "-md", "sha256", "-in", "content", "-signer", b.acme.certFile, "-inkey", b.acme.keyFile,
		"-outform", "SMIME", "-out", "signed")
	openssl(t, dir, "cms", "-encrypt", "-aes-256-cbc", "-binary", "-in", "signed", "-outform", "DER", "-out", "msg.der", b.hubStation.certFile)
	body, err := os.ReadFile(filepath.Join(dir, "msg.der"))
	require.NoError(t, err)
	hdr := map[string]string{"AS2-From": `"ACME AS2"`, "AS2-To": "WAYBILL", "AS2-Version": "1.2", "Message-ID": "<ossl-1@acme>",
		"Content-Type": "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m", "Disposition-Notification-To": "as2@acme",
		"Disposition-Notification-Options": "signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, sha-256"}
	for i := range 2 {
		resp := post(t, b.hubURL+"/as2", "", body, hdr)
		mdn := readAll(t, resp)
		require.Equal(t, http.StatusOK, resp.StatusCode, mdn)
		require.Contains(t, mdn, "automatic-action/MDN-sent-automatically; processed", "attempt %d", i)
		require.NotContains(t, mdn, "processed/error")
		require.Contains(t, resp.Header.Get("Content-Type"), "multipart/signed")
	}
	b.eventually(t, 10*time.Second, func() bool { return b.stateOf(t, "OSSL-1") == waybill.OrderAccepted })
	require.Len(t, b.orders(t, "OSSL-1"), 1)
	msgs := b.messages(t, "acme")
	require.Len(t, msgs, 2)
	require.Equal(t, "po-ossl.json", msgs[len(msgs)-1].Filename)
}

// What the hub sends to an AS2 partner is decrypted and verified by `openssl cms` with the
// partner's key and our certificate.
func TestHubToOpenSSL(t *testing.T) {
	t.Parallel()
	b := setup(t, "sqlite", options{})
	var mu sync.Mutex
	var got []byte
	var ctype string
	capture := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, ctype = data, r.Header.Get("Content-Type")
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(capture.Close)
	rebuild(t, b, func(a *partner.AS2) { a.URL, a.MDN = capture.URL, "none" })
	ctx := context.Background()
	id := emit(t, b, "acme", waybill.ChannelAS2, "855", "ack.edi", []byte("ISA*00*openssl~"))
	b.eventually(t, 10*time.Second, func() bool { m, _ := b.db.Message(ctx, id); return m.State == store.MessageSent })
	mu.Lock()
	defer mu.Unlock()
	require.Contains(t, ctype, "enveloped-data")
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "msg.der"), got)
	openssl(t, dir, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", "msg.der", "-recip", b.acme.certFile, "-inkey", b.acme.keyFile, "-out", "signed.mime")
	content := openssl(t, dir, "cms", "-verify", "-inform", "SMIME", "-in", "signed.mime", "-CAfile", b.hubStation.certFile)
	require.Contains(t, string(content), "ISA*00*openssl~")
}
