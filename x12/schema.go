package x12

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed schema
var embedded embed.FS

// ElementDef is a simple data element from a version's element dictionary (elements.txt).
type ElementDef struct {
	ID    string            // reference number, e.g. "353"
	Type  string            // AN, ID, DT, TM, R, N0..N9 or B
	Min   int               // minimum length
	Max   int               // maximum length
	Name  string            // human name
	Codes map[string]string // code value -> meaning; empty means any value of the right length
	// Closed says the code list is complete: a value outside it is an invalid code (AK403 7).
	// Lists that are not closed name "the qualifiers that matter" and decode values; they do not
	// reject others unless the catalog is strict (see [Catalog.Strict]).
	Closed bool
}

// CompositeDef is a composite data element (its id starts with C).
type CompositeDef struct {
	ID         string
	Name       string
	Components []*ElementUse
}

// ElementUse is the use of an element (or component) at one position of a segment (or composite).
type ElementUse struct {
	Pos       int    // 1-based position
	Ref       string // element or composite id
	Usage     byte   // 'M' mandatory, 'O' optional, 'X' conditional
	Repeat    int    // maximum repetitions (1 unless the standard allows more)
	Element   *ElementDef
	Composite *CompositeDef
	// Codes, when non-nil, narrows the element's code list (a partner guide did it).
	Codes map[string]string
	// NotUsed is set by a partner guide: the element must not be sent.
	NotUsed bool
}

// Name returns the element's or composite's name.
func (u *ElementUse) Name() string {
	switch {
	case u.Element != nil:
		return u.Element.Name
	case u.Composite != nil:
		return u.Composite.Name
	}
	return u.Ref
}

// CodeMeaning returns the meaning of code v for this element, "" when unknown.
func (u *ElementUse) CodeMeaning(v string) string {
	if u.Codes != nil {
		if m, ok := u.Codes[v]; ok {
			return m
		}
	}
	if u.Element != nil {
		return u.Element.Codes[v]
	}
	return ""
}

// SyntaxNote is an X12 syntax rule over element positions of one segment.
type SyntaxNote struct {
	Kind      byte  // P paired, R at least one, E at most one, C if first then all, L if first then one of the rest
	Positions []int // element positions
}

// SegmentDef is a segment from a version's segment directory (segments.txt).
type SegmentDef struct {
	ID       string
	Name     string
	Elements []*ElementUse
	Syntax   []SyntaxNote
}

// Node is one entry of a loop: a segment or a nested loop.
type Node struct {
	SegmentID string      // the segment id, or the trigger segment id of a loop
	Segment   *SegmentDef // nil for a loop
	Loop      *Loop       // nil for a segment
	Usage     byte        // 'M' or 'O'
	Max       int         // maximum use (segment) or repeat (loop); 0 means unbounded
	NotUsed   bool        // a partner guide forbids it

	key uint32 // segKey(SegmentID), for fast matching
}

// segKey packs a segment id of up to three bytes into an integer; longer ids get a key no node
// has.
func segKey[T string | []byte](id T) uint32 {
	if len(id) > 3 || len(id) == 0 {
		return 1 << 31
	}
	var k uint32
	for i := 0; i < len(id); i++ {
		k = k<<8 | uint32(id[i])
	}
	return k
}

// Loop is a loop of a transaction set; the root loop holds the whole set, ST to SE.
type Loop struct {
	ID       string // the trigger segment id ("" for the root)
	Children []*Node
}

// Schema is the definition of one transaction set in one version.
// A Schema is immutable once returned and safe for concurrent use.
type Schema struct {
	Version      string // e.g. "004010"
	ID           string // e.g. "850"
	Name         string
	FunctionalID string // GS01 code, e.g. "PO"
	Root         *Loop
	// Segments holds every segment of the version's directory, by id.
	Segments map[string]*SegmentDef
	// StrictCodes makes every listed code list closed (see [ElementDef.Closed]).
	StrictCodes bool
	inSet       map[string]bool
}

// HasSegment reports whether the transaction set uses segment id anywhere.
func (s *Schema) HasSegment(id string) bool { return s.inSet[id] }

// Catalog loads transaction set definitions from a file system laid out as
// <version>/elements.txt, <version>/segments.txt and <version>/<set>.txt. It caches what it
// loads and is safe for concurrent use.
type Catalog struct {
	strict  bool
	fsys    fs.FS
	mu      sync.Mutex
	dirs    map[string]*directory
	schemas map[string]*Schema
}

type directory struct {
	elements   map[string]*ElementDef
	composites map[string]*CompositeDef
	segments   map[string]*SegmentDef
}

// ErrNoSchema is wrapped by the error returned when no definition exists for a version and set.
var ErrNoSchema = errors.New("x12: no schema")

