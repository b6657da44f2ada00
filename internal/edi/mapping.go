package edi

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Direction says which way a mapping translates.
type Direction string

const (
	FromX12 Direction = "in"  // X12 transaction set → canonical document (850, 860).
	ToX12   Direction = "out" // Canonical document → X12 transaction set (855, 856, 810, 846, 865).
)

// Mapping is one version of a declarative translation between an X12 transaction set and a
// canonical document. Inbound mappings are lists of Rules evaluated per segment; outbound ones
// are Segment templates rendered over the canonical document. A Mapping is immutable once loaded
// and safe for concurrent use.
type Mapping struct {
	Set          string                       `yaml:"set"`         // "850"
	X12Version   string                       `yaml:"x12_version"` // "004010"
	Version      string                       `yaml:"version"`     // mapping version, "v1"
	Direction    Direction                    `yaml:"direction"`
	Description  string                       `yaml:"description,omitempty"`
	FunctionalID string                       `yaml:"functional_id,omitempty"` // GS01 of outbound sets ("PR")
	Maps         map[string]map[string]string `yaml:"maps,omitempty"`          // named code tables
	Rules        []Rule                       `yaml:"rules,omitempty"`         // inbound
	Segments     []Template                   `yaml:"segments,omitempty"`      // outbound

	// Source names the file(s) the mapping came from: the base, then the overlay.
	Source []string `yaml:"-"`
	// Partner is set for a partner overlay.
	Partner string `yaml:"-"`
}

// Rule maps one segment, when it matches, to canonical fields.
type Rule struct {
	Name    string            `yaml:"name"`
	Segment string            `yaml:"segment"`
	Loop    string            `yaml:"loop,omitempty"` // the loop path the segment must be in ("" = top level, "PO1", "N1", "PO1/PID"); "*" any
	When    map[int]string    `yaml:"when,omitempty"` // element position → required value
	Let     map[string]Source `yaml:"let,omitempty"`  // variables for later path templates ({party})
	Set     map[string]Source `yaml:"set,omitempty"`  // canonical path → value
	// Pairs maps qualifier/value element pairs (PO106/PO107, PO108/PO109, ...) by qualifier.
	Pairs *Pairs `yaml:"pairs,omitempty"`
}

// Pairs maps repeated qualifier/value pairs starting at element From.
type Pairs struct {
	From int               `yaml:"from"`
	To   int               `yaml:"to,omitempty"` // last qualifier position; 0 = to the end
	Map  map[string]string `yaml:"map"`          // qualifier → canonical path
}

// Source is where a value comes from: an element (and component) of the segment, or a constant,
// with an optional code table and type. In YAML a bare integer is an element position.
type Source struct {
	Element   int    `yaml:"element,omitempty"`
	Component int    `yaml:"component,omitempty"`
	Const     string `yaml:"const,omitempty"`
	Map       string `yaml:"map,omitempty"`     // code table name; unmapped values are kept unless Strict
	Strict    bool   `yaml:"strict,omitempty"`  // an unmapped code yields no value
	As        string `yaml:"as,omitempty"`      // string (default), decimal, int, date, time, present
	Default   string `yaml:"default,omitempty"` // when the element is empty
}

// UnmarshalYAML accepts an integer (element position) or the full form.
func (s *Source) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!int" {
		var i int
		if err := n.Decode(&i); err != nil {
			return err
		}
		*s = Source{Element: i}
		return nil
	}
	type plain Source
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*s = Source(p)
	return nil
}

// Template is one outbound segment, or a loop of them over a list (Foreach).
type Template struct {
	Name     string     `yaml:"name,omitempty"`
	ID       string     `yaml:"id,omitempty"`
	When     string     `yaml:"when,omitempty"` // path: the segment is written only when it is non-empty ("!path" when empty)
	Elements []Elem     `yaml:"elements,omitempty"`
	Foreach  string     `yaml:"foreach,omitempty"` // path to a list: Segments are written once per item
	Segments []Template `yaml:"segments,omitempty"`
}

// Elem is one element of a template: an expression ("{po_number}", "VN", "{po_date|date}") and an
// optional condition. In YAML a bare string is the expression.
type Elem struct {
	Value string `yaml:"value"`
	When  string `yaml:"when,omitempty"`
}

