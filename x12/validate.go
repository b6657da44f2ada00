package x12

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"unicode/utf8"
)

// Validate checks set against schema and, when guide is non-nil, against the partner guide laid
// over schema. It returns the problems found, in segment order, each located and coded for the
// acknowledgements: segment problems carry AK304/IK304 codes (Level LevelSegment), element
// problems AK403/IK403 codes (Level LevelElement). The set's own envelope errors (Set.Errors) are
// not repeated. Validate is safe for concurrent use.
func Validate(set *Set, schema *Schema, guide *Guide) []*Error {
	if guide != nil {
		s, err := guide.Apply(schema)
		if err == nil {
			schema = s
		}
	}
	v := validatorPool.Get().(*validator)
	*v = validator{schema: schema, set: set, frames: v.frames[:0], slab: v.slab[:0]}
	v.run()
	if schema.ID == "856" {
		v.checkHL()
	}
	errs := v.errs
	v.errs, v.set, v.schema = nil, nil, nil
	validatorPool.Put(v)
	return errs
}

var validatorPool = sync.Pool{New: func() any { return new(validator) }}

// push opens a frame for loop l; its counts come from the slab, used as a stack.
func (v *validator) push(l *Loop, idx int) {
	n := len(l.Children)
	top := len(v.slab)
	if cap(v.slab)-top < n {
		ns := make([]int, top, 2*cap(v.slab)+n+64)
		copy(ns, v.slab)
		// earlier frames keep pointing at the old slab, which stays valid
		v.slab = ns
	}
	v.slab = v.slab[:top+n]
	counts := v.slab[top : top+n : top+n]
	clear(counts)
	v.frames = append(v.frames, frame{loop: l, idx: idx, counts: counts, base: top})
}

type frame struct {
	loop   *Loop
	idx    int
	counts []int
	base   int // where counts starts in the validator's slab
}

// Loops returns, for each segment of set, the path of loops it belongs to according to schema
// ("" for the top level, "N1", "PO1/SLN", ...). Segments that fit nowhere get the path of the
// loop the reader was in.
func Loops(set *Set, schema *Schema) []string {
	v := validator{schema: schema, set: set, paths: make([]string, 0, len(set.Segments))}
	v.run()
	return v.paths
}

// SchemaFor returns the definition to validate set with: the set's id in the version its group's
// GS08 maps to (see [SchemaVersion]). exact is false when the version is only the nearest one.
func (c *Catalog) SchemaFor(set *Set) (s *Schema, exact bool, err error) {
	v, exact := SchemaVersion(set.Version())
	s, err = c.Schema(v, set.ID)
	return s, exact, err
}

type validator struct {
	slab   []int
	paths  []string
	schema *Schema
	set    *Set
	frames []frame
	errs   []*Error
	seg    Segment
	pos    int
}

func (v *validator) path() string {
	p := ""
	for _, f := range v.frames[1:] {
		if p != "" {
			p += "/"
		}
		p += f.loop.ID
	}
	return p
}

func (v *validator) loopID() string {
	if n := len(v.frames); n > 0 {
		return v.frames[n-1].loop.ID
	}
	return ""
}