// NewCatalog returns a Catalog reading from fsys.
func NewCatalog(fsys fs.FS) *Catalog {
	return &Catalog{fsys: fsys, dirs: map[string]*directory{}, schemas: map[string]*Schema{}}
}

var defaultCatalog = func() *Catalog {
	sub, err := fs.Sub(embedded, "schema")
	if err != nil {
		panic(err)
	}
	return NewCatalog(sub)
}()

// Strict returns a catalog over the same files whose schemas treat every listed code list as
// complete: a value outside it is an invalid code value. Use it when the definitions hold full
// code lists.
func (c *Catalog) Strict() *Catalog {
	n := NewCatalog(c.fsys)
	n.strict = true
	return n
}

// DefaultCatalog returns the catalog of the definitions embedded in this package.
func DefaultCatalog() *Catalog { return defaultCatalog }

// LoadSchema returns the embedded definition of transaction set setID in version (a directory
// name such as "004010" or "005010"; see [SchemaVersion] for mapping a GS08 value). Results are
// cached; the returned Schema must not be modified.
func LoadSchema(version, setID string) (*Schema, error) { return defaultCatalog.Schema(version, setID) }

// SchemaVersion maps a GS08 version code ("004010VICS", "005010X231A1", "004030") to the
// directory of definitions to use, and reports whether the match is exact (same release).
func SchemaVersion(gs08 string) (string, bool) {
	v := gs08
	if len(v) > 6 {
		v = v[:6]
	}
	switch {
	case v == "004010" || v == "005010":
		return v, true
	case v >= "005000":
		return "005010", false
	default:
		return "004010", false
	}
}

// Versions lists the versions the catalog holds.
func (c *Catalog) Versions() []string {
	ents, _ := fs.ReadDir(c.fsys, ".")
	var out []string
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// Sets lists the transaction set ids defined for version.
func (c *Catalog) Sets(version string) []string {
	ents, _ := fs.ReadDir(c.fsys, version)
	var out []string
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, ".txt") && n != "elements.txt" && n != "segments.txt" {
			out = append(out, strings.TrimSuffix(n, ".txt"))
		}
	}
	sort.Strings(out)
	return out
}

// Schema returns the definition of set setID in version.
func (c *Catalog) Schema(version, setID string) (*Schema, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := version + "/" + setID
	if s, ok := c.schemas[key]; ok {
		return s, nil
	}
	dir, err := c.directory(version)
	if err != nil {
		return nil, err
	}
	name := path.Join(version, setID+".txt")
	b, err := fs.ReadFile(c.fsys, name)
	if err != nil {
		return nil, fmt.Errorf("%w for transaction set %s in version %s", ErrNoSchema, setID, version)
	}
	s, err := parseSet(name, string(b), dir)
	if err != nil {
		return nil, err
	}
	s.Version = version
	s.StrictCodes = c.strict
	c.schemas[key] = s
	return s, nil
}

// Segment returns the segment definition id in version's directory, or nil.
func (c *Catalog) Segment(version, id string) *SegmentDef {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, err := c.directory(version)
	if err != nil {
		return nil
	}
	return d.segments[id]
}

func (c *Catalog) directory(version string) (*directory, error) {
	if d, ok := c.dirs[version]; ok {
		return d, nil
	}
	d := &directory{elements: map[string]*ElementDef{}, composites: map[string]*CompositeDef{}, segments: map[string]*SegmentDef{}}
	eb, err := fs.ReadFile(c.fsys, path.Join(version, "elements.txt"))
	if err != nil {
		return nil, fmt.Errorf("%w: version %s has no elements.txt", ErrNoSchema, version)
	}
	if err := parseElements(path.Join(version, "elements.txt"), string(eb), d); err != nil {
		return nil, err
	}
	sb, err := fs.ReadFile(c.fsys, path.Join(version, "segments.txt"))
	if err != nil {
		return nil, fmt.Errorf("%w: version %s has no segments.txt", ErrNoSchema, version)
	}
	if err := parseSegments(path.Join(version, "segments.txt"), string(sb), d); err != nil {
		return nil, err
	}
	if err := d.resolve(); err != nil {
		return nil, fmt.Errorf("%s: %w", version, err)
	}
	c.dirs[version] = d
	return d, nil
}

// SchemaError is a mistake in a definition or guide file.
type SchemaError struct {
	File string
	Line int
	Msg  string
}