// UnmarshalYAML accepts a string or the full form.
func (e *Elem) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return n.Decode(&e.Value)
	}
	type plain Elem
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*e = Elem(p)
	return nil
}

// Overlay is a partner's changes to a base mapping: code tables merged key by key, rules or
// templates replaced by name, removed by name, or added.
type Overlay struct {
	Partner string                       `yaml:"partner"`
	Set     string                       `yaml:"set"`
	Version string                       `yaml:"version"` // the partner mapping version this overlay defines
	Base    string                       `yaml:"base"`    // the base mapping version it lays over
	Maps    map[string]map[string]string `yaml:"maps,omitempty"`
	Replace []Rule                       `yaml:"replace,omitempty"`
	Add     []Rule                       `yaml:"add,omitempty"`
	Remove  []string                     `yaml:"remove,omitempty"`
	// Outbound equivalents.
	ReplaceSegments []Template `yaml:"replace_segments,omitempty"`
	AddSegments     []Template `yaml:"add_segments,omitempty"`
}

// ErrNoMapping is wrapped by Library.Resolve when no mapping file exists for what was asked.
var ErrNoMapping = errors.New("edi: no such mapping")

// Library finds mappings in a file system laid out as:
//
//	base/<x12 version>/<set>/<mapping version>.yaml        the base mapping
//	base/<x12 version>/<set>/<mapping version>/*.x12|json  its golden examples
//	partners/<partner>/<set>/<mapping version>.yaml        a partner overlay (names its base)
//	partners/<partner>/<set>/<mapping version>/...          the overlay's golden examples
//
// It is safe for concurrent use.
type Library struct {
	fsys fs.FS
}

// NewLibrary returns a Library over fsys (for example mappings.FS, or os.DirFS of a directory).
func NewLibrary(fsys fs.FS) *Library { return &Library{fsys: fsys} }

// FS returns the library's file system.
func (l *Library) FS() fs.FS { return l.fsys }

// Resolve returns the mapping partner uses for set at mapping version, in x12Version: the
// partner's overlay when there is one, else the base mapping.
func (l *Library) Resolve(partner, x12Version, set, version string) (*Mapping, error) {
	op := path.Join("partners", partner, set, version+".yaml")
	if data, err := fs.ReadFile(l.fsys, op); err == nil {
		var ov Overlay
		if err := decodeStrict(data, &ov); err != nil {
			return nil, fmt.Errorf("mappings/%s: %w", op, err)
		}
		if ov.Base == "" {
			return nil, fmt.Errorf("mappings/%s: base is required", op)
		}
		base, err := l.Base(x12Version, set, ov.Base)
		if err != nil {
			return nil, fmt.Errorf("mappings/%s: %w", op, err)
		}
		m, err := base.apply(&ov)
		if err != nil {
			return nil, fmt.Errorf("mappings/%s: %w", op, err)
		}
		m.Version, m.Partner = version, partner
		m.Source = append(m.Source, "mappings/"+op)
		return m, nil
	}
	return l.Base(x12Version, set, version)
}

// Base returns a base mapping.
func (l *Library) Base(x12Version, set, version string) (*Mapping, error) {
	p := path.Join("base", x12Version, set, version+".yaml")
	data, err := fs.ReadFile(l.fsys, p)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s %s (%s)", ErrNoMapping, set, x12Version, version, "mappings/"+p)
	}
	var m Mapping
	if err := decodeStrict(data, &m); err != nil {
		return nil, fmt.Errorf("mappings/%s: %w", p, err)
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("mappings/%s: %w", p, err)
	}
	m.Source = []string{"mappings/" + p}
	return &m, nil
}

// Entry names one mapping file of a library.
type Entry struct {
	Partner    string // "" for a base mapping
	X12Version string // base mappings only
	Set        string
	Version    string
	Dir        string // the examples directory
}

// Entries lists every mapping of the library, bases first, sorted.
func (l *Library) Entries() ([]Entry, error) {
	var out []Entry
	err := fs.WalkDir(l.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		parts := strings.Split(p, "/")
		if len(parts) != 4 {
			return nil
		}
		v := strings.TrimSuffix(parts[3], ".yaml")
		e := Entry{Set: parts[2], Version: v, Dir: strings.TrimSuffix(p, ".yaml")}
		switch parts[0] {
		case "base":
			e.X12Version = parts[1]
		case "partners":
			e.Partner = parts[1]
		default:
			return nil
		}
		out = append(out, e)
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Partner < out[j].Partner })
	return out, err
}

