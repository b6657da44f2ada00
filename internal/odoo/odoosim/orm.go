package odoosim

import (
	"fmt"
	"sort"
	"strings"
)

// checkAccess raises AccessError when the user lacks the model's groups.
func (e *env) checkAccess(m *modelDef, write bool) error {
	groups := m.readGroups
	op, verb := "read", "access"
	if write {
		groups = m.writeGroups
		op, verb = "write", "modify"
	}
	_ = op
	if len(groups) == 0 || e.s.userHasAny(e.uid, groups) {
		return nil
	}
	names := make([]string, len(groups))
	for i, g := range groups {
		names[i] = "\t- " + groupLabel(g)
	}
	return accessError("You are not allowed to %s '%s' (%s) records.\n\nThis operation is allowed for the following groups:\n%s\n\nContact your administrator to request access if necessary.",
		verb, m.label, m.name, strings.Join(names, "\n"))
}

// create creates one record from wire values and returns its id.
func (e *env) create(m *modelDef, vals map[string]any) (int, error) {
	if err := e.checkAccess(m, true); err != nil {
		return 0, err
	}
	vals = cloneVals(vals)
	// Context defaults (default_<field>) and field defaults fill what vals lacks.
	for name := range m.fields {
		if _, ok := vals[name]; ok || strings.HasPrefix(name, "__") {
			continue
		}
		if v, ok := e.ctx["default_"+name]; ok {
			vals[name] = v
		}
	}
	if m.beforeCreate != nil {
		if err := m.beforeCreate(e, vals); err != nil {
			return 0, err
		}
	}
	t := e.table(m.name)
	e.saveNext(m.name)
	t.next++
	id := t.next
	e.save(m.name, id) // remembered as created
	now := formatDatetime(e.now)
	r := record{"id": id, "create_date": now, "create_uid": e.uid, "write_uid": e.uid}
	t.stamp(id, r, now)
	t.recs[id] = r
	for name, f := range m.fields {
		if _, ok := vals[name]; ok || name == "id" || f.compute != nil || f.delegate != "" {
			continue
		}
		switch {
		case f.def != nil:
			t.set(r, name, f.def(e))
		case f.kind == tFloat || f.kind == tMonetary:
			r[name] = 0.0 // Odoo reads an unset number as 0
		case f.kind == tInt:
			r[name] = 0
		case f.kind == tBool:
			r[name] = false
		}
	}
	if err := e.assign(m, r, vals); err != nil {
		t.drop(r)
		delete(t.recs, id)
		t.next--
		return 0, err
	}
	for name, f := range m.fields {
		if f.required && f.compute == nil && isEmpty(e.get(m, r, name)) {
			t.drop(r)
			delete(t.recs, id)
			t.next--
			return 0, validationError("The operation cannot be completed: Missing required fields on %s: %s", m.label, f.label)
		}
	}
	if m.afterCreate != nil {
		if err := m.afterCreate(e, id); err != nil {
			return 0, err
		}
	}
	e.touch(m.name, id)
	return id, nil
}

// write applies wire values to existing records.
func (e *env) write(m *modelDef, ids []int, vals map[string]any) error {
	if err := e.checkAccess(m, true); err != nil {
		return err
	}
	if err := e.mustExist(m, ids); err != nil {
		return err
	}
	for _, id := range ids {
		r := e.mut(m.name, id)
		if err := e.assign(m, r, vals); err != nil {
			return err
		}
		e.table(m.name).stamp(id, r, formatDatetime(e.now))
		r["write_uid"] = e.uid
		e.touch(m.name, id)
	}
	if m.afterWrite != nil {
		return m.afterWrite(e, ids, vals)
	}
	return nil
}

// touch marks a record as changed now: its write_date moves and the
// webhook emitter reports it.
func (e *env) touch(model string, id int) {
	if r := e.mut(model, id); r != nil {
		e.table(model).stamp(id, r, formatDatetime(e.now))
	}
	if e.touched == nil {
		e.touched = map[string][]int{}
	}
	if !containsInt(e.touched[model], id) {
		e.touched[model] = append(e.touched[model], id)
	}
}

