package odoosim

import (
	"fmt"
	"sort"
	"strings"
)

// param is one named parameter of a public model method.
type param struct {
	name     string
	required bool
	def      any
}

// method is a public model method callable over RPC.
type method struct {
	name string
	// modelLevel marks @api.model methods, called without ids.
	modelLevel bool
	params     []param
	// varKw marks methods taking **kwargs; extra keyword arguments are passed
	// in args["**"] as a map.
	varKw bool
	// write marks methods that need write access.
	write bool
	fn    func(c *call) (any, error)
}

// call is one bound method invocation.
type call struct {
	*env
	m    *modelDef
	ids  []int
	args map[string]any
}

func (c *call) arg(name string) any { return c.args[name] }

// bindPositional binds execute_kw's args and kwargs the way Python binds a
// call, raising TypeError on a mismatch.
func (mt *method) bindPositional(model string, args []any, kwargs map[string]any) (ids []int, bound map[string]any, err error) {
	qual := "BaseModel." + mt.name
	if !mt.modelLevel {
		if len(args) == 0 {
			return nil, nil, typeError("%s() missing 1 required positional argument: 'self'", qual)
		}
		var ok bool
		ids, ok = asIDs(args[0])
		if !ok {
			return nil, nil, typeError("%s() ids must be a list of integers, got %s", qual, pyRepr(args[0]))
		}
		args = args[1:]
	}
	if len(args) > len(mt.params) {
		return nil, nil, typeError("%s() takes %d positional arguments but %d were given", qual, len(mt.params)+1, len(args)+1)
	}
	bound = map[string]any{}
	for i, a := range args {
		bound[mt.params[i].name] = a
	}
	if err := mt.bindKeywords(qual, bound, kwargs, true); err != nil {
		return nil, nil, err
	}
	return ids, bound, nil
}

