package partner

import (
	"io/fs"
	"path"
	"strings"

	"github.com/waybill-hub/waybill"
)

// Registry holds the loaded profiles. It is immutable once LoadDir returns it and safe for
// concurrent use. It implements hub.Partners.
type Registry struct {
	byID     map[string]*Profile
	bySender map[string]*Profile
	order    []string
	fsys     fs.FS
	prefix   string
	fallback interface {
		Partner(id string) (waybill.Partner, bool)
	}
}

// NewRegistry returns a registry over profiles that are already valid (tests, embedding).
func NewRegistry(profiles ...*Profile) *Registry {
	r := &Registry{byID: map[string]*Profile{}, bySender: map[string]*Profile{}}
	for _, p := range profiles {
		r.byID[p.ID] = p
		r.order = append(r.order, p.ID)
		if p.X12.SenderID != "" {
			r.bySender[senderKey(p.X12.SenderQualifier, p.X12.SenderID)] = p
		}
	}
	return r
}

// WithFallback returns a copy of r that answers Partner for ids it does not hold from other
// (the partners of the hub's own configuration, say).
func (r *Registry) WithFallback(other interface {
	Partner(id string) (waybill.Partner, bool)
}) *Registry {
	cp := *r
	cp.fallback = other
	return &cp
}

// Profile returns the profile of partner id.
func (r *Registry) Profile(id string) (*Profile, bool) {
	p, ok := r.byID[id]
	return p, ok
}

// BySender returns the profile whose ISA05/ISA06 are qualifier and id (padding trimmed).
func (r *Registry) BySender(qualifier, id string) (*Profile, bool) {
	p, ok := r.bySender[senderKey(strings.TrimSpace(qualifier), strings.TrimSpace(id))]
	return p, ok
}

// IDs returns the partner ids, sorted.
func (r *Registry) IDs() []string { return append([]string(nil), r.order...) }

// Partner implements hub.Partners.
func (r *Registry) Partner(id string) (waybill.Partner, bool) {
	if p, ok := r.byID[id]; ok {
		return p.Domain(), true
	}
	if r.fallback != nil {
		return r.fallback.Partner(id)
	}
	return waybill.Partner{}, false
}

// ReadFile reads a file named relative to profile p's directory (a guide, say).
func (r *Registry) ReadFile(p *Profile, name string) ([]byte, error) {
	if r.fsys == nil {
		return nil, fs.ErrNotExist
	}
	return fs.ReadFile(r.fsys, path.Clean(name))
}
