package as2

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"math/big"
)

// CMS object identifiers used by AS2 (RFC 5652, 5083, 5084, 3274, 3565, 4055).
var (
	oidData                 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidEnvelopedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 3}
	oidAuthEnvelopedData    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 23}
	oidCompressedData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 1, 9}
	oidZlibCompress         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 16, 3, 8}
	oidRSAEncryption        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAOAEP              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 7}
	oidDESEDE3CBC           = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	oidAES128CBC            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidAES128GCM            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 6}
	oidAES256GCM            = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 46}
	oidSHA1                 = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512               = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	oidMGF1                 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	errNoRecipient          = errors.New("no recipient info matches a usable certificate of ours")
	errUnsupportedAlgorithm = errors.New("unsupported algorithm")
)

// contentInfo is the outer CMS wrapper. Content is the [0] element; its Bytes hold the inner
// structure's full encoding.
type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue
}

type issuerAndSerial struct {
	IssuerName   asn1.RawValue
	SerialNumber *big.Int
}

type keyTransRecipientInfo struct {
	Version                int
	RID                    asn1.RawValue // IssuerAndSerialNumber or [0] SubjectKeyIdentifier
	KeyEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedKey           []byte
}

type encryptedContentInfo struct {
	ContentType                asn1.ObjectIdentifier
	ContentEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedContent           asn1.RawValue `asn1:"optional,tag:0"`
}

type envelopedData struct {
	Version              int
	OriginatorInfo       asn1.RawValue   `asn1:"optional,tag:0"`
	RecipientInfos       []asn1.RawValue `asn1:"set"`
	EncryptedContentInfo encryptedContentInfo
	UnprotectedAttrs     asn1.RawValue `asn1:"optional,tag:1"`
}

type authEnvelopedData struct {
	Version              int
	OriginatorInfo       asn1.RawValue   `asn1:"optional,tag:0"`
	RecipientInfos       []asn1.RawValue `asn1:"set"`
	EncryptedContentInfo encryptedContentInfo
	AuthAttrs            asn1.RawValue `asn1:"optional,tag:1"`
	MAC                  []byte
	UnauthAttrs          asn1.RawValue `asn1:"optional,tag:2"`
}

type gcmParameters struct {
	Nonce  []byte
	ICVLen int `asn1:"optional,default:12"`
}

type compressedData struct {
	Version              int
	CompressionAlgorithm pkix.AlgorithmIdentifier
	EncapContentInfo     encapContentInfo
}

type encapContentInfo struct {
	EContentType asn1.ObjectIdentifier
	EContent     asn1.RawValue `asn1:"optional,tag:0"` // [0] EXPLICIT OCTET STRING, unwrapped by hand
}

type rsaOAEPParams struct {
	Hash pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:0"`
	MGF  pkix.AlgorithmIdentifier `asn1:"optional,explicit,tag:1"`
}

// parseContentInfo reads a BER or DER ContentInfo and returns its type and inner encoding.
func parseContentInfo(b []byte) (asn1.ObjectIdentifier, []byte, error) {
	der, err := berToDER(b)
	if err != nil {
		return nil, nil, err
	}
	var ci contentInfo
	rest, err := asn1.Unmarshal(der, &ci)
	if err != nil {
		return nil, nil, fmt.Errorf("reading CMS ContentInfo: %w", err)
	}
	if len(rest) > 0 {
		return nil, nil, errors.New("reading CMS ContentInfo: trailing data")
	}
	if ci.Content.Class != asn1.ClassContextSpecific || ci.Content.Tag != 0 {
		return nil, nil, errors.New("reading CMS ContentInfo: content is not [0]")
	}
	return ci.ContentType, ci.Content.Bytes, nil
}

func marshalContentInfo(oid asn1.ObjectIdentifier, inner []byte) ([]byte, error) {
	return asn1.Marshal(contentInfo{
		ContentType: oid,
		Content:     asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: inner},
	})
}

