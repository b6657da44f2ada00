package as2

import (
	"encoding/asn1"
	"errors"
	"strings"
)

// MICAlg names a digest as AS2 headers spell it (micalg, signed-receipt-micalg and
// Received-Content-MIC).
type MICAlg string

const (
	SHA256 MICAlg = "sha-256" // The default for signatures and MICs.
	SHA384 MICAlg = "sha-384"
	SHA512 MICAlg = "sha-512"
	SHA1   MICAlg = "sha1" // Legacy: accepted or used only when Partner.AllowInsecureAlgs is set.
)

// ParseMICAlg reads the spellings partners use ("sha-256", "sha256", "SHA-256", "sha1",
// "sha-1"). It returns false for anything else (md5 included).
func ParseMICAlg(s string) (MICAlg, bool) {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "") {
	case "sha256":
		return SHA256, true
	case "sha384":
		return SHA384, true
	case "sha512":
		return SHA512, true
	case "sha1":
		return SHA1, true
	}
	return "", false
}

// Insecure reports whether the digest is only acceptable for partners that allow legacy algorithms.
func (a MICAlg) Insecure() bool { return a == SHA1 }

func (a MICAlg) oid() asn1.ObjectIdentifier {
	switch a {
	case SHA1:
		return oidSHA1
	case SHA384:
		return oidSHA384
	case SHA512:
		return oidSHA512
	}
	return oidSHA256
}

func micAlgForOID(oid asn1.ObjectIdentifier) (MICAlg, bool) {
	for _, a := range []MICAlg{SHA1, SHA256, SHA384, SHA512} {
		if a.oid().Equal(oid) {
			return a, true
		}
	}
	return "", false
}

// EncAlg names a content-encryption algorithm.
type EncAlg string

const (
	AES128CBC EncAlg = "aes128-cbc"
	AES192CBC EncAlg = "aes192-cbc"
	AES256CBC EncAlg = "aes256-cbc" // The default.
	AES128GCM EncAlg = "aes128-gcm" // Sent as AuthEnvelopedData (RFC 5083/5084).
	AES256GCM EncAlg = "aes256-gcm" // Sent as AuthEnvelopedData (RFC 5083/5084).
	TripleDES EncAlg = "3des"       // Legacy: only when Partner.AllowInsecureAlgs is set.
)

// Insecure reports whether the cipher is only acceptable for partners that allow legacy algorithms.
func (a EncAlg) Insecure() bool { return a == TripleDES }

// errInsecure reports a legacy algorithm a partner profile does not allow.
var errInsecure = errors.New("insecure algorithm")
