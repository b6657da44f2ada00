package as2

import (
	"bufio"
	"bytes"
	"fmt"
	"net/textproto"
	"strings"
	"time"
)

// Failure is the disposition modifier of a negative MDN (RFC 4130 §7.4.3).
type Failure string

const (
	// FailDecryption: the message could not be decrypted (no key of ours, corrupt envelope).
	FailDecryption Failure = "decryption-failed"
	// FailAuthentication: the signature does not verify with the partner's valid certificates, or
	// the sender is not a known partner.
	FailAuthentication Failure = "authentication-failed"
	// FailIntegrity: the signature is good but the content does not match its digest.
	FailIntegrity Failure = "integrity-check-failed"
	// FailInsufficientSecurity: the message lacks a signature or encryption the partner profile
	// requires, or uses an algorithm it does not allow (SHA-1, 3DES).
	FailInsufficientSecurity Failure = "insufficient-message-security"
	// FailDecompression: the compressed content could not be expanded.
	FailDecompression Failure = "decompression-failed"
	// FailUnexpected: anything else (malformed MIME, missing headers, an unknown recipient).
	FailUnexpected Failure = "unexpected-processing-error"
)

// ProcessingError is why an inbound message was refused; it becomes a negative MDN.
type ProcessingError struct {
	Failure Failure
	Err     error
}

func (e *ProcessingError) Error() string { return string(e.Failure) + ": " + e.Err.Error() }
func (e *ProcessingError) Unwrap() error { return e.Err }

func fail(f Failure, format string, args ...any) *ProcessingError {
	return &ProcessingError{Failure: f, Err: fmt.Errorf(format, args...)}
}

// MDN is a message disposition notification, received or sent.
type MDN struct {
	MessageID         string // the MDN's own Message-ID
	OriginalMessageID string // the Message-ID of the message it acknowledges
	ReportingUA       string
	FinalRecipient    string
	Disposition       string // the Disposition field, e.g. "automatic-action/MDN-sent-automatically; processed"
	ReceivedMIC       string // "base64digest, sha-256"; may be empty on a negative MDN
	Text              string // the human-readable part
	Signed            bool   // the MDN was signed and the signature verified
}

// Positive reports whether the disposition is "processed" without an error or failure modifier
// (a warning is still positive).
func (m *MDN) Positive() bool {
	typ, mod := m.disposition()
	if typ != "processed" {
		return false
	}
	kind, _, _ := strings.Cut(mod, ":")
	kind = strings.ToLower(strings.TrimSpace(kind))
	return kind == "" || kind == "warning"
}

// Failure returns the modifier's description of a negative MDN ("decryption-failed"), or "".
func (m *MDN) Failure() Failure {
	if m.Positive() {
		return ""
	}
	_, mod := m.disposition()
	_, desc, found := strings.Cut(mod, ":")
	if !found {
		return Failure(strings.TrimSpace(mod))
	}
	return Failure(strings.ToLower(strings.TrimSpace(desc)))
}

// disposition splits "action-mode/sending-mode; type/modifier".
func (m *MDN) disposition() (typ, modifier string) {
	_, rest, _ := strings.Cut(m.Disposition, ";")
	typ, modifier, _ = strings.Cut(strings.TrimSpace(rest), "/")
	return strings.ToLower(strings.TrimSpace(typ)), strings.TrimSpace(modifier)
}

// mdnRequest is what the sender of a message asked for.
type mdnRequest struct {
	wanted     bool     // Disposition-Notification-To present
	signed     bool     // signed-receipt-protocol includes pkcs7-signature
	micAlgs    []MICAlg // signed-receipt-micalg, in the sender's order
	asyncURL   string   // Receipt-Delivery-Option
	requiredOK bool     // false when a "required" option cannot be honoured
}

// parseMDNRequest reads Disposition-Notification-To, -Options and Receipt-Delivery-Option.
func parseMDNRequest(h textproto.MIMEHeader) mdnRequest {
	r := mdnRequest{wanted: h.Get("Disposition-Notification-To") != "", requiredOK: true,
		asyncURL: strings.TrimSpace(h.Get("Receipt-Delivery-Option"))}
	for opt := range strings.SplitSeq(h.Get("Disposition-Notification-Options"), ";") {
		name, value, ok := strings.Cut(opt, "=")
		if !ok {
			continue
		}
		vals := strings.Split(value, ",")
		importance := strings.ToLower(strings.TrimSpace(vals[0]))
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "signed-receipt-protocol":
			for _, v := range vals[1:] {
				if strings.EqualFold(strings.TrimSpace(v), "pkcs7-signature") {
					r.signed = true
				}
			}
			if !r.signed && importance == "required" {
				r.requiredOK = false
			}
		case "signed-receipt-micalg":
			for _, v := range vals[1:] {
				if a, ok := ParseMICAlg(v); ok {
					r.micAlgs = append(r.micAlgs, a)
				}
			}
			if len(r.micAlgs) == 0 && importance == "required" {
				r.requiredOK = false
			}
		}
	}
	return r
}