// octets returns the content of an OCTET STRING value that may be primitive or, as BER allows,
// constructed from several OCTET STRING pieces.
func octets(v asn1.RawValue) ([]byte, error) {
	if !v.IsCompound {
		return v.Bytes, nil
	}
	var out []byte
	rest := v.Bytes
	for len(rest) > 0 {
		var piece asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &piece); err != nil {
			return nil, fmt.Errorf("reading a constructed OCTET STRING: %w", err)
		}
		b, err := octets(piece)
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// cipherSpec describes one content-encryption algorithm.
type cipherSpec struct {
	alg    EncAlg
	oid    asn1.ObjectIdentifier
	keyLen int
	gcm    bool
	des3   bool
}

var cipherSpecs = []cipherSpec{
	{alg: AES128CBC, oid: oidAES128CBC, keyLen: 16},
	{alg: AES192CBC, oid: oidAES192CBC, keyLen: 24},
	{alg: AES256CBC, oid: oidAES256CBC, keyLen: 32},
	{alg: AES128GCM, oid: oidAES128GCM, keyLen: 16, gcm: true},
	{alg: AES256GCM, oid: oidAES256GCM, keyLen: 32, gcm: true},
	{alg: TripleDES, oid: oidDESEDE3CBC, keyLen: 24, des3: true},
}

func specFor(alg EncAlg) (cipherSpec, bool) {
	for _, s := range cipherSpecs {
		if s.alg == alg {
			return s, true
		}
	}
	return cipherSpec{}, false
}

func specForOID(oid asn1.ObjectIdentifier) (cipherSpec, bool) {
	for _, s := range cipherSpecs {
		if s.oid.Equal(oid) {
			return s, true
		}
	}
	return cipherSpec{}, false
}

// encryptEnvelope encrypts content for the recipients: EnvelopedData for CBC ciphers,
// AuthEnvelopedData (RFC 5083/5084) for AES-GCM. Keys travel with RSA PKCS #1 v1.5, which every
// AS2 product reads.
func encryptEnvelope(content []byte, recipients []*x509.Certificate, alg EncAlg) ([]byte, error) {
	spec, ok := specFor(alg)
	if !ok {
		return nil, fmt.Errorf("%w: encryption %q", errUnsupportedAlgorithm, alg)
	}
	key := make([]byte, spec.keyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	ris, err := recipientInfos(key, recipients)
	if err != nil {
		return nil, err
	}
	if spec.gcm {
		return sealGCM(content, key, spec, ris)
	}
	var block cipher.Block
	if spec.des3 {
		block, err = des.NewTripleDESCipher(key)
	} else {
		block, err = aes.NewCipher(key)
	}
	if err != nil {
		return nil, err
	}
	iv := make([]byte, block.BlockSize())
	if _, err := rand.Read(iv); err != nil {
		return nil, err
	}
	padded := pkcs7Pad(content, block.BlockSize())
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(padded, padded)
	ivParam, err := asn1.Marshal(iv)
	if err != nil {
		return nil, err
	}
	ed := envelopedData{
		RecipientInfos: ris,
		EncryptedContentInfo: encryptedContentInfo{
			ContentType:                oidData,
			ContentEncryptionAlgorithm: pkix.AlgorithmIdentifier{Algorithm: spec.oid, Parameters: asn1.RawValue{FullBytes: ivParam}},
			EncryptedContent:           asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: padded},
		},
	}
	inner, err := asn1.Marshal(ed)
	if err != nil {
		return nil, err
	}
	return marshalContentInfo(oidEnvelopedData, inner)
}

func sealGCM(content, key []byte, spec cipherSpec, ris []asn1.RawValue) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	sealed := aead.Seal(nil, nonce, content, nil)
	ct, tag := sealed[:len(content)], sealed[len(content):]
	params, err := asn1.Marshal(gcmParameters{Nonce: nonce, ICVLen: aead.Overhead()})
	if err != nil {
		return nil, err
	}
	ad := authEnvelopedData{
		RecipientInfos: ris,
		EncryptedContentInfo: encryptedContentInfo{
			ContentType:                oidData,
			ContentEncryptionAlgorithm: pkix.AlgorithmIdentifier{Algorithm: spec.oid, Parameters: asn1.RawValue{FullBytes: params}},
			EncryptedContent:           asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: ct},
		},
		MAC: tag,
	}
	inner, err := asn1.Marshal(ad)
	if err != nil {
		return nil, err
	}
	return marshalContentInfo(oidAuthEnvelopedData, inner)
}

func recipientInfos(key []byte, recipients []*x509.Certificate) ([]asn1.RawValue, error) {
	var out []asn1.RawValue
	for _, cert := range recipients {
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: recipient key %T (RSA only)", errUnsupportedAlgorithm, cert.PublicKey)
		}
		ek, err := rsa.EncryptPKCS1v15(rand.Reader, pub, key)
		if err != nil {
			return nil, err
		}
		ias, err := asn1.Marshal(issuerAndSerial{IssuerName: asn1.RawValue{FullBytes: cert.RawIssuer}, SerialNumber: cert.SerialNumber})
		if err != nil {
			return nil, err
		}
		ri, err := asn1.Marshal(keyTransRecipientInfo{
			RID:                    asn1.RawValue{FullBytes: ias},
			KeyEncryptionAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue},
			EncryptedKey:           ek,
		})
		if err != nil {
			return nil, err
		}
		out = append(out, asn1.RawValue{FullBytes: ri})
	}
	return out, nil
}

