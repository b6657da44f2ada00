package odoosim

import (
	"sort"
	"time"
)

// candidates returns, ascending, the only ids of t that can match d, when a conjunct at the top of
// d pins them down: ("id", "=" or "in", ids), a stored many2one ("=" or "in", ids) or an indexed
// char field ("=" or "in", strings), the latter two through the table's index of that field. ok
// is false when every record has to be looked at.
// The caller still matches each candidate against the whole domain, so the result of a search is
// the same either way; only the records looked at differ. It lets the searches the connector makes
// per order (lines of an order, moves of lines, orders by id) cost the same on a database of ten
// orders and of ten thousand, as Odoo's indexes make them.
//
// A domain naming a field the model does not have is not narrowed, so it fails as before.
func (d *domain) candidates(m *modelDef, t *table) (ids []int, ok bool) {
	if !d.fieldsExist(m) {
		return nil, false
	}
	for _, c := range d.conjuncts(nil) {
		if ids, ok := c.termCandidates(m, t); ok {
			return ids, true
		}
	}
	return nil, false
}

// termCandidates returns the ids that can match one term of a conjunction: a leaf the table can
// look up (see candidates), or an "|" whose every side can be looked up (their union, as a
// database combines two index scans).
func (c *domain) termCandidates(m *modelDef, t *table) (ids []int, ok bool) {
	if c.op == "|" {
		var out []int
		for _, side := range c.children {
			var sideIDs []int
			found := false
			for _, cc := range side.conjuncts(nil) {
				if sideIDs, found = cc.termCandidates(m, t); found {
					break
				}
			}
			if !found {
				return nil, false
			}
			out = append(out, sideIDs...)
		}
		sort.Ints(out)
		return dedupSorted(out), true
	}
	if c.op == "leaf" && c.path == "write_date" && (c.operator == ">" || c.operator == ">=") {
		// Change capture: only what was written since, from the table's log of writes.
		if v, ok := c.value.(string); ok {
			if _, err := time.Parse(datetimeFormat, v); err == nil {
				if ids, ok := t.writtenSince(v, c.operator == ">="); ok {
					return ids, true
				}
			}
		}
		return nil, false
	}
	if c.op != "leaf" || c.operator != "=" && c.operator != "in" {
		return nil, false
	}
	f := m.fields[c.path]
	if f == nil || f.compute != nil || f.delegate != "" {
		return nil, false
	}
	if f.indexed && f.kind == tChar {
		values, ok := wireStrings(c.operator, c.value)
		if !ok {
			return nil, false
		}
		var out []int
		for _, v := range values {
			out = append(out, t.holding(c.path, v)...)
		}
		sort.Ints(out)
		return dedupSorted(out), true
	}
	if c.path != "id" && f.kind != tM2O {
		return nil, false
	}
	want, ok := wireIDs(c.operator, c.value)
	if !ok {
		return nil, false
	}
	var out []int
	for _, id := range want {
		if c.path == "id" {
			if _, exists := t.recs[id]; exists {
				out = append(out, id)
			}
			continue
		}
		out = append(out, t.referrers(c.path, id)...)
	}
	sort.Ints(out)
	return dedupSorted(out), true
}

// conjuncts appends the terms joined by "&" at the top of d.
func (d *domain) conjuncts(out []*domain) []*domain {
	if d.op != "&" {
		return append(out, d)
	}
	for _, c := range d.children {
		out = c.conjuncts(out)
	}
	return out
}

// fieldsExist reports whether the first name of every leaf's path is a field of m.
func (d *domain) fieldsExist(m *modelDef) bool {
	if d.op == "leaf" {
		name := d.path
		for i := range len(name) {
			if name[i] == '.' {
				name = name[:i]
				break
			}
		}
		return m.fields[name] != nil
	}
	for _, c := range d.children {
		if !c.fieldsExist(m) {
			return false
		}
	}
	return true
}

// wireIDs reads the record ids of an "=" or "in" leaf's value; ok is false for anything else
// (False, a name, a float with a fraction), which the leaf then compares as Odoo does.
func wireIDs(op string, v any) ([]int, bool) {
	one := func(x any) (int, bool) {
		switch n := x.(type) {
		case int:
			return n, n > 0
		case float64:
			if n > 0 && n == float64(int(n)) {
				return int(n), true
			}
		}
		return 0, false
	}
	if op == "=" {
		id, ok := one(v)
		return []int{id}, ok
	}
	list, isList := v.([]any)
	if !isList {
		id, ok := one(v)
		return []int{id}, ok
	}
	out := make([]int, 0, len(list))
	for _, x := range list {
		id, ok := one(x)
		if !ok {
			return nil, false
		}
		out = append(out, id)
	}
	return out, true
}

// wireStrings reads the non-empty strings of an "=" or "in" leaf's value; ok is false for
// anything else (False, an empty string, a number), which the leaf then compares as Odoo does.
func wireStrings(op string, v any) ([]string, bool) {
	list, isList := v.([]any)
	if op == "=" || !isList {
		s, ok := v.(string)
		return []string{s}, ok && s != ""
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		s, ok := x.(string)
		if !ok || s == "" {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func dedupSorted(ids []int) []int {
	if len(ids) < 2 {
		return ids
	}
	out := ids[:1]
	for _, id := range ids[1:] {
		if id != out[len(out)-1] {
			out = append(out, id)
		}
	}
	return out
}