// micAlg picks the MIC algorithm: the first requested one the partner allows, else the
// signature's digest, else SHA-256.
func (r mdnRequest) micAlg(sigAlg MICAlg, allowInsecure bool) MICAlg {
	for _, a := range r.micAlgs {
		if !a.Insecure() || allowInsecure {
			return a
		}
	}
	if sigAlg != "" {
		return sigAlg
	}
	return SHA256
}

// mdnOptions renders Disposition-Notification-Options asking for a signed MDN with alg.
func mdnOptions(alg MICAlg) string {
	return "signed-receipt-protocol=optional, pkcs7-signature; signed-receipt-micalg=optional, " + string(alg)
}

// buildReport renders the multipart/report entity of an MDN (RFC 3798, RFC 4130 §7.4).
// boundary separates its parts.
func buildReport(ua, recipient, origID, mic string, f Failure, text, boundary string) []byte {
	disp := "automatic-action/MDN-sent-automatically; processed"
	if f != "" {
		disp += "/error: " + string(f)
	}
	fields := []header{
		{"Reporting-UA", ua},
		{"Original-Recipient", "rfc822; " + recipient},
		{"Final-Recipient", "rfc822; " + recipient},
		{"Original-Message-ID", origID},
	}
	if mic != "" {
		fields = append(fields, header{"Received-Content-MIC", mic})
	}
	fields = append(fields, header{"Disposition", disp})
	notification := buildEntity([]header{{"Content-Type", "message/disposition-notification"},
		{"Content-Transfer-Encoding", "7bit"}}, buildEntity(fields, nil))
	human := buildEntity([]header{{"Content-Type", "text/plain; charset=us-ascii"},
		{"Content-Transfer-Encoding", "7bit"}}, canonicalCRLF([]byte(text+"\r\n")))
	return buildEntity([]header{
		{"MIME-Version", "1.0"},
		{"Content-Type", fmt.Sprintf(`multipart/report; report-type=disposition-notification; boundary="%s"`, boundary)},
	}, buildMultipart(boundary, human, notification))
}

// mdnText is the human-readable sentence of an MDN.
func mdnText(origID string, f Failure, detail string, at time.Time) string {
	if f == "" {
		return fmt.Sprintf("The AS2 message %s received on %s was stored and will be processed. "+
			"This receipt does not say anything about its content.", origID, at.UTC().Format(time.RFC1123))
	}
	return fmt.Sprintf("The AS2 message %s received on %s was refused: %s (%s).", origID, at.UTC().Format(time.RFC1123), f, detail)
}

// parseReport reads a multipart/report entity into an MDN (Signed left false).
func parseReport(e *entity) (*MDN, error) {
	mt, params, err := e.mediaType()
	if err != nil {
		return nil, err
	}
	if mt != "multipart/report" {
		return nil, fmt.Errorf("%w: MDN is %s, want multipart/report", errMIME, mt)
	}
	parts, err := splitMultipart(e.body, params["boundary"])
	if err != nil {
		return nil, err
	}
	m := &MDN{}
	found := false
	for _, raw := range parts {
		p, err := parseEntity(raw)
		if err != nil {
			return nil, err
		}
		pmt, _, err := p.mediaType()
		if err != nil {
			return nil, err
		}
		body, err := p.decodedBody()
		if err != nil {
			return nil, err
		}
		switch pmt {
		case "message/disposition-notification":
			r := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(canonicalCRLF(bytesTrimCRLF(body)), "\r\n\r\n"...))))
			h, err := r.ReadMIMEHeader()
			if err != nil {
				return nil, fmt.Errorf("%w: disposition notification: %v", errMIME, err)
			}
			m.ReportingUA = h.Get("Reporting-UA")
			m.FinalRecipient = h.Get("Final-Recipient")
			m.OriginalMessageID = strings.TrimSpace(h.Get("Original-Message-ID"))
			m.Disposition = strings.TrimSpace(h.Get("Disposition"))
			m.ReceivedMIC = strings.TrimSpace(h.Get("Received-Content-MIC"))
			found = true
		case "text/plain":
			if m.Text == "" {
				m.Text = strings.TrimSpace(string(body))
			}
		}
	}
	if !found || m.Disposition == "" {
		return nil, fmt.Errorf("%w: MDN without a disposition notification", errMIME)
	}
	return m, nil
}