func pkcs7Pad(b []byte, size int) []byte {
	n := size - len(b)%size
	out := make([]byte, len(b), len(b)+n)
	copy(out, b)
	for range n {
		out = append(out, byte(n))
	}
	return out
}

func pkcs7Unpad(b []byte, size int) ([]byte, error) {
	if len(b) == 0 || len(b)%size != 0 {
		return nil, errors.New("ciphertext is not a whole number of blocks")
	}
	n := int(b[len(b)-1])
	if n == 0 || n > size {
		return nil, errors.New("bad padding")
	}
	for _, c := range b[len(b)-n:] {
		if int(c) != n {
			return nil, errors.New("bad padding")
		}
	}
	return b[:len(b)-n], nil
}

// decrypted is what decryptEnvelope found out.
type decrypted struct {
	content []byte
	alg     EncAlg
	cert    *x509.Certificate // our certificate the message was encrypted for
}

// decryptEnvelope opens EnvelopedData or AuthEnvelopedData with the first of keys that a
// recipient info names. It returns errInsecure (wrapped) for 3DES unless allowInsecure.
func decryptEnvelope(oid asn1.ObjectIdentifier, inner []byte, keys []Keypair, allowInsecure bool) (decrypted, error) {
	var (
		ris  []asn1.RawValue
		eci  encryptedContentInfo
		mac  []byte
		auth bool
	)
	switch {
	case oid.Equal(oidEnvelopedData):
		var ed envelopedData
		if _, err := asn1.Unmarshal(inner, &ed); err != nil {
			return decrypted{}, fmt.Errorf("reading EnvelopedData: %w", err)
		}
		ris, eci = ed.RecipientInfos, ed.EncryptedContentInfo
	case oid.Equal(oidAuthEnvelopedData):
		var ad authEnvelopedData
		if _, err := asn1.Unmarshal(inner, &ad); err != nil {
			return decrypted{}, fmt.Errorf("reading AuthEnvelopedData: %w", err)
		}
		if len(ad.AuthAttrs.FullBytes) > 0 {
			return decrypted{}, fmt.Errorf("%w: AuthEnvelopedData with authenticated attributes", errUnsupportedAlgorithm)
		}
		ris, eci, mac, auth = ad.RecipientInfos, ad.EncryptedContentInfo, ad.MAC, true
	default:
		return decrypted{}, fmt.Errorf("%w: content type %v is not encrypted data", errUnsupportedAlgorithm, oid)
	}
	spec, ok := specForOID(eci.ContentEncryptionAlgorithm.Algorithm)
	if !ok || spec.gcm != auth {
		return decrypted{}, fmt.Errorf("%w: content encryption %v", errUnsupportedAlgorithm, eci.ContentEncryptionAlgorithm.Algorithm)
	}
	if spec.des3 && !allowInsecure {
		return decrypted{}, fmt.Errorf("%w: 3DES is not allowed for this partner", errInsecure)
	}
	ct, err := octets(eci.EncryptedContent)
	if err != nil {
		return decrypted{}, err
	}
	key, cert, err := unwrapKey(ris, keys, spec.keyLen)
	if err != nil {
		return decrypted{}, err
	}
	var plain []byte
	if spec.gcm {
		plain, err = openGCM(ct, mac, key, eci.ContentEncryptionAlgorithm.Parameters.FullBytes)
	} else {
		plain, err = openCBC(ct, key, spec, eci.ContentEncryptionAlgorithm.Parameters)
	}
	if err != nil {
		return decrypted{}, err
	}
	return decrypted{content: plain, alg: spec.alg, cert: cert}, nil
}