func (v *validator) segErr(code, id, format string, args ...any) {
	v.errs = append(v.errs, &Error{Level: LevelSegment, Offset: v.seg.Offset, SegmentPosition: v.pos, SegmentID: id,
		LoopID: v.loopID(), Code: code, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) run() {
	v.frames = v.frames[:0]
	v.slab = v.slab[:0]
	v.push(v.schema.Root, -1)
	for i, seg := range v.set.Segments {
		v.seg, v.pos = seg, i+1
		v.segment(seg)
		if v.paths != nil {
			v.paths = append(v.paths, v.path())
		}
	}
	if len(v.set.Segments) > 0 {
		v.pos = len(v.set.Segments)
	}
	if v.set.Truncated {
		return // the rest of the set was not kept: what is missing cannot be told
	}
	for len(v.frames) > 0 {
		v.pop()
	}
}

// missing reports mandatory children of f in (from, to).
func (v *validator) missing(f *frame, from, to int) {
	for j := from + 1; j < to; j++ {
		n := f.loop.Children[j]
		if n.Usage == 'M' && f.counts[j] == 0 && n.SegmentID != "SE" { // a missing SE is an envelope error
			what := "segment"
			if n.Loop != nil {
				what = "loop"
			}
			v.segErr(SegMandatoryMissing, n.SegmentID, "mandatory %s %s is missing", what, n.SegmentID)
		}
	}
}

func (v *validator) pop() {
	f := &v.frames[len(v.frames)-1]
	v.missing(f, f.idx, len(f.loop.Children))
	if f.base <= len(v.slab) {
		v.slab = v.slab[:f.base]
	}
	v.frames = v.frames[:len(v.frames)-1]
}

func (v *validator) segment(seg Segment) {
	id := seg.ID()
	key := segKey(id)
	depth, idx := -1, -1
	tdepth, tidx := -1, -1 // a full position, used when nothing better is found
	for d := len(v.frames) - 1; d >= 0 && depth < 0; d-- {
		f := &v.frames[d]
		start := f.idx
		if d > 0 && start < 1 {
			start = 1 // the trigger of the loop starts a new iteration, found in the parent
		}
		if start < 0 {
			start = 0
		}
		for i := start; i < len(f.loop.Children); i++ {
			n := f.loop.Children[i]
			if n.key != key && (n.key != 0 || n.SegmentID != string(id)) { // key 0: a Node built by hand
				continue
			}
			if tdepth < 0 {
				tdepth, tidx = d, i
			}
			if i == f.idx && n.Loop == nil && n.Max > 0 && f.counts[i] >= n.Max {
				continue // full here; a later position with the same id may take it
			}
			depth, idx = d, i
			break
		}
	}
	if depth < 0 && tdepth >= 0 {
		depth, idx = tdepth, tidx
	}
	if depth < 0 {
		def := v.schema.Segments[string(id)]
		switch {
		case !validSegID(id):
			v.segErr(SegUnrecognized, string(id), "%q is not a segment identifier", id)
		case v.schema.inSet[string(id)]:
			v.segErr(SegNotInSequence, string(id), "segment %s is not in its proper place (after %s)", id, v.prevID())
		case def != nil:
			v.segErr(SegNotInSet, string(id), "segment %s is not part of transaction set %s", id, v.schema.ID)
		default:
			v.segErr(SegUnrecognized, string(id), "segment %s is unknown in version %s", id, v.schema.Version)
		}
		return
	}
	for len(v.frames)-1 > depth {
		v.pop()
	}
	f := &v.frames[depth]
	v.missing(f, f.idx, idx)
	if idx != f.idx {
		f.idx = idx
	}
	n := f.loop.Children[idx]
	f.counts[idx]++
	if n.NotUsed {
		v.segErr(SegImplNotUsed, n.SegmentID, "segment %s is not used in this partner's guide", n.SegmentID)
	}
	if n.Loop != nil {
		over := n.Max > 0 && f.counts[idx] > n.Max
		v.push(n.Loop, 0)
		v.frames[len(v.frames)-1].counts[0] = 1
		if over {
			v.segErr(SegLoopOverMax, n.SegmentID, "loop %s occurs more than %d times", n.SegmentID, n.Max)
		}
		n = n.Loop.Children[0]
	} else if n.Max > 0 && f.counts[idx] > n.Max {
		v.segErr(SegExceedsMaxUse, n.SegmentID, "segment %s occurs more than %d times", n.SegmentID, n.Max)
	}
	v.elements(seg, n.Segment)
}

func (v *validator) prevID() string {
	if v.pos >= 2 {
		return v.set.Segments[v.pos-2].IDString()
	}
	return "the start"
}

func validSegID(id []byte) bool {
	if len(id) < 2 || len(id) > 3 {
		return false
	}
	for _, c := range id {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (v *validator) elemErr(u *ElementUse, pos, comp, rep int, code string, val []byte, format string, args ...any) {
	e := &Error{Level: LevelElement, Offset: v.seg.Offset, SegmentPosition: v.pos, SegmentID: v.seg.IDString(), LoopID: v.loopID(),
		ElementPosition: pos, ComponentPosition: comp, RepetitionPosition: rep, Code: code, Message: fmt.Sprintf(format, args...)}
	if u != nil {
		e.ElementRef = u.Ref
	}
	if val != nil {
		e.Value = string(val)
	}
	v.errs = append(v.errs, e)
}

func (v *validator) elements(seg Segment, def *SegmentDef) {
	if def == nil {
		return
	}
	d := seg.Delimiters
	n := seg.Len()
	if n > len(def.Elements) {
		for i := len(def.Elements) + 1; i <= n; i++ {
			if len(seg.Element(i)) > 0 {
				v.elemErr(nil, i, 0, 0, ElemTooMany, nil, "%s has %d elements, the standard defines %d", def.ID, n, len(def.Elements))
				break
			}
		}
	}
	for _, u := range def.Elements {
		val := seg.Element(u.Pos)
		if len(val) == 0 {
			if u.Usage == 'M' {
				v.elemErr(u, u.Pos, 0, 0, ElemMandatoryMissing, nil, "mandatory element %s%02d (%s) is missing", def.ID, u.Pos, u.Name())
			}
			continue
		}
		if u.NotUsed {
			v.elemErr(u, u.Pos, 0, 0, ElemImplNotUsed, val, "element %s%02d (%s) is not used in this partner's guide", def.ID, u.Pos, u.Name())
			continue
		}
		rep := 0
		rest := val
		for {
			one := rest
			more := false
			if d.Repetition != 0 && u.Repeat != 1 {
				if k := bytes.IndexByte(rest, d.Repetition); k >= 0 {
					one, rest, more = rest[:k], rest[k+1:], true
				}
			}
			rep++
			if u.Repeat > 0 && rep == u.Repeat+1 {
				v.elemErr(u, u.Pos, 0, rep, ElemTooManyReps, nil, "element %s%02d repeats more than %d times", def.ID, u.Pos, u.Repeat)
			}
			rp := 0
			if u.Repeat != 1 {
				rp = rep
			}
			if u.Composite != nil {
				v.composite(def, u, one, rp)
			} else if u.Element != nil {
				v.simple(def, u, u.Element, u.Codes, one, u.Pos, 0, rp)
			}
			if !more {
				break
			}
		}
	}
	for _, sn := range def.Syntax {
		v.syntax(seg, def, sn)
	}
}

func (v *validator) composite(def *SegmentDef, u *ElementUse, val []byte, rep int) {
	sep := v.seg.Delimiters.Component
	comps := u.Composite.Components
	k := 0
	rest := val
	for {
		one := rest
		more := false
		if j := bytes.IndexByte(rest, sep); j >= 0 {
			one, rest, more = rest[:j], rest[j+1:], true
		}
		k++
		if k > len(comps) {
			if len(one) > 0 || more {
				v.elemErr(u, u.Pos, k, rep, ElemTooManyComponents, nil, "composite %s%02d has more than %d components", def.ID, u.Pos, len(comps))
			}
			return
		}
		c := comps[k-1]
		if len(one) == 0 {
			if c.Usage == 'M' {
				v.elemErr(c, u.Pos, k, rep, ElemMandatoryMissing, nil, "mandatory component %s%02d-%d (%s) is missing", def.ID, u.Pos, k, c.Name())
			}
		} else if c.Element != nil {
			v.simple(def, c, c.Element, c.Codes, one, u.Pos, k, rep)
		}
		if !more {
			break
		}
	}
	for k++; k <= len(comps); k++ {
		if comps[k-1].Usage == 'M' {
			v.elemErr(comps[k-1], u.Pos, k, rep, ElemMandatoryMissing, nil, "mandatory component %s%02d-%d (%s) is missing", def.ID, u.Pos, k, comps[k-1].Name())
		}
	}
}

// simple checks one value of a simple element.
func (v *validator) simple(def *SegmentDef, u *ElementUse, e *ElementDef, codes map[string]string, val []byte, pos, comp, rep int) {
	name := func() string {
		if comp > 0 {
			return fmt.Sprintf("%s%02d-%d (%s)", def.ID, pos, comp, e.Name)
		}
		return fmt.Sprintf("%s%02d (%s)", def.ID, pos, e.Name)
	}
	n := len(val)
	switch t := e.Type; {
	case t == "R" || (len(t) == 2 && t[0] == 'N'):
		digits, ok := 0, true
		dots := 0
		for i, c := range val {
			switch {
			case c >= '0' && c <= '9':
				digits++
			case c == '-' && i == 0:
			case c == '.' && t == "R" && dots == 0:
				dots++
			default:
				ok = false
			}
		}
		if !ok || digits == 0 {
			v.elemErr(u, pos, comp, rep, ElemInvalidChar, val, "%s is %q, not a number", name(), val)
		}
		// the length of a number leaves out its sign and decimal point
		n = len(val) - dots
		if len(val) > 0 && val[0] == '-' {
			n--
		}
	case t == "DT":
		if !validDate(string(val)) {
			v.elemErr(u, pos, comp, rep, ElemInvalidDate, val, "%s is %q, not a valid date", name(), val)
		}
	case t == "TM":
		if !validTime(string(val)) {
			v.elemErr(u, pos, comp, rep, ElemInvalidTime, val, "%s is %q, not a valid time", name(), val)
		}
	case t == "AN" || t == "ID":
		for _, c := range val {
			if c < 0x20 || c == 0x7F {
				v.elemErr(u, pos, comp, rep, ElemInvalidChar, val, "%s contains the control character 0x%02X", name(), c)
				break
			}
		}
		if t == "AN" {
			n = utf8.RuneCount(val)
		}
	}
	if n < e.Min && e.Type != "B" {
		v.elemErr(u, pos, comp, rep, ElemTooShort, val, "%s is %q, shorter than its minimum length %d", name(), val, e.Min)
	} else if e.Max > 0 && n > e.Max && e.Type != "B" {
		v.elemErr(u, pos, comp, rep, ElemTooLong, val, "%s is %q, longer than its maximum length %d", name(), val, e.Max)
	}
	if codes != nil {
		if _, ok := codes[string(val)]; !ok {
			code := ElemInvalidCode
			if _, std := e.Codes[string(val)]; std {
				code = ElemImplCodeNotUsed
			}
			v.elemErr(u, pos, comp, rep, code, val, "%s is %q, not a code this partner's guide allows", name(), val)
		}
	} else if len(e.Codes) > 0 && (e.Closed || v.schema.StrictCodes) {
		if _, ok := e.Codes[string(val)]; !ok {
			v.elemErr(u, pos, comp, rep, ElemInvalidCode, val, "%s is %q, not one of its codes", name(), val)
		}
	}
}

func (v *validator) syntax(seg Segment, def *SegmentDef, sn SyntaxNote) {
	present := func(p int) bool { return len(seg.Element(p)) > 0 }
	ps := sn.Positions
	cnt := 0
	for _, p := range ps {
		if present(p) {
			cnt++
		}
	}
	rule := func() string {
		b := []byte{sn.Kind}
		for _, p := range ps {
			b = append(b, byte('0'+p/10), byte('0'+p%10))
		}
		return string(b)
	}
	firstAbsent := func(from int) int {
		for _, p := range ps[from:] {
			if !present(p) {
				return p
			}
		}
		return ps[0]
	}
	switch sn.Kind {
	case 'P':
		if cnt > 0 && cnt < len(ps) {
			v.elemErr(nil, firstAbsent(0), 0, 0, ElemConditionalMissing, nil, "syntax rule %s of %s: if any of these elements is present, all must be", rule(), def.ID)
		}
	case 'R':
		if cnt == 0 {
			v.elemErr(nil, ps[0], 0, 0, ElemConditionalMissing, nil, "syntax rule %s of %s: at least one of these elements is required", rule(), def.ID)
		}
	case 'E':
		if cnt > 1 {
			second := ps[0]
			seen := 0
			for _, p := range ps {
				if present(p) {
					seen++
					if seen == 2 {
						second = p
					}
				}
			}
			v.elemErr(nil, second, 0, 0, ElemExclusion, nil, "syntax rule %s of %s: only one of these elements may be present", rule(), def.ID)
		}
	case 'C':
		if present(ps[0]) {
			for _, p := range ps[1:] {
				if !present(p) {
					v.elemErr(nil, p, 0, 0, ElemConditionalMissing, nil, "syntax rule %s of %s: element %02d is required when %02d is present", rule(), def.ID, p, ps[0])
				}
			}
		}
	case 'L':
		if present(ps[0]) {
			ok := false
			for _, p := range ps[1:] {
				ok = ok || present(p)
			}
			if !ok {
				v.elemErr(nil, ps[1], 0, 0, ElemConditionalMissing, nil, "syntax rule %s of %s: when %02d is present, at least one of the others is required", rule(), def.ID, ps[0])
			}
		}
	}
}

// checkHL checks the hierarchy of an 856: HL01 unique and increasing, HL02 naming an earlier HL,
// HL03 levels in a legal order (S first, O under S, T and P under O or T, I under O, P or T).
func (v *validator) checkHL() {
	level := map[string]string{}
	var order []string
	last := -1
	first := true
	for i, seg := range v.set.Segments {
		if string(seg.ID()) != "HL" {
			continue
		}
		v.seg, v.pos = seg, i+1
		id, parent, code := seg.ElementString(1), seg.ElementString(2), seg.ElementString(3)
		n, err := strconv.Atoi(id)
		if _, dup := level[id]; dup {
			v.elemErr(nil, 1, 0, 0, ElemInvalidCode, seg.Element(1), "HL01 %q repeats an earlier hierarchical id", id)
		} else if err == nil && n <= last {
			v.elemErr(nil, 1, 0, 0, ElemInvalidCode, seg.Element(1), "HL01 %q is not greater than the previous hierarchical id", id)
		}
		if err == nil {
			last = n
		}
		pl, known := "", false
		if parent != "" {
			pl, known = level[parent]
			if !known {
				v.elemErr(nil, 2, 0, 0, ElemInvalidCode, seg.Element(2), "HL02 %q does not name an earlier HL", parent)
			}
		}
		legal := func(pl string) bool {
			switch code {
			case "O":
				return pl == "S"
			case "T", "P":
				return pl == "O" || pl == "T"
			case "I":
				return pl == "O" || pl == "P" || pl == "T"
			}
			return true
		}
		if parent == "" && code != "S" {
			// HL02 is optional: the parent is the nearest earlier level that may hold this one
			for k := len(order) - 1; k >= 0; k-- {
				if legal(order[k]) {
					pl, known = order[k], true
					break
				}
			}
		}
		level[id] = code
		order = append(order, code)
		ok := true
		switch code {
		case "S":
			ok = first && parent == ""
		case "O", "T", "P", "I":
			ok = known && legal(pl)
		}
		if first && code != "S" && code != "" {
			v.elemErr(nil, 3, 0, 0, ElemInvalidCode, seg.Element(3), "the first HL must be the shipment level S, not %q", code)
		} else if !ok {
			v.elemErr(nil, 3, 0, 0, ElemInvalidCode, seg.Element(3), "HL level %q cannot sit under level %q (parent %q)", code, pl, parent)
		}
		first = false
	}
}
