package as2

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/waybill-hub/waybill"
)

// MDNMode says how a partner is asked to acknowledge the messages we send it.
type MDNMode string

const (
	MDNSync  MDNMode = "sync"  // The MDN comes back in the HTTP response; Send waits for it.
	MDNAsync MDNMode = "async" // The partner posts the MDN later to Partner.AsyncMDNURL; Send returns at HTTP 2xx and the MDN stays pending.
	MDNNone  MDNMode = "none"  // No MDN is asked; HTTP 2xx is the only receipt.
)

// DefaultMDNTimeout bounds a synchronous exchange and the wait for an asynchronous MDN when the
// partner profile sets none.
const DefaultMDNTimeout = 5 * time.Minute

// Partner is one AS2 trading partner's profile. The zero values of the algorithm fields mean
// SHA-256 and AES-256-CBC.
type Partner struct {
	ID    string // the hub's partner id (waybill.InboundMessage.Partner, OutboundMessage.Partner)
	AS2ID string // the partner's AS2 name (AS2-From on its messages)
	URL   string // where we POST messages to the partner

	// TheirCerts are the partner's certificates. Any one valid at the time verifies a signature
	// (so a partner can roll over to a new certificate while old messages still verify); the
	// newest valid one (latest NotBefore) is the one we encrypt for.
	TheirCerts []*x509.Certificate

	Sign     bool   // sign what we send; require a signature on what we receive
	Encrypt  bool   // encrypt what we send; require encryption on what we receive
	Compress bool   // compress what we send (RFC 5402, before signing); received compression is always accepted
	SignAlg  MICAlg // digest for our signatures, our MICs and the MDN we ask for
	EncAlg   EncAlg // content encryption for what we send

	// AllowInsecureAlgs accepts SHA-1 signatures and MICs and 3DES encryption from this partner,
	// and allows choosing them in SignAlg and EncAlg.
	AllowInsecureAlgs bool

	MDN         MDNMode       // how the partner acknowledges our messages; "" means sync
	SignedMDN   bool          // ask for a signed MDN and refuse an unsigned one
	AsyncMDNURL string        // our endpoint announced in Receipt-Delivery-Option when MDN is async
	MDNTimeout  time.Duration // sync: the whole HTTP exchange; async: how long an MDN may take; 0 means DefaultMDNTimeout
	Subject     string        // Subject header on what we send; "" means "EDI <doc type>"
}

// signAlg returns the configured digest or SHA-256.
func (p *Partner) signAlg() MICAlg {
	if p.SignAlg == "" {
		return SHA256
	}
	return p.SignAlg
}

func (p *Partner) encAlg() EncAlg {
	if p.EncAlg == "" {
		return AES256CBC
	}
	return p.EncAlg
}

func (p *Partner) mdnMode() MDNMode {
	if p.MDN == "" {
		return MDNSync
	}
	return p.MDN
}

func (p *Partner) mdnTimeout() time.Duration {
	if p.MDNTimeout <= 0 {
		return DefaultMDNTimeout
	}
	return p.MDNTimeout
}

// Validate reports the first problem in the profile, naming the field.
func (p *Partner) Validate() error {
	bad := func(format string, args ...any) error {
		return waybill.Errorf(waybill.EINVALID, "as2_partner_config", "as2 partner %q: "+format, append([]any{p.ID}, args...)...)
	}
	switch {
	case p.ID == "":
		return bad("id is required")
	case p.AS2ID == "" || len(p.AS2ID) > 128 || !printableASCII(p.AS2ID):
		return bad("as2_id must be 1-128 printable ASCII characters")
	}
	if p.URL != "" {
		if u, err := url.Parse(p.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("url %q must be an http or https URL", p.URL)
		}
	}
	if _, ok := hashFor(p.signAlg()); !ok {
		return bad("sign_alg %q is not one of sha-256, sha-384, sha-512, sha1", p.SignAlg)
	}
	if _, ok := specFor(p.encAlg()); !ok {
		return bad("enc_alg %q is not one of aes128-cbc, aes192-cbc, aes256-cbc, aes128-gcm, aes256-gcm, 3des", p.EncAlg)
	}
	if (p.signAlg().Insecure() || p.encAlg().Insecure()) && !p.AllowInsecureAlgs {
		return bad("sign_alg %s / enc_alg %s need allow_insecure_algs", p.signAlg(), p.encAlg())
	}
	switch p.mdnMode() {
	case MDNSync, MDNNone:
	case MDNAsync:
		if p.AsyncMDNURL == "" {
			return bad("async_mdn_url is required when mdn is async")
		}
	default:
		return bad("mdn %q is not one of sync, async, none", p.MDN)
	}
	if (p.Sign || p.Encrypt || p.SignedMDN) && len(p.TheirCerts) == 0 {
		return bad("their_certs is required to sign, encrypt or ask signed MDNs")
	}
	return nil
}

