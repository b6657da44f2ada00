package as2

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"net/textproto"
	"strings"
)

// errMIME reports a MIME structure this package cannot read.
var errMIME = errors.New("malformed MIME")

// entity is one MIME entity: its headers and body, and the exact bytes it was read from (the
// bytes a signature or a MIC covers).
type entity struct {
	header textproto.MIMEHeader
	body   []byte
	raw    []byte
}

// parseEntity reads headers, a blank line and a body. Lines may end in CRLF or, leniently, LF.
func parseEntity(raw []byte) (*entity, error) {
	var end, sep int
	switch {
	case bytes.HasPrefix(raw, []byte("\r\n")):
		end, sep = 0, 2
	case bytes.HasPrefix(raw, []byte("\n")):
		end, sep = 0, 1
	default:
		crlf := bytes.Index(raw, []byte("\r\n\r\n"))
		lf := bytes.Index(raw, []byte("\n\n"))
		switch {
		case crlf >= 0 && (lf < 0 || crlf <= lf):
			end, sep = crlf+2, 2
		case lf >= 0:
			end, sep = lf+1, 1
		default:
			return nil, fmt.Errorf("%w: no blank line after the headers", errMIME)
		}
	}
	header := textproto.MIMEHeader{}
	if end > 0 {
		r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(raw[:end:end], "\r\n"...))))
		h, err := r.ReadMIMEHeader()
		if err != nil {
			return nil, fmt.Errorf("%w: headers: %v", errMIME, err)
		}
		header = h
	}
	return &entity{header: header, body: raw[end+sep:], raw: raw}, nil
}

// mediaType returns the lower-case media type and its parameters; text/plain when absent.
func (e *entity) mediaType() (string, map[string]string, error) {
	ct := e.header.Get("Content-Type")
	if ct == "" {
		return "text/plain", map[string]string{}, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", nil, fmt.Errorf("%w: Content-Type %q: %v", errMIME, ct, err)
	}
	return mt, params, nil
}

// decodedBody undoes the Content-Transfer-Encoding (binary, 7bit, 8bit or base64).
func (e *entity) decodedBody() ([]byte, error) {
	switch cte := strings.ToLower(strings.TrimSpace(e.header.Get("Content-Transfer-Encoding"))); cte {
	case "", "binary", "7bit", "8bit":
		return e.body, nil
	case "base64":
		return decodeBase64(e.body)
	default:
		return nil, fmt.Errorf("%w: unsupported Content-Transfer-Encoding %q", errMIME, cte)
	}
}

func decodeBase64(b []byte) ([]byte, error) {
	clean := bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, b)
	out := make([]byte, base64.StdEncoding.DecodedLen(len(clean)))
	n, err := base64.StdEncoding.Decode(out, clean)
	if err != nil {
		return nil, fmt.Errorf("%w: base64 body: %v", errMIME, err)
	}
	return out[:n], nil
}

// splitMultipart returns the raw bytes of each body part of a multipart body (RFC 2046 §5.1.1):
// the CRLF before a delimiter belongs to the delimiter, not to the part.
func splitMultipart(body []byte, boundary string) ([][]byte, error) {
	if boundary == "" {
		return nil, fmt.Errorf("%w: multipart without a boundary", errMIME)
	}
	delim := []byte("--" + boundary)
	nlDelim := append([]byte("\n"), delim...)
	i := 0
	if !bytes.HasPrefix(body, delim) {
		j := bytes.Index(body, nlDelim)
		if j < 0 {
			return nil, fmt.Errorf("%w: boundary %q not found", errMIME, boundary)
		}
		i = j + 1
	}
	var parts [][]byte
	for {
		after := body[i+len(delim):]
		if bytes.HasPrefix(after, []byte("--")) {
			if len(parts) == 0 {
				return nil, fmt.Errorf("%w: multipart without parts", errMIME)
			}
			return parts, nil
		}
		nl := bytes.IndexByte(after, '\n')
		if nl < 0 {
			return nil, fmt.Errorf("%w: unterminated multipart", errMIME)
		}
		start := i + len(delim) + nl + 1
		j := bytes.Index(body[start:], nlDelim)
		if j < 0 {
			return nil, fmt.Errorf("%w: missing closing boundary %q", errMIME, boundary)
		}
		end := start + j
		partEnd := end
		if partEnd > start && body[partEnd-1] == '\r' {
			partEnd--
		}
		parts = append(parts, body[start:partEnd])
		i = end + 1
	}
}

// header is one header field in the order it is written.
type header struct{ name, value string }

// buildEntity renders headers and body with CRLF line ends.
func buildEntity(headers []header, body []byte) []byte {
	var b bytes.Buffer
	for _, h := range headers {
		b.WriteString(h.name)
		b.WriteString(": ")
		b.WriteString(h.value)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// buildMultipart joins part entities under boundary.
func buildMultipart(boundary string, parts ...[]byte) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n")
		b.Write(p)
		b.WriteString("\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.Bytes()
}

// base64Lines encodes b in 76-character lines, as MIME wants.
func base64Lines(b []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(b)
	var out bytes.Buffer
	for len(enc) > 76 {
		out.WriteString(enc[:76])
		out.WriteString("\r\n")
		enc = enc[76:]
	}
	out.WriteString(enc)
	out.WriteString("\r\n")
	return out.Bytes()
}

// canonicalCRLF turns bare LF line ends into CRLF (RFC 5751 §3.1.1 canonical form).
func canonicalCRLF(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) {
		return b
	}
	var out bytes.Buffer
	out.Grow(len(b) + len(b)/40)
	for i, c := range b {
		if c == '\n' && (i == 0 || b[i-1] != '\r') {
			out.WriteByte('\r')
		}
		out.WriteByte(c)
	}
	return out.Bytes()
}

// randomToken returns n random bytes in hex, for boundaries and message ids.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// newBoundary returns a fresh multipart boundary.
func newBoundary() string { return "----=_Part_" + randomToken(12) }
