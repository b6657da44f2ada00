package csvfeed

import (
	"reflect"

	"github.com/waybill-hub/waybill"
)

// codec ties a document type D to its row type R: one row holds the document's header fields
// and one item.
type codec[D any, R any] struct {
	doc    Document
	fields map[string]field[R]
	// header returns the document part of a row; the first row of a group becomes the document.
	header func(*R) *D
	// add appends the row's item to d. A problem is reported against the named field.
	add func(d *D, r *R) (field, problem string)
	// rows flattens d into rows for writing.
	rows func(d *D) []R
	// finish completes a decoded document (partner, party roles).
	finish func(d *D, m *Mapping)
}

func setRole(p *waybill.Party, role waybill.PartyRole) {
	if !reflect.ValueOf(*p).IsZero() {
		p.Role = role
	}
}

func concat[T any](lists ...[]T) []T {
	var out []T
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}
