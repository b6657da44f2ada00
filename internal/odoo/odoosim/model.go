package odoosim

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// Field types, as fields_get reports them.
const (
	tChar      = "char"
	tText      = "text"
	tInt       = "integer"
	tFloat     = "float"
	tMonetary  = "monetary"
	tBool      = "boolean"
	tSelection = "selection"
	tDate      = "date"
	tDatetime  = "datetime"
	tM2O       = "many2one"
	tO2M       = "one2many"
	tM2M       = "many2many"
)

// record is one stored row; stored values are nil (empty), bool, int,
// float64, string or []int (x2many ids). Keys starting with "__" are private
// to the simulator and never exposed.
type record map[string]any

// field describes one field of a model.
type field struct {
	name      string
	kind      string
	relation  string      // comodel of relational fields
	inverse   string      // many2one on the comodel holding a one2many
	label     string      // the field's string
	selection [][2]string // allowed values of a selection
	required  bool
	readonly  bool
	// compute returns the value of a non-stored computed field in stored form.
	compute func(e *env, r record) any
	// def returns the default value in stored form.
	def func(e *env) any
	// delegate names a many2one whose target holds this field (product
	// variants read their template's fields through product_tmpl_id).
	delegate string
	// indexed marks a char field that searches with "=" or "in" find through
	// the table's value index (domain_index.go) instead of looking at every
	// record; every write of such a field must go through table.set.
	indexed bool
}

// modelDef is the definition of one model: its fields, order, access rights
// and public methods.
type modelDef struct {
	name      string
	label     string
	fields    map[string]*field
	order     string // default _order
	transient bool
	// displayName computes display_name; nil means the "name" field or
	// "model,id".
	displayName func(e *env, r record) string
	methods     map[string]*method
	// groups allowed to read (readGroups) and to create/write/unlink
	// (writeGroups); empty means every internal user.
	readGroups, writeGroups []string
	// beforeCreate may fill defaults that depend on other values; afterCreate
	// runs once the record exists (sequences, linked records).
	beforeCreate func(e *env, vals map[string]any) error
	afterCreate  func(e *env, id int) error
	afterWrite   func(e *env, ids []int, vals map[string]any) error
	// beforeUnlink may refuse to delete records (a confirmed order).
	beforeUnlink func(e *env, ids []int) error
	// notify marks models whose changes the webhook emitter reports.
	notify bool
}

// table holds the records of one model.
type table struct {
	def  *modelDef
	recs map[int]record
	next int
	// idx maps a relational field to target id → ids of the records
	// pointing at it (ascending). Built on first use, kept up to date by
	// set and drop, thrown away on rollback.
	idx map[string]map[int][]int
	// vidx maps an indexed char field to value → ids of the records
	// holding it (ascending), with the same life as idx.
	vidx map[string]map[string][]int
	// writes logs every write_date set, in the order set: searches on
	// write_date (change capture) look only at the tail written since.
	// Entries are never removed; a record's entry is current when its
	// write_date still equals it. unordered is set if the clock went back.
	writes    []stamped
	unordered bool
	// lazy guards the building of idx and vidx by calls that only read, which share the
	// server's lock; calls that write hold it alone and change them freely.
	lazy sync.Mutex
}

// stamped is one write_date set on a record.
type stamped struct {
	at string
	id int
}

// stamp sets r's write_date (r is record id of t) and logs it.
func (t *table) stamp(id int, r record, at string) {
	r["write_date"] = at
	if n := len(t.writes); n > 0 && t.writes[n-1].at > at {
		t.unordered = true
	}
	t.writes = append(t.writes, stamped{at, id})
}

// writtenSince returns, ascending, the ids of the records whose write_date is after (or, with
// inclusive, at or after) since; ok is false when the log cannot tell (the clock went back).
func (t *table) writtenSince(since string, inclusive bool) (ids []int, ok bool) {
	if t.unordered {
		return nil, false
	}
	i := sort.Search(len(t.writes), func(i int) bool {
		if inclusive {
			return t.writes[i].at >= since
		}
		return t.writes[i].at > since
	})
	for _, w := range t.writes[i:] {
		if r, ok := t.recs[w.id]; ok && asString(r["write_date"]) == w.at {
			ids = append(ids, w.id)
		}
	}
	sort.Ints(ids)
	return dedupSorted(ids), true
}