// bindKeywords adds keyword arguments and defaults; inPython selects the
// message wording of a Python call (execute_kw) rather than that of
// inspect.Signature.bind (JSON-2).
func (mt *method) bindKeywords(qual string, bound, kwargs map[string]any, inPython bool) error {
	extra := map[string]any{}
	names := make([]string, 0, len(kwargs))
	for k := range kwargs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if k == "context" {
			continue
		}
		known := false
		for _, p := range mt.params {
			if p.name == k {
				known = true
			}
		}
		if !known {
			if mt.varKw {
				extra[k] = kwargs[k]
				continue
			}
			if inPython {
				return typeError("%s() got an unexpected keyword argument '%s'", qual, k)
			}
			return &Error{"werkzeug.exceptions.UnprocessableEntity", fmt.Sprintf("got an unexpected keyword argument '%s'", k), 422, 1}
		}
		if _, dup := bound[k]; dup {
			return typeError("%s() got multiple values for argument '%s'", qual, k)
		}
		bound[k] = kwargs[k]
	}
	var missing []string
	for _, p := range mt.params {
		if _, ok := bound[p.name]; ok {
			continue
		}
		if p.required {
			missing = append(missing, p.name)
			continue
		}
		bound[p.name] = p.def
	}
	if len(missing) > 0 {
		if inPython {
			return typeError("%s() missing %d required positional argument%s: '%s'", qual, len(missing), plural(len(missing)), strings.Join(missing, "', '"))
		}
		return &Error{"werkzeug.exceptions.UnprocessableEntity", fmt.Sprintf("missing a required argument: '%s'", missing[0]), 422, 1}
	}
	if len(extra) > 0 {
		bound["**"] = extra
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// addMethod registers a method on a model.
func (m *modelDef) addMethod(mt *method) { m.methods[mt.name] = mt }

// recordAction registers a button-style method taking no argument besides
// the records.
func (m *modelDef) recordAction(name string, fn func(c *call) (any, error)) {
	m.addMethod(&method{name: name, write: true, fn: fn})
}

// ormMethods are the ORM methods every model has.
func ormMethods() []*method {
	return []*method{
		{name: "create", modelLevel: true, write: true, params: []param{{name: "vals_list", required: true}}, fn: ormCreate},
		{name: "read", params: []param{{name: "fields"}, {name: "load", def: "_classic_read"}}, fn: ormRead},
		{name: "write", write: true, params: []param{{name: "vals", required: true}}, fn: ormWrite},
		{name: "unlink", write: true, fn: ormUnlink},
		{name: "search", modelLevel: true, params: []param{{name: "domain", required: true}, {name: "offset", def: 0}, {name: "limit"}, {name: "order"}}, fn: ormSearch},
		{name: "search_count", modelLevel: true, params: []param{{name: "domain", required: true}, {name: "limit"}}, fn: ormSearchCount},
		{name: "search_read", modelLevel: true, varKw: true, params: []param{{name: "domain"}, {name: "fields"}, {name: "offset", def: 0}, {name: "limit"}, {name: "order"}}, fn: ormSearchRead},
		{name: "fields_get", modelLevel: true, params: []param{{name: "allfields"}, {name: "attributes"}}, fn: ormFieldsGet},
		{name: "name_search", modelLevel: true, params: []param{{name: "name", def: ""}, {name: "domain"}, {name: "operator", def: "ilike"}, {name: "limit", def: 100}}, fn: ormNameSearch},
		{name: "exists", fn: ormExists},
		{name: "default_get", modelLevel: true, params: []param{{name: "fields_list", required: true}}, fn: ormDefaultGet},
		{name: "name_create", modelLevel: true, write: true, params: []param{{name: "name", required: true}}, fn: ormNameCreate},
		{name: "check_access_rights", modelLevel: true, params: []param{{name: "operation", required: true}, {name: "raise_exception", def: true}}, fn: ormCheckAccessRights},
		{name: "has_access", params: []param{{name: "operation", required: true}}, fn: ormHasAccess},
	}
}

func ormNameCreate(c *call) (any, error) {
	field := "name"
	if c.m.fields["name"] == nil {
		return nil, userError("Cannot execute name_create, no _rec_name defined on %s", c.m.name)
	}
	id, err := c.create(c.m, map[string]any{field: c.arg("name")})
	if err != nil {
		return nil, err
	}
	return []any{id, c.displayName(c.m, c.rec(c.m.name, id))}, nil
}

func (c *call) allowed(op string) (bool, error) {
	switch op {
	case "read":
		return c.checkAccess(c.m, false) == nil, nil
	case "write", "create", "unlink":
		return c.checkAccess(c.m, true) == nil, nil
	}
	return false, valueError("Invalid access mode %s", pyRepr(op))
}

func ormCheckAccessRights(c *call) (any, error) {
	op := asString(c.arg("operation"))
	ok, err := c.allowed(op)
	if err != nil {
		return nil, err
	}
	if !ok && truthy(c.arg("raise_exception")) {
		return nil, c.checkAccess(c.m, op != "read")
	}
	return ok, nil
}

func ormHasAccess(c *call) (any, error) { return c.allowed(asString(c.arg("operation"))) }

// checkPublicVals rejects the simulator's private fields in client values.
func checkPublicVals(m *modelDef, vals map[string]any) error {
	for k := range vals {
		if strings.HasPrefix(k, "__") {
			return valueError("Invalid field %s on model %s", pyRepr(k), pyRepr(m.name))
		}
	}
	return nil
}

func ormCreate(c *call) (any, error) {
	switch v := c.arg("vals_list").(type) {
	case map[string]any:
		if err := checkPublicVals(c.m, v); err != nil {
			return nil, err
		}
		return c.create(c.m, v)
	case []any:
		ids := make([]any, 0, len(v))
		for _, x := range v {
			vals, ok := x.(map[string]any)
			if !ok {
				return nil, valueError("create() expects a dictionary or a list of dictionaries, got %s", pyRepr(x))
			}
			if err := checkPublicVals(c.m, vals); err != nil {
				return nil, err
			}
			id, err := c.create(c.m, vals)
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
		return ids, nil
	}
	return nil, valueError("create() expects a dictionary or a list of dictionaries")
}

func ormRead(c *call) (any, error) {
	fields, err := asStrings(c.arg("fields"))
	if err != nil {
		return nil, err
	}
	return c.read(c.m, c.ids, fields, c.arg("load") != nil)
}

func ormWrite(c *call) (any, error) {
	vals, ok := c.arg("vals").(map[string]any)
	if !ok {
		return nil, valueError("write() expects a dictionary of values")
	}
	if err := checkPublicVals(c.m, vals); err != nil {
		return nil, err
	}
	return true, c.write(c.m, c.ids, vals)
}

func ormUnlink(c *call) (any, error) { return true, c.unlink(c.m, c.ids) }

func domainArg(v any) ([]any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case bool:
		if !x {
			return nil, nil
		}
	case []any:
		return x, nil
	}
	return nil, valueError("Invalid domain: %s", pyRepr(v))
}

func intArg(v any) int {
	i, _ := asInt(v)
	if b, ok := v.(bool); ok && !b {
		return 0
	}
	return i
}

func (c *call) searchArgs() ([]int, error) {
	d, err := domainArg(c.arg("domain"))
	if err != nil {
		return nil, err
	}
	order := ""
	if s, ok := c.arg("order").(string); ok {
		order = s
	}
	return c.search(c.m, d, intArg(c.arg("offset")), intArg(c.arg("limit")), order)
}

func ormSearch(c *call) (any, error) {
	ids, err := c.searchArgs()
	if err != nil {
		return nil, err
	}
	return intsToAny(ids), nil
}

func ormSearchCount(c *call) (any, error) {
	d, err := domainArg(c.arg("domain"))
	if err != nil {
		return nil, err
	}
	ids, err := c.search(c.m, d, 0, intArg(c.arg("limit")), "id")
	return len(ids), err
}

func ormSearchRead(c *call) (any, error) {
	load := true
	if extra, ok := c.arg("**").(map[string]any); ok {
		for k, v := range extra {
			if k != "load" {
				// search_read forwards **read_kwargs to read(), which has no **kwargs.
				return nil, typeError("BaseModel.read() got an unexpected keyword argument '%s'", k)
			}
			load = v != nil
		}
	}
	ids, err := c.searchArgs()
	if err != nil {
		return nil, err
	}
	fields, err := asStrings(c.arg("fields"))
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return []any{}, nil
	}
	return c.read(c.m, ids, fields, load)
}