func unwrapKey(ris []asn1.RawValue, keys []Keypair, keyLen int) ([]byte, *x509.Certificate, error) {
	for _, raw := range ris {
		var ri keyTransRecipientInfo
		if _, err := asn1.Unmarshal(raw.FullBytes, &ri); err != nil {
			continue // not a key transport recipient (key agreement, KEK, password)
		}
		for _, kp := range keys {
			if !ridMatches(ri.RID, kp.Cert) {
				continue
			}
			dec, ok := kp.Key.(crypto.Decrypter)
			if !ok {
				return nil, nil, fmt.Errorf("%w: our key %T cannot decrypt", errUnsupportedAlgorithm, kp.Key)
			}
			var opts crypto.DecrypterOpts
			switch alg := ri.KeyEncryptionAlgorithm.Algorithm; {
			case alg.Equal(oidRSAEncryption):
				opts = &rsa.PKCS1v15DecryptOptions{}
			case alg.Equal(oidRSAOAEP):
				h, err := oaepHash(ri.KeyEncryptionAlgorithm.Parameters.FullBytes)
				if err != nil {
					return nil, nil, err
				}
				opts = &rsa.OAEPOptions{Hash: h}
			default:
				return nil, nil, fmt.Errorf("%w: key encryption %v", errUnsupportedAlgorithm, alg)
			}
			key, err := dec.Decrypt(rand.Reader, ri.EncryptedKey, opts)
			if err != nil {
				return nil, nil, fmt.Errorf("unwrapping the content key: %w", err)
			}
			if len(key) != keyLen {
				return nil, nil, fmt.Errorf("content key has %d bytes, want %d", len(key), keyLen)
			}
			return key, kp.Cert, nil
		}
	}
	return nil, nil, errNoRecipient
}

func ridMatches(rid asn1.RawValue, cert *x509.Certificate) bool {
	if rid.Class == asn1.ClassContextSpecific && rid.Tag == 0 {
		return len(cert.SubjectKeyId) > 0 && bytes.Equal(rid.Bytes, cert.SubjectKeyId)
	}
	var ias issuerAndSerial
	if _, err := asn1.Unmarshal(rid.FullBytes, &ias); err != nil {
		return false
	}
	return bytes.Equal(ias.IssuerName.FullBytes, cert.RawIssuer) && ias.SerialNumber.Cmp(cert.SerialNumber) == 0
}

func oaepHash(params []byte) (crypto.Hash, error) {
	if len(params) == 0 {
		return crypto.SHA1, nil
	}
	var p rsaOAEPParams
	if _, err := asn1.Unmarshal(params, &p); err != nil {
		return 0, fmt.Errorf("reading RSA-OAEP parameters: %w", err)
	}
	switch alg := p.Hash.Algorithm; {
	case len(alg) == 0, alg.Equal(oidSHA1):
		return crypto.SHA1, nil
	case alg.Equal(oidSHA256):
		return crypto.SHA256, nil
	case alg.Equal(oidSHA384):
		return crypto.SHA384, nil
	case alg.Equal(oidSHA512):
		return crypto.SHA512, nil
	}
	return 0, fmt.Errorf("%w: RSA-OAEP hash %v", errUnsupportedAlgorithm, p.Hash.Algorithm)
}

func openCBC(ct, key []byte, spec cipherSpec, params asn1.RawValue) ([]byte, error) {
	var iv []byte
	if _, err := asn1.Unmarshal(params.FullBytes, &iv); err != nil {
		return nil, fmt.Errorf("reading the IV: %w", err)
	}
	var block cipher.Block
	var err error
	if spec.des3 {
		block, err = des.NewTripleDESCipher(key)
	} else {
		block, err = aes.NewCipher(key)
	}
	if err != nil {
		return nil, err
	}
	if len(iv) != block.BlockSize() || len(ct) == 0 || len(ct)%block.BlockSize() != 0 {
		return nil, errors.New("bad IV or ciphertext length")
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
	return pkcs7Unpad(plain, block.BlockSize())
}

func openGCM(ct, mac, key, params []byte) ([]byte, error) {
	var p gcmParameters
	if _, err := asn1.Unmarshal(params, &p); err != nil {
		return nil, fmt.Errorf("reading GCM parameters: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	if p.ICVLen < 12 || p.ICVLen > 16 || len(mac) != p.ICVLen || len(p.Nonce) == 0 {
		return nil, errors.New("bad GCM parameters")
	}
	aead, err := cipher.NewGCMWithNonceSize(block, len(p.Nonce))
	if err != nil {
		return nil, err
	}
	if p.ICVLen != aead.Overhead() {
		if aead, err = cipher.NewGCMWithTagSize(block, p.ICVLen); err != nil || len(p.Nonce) != aead.NonceSize() {
			return nil, errors.New("unsupported GCM nonce and tag sizes")
		}
	}
	return aead.Open(nil, p.Nonce, append(ct[:len(ct):len(ct)], mac...), nil)
}

// hashFor returns a constructor for the MIC algorithm.
func hashFor(alg MICAlg) (func() hash.Hash, bool) {
	switch alg {
	case SHA1:
		return sha1.New, true
	case SHA256:
		return sha256.New, true
	case SHA384:
		return sha512.New384, true
	case SHA512:
		return sha512.New, true
	}
	return nil, false
}