// targets returns the ids a stored relational value points at.
func targets(v any) []int {
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

// set stores a value on record r of t, keeping an index on the field current.
func (t *table) set(r record, name string, v any) {
	if ix, ok := t.idx[name]; ok {
		id := r["id"].(int)
		for _, old := range targets(r[name]) {
			ix[old] = removeInt(ix[old], id)
		}
		for _, nt := range targets(v) {
			ix[nt] = insertInt(ix[nt], id)
		}
	}
	if ix, ok := t.vidx[name]; ok {
		id := r["id"].(int)
		if old, ok := r[name].(string); ok {
			ix[old] = removeInt(ix[old], id)
		}
		if nv, ok := v.(string); ok {
			ix[nv] = insertInt(ix[nv], id)
		}
	}
	r[name] = v
}

// drop removes a deleted record from every index.
func (t *table) drop(r record) {
	id := r["id"].(int)
	for name, ix := range t.idx {
		for _, old := range targets(r[name]) {
			ix[old] = removeInt(ix[old], id)
		}
	}
	for name, ix := range t.vidx {
		if old, ok := r[name].(string); ok {
			ix[old] = removeInt(ix[old], id)
		}
	}
}

// holding returns the ids of records whose indexed char field holds value.
func (t *table) holding(field, value string) []int {
	t.lazy.Lock() // readers sharing the server's lock may build the index at once
	defer t.lazy.Unlock()
	if t.vidx == nil {
		t.vidx = map[string]map[string][]int{}
	}
	ix, ok := t.vidx[field]
	if !ok {
		ix = map[string][]int{}
		for _, id := range sortedKeys(t.recs) {
			if v, ok := t.recs[id][field].(string); ok {
				ix[v] = append(ix[v], id)
			}
		}
		t.vidx[field] = ix
	}
	return append([]int(nil), ix[value]...)
}

// referrers returns the ids of records whose field points at target.
func (t *table) referrers(field string, target int) []int {
	t.lazy.Lock()
	defer t.lazy.Unlock()
	if t.idx == nil {
		t.idx = map[string]map[int][]int{}
	}
	ix, ok := t.idx[field]
	if !ok {
		ix = map[int][]int{}
		for _, id := range sortedKeys(t.recs) {
			for _, tg := range targets(t.recs[id][field]) {
				ix[tg] = append(ix[tg], id)
			}
		}
		t.idx[field] = ix
	}
	return append([]int(nil), ix[target]...)
}

func removeInt(list []int, id int) []int {
	for i, x := range list {
		if x == id {
			return append(list[:i:i], list[i+1:]...)
		}
	}
	return list
}

func insertInt(list []int, id int) []int {
	i := sort.SearchInts(list, id)
	if i < len(list) && list[i] == id {
		return list
	}
	list = append(list, 0)
	copy(list[i+1:], list[i:])
	list[i] = id
	return list
}

func (m *modelDef) add(fs ...*field) {
	for _, f := range fs {
		if f.label == "" {
			f.label = labelOf(f.name)
		}
		m.fields[f.name] = f
	}
}

func (m *modelDef) remove(names ...string) {
	for _, n := range names {
		delete(m.fields, n)
	}
}

func labelOf(name string) string {
	name = strings.TrimSuffix(strings.TrimSuffix(name, "_ids"), "_id")
	parts := strings.Split(name, "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, " ")
}

// Field constructors keep the model definitions short.
func char(name string) *field     { return &field{name: name, kind: tChar} }
func text(name string) *field     { return &field{name: name, kind: tText} }
func integer(name string) *field  { return &field{name: name, kind: tInt} }
func float(name string) *field    { return &field{name: name, kind: tFloat} }
func monetary(name string) *field { return &field{name: name, kind: tMonetary} }
func boolean(name string) *field  { return &field{name: name, kind: tBool} }
func date(name string) *field     { return &field{name: name, kind: tDate} }
func datetime(name string) *field { return &field{name: name, kind: tDatetime} }
func m2o(name, rel string) *field { return &field{name: name, kind: tM2O, relation: rel} }
func m2m(name, rel string) *field { return &field{name: name, kind: tM2M, relation: rel} }
func o2m(name, rel, inverse string) *field {
	return &field{name: name, kind: tO2M, relation: rel, inverse: inverse}
}
func selection(name string, values ...string) *field {
	f := &field{name: name, kind: tSelection}
	for _, v := range values {
		f.selection = append(f.selection, [2]string{v, labelOf(v)})
	}
	return f
}

func (f *field) req() *field                            { f.required = true; return f }
func (f *field) ro() *field                             { f.readonly = true; return f }
func (f *field) str(s string) *field                    { f.label = s; return f }
func (f *field) withDefault(fn func(e *env) any) *field { f.def = fn; return f }
func (f *field) defaultValue(v any) *field {
	f.def = func(*env) any { return v }
	return f
}
func (f *field) computed(fn func(e *env, r record) any) *field {
	f.compute = fn
	f.readonly = true
	return f
}
func (f *field) via(delegate string) *field { f.delegate = delegate; return f }
func (f *field) index() *field              { f.indexed = true; return f }

// newModel creates a model with Odoo's magic fields.
func newModel(name, label string) *modelDef {
	m := &modelDef{name: name, label: label, fields: map[string]*field{}, order: "id", methods: map[string]*method{}}
	m.add(
		integer("id").ro().str("ID"),
		char("display_name").ro().str("Display Name"),
		datetime("create_date").ro().str("Created on"),
		datetime("write_date").ro().str("Last Updated on"),
		m2o("create_uid", "res.users").ro().str("Created by"),
		m2o("write_uid", "res.users").ro().str("Last Updated by"),
	)
	m.fields["display_name"].compute = func(e *env, r record) any { return e.displayName(m, r) }
	return m
}

// env is the environment of one call: the server (whose lock is held), the
// user, the context and the call's clock reading.
type env struct {
	s   *Server
	uid int
	ctx map[string]any
	now time.Time
	// touched collects the records changed by the call, for webhooks.
	touched map[string][]int
	// undo restores the records when the call fails (nil for setup code).
	undo *undoLog
	// readOnly is set for calls that change nothing (read, search_read, ...): computed values
	// may then be kept for the rest of the call (qty).
	readOnly bool
	qty      map[int]qtySums // product id → its stock sums, within a read-only call
}

// undoLog remembers the state before a call's first change of each record,
// so a failed call leaves nothing behind, as a rolled-back transaction.
type undoLog struct {
	saved   map[string]map[int]record // model → id → original (nil: created)
	nexts   map[string]int
	seqs    map[string]int
	seqSeen map[string]bool
}

// save records r's state before its first change in this call.
func (e *env) save(model string, id int) {
	if e.undo == nil {
		if model == "stock.move" {
			e.s.reserved = nil // setup code changes moves without a log: sum them again
		}
		return
	}
	u := e.undo
	if u.saved == nil {
		u.saved = map[string]map[int]record{}
	}
	if u.saved[model] == nil {
		u.saved[model] = map[int]record{}
	}
	if _, ok := u.saved[model][id]; ok {
		return
	}
	r := e.rec(model, id)
	if r == nil {
		u.saved[model][id] = nil
		return
	}
	cp := make(record, len(r))
	for k, v := range r {
		if ids, ok := v.([]int); ok {
			v = append([]int(nil), ids...)
		}
		cp[k] = v
	}
	u.saved[model][id] = cp
}

// saveNext records a table's id counter before a create.
func (e *env) saveNext(model string) {
	if e.undo == nil {
		return
	}
	if e.undo.nexts == nil {
		e.undo.nexts = map[string]int{}
	}
	if _, ok := e.undo.nexts[model]; !ok {
		e.undo.nexts[model] = e.table(model).next
	}
}

// mut returns record id of model for changing, saving it first.
func (e *env) mut(model string, id int) record {
	e.save(model, id)
	return e.rec(model, id)
}

func (e *env) rollback() {
	u := e.undo
	if u == nil {
		return
	}
	for model, recs := range u.saved {
		t := e.table(model)
		for id, orig := range recs {
			if orig == nil {
				delete(t.recs, id)
			} else {
				t.recs[id] = orig
			}
		}
		t.idx, t.vidx = nil, nil
	}
	for model, next := range u.nexts {
		e.table(model).next = next
	}
	for code, v := range u.seqs {
		e.s.seqs[code] = v
	}
	e.touched = nil
}

// nextSeq returns the next number of a named sequence.
func (e *env) nextSeq(code string) int {
	if e.undo != nil {
		if e.undo.seqs == nil {
			e.undo.seqs = map[string]int{}
		}
		if _, ok := e.undo.seqs[code]; !ok {
			e.undo.seqs[code] = e.s.seqs[code]
		}
	}
	e.s.seqs[code]++
	return e.s.seqs[code]
}

func (e *env) table(model string) *table { return e.s.tables[model] }

func (e *env) rec(model string, id int) record {
	t := e.s.tables[model]
	if t == nil {
		return nil
	}
	return t.recs[id]
}

func (e *env) displayName(m *modelDef, r record) string {
	if m.displayName != nil {
		return m.displayName(e, r)
	}
	if _, ok := m.fields["name"]; ok {
		if n := asString(e.get(m, r, "name")); n != "" {
			return n
		}
	}
	return m.name + "," + asString(r["id"])
}

// get returns the stored-form value of field name on r: computed fields are
// computed, delegated fields are read on the delegate record and one2many
// fields are found through their inverse many2one.
func (e *env) get(m *modelDef, r record, name string) any {
	if name == "id" {
		return r["id"]
	}
	f := m.fields[name]
	if f == nil {
		return nil
	}
	if f.delegate != "" {
		did, _ := r[f.delegate].(int)
		dm := e.s.models[m.fields[f.delegate].relation]
		if dr := e.rec(dm.name, did); dr != nil {
			return e.get(dm, dr, name)
		}
		return nil
	}
	if f.compute != nil {
		return f.compute(e, r)
	}
	if f.kind == tO2M && f.inverse != "" {
		return e.children(f.relation, f.inverse, r["id"].(int))
	}
	return r[name]
}

// children returns the ids of comodel records whose many2one inverse points
// at id, in the comodel's default order.
func (e *env) children(model, inverse string, id int) []int {
	t := e.table(model)
	ids := t.referrers(inverse, id)
	if t.def.order != "id" && len(ids) > 1 {
		e.sortIDs(t.def, ids, t.def.order)
	}
	return ids
}

// m2oID returns the id stored in a many2one of r (0 when empty).
func (e *env) m2oID(m *modelDef, r record, name string) int {
	id, _ := e.get(m, r, name).(int)
	return id
}

// sortIDs sorts ids of model m by an Odoo order specification.
func (e *env) sortIDs(m *modelDef, ids []int, order string) {
	type key struct {
		name string
		desc bool
	}
	var keys []key
	for _, part := range strings.Split(order, ",") {
		fs := strings.Fields(strings.TrimSpace(part))
		if len(fs) == 0 {
			continue
		}
		keys = append(keys, key{fs[0], len(fs) > 1 && strings.EqualFold(fs[1], "desc")})
	}
	t := e.table(m.name)
	sort.SliceStable(ids, func(i, j int) bool {
		a, b := t.recs[ids[i]], t.recs[ids[j]]
		for _, k := range keys {
			va, vb := e.sortValue(m, a, k.name), e.sortValue(m, b, k.name)
			c := compareValues(va, vb)
			if c == 0 {
				continue
			}
			// PostgreSQL puts NULLs last when ascending, first when descending.
			if k.desc {
				return c > 0
			}
			return c < 0
		}
		return false
	})
}

func (e *env) sortValue(m *modelDef, r record, name string) any {
	v := e.get(m, r, name)
	if f := m.fields[name]; f != nil && f.kind == tM2O {
		if id, ok := v.(int); ok {
			return e.displayName(e.s.models[f.relation], e.rec(f.relation, id))
		}
	}
	return v
}

// compareValues orders two stored values; empty values sort after every
// other value (NULLS LAST).
func compareValues(a, b any) int {
	ea, eb := isEmpty(a), isEmpty(b)
	switch {
	case ea && eb:
		return 0
	case ea:
		return 1
	case eb:
		return -1
	}
	switch x := a.(type) {
	case string:
		y := asString(b)
		return strings.Compare(x, y)
	case bool:
		y := truthy(b)
		if x == y {
			return 0
		}
		if !x {
			return -1
		}
		return 1
	}
	fa, fb := asFloat(a), asFloat(b)
	switch {
	case fa < fb:
		return -1
	case fa > fb:
		return 1
	}
	return 0
}

// isEmpty reports whether a stored value is Odoo's False for its field.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case []int:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}
