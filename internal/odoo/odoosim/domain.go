package odoosim

import (
	"regexp"
	"strings"
	"sync"
)

// domain is a parsed Odoo domain: a tree of &, |, ! over leaves.
type domain struct {
	op       string // "&", "|", "!", "leaf", "true"
	children []*domain
	path     string
	operator string
	value    any
	// in is the list of an "in" or "not in" leaf as a set, built at its first use when the list
	// is long: a search by hundreds of ids then costs one lookup per record, not hundreds.
	in *valueSet
}

// valueSet holds the numbers and the strings of a leaf's list; ok is false when the list holds
// anything else (False, a bool), which is then compared one element at a time as Odoo does.
type valueSet struct {
	nums map[float64]bool
	strs map[string]bool
	ok   bool
}

// longList is the length from which an "in" list is looked up through a valueSet.
const longList = 16

func newValueSet(list []any) *valueSet {
	s := &valueSet{nums: map[float64]bool{}, strs: map[string]bool{}, ok: true}
	for _, x := range list {
		switch v := x.(type) {
		case int, float64:
			s.nums[asFloat(v)] = true
		case string:
			s.strs[v] = true
		default:
			s.ok = false
			return s
		}
	}
	return s
}

// compare applies the leaf's operator to the stored value v.
func (d *domain) compare(v any, boolField bool) bool {
	if d.operator == "in" || d.operator == "not in" {
		if list, ok := d.value.([]any); ok && len(list) >= longList && !boolField {
			if d.in == nil {
				d.in = newValueSet(list)
			}
			if found, ok := d.in.has(v); ok {
				return found == (d.operator == "in")
			}
		}
	}
	return compareLeaf(d.operator, v, d.value, boolField)
}

// has reports whether v equals an element, as compareLeaf's "=" would find; ok is false when the
// set cannot tell (v is empty or of another kind).
func (s *valueSet) has(v any) (found, ok bool) {
	if !s.ok || isEmpty(v) {
		return false, false
	}
	switch x := v.(type) {
	case int, float64:
		if len(s.strs) > 0 {
			return false, false
		}
		return s.nums[asFloat(x)], true
	case string:
		if len(s.nums) > 0 {
			return false, false
		}
		return s.strs[x], true
	}
	return false, false
}

// parseDomain parses a domain in Odoo's prefix notation; consecutive terms
// at the top level are joined with an implicit "&".
func parseDomain(items []any) (*domain, error) {
	pos := 0
	var terms []*domain
	for pos < len(items) {
		d, err := parseTerm(items, &pos)
		if err != nil {
			return nil, err
		}
		terms = append(terms, d)
	}
	switch len(terms) {
	case 0:
		return &domain{op: "true"}, nil
	case 1:
		return terms[0], nil
	}
	return &domain{op: "&", children: terms}, nil
}

var validOperators = map[string]bool{
	"=": true, "!=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true,
	"in": true, "not in": true, "like": true, "ilike": true, "not like": true, "not ilike": true,
	"=like": true, "=ilike": true, "=?": true, "child_of": true, "parent_of": true,
}

func parseTerm(items []any, pos *int) (*domain, error) {
	if *pos >= len(items) {
		return nil, valueError("Invalid domain: missing operand")
	}
	item := items[*pos]
	*pos++
	switch x := item.(type) {
	case string:
		n := 0
		switch x {
		case "&", "|":
			n = 2
		case "!":
			n = 1
		default:
			return nil, valueError("Invalid domain term %s", pyRepr(x))
		}
		d := &domain{op: x}
		for i := 0; i < n; i++ {
			c, err := parseTerm(items, pos)
			if err != nil {
				return nil, err
			}
			d.children = append(d.children, c)
		}
		return d, nil
	case []any:
		if len(x) != 3 {
			return nil, valueError("Invalid leaf %v", x)
		}
		// (1, '=', 1) and (0, '=', 1) are TRUE_LEAF and FALSE_LEAF.
		if a, ok := asInt(x[0]); ok {
			b, _ := asInt(x[2])
			if a == b {
				return &domain{op: "true"}, nil
			}
			return &domain{op: "!", children: []*domain{{op: "true"}}}, nil
		}
		path, ok := x[0].(string)
		op, ok2 := x[1].(string)
		op = strings.ToLower(op)
		if !ok || !ok2 || !validOperators[op] {
			return nil, valueError("Invalid leaf %v", x)
		}
		if op == "<>" {
			op = "!="
		}
		return &domain{op: "leaf", path: path, operator: op, value: x[2]}, nil
	}
	return nil, valueError("Invalid domain term %v", item)
}

