package odoo

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
)

// odooDatetime and odooDate are the formats Odoo reads and writes datetimes and dates in (UTC).
const (
	odooDatetime = "2006-01-02 15:04:05"
	odooDate     = "2006-01-02"
)

// asInt reads an integer from a decoded reply value.
func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return i, true
		}
		if f, err := n.Float64(); err == nil && f == float64(int64(f)) {
			return int64(f), true
		}
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	case int64:
		return n, true
	case int:
		return int64(n), true
	}
	return 0, false
}

// asDecimal reads a number as a Decimal: exactly when it has at most six decimals, else rounded.
func asDecimal(v any) waybill.Decimal {
	switch n := v.(type) {
	case json.Number:
		if d, err := waybill.ParseDecimal(string(n)); err == nil {
			return d
		}
		if f, err := n.Float64(); err == nil {
			return waybill.DecimalFromFloat(f)
		}
	case float64:
		return waybill.DecimalFromFloat(n)
	case int64:
		return waybill.DecimalFromInt(n)
	case int:
		return waybill.DecimalFromInt(int64(n))
	}
	return waybill.Zero
}

// asIDs reads a list of ids (a create result, an x2many value).
func asIDs(v any) []int64 {
	l, _ := v.([]any)
	out := make([]int64, 0, len(l))
	for _, x := range l {
		if id, ok := asInt(x); ok {
			out = append(out, id)
		}
	}
	return out
}

// record is one record as read: field name to decoded value.
type record map[string]any

func asRecords(v any) []record {
	l, _ := v.([]any)
	out := make([]record, 0, len(l))
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, record(m))
		}
	}
	return out
}

func (r record) ID() int64 { id, _ := asInt(r["id"]); return id }

// Str reads a char field; Odoo's False is "".
func (r record) Str(name string) string {
	s, _ := r[name].(string)
	return s
}

func (r record) Int(name string) int64 { n, _ := asInt(r[name]); return n }

func (r record) Bool(name string) bool { b, _ := r[name].(bool); return b }

func (r record) Dec(name string) waybill.Decimal { return asDecimal(r[name]) }

// IDs reads an x2many field.
func (r record) IDs(name string) []int64 { return asIDs(r[name]) }

// M2O reads a many2one as [id, display_name] (or False) into a reference on model.
func (r record) M2O(name, model string) waybill.ERPRef {
	l, ok := r[name].([]any)
	if !ok || len(l) == 0 {
		if id, ok := asInt(r[name]); ok && id != 0 { // JSON-2 may return the bare id
			return waybill.ERPRef{Model: model, ID: id}
		}
		return waybill.ERPRef{}
	}
	id, _ := asInt(l[0])
	ref := waybill.ERPRef{Model: model, ID: id}
	if len(l) > 1 {
		ref.Name, _ = l[1].(string)
	}
	return ref
}

// Time reads a datetime or date field (UTC); False is the zero time.
func (r record) Time(name string) time.Time {
	s := r.Str(name)
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(odooDatetime, s); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse(odooDate, s); err == nil {
		return t.UTC()
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC()
	}
	if i := strings.IndexByte(s, '.'); i > 0 { // microseconds
		if t, err := time.Parse(odooDatetime, s[:i]); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

func idsAny(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// dec2f converts a Decimal to the float Odoo's JSON expects.
func dec2f(d waybill.Decimal) float64 { return d.Float() }
