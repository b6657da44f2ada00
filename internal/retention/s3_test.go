package retention_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill/internal/retention"
)

// The signing example of the S3 SigV4 documentation: GET /test.txt with a Range header.
func TestAuthorizationMatchesTheDocumentedExample(t *testing.T) {
	t.Parallel()
	req := httptest.NewRequest(http.MethodGet, "https://examplebucket.s3.amazonaws.com/test.txt", nil)
	req.Host = "examplebucket.s3.amazonaws.com"
	req.Header.Set("Range", "bytes=0-9")
	req.Header.Set("X-Amz-Content-Sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	got := retention.Authorization(req, "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1",
		time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC))
	require.Equal(t, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"+
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", got)
}

// fakeS3 stores objects in memory and checks each request's signature and payload hash.
type fakeS3 struct {
	t       *testing.T
	mu      sync.Mutex
	objects map[string][]byte
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	sum := sha256.Sum256(body)
	if r.Header.Get("X-Amz-Content-Sha256") != hex.EncodeToString(sum[:]) {
		http.Error(w, "XAmzContentSHA256Mismatch", http.StatusBadRequest)
		return
	}
	clone := r.Clone(context.Background())
	clone.Header.Del("Authorization")
	at, _ := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if want := retention.Authorization(clone, "AK", "SECRET", "eu-west-1", at); r.Header.Get("Authorization") != want {
		http.Error(w, "SignatureDoesNotMatch", http.StatusForbidden)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.Method {
	case http.MethodPut:
		f.objects[r.URL.Path] = body
	case http.MethodGet:
		b, ok := f.objects[r.URL.Path]
		if !ok {
			http.Error(w, "NoSuchKey", http.StatusNotFound)
			return
		}
		w.Write(b)
	}
}

func TestS3PutGet(t *testing.T) {
	t.Parallel()
	fake := &fakeS3{t: t, objects: map[string][]byte{}}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	ctx := context.Background()
	s3 := &retention.S3{Endpoint: srv.URL, Bucket: "archive", Region: "eu-west-1", Prefix: "waybill/", AccessKey: "AK", SecretKey: "SECRET"}
	payload := bytes.Repeat([]byte("ISA*00*payload~"), 100)
	require.NoError(t, s3.Put(ctx, "acme/2026/03/02/msg_1.gz", payload))
	stored := fake.objects["/archive/waybill/acme/2026/03/02/msg_1.gz"]
	require.NotEmpty(t, stored)
	require.Less(t, len(stored), len(payload), "stored compressed")
	got, err := s3.Get(ctx, "acme/2026/03/02/msg_1.gz")
	require.NoError(t, err)
	require.Equal(t, payload, got)

	_, err = s3.Get(ctx, "acme/missing.gz")
	require.True(t, retention.IsNotExist(err), "%v", err)

	bad := *s3
	bad.SecretKey = "WRONG"
	err = bad.Put(ctx, "acme/x.gz", payload)
	require.ErrorContains(t, err, "403")
	require.True(t, strings.Contains(err.Error(), "SignatureDoesNotMatch"))
}
