package as2

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/smallstep/pkcs7"
)

// Failures of a signature check, told apart because they answer with different dispositions.
var (
	// errSignature: the signature does not verify with any valid partner certificate.
	errSignature = errors.New("signature does not verify")
	// errIntegrity: the signature is good but the content digest does not match.
	errIntegrity = errors.New("content digest does not match the signature")
)

// signDetached returns a detached CMS SignedData (DER) over content, signed with kp and alg.
func signDetached(content []byte, kp Keypair, alg MICAlg) ([]byte, error) {
	sd, err := pkcs7.NewSignedData(content)
	if err != nil {
		return nil, err
	}
	sd.SetDigestAlgorithm(alg.oid())
	if err := sd.AddSigner(kp.Cert, kp.Key, pkcs7.SignerInfoConfig{}); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	sd.Detach()
	return sd.Finish()
}

// signEntity wraps the MIME entity in multipart/signed and returns the new entity.
func signEntity(inner []byte, kp Keypair, alg MICAlg) ([]byte, error) {
	sig, err := signDetached(inner, kp, alg)
	if err != nil {
		return nil, err
	}
	boundary := newBoundary()
	sigPart := buildEntity([]header{
		{"Content-Type", `application/pkcs7-signature; name="smime.p7s"`},
		{"Content-Transfer-Encoding", "base64"},
		{"Content-Disposition", `attachment; filename="smime.p7s"`},
	}, base64Lines(sig))
	body := buildMultipart(boundary, inner, sigPart)
	return buildEntity([]header{
		{"MIME-Version", "1.0"},
		{"Content-Type", fmt.Sprintf(`multipart/signed; protocol="application/pkcs7-signature"; micalg=%s; boundary="%s"`, alg, boundary)},
	}, body), nil
}

// verified is what a good signature check found.
type verified struct {
	alg    MICAlg
	signer *x509.Certificate
}

// verifySignature checks a CMS SignedData. content is the detached content (nil for an opaque
// signature, whose content is returned). Only the partner's certificates valid at now are
// trusted, whatever certificates the message carries.
func verifySignature(sig, content []byte, trusted []*x509.Certificate, now time.Time, allowInsecure bool) (verified, []byte, error) {
	p7, err := pkcs7.Parse(sig)
	if err != nil {
		return verified{}, nil, fmt.Errorf("%w: reading SignedData: %v", errSignature, err)
	}
	if content != nil {
		p7.Content = content
	}
	if len(p7.Signers) != 1 {
		return verified{}, nil, fmt.Errorf("%w: %d signers, want 1", errSignature, len(p7.Signers))
	}
	alg, ok := micAlgForOID(p7.Signers[0].DigestAlgorithm.Algorithm)
	if !ok {
		return verified{}, nil, fmt.Errorf("%w: digest %v", errUnsupportedAlgorithm, p7.Signers[0].DigestAlgorithm.Algorithm)
	}
	if alg.Insecure() && !allowInsecure {
		return verified{}, nil, fmt.Errorf("%w: %s signatures are not allowed for this partner", errInsecure, alg)
	}
	valid := validCerts(trusted, now)
	if len(valid) == 0 {
		return verified{}, nil, fmt.Errorf("%w: no partner certificate is valid on %s", errSignature, now.UTC().Format(time.DateOnly))
	}
	p7.Certificates = valid
	signer := p7.GetOnlySigner()
	if signer == nil {
		return verified{}, nil, fmt.Errorf("%w: signed with a certificate that is not one of the partner's valid certificates", errSignature)
	}
	if err := p7.Verify(); err != nil {
		var mismatch *pkcs7.MessageDigestMismatchError
		if errors.As(err, &mismatch) {
			return verified{}, nil, fmt.Errorf("%w: %v", errIntegrity, err)
		}
		return verified{}, nil, fmt.Errorf("%w: %v", errSignature, err)
	}
	return verified{alg: alg, signer: signer}, p7.Content, nil
}

// computeMIC returns the Received-Content-MIC value for data: base64 digest, ", ", algorithm.
func computeMIC(data []byte, alg MICAlg) (string, error) {
	newHash, ok := hashFor(alg)
	if !ok {
		return "", fmt.Errorf("%w: MIC %q", errUnsupportedAlgorithm, alg)
	}
	h := newHash()
	h.Write(data)
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + ", " + string(alg), nil
}

// sameMIC compares two Received-Content-MIC values, tolerating spelling of the algorithm and
// whitespace.
func sameMIC(a, b string) bool {
	da, aa, okA := splitMIC(a)
	db, ab, okB := splitMIC(b)
	return okA && okB && da == db && aa == ab
}

func splitMIC(s string) (digest string, alg MICAlg, ok bool) {
	d, a, found := strings.Cut(s, ",")
	if !found {
		return "", "", false
	}
	alg, ok = ParseMICAlg(a)
	return strings.TrimSpace(d), alg, ok && strings.TrimSpace(d) != ""
}

// smimeEntity wraps a CMS structure as an application/pkcs7-mime entity.
func smimeEntity(der []byte, smimeType string) []byte {
	return buildEntity([]header{
		{"MIME-Version", "1.0"},
		{"Content-Type", fmt.Sprintf(`application/pkcs7-mime; smime-type=%s; name="smime.p7m"`, smimeType)},
		{"Content-Transfer-Encoding", "binary"},
		{"Content-Disposition", `attachment; filename="smime.p7m"`},
	}, der)
}

// bytesTrimCRLF drops one trailing line end.
func bytesTrimCRLF(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.TrimSuffix(b, []byte("\r"))
}
