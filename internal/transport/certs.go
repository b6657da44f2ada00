package transport

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/waybill-hub/waybill/internal/as2"
)

// LoadCertificates reads every certificate of a PEM file.
func LoadCertificates(file string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return ParseCertificates(file, data)
}

// ParseCertificates reads every certificate of PEM data; file names it in errors.
func ParseCertificates(file string, data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no PEM certificate", file)
	}
	return out, nil
}

// LoadPrivateKey reads a PEM private key (PKCS#1, PKCS#8 or SEC 1).
func LoadPrivateKey(file string) (crypto.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%s: no PEM private key", file)
		}
		var k any
		switch b.Type {
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s: %T is not a signing key", file, k)
		}
		return s, nil
	}
}

// LoadStation builds our AS2 station from the configuration.
func LoadStation(c AS2Config) (*as2.Station, error) {
	st := &as2.Station{AS2ID: c.AS2ID}
	for i, cf := range c.CertFiles {
		certs, err := LoadCertificates(cf)
		if err != nil {
			return nil, fmt.Errorf("transport.as2.cert_files[%d]: %w", i, err)
		}
		if i >= len(c.KeyFiles) {
			return nil, fmt.Errorf("transport.as2.key_files[%d]: missing", i)
		}
		key, err := LoadPrivateKey(c.KeyFiles[i])
		if err != nil {
			return nil, fmt.Errorf("transport.as2.key_files[%d]: %w", i, err)
		}
		st.Certs = append(st.Certs, as2.Keypair{Cert: certs[0], Key: key})
	}
	if err := st.Validate(); err != nil {
		return nil, err
	}
	return st, nil
}

// NewCertificate makes a self-signed RSA-2048 certificate for an AS2 name, valid from notBefore
// for validFor, and returns it and its key PEM-encoded (the key as PKCS#8). AS2 partners
// exchange such certificates directly; no certificate authority is involved.
func NewCertificate(as2ID string, notBefore time.Time, validFor time.Duration) (certPEM, keyPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: as2ID, Organization: []string{"Waybill AS2"}},
		NotBefore:    notBefore.UTC(),
		NotAfter:     notBefore.Add(validFor).UTC(),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageContentCommitment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), nil
}

// NewHostKey makes an Ed25519 SSH host key and returns it PEM-encoded (OpenSSH format) with its
// public key in authorized_keys format (what partners pin).
func NewHostKey() (private, public []byte, err error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	b, err := ssh.MarshalPrivateKey(key, "waybill sftp host key")
	if err != nil {
		return nil, nil, err
	}
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(b), ssh.MarshalAuthorizedKey(signer.PublicKey()), nil
}

// LoadSSHSigner reads an SSH private key file (OpenSSH or PEM format).
func LoadSSHSigner(file string) (ssh.Signer, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return parseSSHSigner(file, data)
}

func parseSSHSigner(file string, data []byte) (ssh.Signer, error) {
	s, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return s, nil
}
