package retention

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// S3 is an Archive in an S3-compatible bucket (AWS S3, MinIO, Ceph, R2, ...): each payload is a
// gzip object at Prefix+key, written with PUT and read with GET, signed with AWS Signature
// Version 4. Its exported fields may be changed until the first Put or Get.
type S3 struct {
	// Endpoint is the service URL: https://s3.eu-west-1.amazonaws.com, http://127.0.0.1:9000.
	Endpoint string
	Bucket   string
	Region   string // us-east-1 when empty
	Prefix   string // prepended to every key ("waybill/")
	// AccessKey and SecretKey are the credentials; take them from the environment or a file.
	AccessKey, SecretKey string
	// VirtualHost addresses the bucket as bucket.endpoint-host; the default is path style
	// (endpoint/bucket/key), which every S3-compatible server accepts.
	VirtualHost bool
	Client      *http.Client
	// Now is the signing clock (tests); time.Now when nil.
	Now func() time.Time
}

var _ Archive = (*S3)(nil)

func (s *S3) objectURL(key string) (*url.URL, error) {
	u, err := url.Parse(s.Endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("s3 endpoint must be an http(s) URL, not %q", s.Endpoint)
	}
	if s.Bucket == "" {
		return nil, fmt.Errorf("s3 bucket is required")
	}
	full := s.Prefix + key
	if s.VirtualHost {
		u.Host = s.Bucket + "." + u.Host
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + full
	} else {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/" + s.Bucket + "/" + full
	}
	return u, nil
}

func (s *S3) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{Timeout: time.Minute}
}

// Put uploads payload gzip-compressed. S3 PUTs replace an object whole, so a retried Put leaves
// one object.
func (s *S3) Put(ctx context.Context, key string, payload []byte) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(payload); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	u, err := s.objectURL(key)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), bytes.NewReader(buf.Bytes()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/gzip")
	s.sign(req, buf.Bytes())
	resp, err := s.client().Do(req)
	if err != nil {
		return fmt.Errorf("archiving %s to s3: %w", key, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return fmt.Errorf("archiving %s to s3: %s: %s", key, resp.Status, strings.TrimSpace(string(msg)))
	}
	return nil
}

// Get downloads and decompresses an object; a missing object is an error wrapping
// fs.ErrNotExist.
func (s *S3) Get(ctx context.Context, key string) ([]byte, error) {
	u, err := s.objectURL(key)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	s.sign(req, nil)
	resp, err := s.client().Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading %s from s3: %w", key, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("reading %s from s3: %w", key, fs.ErrNotExist)
	case resp.StatusCode/100 != 2:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return nil, fmt.Errorf("reading %s from s3: %s: %s", key, resp.Status, strings.TrimSpace(string(msg)))
	}
	zr, err := gzip.NewReader(io.LimitReader(resp.Body, MaxPayload))
	if err != nil {
		return nil, fmt.Errorf("archive object %s: %w", key, err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, MaxPayload+1))
	if err != nil {
		return nil, fmt.Errorf("archive object %s: %w", key, err)
	}
	if len(b) > MaxPayload {
		return nil, fmt.Errorf("archive object %s is larger than %d bytes", key, MaxPayload)
	}
	return b, nil
}

// sign adds the x-amz-date, x-amz-content-sha256 and Authorization headers of AWS Signature
// Version 4 for service s3, signing every header the request carries.
func (s *S3) sign(req *http.Request, body []byte) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	region := s.Region
	if region == "" {
		region = "us-east-1"
	}
	sum := sha256.Sum256(body)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	req.Header.Set("Authorization", Authorization(req, s.AccessKey, s.SecretKey, region, now().UTC()))
}

// Authorization computes the AWS Signature Version 4 Authorization header of req for service s3
// at time t, setting req's X-Amz-Date. req must carry X-Amz-Content-Sha256 (the hex SHA-256 of
// its body). Every header present is signed, except Authorization, User-Agent, Accept-Encoding
// and Content-Length, which proxies may change.
func Authorization(req *http.Request, accessKey, secretKey, region string, t time.Time) string {
	amzDate := t.Format("20060102T150405Z")
	date := t.Format("20060102")
	req.Header.Set("X-Amz-Date", amzDate)
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	headers := map[string]string{"host": host}
	for k, v := range req.Header {
		lk := strings.ToLower(k)
		switch lk {
		case "authorization", "user-agent", "accept-encoding", "content-length":
			continue
		}
		vs := make([]string, len(v))
		for i := range v {
			vs[i] = strings.Join(strings.Fields(v[i]), " ")
		}
		headers[lk] = strings.Join(vs, ",")
	}
	names := make([]string, 0, len(headers))
	for k := range headers {
		names = append(names, k)
	}
	sort.Strings(names)
	var canon strings.Builder
	for _, n := range names {
		canon.WriteString(n + ":" + headers[n] + "\n")
	}
	signed := strings.Join(names, ";")
	creq := strings.Join([]string{req.Method, canonicalPath(req.URL), canonicalQuery(req.URL), canon.String(), signed,
		req.Header.Get("X-Amz-Content-Sha256")}, "\n")
	scope := date + "/" + region + "/s3/aws4_request"
	h := sha256.Sum256([]byte(creq))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(h[:])
	key := hmacSHA256([]byte("AWS4"+secretKey), date)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, "s3")
	key = hmacSHA256(key, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))
	return "AWS4-HMAC-SHA256 Credential=" + accessKey + "/" + scope + ",SignedHeaders=" + signed + ",Signature=" + sig
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// canonicalPath is the URI-encoded path, each byte outside A-Z a-z 0-9 - _ . ~ and / escaped.
func canonicalPath(u *url.URL) string {
	p := u.Path
	if p == "" {
		return "/"
	}
	return awsEscape(p, false)
}

func canonicalQuery(u *url.URL) string {
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, awsEscape(k, true)+"="+awsEscape(v, true))
		}
	}
	return strings.Join(parts, "&")
}

func awsEscape(s string, slash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		case c == '/' && !slash:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
