package csvfeed

import (
	"sort"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
)

type kind int

const (
	kindText kind = iota
	kindDecimal
	kindDate
	kindInt
)

// field is one canonical field of a row type R. get returns nil when the value is absent (an
// empty cell when writing); set stores a parsed value (string, waybill.Decimal, time.Time or int).
type field[R any] struct {
	name string
	kind kind
	item bool // part of the item (line) rather than the document header
	get  func(*R) any
	set  func(*R, any)
}

func textF[R any](name string, item bool, p func(*R) *string) field[R] {
	return field[R]{name: name, kind: kindText, item: item,
		get: func(r *R) any {
			if v := *p(r); v != "" {
				return v
			}
			return nil
		},
		set: func(r *R, v any) { *p(r) = v.(string) }}
}

// decF maps a decimal; with omitZero a zero value is written as an empty cell.
func decF[R any](name string, item, omitZero bool, p func(*R) *waybill.Decimal) field[R] {
	return field[R]{name: name, kind: kindDecimal, item: item,
		get: func(r *R) any {
			v := *p(r)
			if omitZero && v.IsZero() {
				return nil
			}
			return v
		},
		set: func(r *R, v any) { *p(r) = v.(waybill.Decimal) }}
}

func dateF[R any](name string, item bool, p func(*R) *time.Time) field[R] {
	return field[R]{name: name, kind: kindDate, item: item,
		get: func(r *R) any {
			if v := *p(r); !v.IsZero() {
				return v
			}
			return nil
		},
		set: func(r *R, v any) { *p(r) = v.(time.Time) }}
}

func intF[R any](name string, item bool, p func(*R) *int) field[R] {
	return field[R]{name: name, kind: kindInt, item: item,
		get: func(r *R) any {
			if v := *p(r); v != 0 {
				return v
			}
			return nil
		},
		set: func(r *R, v any) { *p(r) = v.(int) }}
}

// listF maps a list of strings to one cell, joined by sep.
func listF[R any](name string, item bool, sep string, p func(*R) *[]string) field[R] {
	return field[R]{name: name, kind: kindText, item: item,
		get: func(r *R) any {
			if v := *p(r); len(v) > 0 {
				return strings.Join(v, sep)
			}
			return nil
		},
		set: func(r *R, v any) {
			var parts []string
			if t := strings.TrimSpace(sep); t == "" {
				parts = strings.Fields(v.(string))
			} else {
				parts = strings.Split(v.(string), t)
			}
			var out []string
			for _, s := range parts {
				if s = strings.TrimSpace(s); s != "" {
					out = append(out, s)
				}
			}
			*p(r) = out
		}}
}

// partyF maps the fields of a party under prefix ("ship_to.name", "ship_to.address1", ...).
func partyF[R any](prefix string, p func(*R) *waybill.Party) []field[R] {
	addrLine := func(i int) field[R] {
		return field[R]{name: prefix + ".address" + string(rune('1'+i)), kind: kindText,
			get: func(r *R) any {
				if l := p(r).Address.Lines; i < len(l) && l[i] != "" {
					return l[i]
				}
				return nil
			},
			set: func(r *R, v any) {
				a := &p(r).Address
				for len(a.Lines) <= i {
					a.Lines = append(a.Lines, "")
				}
				a.Lines[i] = v.(string)
			}}
	}
	return []field[R]{
		textF(prefix+".name", false, func(r *R) *string { return &p(r).Name }),
		textF(prefix+".code", false, func(r *R) *string { return &p(r).Code }),
		textF(prefix+".code_qualifier", false, func(r *R) *string { return &p(r).CodeQualifier }),
		textF(prefix+".gln", false, func(r *R) *string { return &p(r).GLN }),
		addrLine(0), addrLine(1), addrLine(2),
		textF(prefix+".city", false, func(r *R) *string { return &p(r).Address.City }),
		textF(prefix+".region", false, func(r *R) *string { return &p(r).Address.Region }),
		textF(prefix+".postal_code", false, func(r *R) *string { return &p(r).Address.PostalCode }),
		textF(prefix+".country", false, func(r *R) *string { return &p(r).Address.Country }),
		textF(prefix+".contact_name", false, func(r *R) *string { return &p(r).Contact.Name }),
		textF(prefix+".contact_email", false, func(r *R) *string { return &p(r).Contact.Email }),
		textF(prefix+".contact_phone", false, func(r *R) *string { return &p(r).Contact.Phone }),
	}
}

func termsF[R any](p func(*R) *waybill.Terms) []field[R] {
	return []field[R]{
		textF("terms.code", false, func(r *R) *string { return &p(r).Code }),
		textF("terms.description", false, func(r *R) *string { return &p(r).Description }),
		intF("terms.net_days", false, func(r *R) *int { return &p(r).NetDays }),
		decF("terms.discount_pct", false, true, func(r *R) *waybill.Decimal { return &p(r).DiscountPct }),
		intF("terms.discount_days", false, func(r *R) *int { return &p(r).DiscountDay }),
	}
}

func index[R any](fs []field[R]) map[string]field[R] {
	m := make(map[string]field[R], len(fs))
	for _, f := range fs {
		if _, dup := m[f.name]; dup {
			panic("csvfeed: field defined twice: " + f.name)
		}
		m[f.name] = f
	}
	return m
}

func names[R any](fs map[string]field[R]) []string {
	out := make([]string, 0, len(fs))
	for n := range fs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Fields returns the canonical field names a mapping of doc may use, sorted; nil for an unknown
// document.
func Fields(doc Document) []string {
	switch doc {
	case DocOrder:
		return names(orderFields)
	case DocShipment:
		return names(shipmentFields)
	case DocInvoice:
		return names(invoiceFields)
	}
	return nil
}

func fieldNames(doc Document) map[string]bool {
	list := Fields(doc)
	if list == nil {
		return nil
	}
	m := make(map[string]bool, len(list))
	for _, n := range list {
		m[n] = true
	}
	return m
}
