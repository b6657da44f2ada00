package as2

import (
	"crypto/x509"
	"errors"
	"mime"
	"net/textproto"
	"strings"
	"time"
)

// opened is an inbound message with its S/MIME layers removed.
type opened struct {
	payload     []byte
	contentType string
	filename    string
	signed      bool
	signAlg     MICAlg
	signer      *x509.Certificate
	encrypted   bool
	encAlg      EncAlg
	compressed  bool
	micData     []byte // what the Received-Content-MIC covers (RFC 4130 §7.3.1)
}

// maxLayers bounds the S/MIME nesting an inbound message may have.
const maxLayers = 6

// open removes the encryption, compression and signature layers of top, in whatever order the
// sender applied them, checking each against the partner profile. Its error is a
// *ProcessingError naming the disposition to answer with.
func open(top *entity, p *Partner, keys []Keypair, now time.Time) (*opened, error) {
	o := &opened{}
	e := top
	for range maxLayers {
		mt, params, err := e.mediaType()
		if err != nil {
			return nil, fail(FailUnexpected, "%v", err)
		}
		switch mt {
		case "multipart/signed":
			if e, err = o.openSigned(e, params["boundary"], p, now); err != nil {
				return nil, err
			}
		case "application/pkcs7-mime", "application/x-pkcs7-mime":
			if e, err = o.openCMS(e, params["smime-type"], p, keys, now); err != nil {
				return nil, err
			}
		default:
			return o.leaf(e, mt)
		}
	}
	return nil, fail(FailUnexpected, "more than %d S/MIME layers", maxLayers)
}

func (o *opened) leaf(e *entity, mt string) (*opened, error) {
	body, err := e.decodedBody()
	if err != nil {
		return nil, fail(FailUnexpected, "%v", err)
	}
	o.payload, o.contentType = body, mt
	if cd := e.header.Get("Content-Disposition"); cd != "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil {
			o.filename = params["filename"]
		}
	}
	if !o.signed {
		if o.encrypted || o.compressed {
			o.micData = e.raw // the decrypted MIME header and content
		} else {
			o.micData = body // an unprotected message: the content alone
		}
	}
	return o, nil
}

func (o *opened) openSigned(e *entity, boundary string, p *Partner, now time.Time) (*entity, error) {
	if o.signed {
		return nil, fail(FailUnexpected, "nested signatures")
	}
	parts, err := splitMultipart(e.body, boundary)
	if err != nil {
		return nil, fail(FailUnexpected, "%v", err)
	}
	if len(parts) != 2 {
		return nil, fail(FailUnexpected, "multipart/signed with %d parts, want 2", len(parts))
	}
	sigEntity, err := parseEntity(parts[1])
	if err != nil {
		return nil, fail(FailAuthentication, "signature part: %v", err)
	}
	sig, err := sigEntity.decodedBody()
	if err != nil {
		return nil, fail(FailAuthentication, "signature part: %v", err)
	}
	v, _, err := verifySignature(sig, parts[0], p.TheirCerts, now, p.AllowInsecureAlgs)
	if err != nil {
		return nil, signatureFailure(err)
	}
	o.signed, o.signAlg, o.signer, o.micData = true, v.alg, v.signer, parts[0]
	inner, err := parseEntity(parts[0])
	if err != nil {
		return nil, fail(FailUnexpected, "signed content: %v", err)
	}
	return inner, nil
}

func (o *opened) openCMS(e *entity, smimeType string, p *Partner, keys []Keypair, now time.Time) (*entity, error) {
	der, err := e.decodedBody()
	if err != nil {
		return nil, fail(FailUnexpected, "%v", err)
	}
	oid, inner, err := parseContentInfo(der)
	if err != nil {
		switch strings.ToLower(smimeType) {
		case "enveloped-data", "authenveloped-data":
			return nil, fail(FailDecryption, "%v", err)
		case "compressed-data":
			return nil, fail(FailDecompression, "%v", err)
		}
		return nil, fail(FailUnexpected, "%v", err)
	}
	var content []byte
	switch {
	case oid.Equal(oidEnvelopedData), oid.Equal(oidAuthEnvelopedData):
		if o.encrypted {
			return nil, fail(FailUnexpected, "nested encryption")
		}
		d, err := decryptEnvelope(oid, inner, keys, p.AllowInsecureAlgs)
		if errors.Is(err, errInsecure) {
			return nil, fail(FailInsufficientSecurity, "%v", err)
		}
		if err != nil {
			return nil, fail(FailDecryption, "%v", err)
		}
		o.encrypted, o.encAlg, content = true, d.alg, d.content
	case oid.Equal(oidCompressedData):
		if o.compressed {
			return nil, fail(FailUnexpected, "nested compression")
		}
		if content, err = decompressCMS(inner); err != nil {
			return nil, fail(FailDecompression, "%v", err)
		}
		o.compressed = true
	case oid.Equal(oidSignedData):
		if o.signed {
			return nil, fail(FailUnexpected, "nested signatures")
		}
		v, c, err := verifySignature(der, nil, p.TheirCerts, now, p.AllowInsecureAlgs)
		if err != nil {
			return nil, signatureFailure(err)
		}
		o.signed, o.signAlg, o.signer, o.micData, content = true, v.alg, v.signer, c, c
	default:
		return nil, fail(FailUnexpected, "unsupported CMS content type %v", oid)
	}
	next, err := parseEntity(content)
	if err != nil {
		if o.encrypted && len(content) > 0 && oid.Equal(oidEnvelopedData) {
			return nil, fail(FailDecryption, "decrypted content is not a MIME entity: %v", err)
		}
		return nil, fail(FailUnexpected, "%v", err)
	}
	return next, nil
}

func signatureFailure(err error) *ProcessingError {
	switch {
	case errors.Is(err, errInsecure):
		return &ProcessingError{Failure: FailInsufficientSecurity, Err: err}
	case errors.Is(err, errIntegrity):
		return &ProcessingError{Failure: FailIntegrity, Err: err}
	}
	return &ProcessingError{Failure: FailAuthentication, Err: err}
}

// topEntity makes the HTTP request's content headers and body one MIME entity.
func topEntity(h textproto.MIMEHeader, body []byte) *entity {
	eh := textproto.MIMEHeader{}
	for _, k := range []string{"Content-Type", "Content-Transfer-Encoding", "Content-Disposition"} {
		if v := h.Get(k); v != "" {
			eh.Set(k, v)
		}
	}
	return &entity{header: eh, body: body, raw: body}
}