func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	return dec.Decode(v)
}

// check verifies what can be verified without data: directions, names, code tables referenced.
func (m *Mapping) check() error {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if m.Set == "" || m.Version == "" || m.X12Version == "" {
		add("set, version and x12_version are required")
	}
	checkMap := func(where, name string) {
		if name != "" && m.Maps[name] == nil {
			add("%s names code table %q, which maps does not define", where, name)
		}
	}
	switch m.Direction {
	case FromX12:
		names := map[string]bool{}
		for i, r := range m.Rules {
			where := fmt.Sprintf("rules[%d] (%s)", i, r.Name)
			if r.Name == "" || names[r.Name] {
				add("%s: every rule needs a unique name", where)
			}
			names[r.Name] = true
			if r.Segment == "" {
				add("%s: segment is required", where)
			}
			for _, s := range r.Set {
				checkMap(where, s.Map)
			}
			for _, s := range r.Let {
				checkMap(where, s.Map)
			}
		}
	case ToX12:
		var walk func(ts []Template, where string)
		walk = func(ts []Template, where string) {
			for i, t := range ts {
				w := fmt.Sprintf("%s[%d] (%s)", where, i, t.Name)
				if (t.ID == "") == (t.Foreach == "") {
					add("%s: a template has either id or foreach", w)
				}
				for _, e := range t.Elements {
					for _, f := range filtersOf(e.Value) {
						if name, ok := strings.CutPrefix(f, "map:"); ok {
							checkMap(w, name)
						}
					}
				}
				walk(t.Segments, w+".segments")
			}
		}
		walk(m.Segments, "segments")
	default:
		add("direction must be in or out, got %q", m.Direction)
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

// apply returns a copy of m with ov laid over it.
func (m *Mapping) apply(ov *Overlay) (*Mapping, error) {
	cp := *m
	cp.Maps = map[string]map[string]string{}
	for k, t := range m.Maps {
		cp.Maps[k] = map[string]string{}
		for c, v := range t {
			cp.Maps[k][c] = v
		}
	}
	for k, t := range ov.Maps {
		if cp.Maps[k] == nil {
			cp.Maps[k] = map[string]string{}
		}
		for c, v := range t {
			cp.Maps[k][c] = v
		}
	}
	removed := map[string]bool{}
	for _, n := range ov.Remove {
		removed[n] = true
	}
	// Rules.
	repl := map[string]Rule{}
	for _, r := range ov.Replace {
		repl[r.Name] = r
	}
	cp.Rules = nil
	for _, r := range m.Rules {
		if removed[r.Name] {
			delete(removed, r.Name)
			continue
		}
		if n, ok := repl[r.Name]; ok {
			r = n
			delete(repl, r.Name)
		}
		cp.Rules = append(cp.Rules, r)
	}
	cp.Rules = append(cp.Rules, ov.Add...)
	// Templates.
	trepl := map[string]Template{}
	for _, t := range ov.ReplaceSegments {
		trepl[t.Name] = t
	}
	var walk func(ts []Template) []Template
	walk = func(ts []Template) []Template {
		var out []Template
		for _, t := range ts {
			if t.Name != "" && removed[t.Name] {
				delete(removed, t.Name)
				continue
			}
			if n, ok := trepl[t.Name]; ok && t.Name != "" {
				t = n
				delete(trepl, t.Name)
			}
			t.Segments = walk(t.Segments)
			out = append(out, t)
		}
		return out
	}
	cp.Segments = append(walk(m.Segments), ov.AddSegments...)
	var left []string
	for n := range repl {
		left = append(left, n)
	}
	for n := range trepl {
		left = append(left, n)
	}
	for n := range removed {
		left = append(left, n)
	}
	if len(left) > 0 {
		sort.Strings(left)
		return nil, fmt.Errorf("the overlay names %s, which base %s does not have", strings.Join(left, ", "), m.Version)
	}
	if err := cp.check(); err != nil {
		return nil, err
	}
	cp.Source = append([]string(nil), m.Source...)
	return &cp, nil
}