func (e *SchemaError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// tokenize splits a definition line into tokens: blanks separate, a double-quoted string is one
// token, '#' outside quotes starts a comment.
func tokenize(line string) []string {
	var out []string
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#':
			return out
		case c == '"':
			j := strings.IndexByte(line[i+1:], '"')
			if j < 0 {
				out = append(out, line[i+1:])
				return out
			}
			out = append(out, line[i+1:i+1+j])
			i += j + 2
		default:
			j := i
			for j < len(line) && line[j] != ' ' && line[j] != '\t' && line[j] != '\r' && line[j] != '"' {
				if line[j] == '#' && (j == i || line[j-1] == ' ') {
					break
				}
				j++
			}
			out = append(out, line[i:j])
			i = j
		}
	}
	return out
}

type lines struct {
	file string
	all  []string
	n    int
}

func (l *lines) next() ([]string, bool) {
	for l.n < len(l.all) {
		t := tokenize(l.all[l.n])
		l.n++
		if len(t) > 0 {
			return t, true
		}
	}
	return nil, false
}

func (l *lines) errf(format string, args ...any) error {
	return &SchemaError{File: l.file, Line: l.n, Msg: fmt.Sprintf(format, args...)}
}

func newLines(file, text string) *lines {
	return &lines{file: file, all: strings.Split(strings.TrimPrefix(text, "\ufeff"), "\n")}
}

func parseElements(file, text string, d *directory) error {
	l := newLines(file, text)
	var cur *ElementDef
	var comp *CompositeDef
	for {
		t, ok := l.next()
		if !ok {
			return nil
		}
		switch kw := strings.ToLower(t[0]); {
		case kw == "element":
			if len(t) < 5 {
				return l.errf("element needs: element ID TYPE MIN MAX \"Name\"")
			}
			mn, err1 := strconv.Atoi(t[3])
			mx, err2 := strconv.Atoi(t[4])
			if err1 != nil || err2 != nil {
				return l.errf("element %s: MIN and MAX must be numbers", t[1])
			}
			typ := strings.ToUpper(t[2])
			if typ == "N" {
				typ = "N0"
			}
			cur = &ElementDef{ID: t[1], Type: typ, Min: mn, Max: mx, Codes: map[string]string{}}
			if len(t) > 5 {
				cur.Name = t[5]
				for _, extra := range t[6:] {
					if strings.EqualFold(extra, "closed") {
						cur.Closed = true
					} else {
						cur.Name += " " + extra
					}
				}
			}
			d.elements[cur.ID] = cur
			comp = nil
		case kw == "code":
			if cur == nil || len(t) < 2 {
				return l.errf("code line outside an element")
			}
			m := ""
			if len(t) > 2 {
				m = strings.Join(t[2:], " ")
			}
			cur.Codes[t[1]] = m
		case kw == "composite":
			if len(t) < 2 {
				return l.errf("composite needs an id")
			}
			comp = &CompositeDef{ID: t[1]}
			if len(t) > 2 {
				comp.Name = strings.Join(t[2:], " ")
			}
			d.composites[comp.ID] = comp
			cur = nil
		case isDigits(t[0]):
			if comp == nil {
				return l.errf("component line outside a composite")
			}
			u, err := parseUse(l, t)
			if err != nil {
				return err
			}
			comp.Components = append(comp.Components, u)
		default:
			return l.errf("unknown keyword %q", t[0])
		}
	}
}

func parseUse(l *lines, t []string) (*ElementUse, error) {
	if len(t) < 3 {
		return nil, l.errf("element use needs: NN REF USAGE [REPEAT]")
	}
	pos, err := strconv.Atoi(t[0])
	if err != nil {
		return nil, l.errf("bad position %q", t[0])
	}
	us := strings.ToUpper(t[2])
	if us != "M" && us != "O" && us != "X" {
		return nil, l.errf("usage %q must be M, O or X", t[2])
	}
	u := &ElementUse{Pos: pos, Ref: t[1], Usage: us[0], Repeat: 1}
	if len(t) > 3 {
		r, err := parseMax(t[3])
		if err != nil {
			return nil, l.errf("bad repeat %q", t[3])
		}
		u.Repeat = r
	}
	return u, nil
}

// parseMax reads a maximum use: a number or ">1" (unbounded, returned as 0).
func parseMax(s string) (int, error) {
	if s == ">1" || strings.EqualFold(s, "unbounded") {
		return 0, nil
	}
	return strconv.Atoi(s)
}

func parseSegments(file, text string, d *directory) error {
	l := newLines(file, text)
	var cur *SegmentDef
	for {
		t, ok := l.next()
		if !ok {
			return nil
		}
		switch kw := strings.ToLower(t[0]); {
		case kw == "segment":
			if len(t) < 2 {
				return l.errf("segment needs an id")
			}
			cur = &SegmentDef{ID: t[1]}
			if len(t) > 2 {
				cur.Name = strings.Join(t[2:], " ")
			}
			d.segments[cur.ID] = cur
		case kw == "syntax":
			if cur == nil || len(t) < 2 {
				return l.errf("syntax line outside a segment")
			}
			for _, note := range t[1:] {
				n, err := parseSyntax(note)
				if err != nil {
					return l.errf("%v", err)
				}
				cur.Syntax = append(cur.Syntax, n)
			}
		case isDigits(t[0]):
			if cur == nil {
				return l.errf("element line outside a segment")
			}
			u, err := parseUse(l, t)
			if err != nil {
				return err
			}
			cur.Elements = append(cur.Elements, u)
		default:
			return l.errf("unknown keyword %q", t[0])
		}
	}
}