// mentions reports whether a leaf filters on field name (so the implicit
// active=True filter is not added).
func (d *domain) mentions(name string) bool {
	if d.op == "leaf" {
		return d.path == name
	}
	for _, c := range d.children {
		if c.mentions(name) {
			return true
		}
	}
	return false
}

func (d *domain) match(e *env, m *modelDef, r record) (bool, error) {
	switch d.op {
	case "true":
		return true, nil
	case "!":
		ok, err := d.children[0].match(e, m, r)
		return !ok, err
	case "&":
		for _, c := range d.children {
			ok, err := c.match(e, m, r)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case "|":
		for _, c := range d.children {
			ok, err := c.match(e, m, r)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	return d.matchLeaf(e, m, r)
}

// negative operators match when no value on an x2many path matches the
// positive operator.
var negatives = map[string]string{"!=": "=", "not in": "in", "not like": "like", "not ilike": "ilike"}

func (d *domain) matchLeaf(e *env, m *modelDef, r record) (bool, error) {
	name, rest, dotted := strings.Cut(d.path, ".")
	f := m.fields[name]
	if f == nil {
		return false, valueError("Invalid field %s.%s in leaf %s", m.name, name, pyRepr(d.path))
	}
	v := e.get(m, r, name)
	if d.operator == "child_of" || d.operator == "parent_of" {
		return e.hierarchy(m, f, r, d)
	}
	if dotted {
		if f.relation == "" {
			return false, valueError("Invalid field %s.%s in leaf %s", m.name, name, pyRepr(d.path))
		}
		cm := e.s.models[f.relation]
		ids := relIDs(v)
		sub := &domain{op: "leaf", path: rest, operator: d.operator, value: d.value}
		if pos, neg := negatives[d.operator]; neg {
			sub.operator = pos
			for _, id := range ids {
				if ok, err := sub.matchLeaf(e, cm, e.rec(cm.name, id)); err != nil || ok {
					return false, err
				}
			}
			return true, nil
		}
		if len(ids) == 0 {
			// An empty many2one compares as False on the path's last field.
			return d.compare(nil, false), nil
		}
		for _, id := range ids {
			if ok, err := sub.matchLeaf(e, cm, e.rec(cm.name, id)); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	switch f.kind {
	case tO2M, tM2M:
		ids := relIDs(v)
		if isFalse(d.value) {
			empty := len(ids) == 0
			if d.operator == "=" || d.operator == "in" {
				return empty, nil
			}
			return !empty, nil
		}
		if pos, neg := negatives[d.operator]; neg {
			for _, id := range ids {
				if e.matchRelated(f, id, pos, d.value) {
					return false, nil
				}
			}
			return true, nil
		}
		for _, id := range ids {
			if e.matchRelated(f, id, d.operator, d.value) {
				return true, nil
			}
		}
		return false, nil
	case tM2O:
		id, _ := v.(int)
		if _, isStr := d.value.(string); isStr && id != 0 {
			// A string compares with the related record's display_name.
			name := e.displayName(e.s.models[f.relation], e.rec(f.relation, id))
			return d.compare(name, false), nil
		}
		if id == 0 {
			return d.compare(nil, false), nil
		}
		return d.compare(id, false), nil
	}
	return d.compare(v, f.kind == tBool), nil
}

func (e *env) matchRelated(f *field, id int, op string, value any) bool {
	if _, isStr := value.(string); isStr {
		name := e.displayName(e.s.models[f.relation], e.rec(f.relation, id))
		return compareLeaf(op, name, value, false)
	}
	return compareLeaf(op, id, value, false)
}

// hierarchy evaluates child_of / parent_of on a field whose comodel has a
// parent_id (res.partner, stock.location).
func (e *env) hierarchy(m *modelDef, f *field, r record, d *domain) (bool, error) {
	targets, _ := asIDs(d.value)
	var ids []int
	if f.kind == tM2O || f.name == "id" {
		if id, ok := e.get(m, r, f.name).(int); ok {
			ids = []int{id}
		}
	} else {
		ids = relIDs(e.get(m, r, f.name))
	}
	rel := f.relation
	if f.name == "id" {
		rel = m.name
	}
	for _, id := range ids {
		for cur, depth := id, 0; cur != 0 && depth < 64; depth++ {
			if containsInt(targets, cur) {
				if d.operator == "child_of" || cur == id {
					return true, nil
				}
			}
			if d.operator == "parent_of" {
				// parent_of: the record is an ancestor of a target.
				for _, t := range targets {
					for c, dd := t, 0; c != 0 && dd < 64; dd++ {
						if c == id {
							return true, nil
						}
						c, _ = e.rec(rel, c)["parent_id"].(int)
					}
				}
				break
			}
			pr := e.rec(rel, cur)
			if pr == nil {
				break
			}
			cur, _ = pr["parent_id"].(int)
		}
	}
	return false, nil
}

func relIDs(v any) []int {
	switch x := v.(type) {
	case int:
		if x != 0 {
			return []int{x}
		}
	case []int:
		return x
	}
	return nil
}

func isFalse(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	}
	return false
}

// compareLeaf applies a leaf operator to a stored value.
func compareLeaf(op string, v, value any, boolField bool) bool {
	switch op {
	case "=?":
		if isFalse(value) {
			return true
		}
		return compareLeaf("=", v, value, boolField)
	case "=", "!=":
		var eq bool
		switch {
		case isFalse(value) && !boolField:
			eq = isEmpty(v)
		case boolField:
			eq = truthy(v) == truthy(value)
		default:
			eq = !isEmpty(v) && compareValues(v, value) == 0
		}
		return eq == (op == "=")
	case "in", "not in":
		list, ok := value.([]any)
		if !ok {
			list = []any{value}
		}
		found := false
		for _, x := range list {
			if compareLeaf("=", v, x, boolField) {
				found = true
				break
			}
		}
		return found == (op == "in")
	case "<", "<=", ">", ">=":
		if isEmpty(v) && !isNumber(v) || isFalse(value) {
			return false
		}
		c := compareValues(v, value)
		switch op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		}
		return c >= 0
	case "like", "ilike", "not like", "not ilike", "=like", "=ilike":
		if isFalse(value) {
			// ('name', 'ilike', False) is the same as ('name', '=', False)
			eq := isEmpty(v)
			return eq == !strings.HasPrefix(op, "not")
		}
		pattern := asString(value)
		if op == "like" || op == "ilike" || op == "not like" || op == "not ilike" {
			pattern = "%" + pattern + "%"
		}
		insensitive := strings.Contains(op, "ilike")
		matched := !isEmpty(v) && likeMatch(pattern, asString(v), insensitive)
		if strings.HasPrefix(op, "not") {
			return !matched
		}
		return matched
	}
	return false
}

func isNumber(v any) bool {
	switch v.(type) {
	case int, float64:
		return true
	}
	return false
}

var likeCache sync.Map // pattern → *regexp.Regexp

// likeMatch implements SQL LIKE with % and _ wildcards.
func likeMatch(pattern, s string, insensitive bool) bool {
	key := pattern
	if insensitive {
		key = "(?i)" + pattern
	}
	if re, ok := likeCache.Load(key); ok {
		return re.(*regexp.Regexp).MatchString(s)
	}
	var b strings.Builder
	if insensitive {
		b.WriteString("(?is)")
	} else {
		b.WriteString("(?s)")
	}
	b.WriteString("^")
	escaped := false
	for _, c := range pattern {
		switch {
		case escaped:
			b.WriteString(regexp.QuoteMeta(string(c)))
			escaped = false
		case c == '\\':
			escaped = true
		case c == '%':
			b.WriteString(".*")
		case c == '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re := regexp.MustCompile(b.String())
	likeCache.Store(key, re)
	return re.MatchString(s)
}
