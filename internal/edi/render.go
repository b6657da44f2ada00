package edi

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/waybill-hub/waybill/x12"
)

// ToTree turns a Go value into the JSON-shaped tree outbound templates read.
func ToTree(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, err
	}
	return out, nil
}

// SegmentWriter receives rendered segments (an *x12.Writer does).
type SegmentWriter interface {
	WriteSegment(id string, elements ...string) error
}

var _ SegmentWriter = (*x12.Writer)(nil)

// Render writes the mapping's segments for doc (the body of the set: ST and SE are the caller's,
// so that envelopes and control numbers stay in one place). Expressions:
//
//	"{path}"            a value of doc ("po_number", "erp.name", "qty.accepted")
//	"{/path}"           inside foreach: a value of the whole document
//	"{path|f|g}"        filters: map:TABLE, date (CCYYMMDD), date6 (YYMMDD), time (HHMM), upper,
//	                    max:N (cut to N characters), default:X, count (length of a list), index (1-based
//	                    position inside foreach)
//	literal text        written as is; several expressions may be mixed with text
//
// A template with When writes its segment only when the path is non-empty ("!path": only when
// empty); an element with When is empty unless its path is non-empty.
//
// Values taken from doc never carry the writer's delimiters: when w tells its delimiters (an
// *x12.Writer does), each delimiter in a value is replaced by a space, so a partner name with a
// '*' cannot break the interchange. Literal template text is written as is.
func (m *Mapping) Render(doc map[string]any, w SegmentWriter) error {
	if m.Direction != ToX12 {
		return fmt.Errorf("mapping %s %s is not an outbound mapping", m.Set, m.Version)
	}
	sc := scope{root: doc, cur: doc}
	if dw, ok := w.(interface{ Delimiters() x12.Delimiters }); ok {
		d := dw.Delimiters()
		var pairs []string
		for _, c := range []byte{d.Element, d.Segment, d.Component, d.Repetition} {
			if c != 0 {
				pairs = append(pairs, string(c), " ")
			}
		}
		sc.clean = strings.NewReplacer(pairs...)
	}
	return m.render(m.Segments, sc, w)
}

type scope struct {
	root, cur map[string]any
	index     int
	clean     *strings.Replacer // removes delimiters from values; nil keeps them
}

func (m *Mapping) render(ts []Template, sc scope, w SegmentWriter) error {
	for _, t := range ts {
		if t.When != "" && !truthy(sc, t.When) {
			continue
		}
		if t.Foreach != "" {
			list, _ := lookup(sc, t.Foreach).([]any)
			for i, item := range list {
				obj, ok := item.(map[string]any)
				if !ok {
					obj = map[string]any{"value": item}
				}
				if err := m.render(t.Segments, scope{root: sc.root, cur: obj, index: i + 1, clean: sc.clean}, w); err != nil {
					return err
				}
			}
			continue
		}
		els := make([]string, len(t.Elements))
		for i, e := range t.Elements {
			if e.When != "" && !truthy(sc, e.When) {
				continue
			}
			v, err := m.expr(sc, e.Value)
			if err != nil {
				return fmt.Errorf("%s%02d (%s): %w", t.ID, i+1, t.Name, err)
			}
			els[i] = v
		}
		if err := w.WriteSegment(t.ID, els...); err != nil {
			return err
		}
	}
	return nil
}

func truthy(sc scope, cond string) bool {
	neg := strings.HasPrefix(cond, "!")
	v := lookup(sc, strings.TrimPrefix(cond, "!"))
	set := v != nil && v != "" && v != false
	if l, ok := v.([]any); ok {
		set = len(l) > 0
	}
	return set != neg
}

func lookup(sc scope, p string) any {
	cur := sc.cur
	if strings.HasPrefix(p, "/") {
		cur, p = sc.root, p[1:]
	}
	var v any = cur
	for _, part := range strings.Split(p, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[part]
	}
	return v
}

func filtersOf(expr string) []string {
	var out []string
	for {
		i := strings.IndexByte(expr, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(expr[i:], '}')
		if j < 0 {
			return out
		}
		parts := strings.Split(expr[i+1:i+j], "|")
		out = append(out, parts[1:]...)
		expr = expr[i+j+1:]
	}
}

func (m *Mapping) expr(sc scope, expr string) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(expr, '{')
		if i < 0 {
			b.WriteString(expr)
			return b.String(), nil
		}
		j := strings.IndexByte(expr[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unclosed { in %q", expr)
		}
		b.WriteString(expr[:i])
		parts := strings.Split(expr[i+1:i+j], "|")
		var v any
		if parts[0] != "" {
			v = lookup(sc, parts[0])
		}
		s := str(v)
		for _, f := range parts[1:] {
			var err error
			if s, err = m.filter(sc, f, v, s); err != nil {
				return "", err
			}
		}
		if sc.clean != nil {
			s = sc.clean.Replace(s)
		}
		b.WriteString(s)
		expr = expr[i+j+1:]
	}
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "Y"
		}
		return "N"
	}
	return fmt.Sprint(v)
}

func (m *Mapping) filter(sc scope, f string, v any, s string) (string, error) {
	name, arg, _ := strings.Cut(f, ":")
	switch name {
	case "map":
		if mapped, ok := m.Maps[arg][s]; ok {
			return mapped, nil
		}
		return s, nil
	case "date", "date6", "time":
		if s == "" {
			return "", nil
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return "", fmt.Errorf("%q is not a time", s)
		}
		switch name {
		case "date":
			return t.Format("20060102"), nil
		case "date6":
			return t.Format("060102"), nil
		default:
			return t.Format("1504"), nil
		}
	case "upper":
		return strings.ToUpper(s), nil
	case "max":
		n, err := strconv.Atoi(arg)
		if err != nil {
			return "", fmt.Errorf("max:%s: not a number", arg)
		}
		if len(s) > n {
			s = s[:n]
		}
		return s, nil
	case "default":
		if s == "" {
			return arg, nil
		}
		return s, nil
	case "count":
		if l, ok := v.([]any); ok {
			return strconv.Itoa(len(l)), nil
		}
		return "0", nil
	case "index":
		return strconv.Itoa(sc.index), nil
	}
	return "", fmt.Errorf("unknown filter %q", name)
}