func parseSyntax(s string) (SyntaxNote, error) {
	s = strings.ToUpper(s)
	if len(s) < 5 || (len(s)-1)%2 != 0 || !strings.ContainsRune("PRECL", rune(s[0])) || !isDigits(s[1:]) {
		return SyntaxNote{}, fmt.Errorf("bad syntax note %q (want e.g. P0304)", s)
	}
	n := SyntaxNote{Kind: s[0]}
	for i := 1; i < len(s); i += 2 {
		n.Positions = append(n.Positions, atoi(s[i:i+2]))
	}
	return n, nil
}

func (d *directory) resolve() error {
	var missing []string
	bind := func(owner string, u *ElementUse) {
		if strings.HasPrefix(u.Ref, "C") && d.composites[u.Ref] != nil {
			u.Composite = d.composites[u.Ref]
			return
		}
		if e := d.elements[u.Ref]; e != nil {
			u.Element = e
			return
		}
		if c := d.composites[u.Ref]; c != nil {
			u.Composite = c
			return
		}
		missing = append(missing, owner+"/"+u.Ref)
	}
	for _, c := range d.composites {
		for _, u := range c.Components {
			bind(c.ID, u)
		}
	}
	for _, s := range d.segments {
		for _, u := range s.Elements {
			bind(s.ID, u)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("undefined elements: %s", strings.Join(missing, ", "))
	}
	return nil
}

func parseSet(file, text string, d *directory) (*Schema, error) {
	l := newLines(file, text)
	s := &Schema{Root: &Loop{}, Segments: d.segments, inSet: map[string]bool{}}
	stack := []*Loop{s.Root}
	for {
		t, ok := l.next()
		if !ok {
			break
		}
		switch kw := strings.ToLower(t[0]); kw {
		case "transaction":
			if len(t) < 2 {
				return nil, l.errf("transaction needs an id")
			}
			s.ID = t[1]
			if len(t) > 2 {
				s.Name = t[2]
			}
			if len(t) > 3 {
				s.FunctionalID = t[3]
			}
		case "loop":
			if len(t) < 4 {
				return nil, l.errf("loop needs: loop FIRSTSEGID MAXREPEAT USAGE")
			}
			mx, err := parseMax(t[2])
			if err != nil {
				return nil, l.errf("bad loop repeat %q", t[2])
			}
			us := strings.ToUpper(t[3])
			if us != "M" && us != "O" {
				return nil, l.errf("loop usage %q must be M or O", t[3])
			}
			lp := &Loop{ID: t[1]}
			parent := stack[len(stack)-1]
			parent.Children = append(parent.Children, &Node{SegmentID: t[1], Loop: lp, Usage: us[0], Max: mx, key: segKey(t[1])})
			stack = append(stack, lp)
		case "end":
			if len(stack) == 1 {
				return nil, l.errf("end without loop")
			}
			lp := stack[len(stack)-1]
			if len(lp.Children) == 0 || lp.Children[0].Segment == nil || lp.Children[0].SegmentID != lp.ID {
				return nil, l.errf("loop %s must start with its trigger segment %s", lp.ID, lp.ID)
			}
			stack = stack[:len(stack)-1]
		default:
			if len(t) < 3 {
				return nil, l.errf("segment line needs: SEGID USAGE MAXUSE")
			}
			sd := d.segments[t[0]]
			if sd == nil {
				return nil, l.errf("segment %s is not in segments.txt", t[0])
			}
			us := strings.ToUpper(t[1])
			if us != "M" && us != "O" {
				return nil, l.errf("segment usage %q must be M or O", t[1])
			}
			mx, err := parseMax(t[2])
			if err != nil {
				return nil, l.errf("bad max use %q", t[2])
			}
			parent := stack[len(stack)-1]
			parent.Children = append(parent.Children, &Node{SegmentID: t[0], Segment: sd, Usage: us[0], Max: mx, key: segKey(t[0])})
			s.inSet[t[0]] = true
		}
	}
	if len(stack) != 1 {
		return nil, l.errf("loop %s is not closed with end", stack[len(stack)-1].ID)
	}
	if s.ID == "" {
		return nil, l.errf("no transaction line")
	}
	return s, nil
}