func ormFieldsGet(c *call) (any, error) {
	all, err := asStrings(c.arg("allfields"))
	if err != nil {
		return nil, err
	}
	attrs, err := asStrings(c.arg("attributes"))
	if err != nil {
		return nil, err
	}
	return c.fieldsGet(c.m, all, attrs), nil
}

func ormNameSearch(c *call) (any, error) {
	d, err := domainArg(c.arg("domain"))
	if err != nil {
		return nil, err
	}
	name := asString(c.arg("name"))
	if name != "" {
		op := asString(c.arg("operator"))
		field := "name"
		if c.m.fields["name"] == nil {
			field = "display_name"
		}
		d = append([]any{"&", []any{field, op, name}}, d...)
		if len(d) == 2 {
			d = d[1:]
		}
	}
	ids, err := c.search(c.m, d, 0, intArg(c.arg("limit")), "")
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(ids))
	for _, id := range ids {
		out = append(out, []any{id, c.displayName(c.m, c.rec(c.m.name, id))})
	}
	return out, nil
}

func ormExists(c *call) (any, error) {
	var out []any
	for _, id := range c.ids {
		if c.rec(c.m.name, id) != nil {
			out = append(out, id)
		}
	}
	if out == nil {
		out = []any{}
	}
	return out, nil
}

func ormDefaultGet(c *call) (any, error) {
	names, err := asStrings(c.arg("fields_list"))
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	for _, n := range names {
		f := c.m.fields[n]
		if f == nil {
			continue
		}
		if v, ok := c.ctx["default_"+n]; ok {
			out[n] = v
		} else if f.def != nil {
			v := f.def(c.env)
			if ids, ok := v.([]int); ok {
				v = intsToAny(ids)
			}
			if v != nil {
				out[n] = v
			}
		}
	}
	return out, nil
}
