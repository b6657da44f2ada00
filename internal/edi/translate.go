package edi

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/x12"
)

// MappingError is a value the mapping could not translate, located in the set.
type MappingError struct {
	Rule       string
	SegmentID  string
	SegmentPos int // 1-based position in the set (ST = 1)
	Element    int
	Msg        string
}

func (e *MappingError) Error() string {
	s := fmt.Sprintf("segment %s #%d", e.SegmentID, e.SegmentPos)
	if e.Element > 0 {
		s += fmt.Sprintf(" element %02d", e.Element)
	}
	return fmt.Sprintf("%s (rule %s): %s", s, e.Rule, e.Msg)
}

// Translate evaluates an inbound mapping over a transaction set and returns the canonical
// document as a JSON-shaped tree (maps, lists, strings, booleans). loops gives each segment's
// loop path (x12.Loops); when nil every segment is taken as top level. Translate never panics on
// any input; values it cannot convert are returned as MappingErrors next to the partial result.
func (m *Mapping) Translate(set *x12.Set, loops []string) (map[string]any, []*MappingError) {
	doc := map[string]any{}
	vars := map[string]string{}
	var errs []*MappingError
	for i, seg := range set.Segments {
		id := seg.IDString()
		loop := ""
		if i < len(loops) {
			loop = loops[i]
		}
		for ri := range m.Rules {
			r := &m.Rules[ri]
			if r.Segment != id || (r.Loop != "*" && r.Loop != loop) || !r.matches(seg) {
				continue
			}
			fail := func(el int, format string, args ...any) {
				errs = append(errs, &MappingError{Rule: r.Name, SegmentID: id, SegmentPos: i + 1, Element: el, Msg: fmt.Sprintf(format, args...)})
			}
			for _, k := range sortedKeys(r.Let) {
				v, _, err := m.value(seg, r.Let[k])
				if err != nil {
					fail(r.Let[k].Element, "%v", err)
				}
				vars[k] = fmt.Sprint(v)
			}
			for _, k := range pathOrder(r.Set) {
				src := r.Set[k]
				v, ok, err := m.value(seg, src)
				if err != nil {
					fail(src.Element, "%v", err)
					continue
				}
				p, ok2 := expand(k, vars)
				if !ok || !ok2 {
					continue
				}
				if err := assign(doc, p, v); err != nil {
					fail(src.Element, "%v", err)
				}
			}
			if pr := r.Pairs; pr != nil && pr.From > 0 {
				last := seg.Len()
				if pr.To > 0 && pr.To < last {
					last = pr.To
				}
				for q := pr.From; q+1 <= seg.Len() && q <= last; q += 2 {
					qual, val := seg.ElementString(q), seg.ElementString(q+1)
					target, ok := pr.Map[qual]
					if qual == "" || val == "" || !ok {
						continue
					}
					if p, ok := expand(target, vars); ok {
						if err := assign(doc, p, val); err != nil {
							fail(q+1, "%v", err)
						}
					}
				}
			}
		}
	}
	return doc, errs
}