// validCerts returns the certificates valid at now, newest (latest NotBefore) first.
func validCerts(certs []*x509.Certificate, now time.Time) []*x509.Certificate {
	var out []*x509.Certificate
	for _, c := range certs {
		if c != nil && !now.Before(c.NotBefore) && !now.After(c.NotAfter) {
			out = append(out, c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].NotBefore.After(out[j].NotBefore) })
	return out
}

// encryptionCert returns the partner certificate to encrypt for at now.
func (p *Partner) encryptionCert(now time.Time) (*x509.Certificate, error) {
	if v := validCerts(p.TheirCerts, now); len(v) > 0 {
		return v[0], nil
	}
	return nil, &waybill.Error{Code: waybill.EUNAUTHORIZED, Reason: "as2_certificate",
		Message: fmt.Sprintf("AS2 partner %s has no certificate valid on %s", p.ID, now.UTC().Format(time.DateOnly))}
}

// ErrPartnerNotFound is returned (wrapped) by a PartnerLookup that does not know the partner.
var ErrPartnerNotFound = errors.New("as2 partner not found")

// PartnerLookup finds partner profiles. Implementations must be safe for concurrent use; a
// profile may change between calls (a certificate rollover takes effect on the next message).
type PartnerLookup interface {
	// ByAS2ID returns the partner whose AS2 name is as2ID, or an error wrapping ErrPartnerNotFound.
	ByAS2ID(ctx context.Context, as2ID string) (*Partner, error)
	// ByID returns the partner with the hub's id, or an error wrapping ErrPartnerNotFound.
	ByID(ctx context.Context, id string) (*Partner, error)
}

// Partners is an in-memory PartnerLookup. It is safe for concurrent use; Put replaces a profile
// atomically (how certificates roll over without downtime).
type Partners struct {
	mu   sync.RWMutex
	byID map[string]*Partner
}

var _ PartnerLookup = (*Partners)(nil)

// NewPartners returns a lookup holding ps; it fails on the first invalid profile.
func NewPartners(ps ...*Partner) (*Partners, error) {
	l := &Partners{byID: map[string]*Partner{}}
	for _, p := range ps {
		if err := l.Put(p); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Put validates p and adds it or replaces the profile with the same ID. The caller must not
// modify p afterwards.
func (l *Partners) Put(p *Partner) error {
	if err := p.Validate(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byID == nil {
		l.byID = map[string]*Partner{}
	}
	l.byID[p.ID] = p
	return nil
}

// ByID implements PartnerLookup.
func (l *Partners) ByID(_ context.Context, id string) (*Partner, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if p, ok := l.byID[id]; ok {
		return p, nil
	}
	return nil, fmt.Errorf("%w: id %q", ErrPartnerNotFound, id)
}

// ByAS2ID implements PartnerLookup.
func (l *Partners) ByAS2ID(_ context.Context, as2ID string) (*Partner, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	for _, p := range l.byID {
		if p.AS2ID == as2ID {
			return p, nil
		}
	}
	return nil, fmt.Errorf("%w: AS2 id %q", ErrPartnerNotFound, as2ID)
}

// All returns every profile, sorted by ID.
func (l *Partners) All() []*Partner {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]*Partner, 0, len(l.byID))
	for _, p := range l.byID {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func printableASCII(s string) bool {
	for i := range len(s) {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
