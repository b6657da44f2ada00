package as2

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"sort"
	"time"

	"github.com/waybill-hub/waybill"
)

// Keypair is one of our certificates with its private key. Key must be a crypto.Signer; to
// decrypt it must also be a crypto.Decrypter (an *rsa.PrivateKey is both).
type Keypair struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Station is our side of AS2: our AS2 name and our certificates. During a rollover it holds the
// old and the new certificate: the newest valid one signs, any valid one decrypts, so partners
// may switch to the new certificate at their own pace.
type Station struct {
	AS2ID string
	Certs []Keypair
	// MDNTo is the Disposition-Notification-To value we send (an address; AS2 only needs it
	// present). "" means "as2@" + AS2ID.
	MDNTo string
}

// Validate reports the first problem with the station: a bad AS2 name, no keypair, a keypair
// without a certificate or whose key does not match it. Expired certificates are allowed (they
// are simply not used); CertExpiries is how an operator hears about them.
func (s *Station) Validate() error {
	bad := func(format string, args ...any) error {
		return waybill.Errorf(waybill.EINVALID, "as2_station_config", "as2 station: "+format, args...)
	}
	if s.AS2ID == "" || len(s.AS2ID) > 128 || !printableASCII(s.AS2ID) {
		return bad("as2_id must be 1-128 printable ASCII characters")
	}
	if len(s.Certs) == 0 {
		return bad("at least one certificate and key is required")
	}
	for i, kp := range s.Certs {
		if kp.Cert == nil || kp.Key == nil {
			return bad("certs[%d] needs both a certificate and a key", i)
		}
		pub, ok := kp.Key.Public().(interface{ Equal(crypto.PublicKey) bool })
		if !ok || !pub.Equal(kp.Cert.PublicKey) {
			return bad("certs[%d]: the key does not match the certificate %s", i, kp.Cert.Subject)
		}
	}
	return nil
}

func (s *Station) mdnTo() string {
	if s.MDNTo != "" {
		return s.MDNTo
	}
	return "as2@" + s.AS2ID
}

// valid returns our keypairs valid at now, newest first.
func (s *Station) valid(now time.Time) []Keypair {
	var out []Keypair
	for _, kp := range s.Certs {
		if kp.Cert != nil && kp.Key != nil && !now.Before(kp.Cert.NotBefore) && !now.After(kp.Cert.NotAfter) {
			out = append(out, kp)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Cert.NotBefore.After(out[j].Cert.NotBefore) })
	return out
}

// signer returns the keypair that signs at now.
func (s *Station) signer(now time.Time) (Keypair, error) {
	if v := s.valid(now); len(v) > 0 {
		return v[0], nil
	}
	return Keypair{}, &waybill.Error{Code: waybill.EUNAUTHORIZED, Reason: "as2_certificate",
		Message: fmt.Sprintf("AS2 station %s has no certificate valid on %s", s.AS2ID, now.UTC().Format(time.DateOnly))}
}

// CertExpiry is one certificate's validity, for an expiry warning metric.
type CertExpiry struct {
	Partner   string // the partner ID for their certificates; "" for ours
	Ours      bool   // our certificate (station) or theirs
	Subject   string
	Serial    string // hex
	NotBefore time.Time
	NotAfter  time.Time
}

// Remaining returns how long the certificate is still valid at now (negative once expired).
func (c CertExpiry) Remaining(now time.Time) time.Duration { return c.NotAfter.Sub(now) }

// CertExpiries lists the validity of our certificates and of every partner's, ours first, then by
// partner ID. The caller turns it into a metric (seconds until NotAfter) and warnings.
func CertExpiries(st *Station, partners []*Partner) []CertExpiry {
	var out []CertExpiry
	add := func(partner string, ours bool, c *x509.Certificate) {
		if c == nil {
			return
		}
		out = append(out, CertExpiry{Partner: partner, Ours: ours, Subject: c.Subject.String(),
			Serial: c.SerialNumber.Text(16), NotBefore: c.NotBefore, NotAfter: c.NotAfter})
	}
	if st != nil {
		for _, kp := range st.Certs {
			add("", true, kp.Cert)
		}
	}
	ps := append([]*Partner(nil), partners...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].ID < ps[j].ID })
	for _, p := range ps {
		for _, c := range p.TheirCerts {
			add(p.ID, false, c)
		}
	}
	return out
}