func (r *Rule) matches(seg x12.Segment) bool {
	for pos, want := range r.When {
		got := seg.ElementString(pos)
		ok := false
		for _, alt := range strings.Split(want, "|") {
			if got == alt {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// value reads src from seg. ok is false when there is nothing to set (empty element, unmapped
// code under Strict).
func (m *Mapping) value(seg x12.Segment, src Source) (v any, ok bool, err error) {
	raw := src.Const
	if src.Element > 0 {
		if src.Component > 0 {
			raw = string(seg.Component(src.Element, src.Component))
		} else {
			raw = seg.ElementString(src.Element)
		}
	}
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = src.Default
	}
	if src.As == "present" {
		return raw != "", raw != "", nil
	}
	if raw == "" {
		return nil, false, nil
	}
	if src.Map != "" {
		if mapped, found := m.Maps[src.Map][raw]; found {
			raw = mapped
		} else if src.Strict {
			return nil, false, nil
		}
	}
	switch src.As {
	case "", "string":
		return raw, true, nil
	case "decimal":
		d, err := waybill.ParseDecimal(raw)
		if err != nil {
			return nil, false, fmt.Errorf("%q is not a number", raw)
		}
		return d.String(), true, nil
	case "int":
		n, err := strconv.Atoi(raw)
		if err != nil {
			return nil, false, fmt.Errorf("%q is not a whole number", raw)
		}
		return n, true, nil
	case "date":
		t, err := parseDate(raw)
		if err != nil {
			return nil, false, err
		}
		return t, true, nil
	}
	return nil, false, fmt.Errorf("unknown type %q", src.As)
}

// parseDate reads CCYYMMDD or YYMMDD into an RFC 3339 UTC midnight.
func parseDate(s string) (string, error) {
	var y, mo, d int
	var err error
	switch len(s) {
	case 8:
		y, err = strconv.Atoi(s[:4])
		s = s[4:]
	case 6:
		y, err = strconv.Atoi(s[:2])
		if y < 50 {
			y += 2000
		} else {
			y += 1900
		}
		s = s[2:]
	default:
		return "", fmt.Errorf("%q is not a date (CCYYMMDD)", s)
	}
	if err == nil {
		mo, err = strconv.Atoi(s[:2])
	}
	if err == nil {
		d, err = strconv.Atoi(s[2:4])
	}
	if err != nil || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return "", fmt.Errorf("%q is not a date (CCYYMMDD)", s)
	}
	return fmt.Sprintf("%04d-%02d-%02dT00:00:00Z", y, mo, d), nil
}

// expand fills {var} placeholders; ok is false when one is empty.
func expand(p string, vars map[string]string) (string, bool) {
	if !strings.Contains(p, "{") {
		return p, true
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			b.WriteString(p)
			return b.String(), true
		}
		j := strings.IndexByte(p[i:], '}')
		if j < 0 {
			return "", false
		}
		v := vars[p[i+1:i+j]]
		if v == "" || v == "<nil>" {
			return "", false
		}
		b.WriteString(p[:i])
		b.WriteString(v)
		p = p[i+j+1:]
	}
}

// pathOrder returns the keys of set with appending paths ("[+]") first, then the rest, sorted.
func pathOrder(set map[string]Source) []string {
	keys := sortedKeys(set)
	sort.SliceStable(keys, func(i, j int) bool {
		return strings.Contains(keys[i], "[+]") && !strings.Contains(keys[j], "[+]")
	})
	return keys
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// assign sets path in doc. "a.b" sets a field; "a[+]" appends to a list (a new object when the
// path goes on); "a[]" descends into the list's last item (creating one when empty).
func assign(doc map[string]any, path string, v any) error {
	parts := strings.Split(path, ".")
	cur := doc
	for i, part := range parts {
		last := i == len(parts)-1
		name, mode := part, ""
		if n, ok := strings.CutSuffix(part, "[+]"); ok {
			name, mode = n, "+"
		} else if n, ok := strings.CutSuffix(part, "[]"); ok {
			name, mode = n, "last"
		}
		if name == "" {
			return fmt.Errorf("bad path %q", path)
		}
		switch mode {
		case "":
			if last {
				cur[name] = v
				return nil
			}
			next, ok := cur[name].(map[string]any)
			if !ok {
				if cur[name] != nil {
					return fmt.Errorf("path %q: %s is not an object", path, name)
				}
				next = map[string]any{}
				cur[name] = next
			}
			cur = next
		default:
			list, _ := cur[name].([]any)
			if cur[name] != nil && list == nil {
				return fmt.Errorf("path %q: %s is not a list", path, name)
			}
			if last {
				if mode == "+" || len(list) == 0 {
					list = append(list, v)
				} else {
					list[len(list)-1] = v
				}
				cur[name] = list
				return nil
			}
			if mode == "+" || len(list) == 0 {
				list = append(list, map[string]any{})
			}
			cur[name] = list
			next, ok := list[len(list)-1].(map[string]any)
			if !ok {
				return fmt.Errorf("path %q: %s holds values, not objects", path, name)
			}
			cur = next
		}
	}
	return nil
}

// DecodeOrder turns a translated tree into a canonical order, refusing fields the order does not
// have (a mapping typo shows at once).
func DecodeOrder(doc map[string]any) (*waybill.Order, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var o waybill.Order
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("the mapping produced a document that is not an order: %w", err)
	}
	return &o, nil
}
