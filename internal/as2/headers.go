package as2

import (
	"net/http"
	"sort"
	"strings"
	"time"
)

// AS2 header and metadata names.
const (
	// AS2Version is what we send in AS2-Version: 1.2 announces compression (RFC 5402) and the
	// other EDIINT features we support.
	AS2Version = "1.2"

	// Keys of waybill.InboundMessage.Meta and waybill.SendResult.Meta.
	MetaMessageID      = "as2_message_id"     // Message-ID of the AS2 message
	MetaFrom           = "as2_from"           // AS2-From
	MetaTo             = "as2_to"             // AS2-To
	MetaSubject        = "as2_subject"        // Subject
	MetaMDNTo          = "as2_mdn_to"         // Disposition-Notification-To ("" when no MDN was asked)
	MetaMDNMode        = "as2_mdn_mode"       // sync, async or none
	MetaMIC            = "as2_mic"            // the MIC we computed ("digest, alg")
	MetaSigned         = "as2_signed"         // "true" when the message carried a verified signature
	MetaSignAlg        = "as2_sign_alg"       // the signature digest
	MetaSigner         = "as2_signer"         // the signer certificate: subject and serial
	MetaEncrypted      = "as2_encrypted"      // "true" when the message was encrypted
	MetaEncAlg         = "as2_enc_alg"        // the content encryption
	MetaCompressed     = "as2_compressed"     // "true" when the message was compressed
	MetaMDNMessageID   = "as2_mdn_message_id" // the MDN's own Message-ID
	MetaMDNDisposition = "as2_mdn_disposition"
	MetaMDNMIC         = "as2_mdn_mic"      // Received-Content-MIC in the MDN
	MetaMDNSigned      = "as2_mdn_signed"   // "true" when the MDN's signature verified
	MetaMDNPending     = "as2_mdn_pending"  // "true" when an asynchronous MDN is awaited
	MetaMDNDeadline    = "as2_mdn_deadline" // RFC 3339 time after which a missing async MDN is an exception
)

// quoteAS2ID quotes an AS2 name that is not a plain token (RFC 4130 §6.2).
func quoteAS2ID(id string) string {
	if strings.ContainsAny(id, " \t\"\\()<>@,;:/[]?=") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(id) + `"`
	}
	return id
}

// unquoteAS2ID undoes quoteAS2ID.
func unquoteAS2ID(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = strings.NewReplacer(`\\`, `\`, `\"`, `"`).Replace(v[1 : len(v)-1])
	}
	return v
}

// newMessageID returns a fresh Message-ID for an AS2 name.
func newMessageID(as2ID string) string { return messageIDFor(randomToken(16), as2ID) }

// messageIDFor builds "<local@domain>" from a local part and an AS2 name.
func messageIDFor(local, as2ID string) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
				return r
			}
			return '_'
		}, s)
	}
	return "<" + clean(local) + "@" + clean(as2ID) + ">"
}

// dumpRequest renders an HTTP request's headers and body as they are archived.
func dumpRequest(h http.Header, body []byte) []byte {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var hs []header
	for _, k := range keys {
		for _, v := range h[k] {
			hs = append(hs, header{k, v})
		}
	}
	return buildEntity(hs, body)
}

// as2Headers sets the headers every AS2 request and response carries.
func as2Headers(h http.Header, from, to, msgID string, now time.Time) {
	h.Set("AS2-Version", AS2Version)
	h.Set("AS2-From", quoteAS2ID(from))
	h.Set("AS2-To", quoteAS2ID(to))
	h.Set("Message-ID", msgID)
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	h.Set("MIME-Version", "1.0")
}

// docTypeFor maps a payload content type to waybill.InboundMessage.DocType ("" to detect).
func docTypeFor(contentType string) string {
	switch strings.ToLower(contentType) {
	case "application/edi-x12":
		return "x12"
	case "application/edifact":
		return "edifact"
	}
	return ""
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