func (e *env) mustExist(m *modelDef, ids []int) error {
	t := e.table(m.name)
	var missing []int
	for _, id := range ids {
		if _, ok := t.recs[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return missingError(m.name, missing, e.uid)
	}
	return nil
}

func cloneVals(v map[string]any) map[string]any {
	out := make(map[string]any, len(v))
	for k, x := range v {
		out[k] = x
	}
	return out
}

// assign converts wire values to stored form and stores them on r.
func (e *env) assign(m *modelDef, r record, vals map[string]any) error {
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	// Plain fields first, so x2many lines created here see their parent's
	// values (an order line needs the order's pricelist).
	sort.SliceStable(names, func(i, j int) bool {
		xi, xj := isX2M(m, names[i]), isX2M(m, names[j])
		if xi != xj {
			return !xi
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		v := vals[name]
		f := m.fields[name]
		if f == nil {
			return valueError("Invalid field %s on model %s", pyRepr(name), pyRepr(m.name))
		}
		if name == "id" || f.compute != nil && f.kind != tO2M {
			continue // Odoo ignores writes to computed fields without inverse
		}
		if f.delegate != "" {
			did, _ := r[f.delegate].(int)
			dm := e.s.models[m.fields[f.delegate].relation]
			if dr := e.mut(dm.name, did); dr != nil {
				if err := e.assign(dm, dr, map[string]any{name: v}); err != nil {
					return err
				}
				e.table(dm.name).stamp(did, dr, formatDatetime(e.now))
			}
			continue
		}
		sv, err := e.convert(m, f, r, v)
		if err != nil {
			return err
		}
		if f.kind != tO2M {
			e.table(m.name).set(r, name, sv)
		}
	}
	return nil
}

// convert checks and converts one wire value for field f.
func (e *env) convert(m *modelDef, f *field, r record, v any) (any, error) {
	switch f.kind {
	case tM2O:
		if !truthy(v) {
			return nil, nil
		}
		id, ok := asInt(v)
		if !ok {
			return nil, valueError("Wrong value for %s.%s: %s", m.name, f.name, pyRepr(v))
		}
		if e.rec(f.relation, id) == nil {
			return nil, missingError(f.relation, []int{id}, e.uid)
		}
		return id, nil
	case tM2M, tO2M:
		return e.x2many(m, f, r, v)
	case tBool:
		return truthy(v), nil
	case tInt:
		if !truthy(v) {
			return 0, nil
		}
		i, ok := asInt(v)
		if !ok {
			return nil, valueError("Wrong value for %s.%s: %s", m.name, f.name, pyRepr(v))
		}
		return i, nil
	case tFloat, tMonetary:
		switch v.(type) {
		case int, float64, bool, nil:
			return asFloat(v), nil
		}
		return nil, valueError("Wrong value for %s.%s: %s", m.name, f.name, pyRepr(v))
	case tSelection:
		if !truthy(v) {
			return nil, nil
		}
		s := asString(v)
		for _, opt := range f.selection {
			if opt[0] == s {
				return s, nil
			}
		}
		return nil, valueError("Wrong value for %s.%s: %s", m.name, f.name, pyRepr(v))
	case tDate, tDatetime:
		if !truthy(v) {
			return nil, nil
		}
		s := asString(v)
		if f.kind == tDate && len(s) > 10 {
			s = s[:10]
		}
		if f.kind == tDatetime && len(s) == 10 {
			s += " 00:00:00"
		}
		return s, nil
	default:
		if !truthy(v) {
			return nil, nil
		}
		return asString(v), nil
	}
}

// x2many applies Odoo's x2many commands (or a plain list of ids, meaning
// "replace with") and returns the resulting ids.
func (e *env) x2many(m *modelDef, f *field, r record, v any) (any, error) {
	var current []int
	if f.kind == tO2M {
		if id, ok := r["id"].(int); ok && e.rec(m.name, id) != nil {
			current = e.children(f.relation, f.inverse, id)
		}
	} else if ids, ok := r[f.name].([]int); ok {
		current = append([]int(nil), ids...)
	}
	list, ok := v.([]any)
	if !ok {
		if !truthy(v) {
			list = nil
		} else {
			return nil, valueError("Wrong value for %s.%s: %s", m.name, f.name, pyRepr(v))
		}
	}
	comodel := e.s.models[f.relation]
	rid, _ := r["id"].(int)
	link := func(id int) error {
		if f.kind == tO2M {
			return e.write(comodel, []int{id}, map[string]any{f.inverse: rid})
		}
		if !containsInt(current, id) {
			current = append(current, id)
		}
		return nil
	}
	unlinkRel := func(id int, del bool) error {
		if f.kind == tO2M || del {
			return e.unlink(comodel, []int{id})
		}
		out := current[:0]
		for _, x := range current {
			if x != id {
				out = append(out, x)
			}
		}
		current = out
		return nil
	}
	for _, item := range list {
		cmd, isCmd := item.([]any)
		if !isCmd {
			// plain list of ids: (6, 0, ids)
			ids, ok := asIDs(list)
			if !ok {
				return nil, valueError("Wrong value for %s.%s: %s", m.name, f.name, pyRepr(v))
			}
			cmd = []any{6, 0, intsToAny(ids)}
			list = nil
		}
		if len(cmd) == 0 {
			continue
		}
		code, _ := asInt(cmd[0])
		arg := func(i int) any {
			if i < len(cmd) {
				return cmd[i]
			}
			return nil
		}
		id, _ := asInt(arg(1))
		switch code {
		case 0:
			vals, _ := arg(2).(map[string]any)
			vals = cloneVals(vals)
			if f.kind == tO2M {
				vals[f.inverse] = rid
			}
			nid, err := e.create(comodel, vals)
			if err != nil {
				return nil, err
			}
			if f.kind == tM2M {
				current = append(current, nid)
			}
		case 1:
			vals, _ := arg(2).(map[string]any)
			if err := e.write(comodel, []int{id}, vals); err != nil {
				return nil, err
			}
		case 2:
			if err := unlinkRel(id, true); err != nil {
				return nil, err
			}
		case 3:
			if err := unlinkRel(id, false); err != nil {
				return nil, err
			}
		case 4:
			if e.rec(f.relation, id) == nil {
				return nil, missingError(f.relation, []int{id}, e.uid)
			}
			if err := link(id); err != nil {
				return nil, err
			}
		case 5:
			for _, x := range append([]int(nil), current...) {
				if err := unlinkRel(x, false); err != nil {
					return nil, err
				}
			}
		case 6:
			ids, ok := asIDs(arg(2))
			if !ok {
				return nil, valueError("Wrong value for %s.%s: %s", m.name, f.name, pyRepr(v))
			}
			for _, x := range append([]int(nil), current...) {
				if !containsInt(ids, x) {
					if err := unlinkRel(x, false); err != nil {
						return nil, err
					}
				}
			}
			for _, x := range ids {
				if e.rec(f.relation, x) == nil {
					return nil, missingError(f.relation, []int{x}, e.uid)
				}
				if err := link(x); err != nil {
					return nil, err
				}
			}
		default:
			return nil, valueError("Unknown x2many command %d for %s.%s", code, m.name, f.name)
		}
	}
	if f.kind == tO2M {
		return nil, nil
	}
	return current, nil
}

// unlink deletes records.
func (e *env) unlink(m *modelDef, ids []int) error {
	if err := e.checkAccess(m, true); err != nil {
		return err
	}
	if err := e.mustExist(m, ids); err != nil {
		return err
	}
	if m.beforeUnlink != nil {
		if err := m.beforeUnlink(e, ids); err != nil {
			return err
		}
	}
	t := e.table(m.name)
	for _, id := range ids {
		// one2many children with a required inverse go with their parent.
		for _, f := range m.fields {
			if f.kind == tO2M && f.compute == nil && f.inverse != "" {
				cm := e.s.models[f.relation]
				if inv := cm.fields[f.inverse]; inv != nil && inv.required {
					if err := e.unlink(cm, e.children(f.relation, f.inverse, id)); err != nil {
						return err
					}
				}
			}
		}
		e.save(m.name, id)
		t.drop(t.recs[id])
		delete(t.recs, id)
	}
	return nil
}

// readFields returns records as read() does. load=false gives many2one
// values as plain ids (load=None in Python).
func (e *env) read(m *modelDef, ids []int, fields []string, load bool) ([]any, error) {
	if err := e.checkAccess(m, false); err != nil {
		return nil, err
	}
	if err := e.mustExist(m, ids); err != nil {
		return nil, err
	}
	if len(fields) == 0 {
		for name := range m.fields {
			if !strings.HasPrefix(name, "__") {
				fields = append(fields, name)
			}
		}
		sort.Strings(fields)
	}
	for _, name := range fields {
		if m.fields[name] == nil {
			return nil, valueError("Invalid field %s on model %s", pyRepr(name), pyRepr(m.name))
		}
	}
	t := e.table(m.name)
	out := make([]any, 0, len(ids))
	for _, id := range uniqueInts(ids) {
		r := t.recs[id]
		row := map[string]any{"id": id}
		for _, name := range fields {
			row[name] = e.wireValue(m, r, name, load)
		}
		out = append(out, row)
	}
	return out, nil
}

// wireValue renders a field value as read() returns it: False for empty
// values, [id, display_name] for many2one, lists of ids for x2many.
func (e *env) wireValue(m *modelDef, r record, name string, load bool) any {
	f := m.fields[name]
	v := e.get(m, r, name)
	switch f.kind {
	case tM2O:
		id, ok := v.(int)
		if !ok || id == 0 {
			return false
		}
		if !load {
			return id
		}
		cm := e.s.models[f.relation]
		cr := e.rec(f.relation, id)
		if cr == nil {
			return false
		}
		return []any{id, e.displayName(cm, cr)}
	case tO2M, tM2M:
		ids, _ := v.([]int)
		if ids == nil {
			return []any{}
		}
		return intsToAny(ids)
	case tBool:
		return truthy(v)
	case tInt:
		i, _ := asInt(v)
		return i
	case tFloat, tMonetary:
		return asFloat(v)
	}
	if isEmpty(v) {
		return false
	}
	return v
}

// search returns the ids matching a domain, ordered, offset and limited.
func (e *env) search(m *modelDef, domain []any, offset, limit int, order string) ([]int, error) {
	if err := e.checkAccess(m, false); err != nil {
		return nil, err
	}
	d, err := parseDomain(domain)
	if err != nil {
		return nil, err
	}
	t := e.table(m.name)
	look, narrowed := d.candidates(m, t)
	if !narrowed {
		look = sortedKeys(t.recs)
	}
	var ids []int
	for _, id := range look {
		r := t.recs[id]
		if _, ok := m.fields["active"]; ok && !activeTestOff(e.ctx) && !d.mentions("active") {
			if !truthy(e.get(m, r, "active")) {
				continue
			}
		}
		ok, err := d.match(e, m, r)
		if err != nil {
			return nil, err
		}
		if ok {
			ids = append(ids, id)
		}
	}
	if order == "" {
		order = m.order
	}
	if err := e.checkOrder(m, order); err != nil {
		return nil, err
	}
	e.sortIDs(m, ids, order)
	if offset > 0 {
		if offset >= len(ids) {
			ids = nil
		} else {
			ids = ids[offset:]
		}
	}
	if limit > 0 && limit < len(ids) {
		ids = ids[:limit]
	}
	return ids, nil
}

func (e *env) checkOrder(m *modelDef, order string) error {
	for _, part := range strings.Split(order, ",") {
		fs := strings.Fields(part)
		if len(fs) == 0 {
			continue
		}
		if m.fields[fs[0]] == nil || len(fs) > 1 && !strings.EqualFold(fs[1], "asc") && !strings.EqualFold(fs[1], "desc") {
			return valueError("Invalid \"order\" specified (%s). A valid \"order\" specification is a comma-separated list of valid field names (optionally followed by asc/desc for the direction)", order)
		}
	}
	return nil
}

func activeTestOff(ctx map[string]any) bool {
	v, ok := ctx["active_test"]
	return ok && !truthy(v)
}

// fieldsGet describes the model's fields as fields_get does.
func (e *env) fieldsGet(m *modelDef, allfields []string, attributes []string) map[string]any {
	out := map[string]any{}
	for name, f := range m.fields {
		if strings.HasPrefix(name, "__") || len(allfields) > 0 && !containsString(allfields, name) {
			continue
		}
		desc := map[string]any{
			"type":       f.kind,
			"string":     f.label,
			"required":   f.required,
			"readonly":   f.readonly,
			"store":      f.compute == nil && f.kind != tO2M && f.delegate == "",
			"searchable": true,
			"sortable":   f.kind != tO2M && f.kind != tM2M,
			"name":       name,
		}
		if f.relation != "" {
			desc["relation"] = f.relation
		}
		if f.kind == tO2M {
			desc["relation_field"] = f.inverse
		}
		if f.kind == tSelection {
			sel := make([]any, len(f.selection))
			for i, s := range f.selection {
				sel[i] = []any{s[0], s[1]}
			}
			desc["selection"] = sel
		}
		if len(attributes) > 0 {
			for k := range desc {
				if !containsString(attributes, k) {
					delete(desc, k)
				}
			}
		}
		out[name] = desc
	}
	return out
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func asStrings(v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		if !x {
			return nil, nil
		}
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, typeError("expected a list of strings, got %s", pyRepr(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, typeError("expected a list of strings, got %s", fmt.Sprint(v))
}

func isX2M(m *modelDef, name string) bool {
	f := m.fields[name]
	return f != nil && (f.kind == tO2M || f.kind == tM2M)
}
