package x12

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Guide is a partner's implementation guide: rules laid over a base transaction set definition.
// See the package documentation for the file format. A Guide is immutable after parsing and safe
// for concurrent use.
type Guide struct {
	Name    string
	Version string // e.g. "004010"
	SetID   string // e.g. "850"
	Rules   []GuideRule

	mu    sync.Mutex
	cache map[*Schema]*Schema
}

// GuideRule is one line of a guide.
type GuideRule struct {
	Line    int
	Kind    string // unused, require, max, mandatory, unused-element, codes
	Segment string
	Element int
	Max     int
	Codes   []string
}

// LoadGuide reads a guide file.
func LoadGuide(file string) (*Guide, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reading guide: %w", err)
	}
	return ParseGuide(file, string(b))
}

// ParseGuide parses guide text; file names the source in errors.
func ParseGuide(file, text string) (*Guide, error) {
	l := newLines(file, text)
	g := &Guide{}
	for {
		t, ok := l.next()
		if !ok {
			break
		}
		kw := strings.ToLower(t[0])
		need := func(n int, form string) error {
			if len(t) < n {
				return l.errf("%s needs: %s", kw, form)
			}
			return nil
		}
		r := GuideRule{Line: l.n, Kind: kw}
		switch kw {
		case "guide":
			if err := need(3, `guide VERSION SETID ["Name"]`); err != nil {
				return nil, err
			}
			g.Version, g.SetID = t[1], t[2]
			if len(t) > 3 {
				g.Name = t[3]
			}
			continue
		case "unused", "require":
			if err := need(2, kw+" SEGID"); err != nil {
				return nil, err
			}
			r.Segment = t[1]
		case "max":
			if err := need(3, "max SEGID N"); err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(t[2])
			if err != nil || n < 1 {
				return nil, l.errf("max: %q is not a positive number", t[2])
			}
			r.Segment, r.Max = t[1], n
		case "mandatory", "unused-element", "codes":
			if err := need(3, kw+" SEGID NN"); err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(t[2])
			if err != nil || n < 1 {
				return nil, l.errf("%s: %q is not an element position", kw, t[2])
			}
			r.Segment, r.Element = t[1], n
			if kw == "codes" {
				if len(t) < 4 {
					return nil, l.errf("codes needs at least one code")
				}
				r.Codes = t[3:]
			}
		default:
			return nil, l.errf("unknown guide rule %q", t[0])
		}
		g.Rules = append(g.Rules, r)
	}
	if g.SetID == "" {
		return nil, &SchemaError{File: file, Line: 1, Msg: "a guide starts with: guide VERSION SETID \"Name\""}
	}
	return g, nil
}

// Apply returns a copy of base with the guide's rules applied; base is not modified. It fails
// when a rule names a segment or element that base does not have.
func (g *Guide) Apply(base *Schema) (*Schema, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.cache[base]; ok {
		return s, nil
	}
	if g.SetID != base.ID {
		return nil, fmt.Errorf("guide %s is for transaction set %s, not %s", g.Name, g.SetID, base.ID)
	}
	s := *base
	segs := map[string]*SegmentDef{}
	cloneSeg := func(id string) *SegmentDef {
		if c, ok := segs[id]; ok {
			return c
		}
		o := base.Segments[id]
		if o == nil {
			return nil
		}
		c := &SegmentDef{ID: o.ID, Name: o.Name, Syntax: o.Syntax}
		for _, u := range o.Elements {
			cu := *u
			c.Elements = append(c.Elements, &cu)
		}
		segs[id] = c
		return c
	}
	var nodes []*Node
	depth := map[*Node]int{}
	var cloneLoop func(l *Loop, d int) *Loop
	cloneLoop = func(l *Loop, d int) *Loop {
		c := &Loop{ID: l.ID}
		for i, n := range l.Children {
			cn := *n
			if n.Loop != nil {
				cn.Loop = cloneLoop(n.Loop, d+1)
			}
			c.Children = append(c.Children, &cn)
			nodes = append(nodes, &cn)
			depth[&cn] = d
			if i == 0 && d > 0 {
				depth[&cn] = d - 1 // a loop's trigger sits at its loop's level
			}
		}
		return c
	}
	s.Root = cloneLoop(base.Root, 0)
	shallowest := func(id string) int {
		m := 1 << 30
		for _, n := range nodes {
			if n.SegmentID == id && n.Segment != nil && depth[n] < m {
				m = depth[n]
			}
		}
		return m
	}
	for _, r := range g.Rules {
		if !base.inSet[r.Segment] {
			return nil, fmt.Errorf("guide %s line %d: segment %s is not in transaction set %s", g.Name, r.Line, r.Segment, base.ID)
		}
		switch r.Kind {
		case "unused", "require", "max":
			for _, n := range nodes {
				if n.SegmentID != r.Segment {
					continue
				}
				switch r.Kind {
				case "unused":
					n.NotUsed = true
				case "require":
					// only where the segment first appears (the header), not in every loop using it
					if n.Segment != nil && depth[n] == shallowest(n.SegmentID) {
						n.Usage = 'M'
					} else if n.Loop != nil && shallowest(n.SegmentID) >= depth[n] {
						n.Usage = 'M'
					}
				case "max":
					n.Max = r.Max
				}
			}
		default:
			sd := cloneSeg(r.Segment)
			var u *ElementUse
			for _, e := range sd.Elements {
				if e.Pos == r.Element {
					u = e
				}
			}
			if u == nil {
				return nil, fmt.Errorf("guide %s line %d: segment %s has no element %02d", g.Name, r.Line, r.Segment, r.Element)
			}
			switch r.Kind {
			case "mandatory":
				u.Usage = 'M'
			case "unused-element":
				u.NotUsed = true
			case "codes":
				u.Codes = map[string]string{}
				for _, c := range r.Codes {
					m := ""
					if u.Element != nil {
						m = u.Element.Codes[c]
					}
					u.Codes[c] = m
				}
			}
		}
	}
	if len(segs) > 0 {
		all := make(map[string]*SegmentDef, len(base.Segments))
		for k, v := range base.Segments {
			all[k] = v
		}
		for k, v := range segs {
			all[k] = v
		}
		s.Segments = all
		for _, n := range nodes {
			if c, ok := segs[n.SegmentID]; ok && n.Segment != nil {
				n.Segment = c
			}
		}
	}
	if g.cache == nil {
		g.cache = map[*Schema]*Schema{}
	}
	g.cache[base] = &s
	return &s, nil
}
