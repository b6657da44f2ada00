package x12

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// EventKind says what an [Event] carries.
type EventKind int

const (
	// InterchangeStart: an ISA header was read; Event.Interchange is set.
	InterchangeStart EventKind = iota + 1
	// GroupStart: a GS header was read; Event.Group is set.
	GroupStart
	// SetRead: a transaction set was read (ST to SE, or as far as it went); Event.Set is set.
	// Sets with envelope errors are delivered too, with Set.Errors filled.
	SetRead
	// GroupEnd: a group ended (GE read, or the group was cut short); Group.Errors is final.
	GroupEnd
	// InterchangeEnd: an interchange ended (IEA read, or cut short); Interchange.Errors is final.
	InterchangeEnd
)

func (k EventKind) String() string {
	switch k {
	case InterchangeStart:
		return "interchange start"
	case GroupStart:
		return "group start"
	case SetRead:
		return "set"
	case GroupEnd:
		return "group end"
	case InterchangeEnd:
		return "interchange end"
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// Event is one step of an envelope-aware read.
type Event struct {
	Kind        EventKind
	Interchange *Interchange
	Group       *Group
	Set         *Set
}

// Decoder reads interchanges, groups and transaction sets from a stream, checking the
// envelopes: ISA13 = IEA02, IEA01 = number of groups, GS06 = GE02, GE01 = number of sets,
// ST02 = SE02, SE01 = number of segments, control numbers unique in the stream (ISA13 per
// sender and receiver, GS06 per application sender and receiver, ST02 per group).
//
// Problems in the data never stop the read: they are attached to the interchange, group or set
// they belong to and gathered in [Decoder.Errors]. A Decoder is not safe for concurrent use.
type Decoder struct {
	r       *Reader
	queue   []Event
	qi      int
	ic      *Interchange
	gp      *Group
	set     *Set
	free    *Set
	last    *Set
	done    bool
	segPos  int
	skipSet bool
	strict  bool

	maxSet  int
	maxErrs int

	seenISA map[string]*ctlSet // per sender and receiver
	seenGS  map[string]struct{}
	seenST  ctlSet

	errs     []*Error
	dropped  int
	warnings []Warning
}

// DecoderOption configures a Decoder.
type DecoderOption func(*Decoder)

// WithMaxSetSize bounds the bytes kept for one transaction set (default 64 MiB). A larger set is
// still counted and checked, but only its first segments are kept and it is marked Truncated.
func WithMaxSetSize(n int) DecoderOption { return func(d *Decoder) { d.maxSet = n } }

// WithMaxErrors bounds the errors kept by [Decoder.Errors] and the warnings kept by
// [Decoder.Warnings] (default 10000 each); those attached to interchanges, groups and sets are
// not bounded.
func WithMaxErrors(n int) DecoderOption { return func(d *Decoder) { d.maxErrs = n } }

// WithStrict makes the decoder report as errors what it otherwise tolerates with a warning:
// an IEA02 or GE02 control number that differs from its header's (when the counts are right).
func WithStrict() DecoderOption { return func(d *Decoder) { d.strict = true } }

// WithReaderOptions passes options to the underlying [Reader].
func WithReaderOptions(opts ...ReaderOption) DecoderOption {
	return func(d *Decoder) {
		for _, o := range opts {
			o(d.r)
		}
	}
}

// NewDecoder returns a Decoder reading from r.
func NewDecoder(r io.Reader, opts ...DecoderOption) *Decoder {
	d := &Decoder{r: NewReader(r), maxSet: 64 << 20, maxErrs: 10000,
		seenISA: map[string]*ctlSet{}, seenGS: map[string]struct{}{}}
	for _, o := range opts {
		o(d)
	}
	return d
}

// Errors returns every problem found so far, in input order (at most the WithMaxErrors bound).
func (d *Decoder) Errors() []*Error { return d.errs }

// Warnings returns every tolerated irregularity found so far.
func (d *Decoder) Warnings() []Warning { return d.warnings }

// Next returns the next event, or io.EOF after the last one. Problems in the data are not
// returned here (see [Decoder.Errors]); only read errors of the underlying io.Reader are.
func (d *Decoder) Next() (Event, error) {
	if d.last != nil {
		d.free, d.last = d.last, nil
	}
	for d.qi == len(d.queue) {
		d.queue, d.qi = d.queue[:0], 0
		if d.done {
			return Event{}, io.EOF
		}
		if err := d.step(); err != nil {
			return Event{}, err
		}
	}
	ev := d.queue[d.qi]
	d.qi++
	if ev.Kind == SetRead {
		d.last = ev.Set
	}
	return ev, nil
}

func (d *Decoder) emit(ev Event) { d.queue = append(d.queue, ev) }

func (d *Decoder) addErr(e *Error) {
	if len(d.errs) < d.maxErrs {
		d.errs = append(d.errs, e)
	} else {
		d.dropped++
	}
}

func (d *Decoder) takeWarnings() {
	for _, w := range d.r.TakeWarnings() {
		if len(d.warnings) < d.maxErrs {
			d.warnings = append(d.warnings, w)
		}
		if d.ic != nil {
			d.ic.Warnings = append(d.ic.Warnings, w)
		}
	}
}

func (d *Decoder) step() error {
	seg, err := d.r.Next()
	if err == nil && seg.Len() == 0 && len(seg.Raw()) == 0 {
		return nil
	}
	if err != nil {
		if err == io.EOF {
			d.takeWarnings()
			d.closeAll(d.r.base+int64(d.r.start), "the input ended")
			if d.segPos == 0 && len(d.errs) == 0 {
				d.addErr(&Error{Level: LevelFile, Message: "the input is empty: no X12 interchange in it", wrapped: ErrNotX12})
			}
			d.done = true
			return nil
		}
		e, ok := errAs(err)
		if !ok {
			d.done = true
			if errors.Is(err, ErrSegmentTooLong) {
				e := &Error{Level: LevelFile, Offset: d.r.base + int64(d.r.start), Message: err.Error()}
				d.addErr(e)
				d.closeAll(e.Offset, "a segment was too long to read")
				return nil
			}
			return err
		}
		d.takeWarnings()
		if e.Level == LevelFile {
			d.addErr(e)
			d.closeAll(e.Offset, "the input became unreadable")
			d.done = true
			return nil
		}
		// an unusable ISA header: close what is open and skip to the next ISA; when its fields
		// are readable, report it as an interchange of its own so that a TA1 can answer it
		d.closeAll(e.Offset, "an unreadable ISA header followed")
		d.addErr(e)
		if e.Value != "" && len(e.Value) > 4 {
			f := splitISA(e.Value)
			ic := &Interchange{Offset: e.Offset, AuthQualifier: f(1), AuthInfo: f(2), SecurityQualifier: f(3), SecurityInfo: f(4),
				SenderQualifier: f(5), SenderID: f(6), ReceiverQualifier: f(7), ReceiverID: f(8), Date: f(9), Time: f(10),
				Version: f(12), ControlNumber: f(13), AckRequested: f(14), Usage: f(15), Errors: []*Error{e}}
			d.emit(Event{Kind: InterchangeStart, Interchange: ic})
			d.emit(Event{Kind: InterchangeEnd, Interchange: ic})
		}
		return nil
	}
	d.takeWarnings()
	d.segPos++
	id := seg.ID()
	switch string(id) {
	case "ISA":
		d.closeAll(seg.Offset, "a new ISA header started")
		d.startInterchange(seg)
	case "IEA":
		d.endInterchange(seg)
	case "GS":
		d.startGroup(seg)
	case "GE":
		d.endGroup(seg)
	case "ST":
		d.startSet(seg)
	case "SE":
		d.endSet(seg)
	case "TA1":
		if d.ic != nil && d.gp == nil {
			d.ic.TA1s = append(d.ic.TA1s, TA1Note{Offset: seg.Offset, ControlNumber: seg.ElementString(1),
				Date: seg.ElementString(2), Time: seg.ElementString(3), Ack: seg.ElementString(4), Code: seg.ElementString(5)})
			return nil
		}
		d.data(seg)
	case "ISB", "ISE":
		if d.ic != nil && d.gp == nil {
			return nil
		}
		d.data(seg)
	default:
		d.data(seg)
	}
	return nil
}

func (d *Decoder) envErr(level Level, seg Segment, elem int, code, format string, args ...any) *Error {
	e := &Error{Level: level, Offset: seg.Offset, SegmentPosition: d.segPos, SegmentID: seg.IDString(),
		ElementPosition: elem, Code: code, Message: fmt.Sprintf(format, args...)}
	d.addErr(e)
	return e
}

// closeAll ends whatever is open, with errors saying what was missing.
func (d *Decoder) closeAll(off int64, why string) {
	if d.set != nil {
		d.closeSet(off, why)
	}
	if d.gp != nil {
		d.closeGroup(off, why)
	}
	if d.ic != nil {
		e := &Error{Level: LevelInterchange, Offset: off, SegmentPosition: d.segPos, SegmentID: "ISA", Code: TA1PrematureEOF,
			Message: fmt.Sprintf("interchange %s has no IEA trailer: %s", d.ic.ControlNumber, why)}
		d.addErr(e)
		d.ic.Errors = append(d.ic.Errors, e)
		d.emit(Event{Kind: InterchangeEnd, Interchange: d.ic})
		d.ic = nil
	}
}

func (d *Decoder) closeSet(off int64, why string) {
	s := d.set
	e := &Error{Level: LevelSet, Offset: off, SegmentPosition: s.count + 1, SegmentID: "SE", Code: SetTrailerMissing,
		Message: fmt.Sprintf("transaction set %s %s has no SE trailer: %s", s.ID, s.ControlNumber, why)}
	d.addErr(e)
	s.Errors = append(s.Errors, e)
	d.deliverSet()
}

func (d *Decoder) closeGroup(off int64, why string) {
	e := &Error{Level: LevelGroup, Offset: off, SegmentPosition: d.segPos, SegmentID: "GE", Code: GroupTrailerMissing,
		Message: fmt.Sprintf("group %s has no GE trailer: %s", d.gp.ControlNumber, why)}
	d.addErr(e)
	d.gp.Errors = append(d.gp.Errors, e)
	d.emit(Event{Kind: GroupEnd, Group: d.gp, Interchange: d.ic})
	d.gp = nil
}

// splitISA returns a field getter over a raw ISA header (element separator at byte 3).
func splitISA(raw string) func(int) string {
	fields := strings.Split(raw, raw[3:4])
	return func(i int) string {
		if i < len(fields) {
			return trimPad([]byte(fields[i]))
		}
		return ""
	}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (d *Decoder) startInterchange(seg Segment) {
	ic := &Interchange{Offset: seg.Offset, Delimiters: seg.Delimiters, Header: seg.Clone()}
	f := func(i int) string { return trimPad(seg.Element(i)) }
	ic.AuthQualifier, ic.AuthInfo, ic.SecurityQualifier, ic.SecurityInfo = f(1), f(2), f(3), f(4)
	ic.SenderQualifier, ic.SenderID, ic.ReceiverQualifier, ic.ReceiverID = f(5), f(6), f(7), f(8)
	ic.Date, ic.Time, ic.Version, ic.ControlNumber, ic.AckRequested, ic.Usage = f(9), f(10), f(12), f(13), f(14), f(15)
	d.ic = ic
	d.seenST.reset()
	clear(d.seenGS)
	bad := func(elem int, code, format string, args ...any) {
		ic.Errors = append(ic.Errors, d.envErr(LevelInterchange, seg, elem, code, format, args...))
	}
	if seg.Len() != 16 {
		bad(0, TA1BadStructure, "the ISA header has %d elements, want 16", seg.Len())
	}
	if !isDigits(ic.ControlNumber) || len(ic.ControlNumber) != 9 {
		bad(13, TA1BadControlNumber, "the interchange control number ISA13 %q is not 9 digits", ic.ControlNumber)
	}
	if v := ic.Version; len(v) != 5 || !isDigits(v) || v[:2] != "00" || v[2] < '2' {
		bad(12, TA1BadVersion, "the interchange version ISA12 %q is not a known X12 version", v)
	}
	if a := ic.AckRequested; a != "0" && a != "1" {
		bad(14, TA1BadAckRequested, "ISA14 (acknowledgment requested) is %q, want 0 or 1", a)
	}
	if u := ic.Usage; u != "P" && u != "T" && u != "I" {
		bad(15, TA1BadTestIndicator, "ISA15 (usage indicator) is %q, want P or T", u)
	}
	if len(ic.Date) != 6 || !isDigits(ic.Date) || !validDate(ic.Date) {
		bad(9, TA1BadDate, "the interchange date ISA09 %q is not a valid YYMMDD date", ic.Date)
	}
	if len(ic.Time) != 4 || !validTime(ic.Time) {
		bad(10, TA1BadTime, "the interchange time ISA10 %q is not a valid HHMM time", ic.Time)
	}
	pair := ic.SenderQualifier + "/" + ic.SenderID + ">" + ic.ReceiverQualifier + "/" + ic.ReceiverID
	seen := d.seenISA[pair]
	if seen == nil {
		seen = &ctlSet{}
		d.seenISA[pair] = seen
	}
	if !seen.add(ic.ControlNumber) {
		bad(13, TA1DuplicateControl, "duplicate interchange control number %s from %s/%s to %s/%s in this input",
			ic.ControlNumber, ic.SenderQualifier, ic.SenderID, ic.ReceiverQualifier, ic.ReceiverID)
	}
	d.emit(Event{Kind: InterchangeStart, Interchange: ic})
}

func (d *Decoder) endInterchange(seg Segment) {
	if d.set != nil {
		d.closeSet(seg.Offset, "IEA came first")
	}
	if d.gp != nil {
		d.closeGroup(seg.Offset, "IEA came first")
	}
	ic := d.ic
	if ic == nil {
		d.envErr(LevelInterchange, seg, 0, TA1BadStructure, "IEA without a matching ISA header")
		return
	}
	bad := func(elem int, code, format string, args ...any) {
		ic.Errors = append(ic.Errors, d.envErr(LevelInterchange, seg, elem, code, format, args...))
	}
	if n, err := strconv.Atoi(seg.ElementString(1)); err != nil || n != ic.GroupCount {
		bad(1, TA1BadGroupCount, "IEA01 says %q functional groups, but %d were read", seg.ElementString(1), ic.GroupCount)
	}
	if c := seg.ElementString(2); c != ic.ControlNumber {
		d.mismatch(&ic.Errors, LevelInterchange, seg, TA1ControlMismatch, "IEA02 control number %q does not match ISA13 %q", c, ic.ControlNumber)
	}
	ic.Closed = true
	d.emit(Event{Kind: InterchangeEnd, Interchange: ic})
	d.ic = nil
}

// mismatch reports a trailer control number that differs from its header's: an error in strict
// mode, a warning otherwise (partners' test files often carry this slip while counts are right).
func (d *Decoder) mismatch(errs *[]*Error, level Level, seg Segment, code, format string, args ...any) {
	if d.strict {
		*errs = append(*errs, d.envErr(level, seg, 2, code, format, args...))
		return
	}
	w := Warning{Offset: seg.Offset, SegmentID: seg.IDString(), Message: fmt.Sprintf(format, args...) + " (tolerated; an error in strict mode)"}
	if len(d.warnings) < d.maxErrs {
		d.warnings = append(d.warnings, w)
	}
	if d.ic != nil {
		d.ic.Warnings = append(d.ic.Warnings, w)
	}
}

func (d *Decoder) startGroup(seg Segment) {
	if d.set != nil {
		d.closeSet(seg.Offset, "a GS header came first")
	}
	if d.gp != nil {
		d.closeGroup(seg.Offset, "a new GS header started")
	}
	if d.ic == nil {
		d.envErr(LevelGroup, seg, 0, GroupNotSupported, "GS header outside an interchange (no ISA before it); the group is skipped")
		d.skipSet = true
		return
	}
	f := func(i int) string { return trimPad(seg.Element(i)) }
	g := &Group{Interchange: d.ic, Offset: seg.Offset, Header: seg.Clone(),
		FunctionalID: f(1), SenderID: f(2), ReceiverID: f(3), Date: f(4), Time: f(5), ControlNumber: f(6), Agency: f(7), Version: f(8)}
	d.gp = g
	d.ic.GroupCount++
	d.seenST.reset()
	bad := func(elem int, code, format string, args ...any) {
		g.Errors = append(g.Errors, d.envErr(LevelGroup, seg, elem, code, format, args...))
	}
	if seg.Len() != 8 {
		bad(0, GroupNotSupported, "the GS header has %d elements, want 8", seg.Len())
	}
	if !isDigits(g.ControlNumber) || len(g.ControlNumber) > 9 {
		bad(6, GroupBadControlNumber, "the group control number GS06 %q is not 1 to 9 digits", g.ControlNumber)
	}
	key := g.SenderID + ">" + g.ReceiverID + "#" + g.ControlNumber
	if _, dup := d.seenGS[key]; dup {
		bad(6, GroupControlNotUnique, "duplicate group control number %s from %s to %s in this input", g.ControlNumber, g.SenderID, g.ReceiverID)
	}
	d.seenGS[key] = struct{}{}
	d.emit(Event{Kind: GroupStart, Interchange: d.ic, Group: g})
}

func (d *Decoder) endGroup(seg Segment) {
	if d.set != nil {
		d.closeSet(seg.Offset, "GE came first")
	}
	g := d.gp
	if g == nil {
		d.envErr(LevelGroup, seg, 0, GroupNotSupported, "GE without a matching GS header")
		d.skipSet = false
		return
	}
	bad := func(elem int, code, format string, args ...any) {
		g.Errors = append(g.Errors, d.envErr(LevelGroup, seg, elem, code, format, args...))
	}
	if n, err := strconv.Atoi(seg.ElementString(1)); err != nil || n != g.SetCount {
		bad(1, GroupCountMismatch, "GE01 says %q transaction sets, but %d were read", seg.ElementString(1), g.SetCount)
	}
	if c := trimPad(seg.Element(2)); c != g.ControlNumber {
		d.mismatch(&g.Errors, LevelGroup, seg, GroupControlMismatch, "GE02 control number %q does not match GS06 %q", c, g.ControlNumber)
	}
	g.Closed = true
	g.trailerCount = seg.ElementString(1)
	d.emit(Event{Kind: GroupEnd, Interchange: d.ic, Group: g})
	d.gp = nil
}

func (d *Decoder) newSet() *Set {
	s := d.free
	d.free = nil
	if s == nil {
		s = &Set{}
	}
	*s = Set{arena: s.arena[:0], bnds: s.bnds[:0], recs: s.recs[:0], Segments: s.Segments[:0]}
	return s
}

func (d *Decoder) startSet(seg Segment) {
	if d.set != nil {
		d.closeSet(seg.Offset, "a new ST header started")
	}
	if d.gp == nil {
		d.envErr(LevelSet, seg, 0, SetNotInGroup, "ST header outside a functional group (no GS before it); the set is skipped")
		d.skipSet = true
		return
	}
	d.skipSet = false
	s := d.newSet()
	s.Group = d.gp
	s.Offset = seg.Offset
	s.ID = seg.ElementString(1)
	s.ControlNumber = seg.ElementString(2)
	s.ImplementationRef = seg.ElementString(3)
	d.set = s
	d.gp.SetCount++
	d.appendSeg(seg)
	bad := func(elem int, code, format string, args ...any) {
		e := &Error{Level: LevelSet, Offset: seg.Offset, SegmentPosition: 1, SegmentID: "ST", ElementPosition: elem, Code: code,
			Message: fmt.Sprintf(format, args...)}
		d.addErr(e)
		s.Errors = append(s.Errors, e)
	}
	if len(s.ID) != 3 || !isDigits(s.ID) {
		bad(1, SetBadIdentifier, "ST01 %q is not a transaction set identifier", s.ID)
	} else if fid, ok := functionalIDs[s.ID]; ok && d.gp.FunctionalID != fid {
		bad(1, SetNotInGroup, "transaction set %s belongs in a %s functional group, but GS01 is %q", s.ID, fid, d.gp.FunctionalID)
	}
	if n := len(s.ControlNumber); n < 4 || n > 9 || !isAlnumString(s.ControlNumber) {
		bad(2, SetBadControlNumber, "ST02 control number %q is not 4 to 9 characters", s.ControlNumber)
	}
	if !d.seenST.add(s.ControlNumber) {
		bad(2, SetControlNotUnique, "duplicate transaction set control number %s in group %s", s.ControlNumber, d.gp.ControlNumber)
	}
}

func isAlnumString(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return s != ""
}

func (d *Decoder) appendSeg(seg Segment) {
	s := d.set
	s.count++
	if s.Truncated || len(s.arena)+len(seg.data) > d.maxSet {
		s.Truncated = true
		return
	}
	d0 := int32(len(s.arena))
	s.arena = append(s.arena, seg.data...)
	b0 := int32(len(s.bnds))
	s.bnds = append(s.bnds, seg.bounds...)
	s.recs = append(s.recs, segRec{off: seg.Offset, d0: d0, d1: int32(len(s.arena)), b0: b0, b1: int32(len(s.bnds))})
}

func (d *Decoder) data(seg Segment) {
	if d.set != nil {
		d.appendSeg(seg)
		return
	}
	if d.skipSet {
		return
	}
	lvl, where := LevelInterchange, "between groups"
	code := TA1BadContent
	if d.gp != nil {
		lvl, where, code = LevelGroup, "between transaction sets", GroupNotSupported
	} else if d.ic == nil {
		lvl, where = LevelFile, "outside any interchange"
	}
	e := d.envErr(lvl, seg, 0, code, "segment %s %s is not inside a transaction set", seg.IDString(), where)
	switch {
	case d.gp != nil:
		d.gp.Errors = append(d.gp.Errors, e)
	case d.ic != nil:
		d.ic.Errors = append(d.ic.Errors, e)
	}
}

func (d *Decoder) endSet(seg Segment) {
	s := d.set
	if s == nil {
		if !d.skipSet {
			d.envErr(LevelSet, seg, 0, SetNotInGroup, "SE without a matching ST header")
		}
		d.skipSet = false
		return
	}
	d.appendSeg(seg)
	bad := func(elem int, code, format string, args ...any) {
		e := &Error{Level: LevelSet, Offset: seg.Offset, SegmentPosition: s.count, SegmentID: "SE", ElementPosition: elem, Code: code,
			Message: fmt.Sprintf(format, args...)}
		d.addErr(e)
		s.Errors = append(s.Errors, e)
	}
	if n, err := strconv.Atoi(seg.ElementString(1)); err != nil || n != s.count {
		bad(1, SetCountMismatch, "SE01 says %q segments, but the set has %d (ST and SE included)", seg.ElementString(1), s.count)
	}
	if c := seg.ElementString(2); c != s.ControlNumber {
		bad(2, SetControlMismatch, "SE02 control number %q does not match ST02 %q", c, s.ControlNumber)
	}
	d.deliverSet()
}

func (d *Decoder) deliverSet() {
	s := d.set
	d.set = nil
	for _, r := range s.recs {
		s.Segments = append(s.Segments, Segment{data: s.arena[r.d0:r.d1:r.d1], bounds: s.bnds[r.b0:r.b1:r.b1], Offset: r.off, Delimiters: s.Group.Interchange.Delimiters})
	}
	d.emit(Event{Kind: SetRead, Interchange: s.Group.Interchange, Group: s.Group, Set: s})
}

// ctlSet remembers control numbers cheaply: numeric ones as merged ranges (sequential numbering
// takes one range), others in a map.
type ctlSet struct {
	lo, hi []uint64
	other  map[string]struct{}
}

func (c *ctlSet) reset() {
	c.lo, c.hi = c.lo[:0], c.hi[:0]
	clear(c.other)
}

// add records v and reports whether it was new.
func (c *ctlSet) add(v string) bool {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || (len(v) > 1 && v[0] == '0' && false) {
		if c.other == nil {
			c.other = map[string]struct{}{}
		}
		if _, ok := c.other[v]; ok {
			return false
		}
		c.other[v] = struct{}{}
		return true
	}
	k := len(c.lo)
	if k > 0 && c.hi[k-1]+1 == n {
		c.hi[k-1] = n
		return true
	}
	// binary search for the first range with lo > n
	i, j := 0, k
	for i < j {
		m := (i + j) / 2
		if c.lo[m] > n {
			j = m
		} else {
			i = m + 1
		}
	}
	if i > 0 && n <= c.hi[i-1] {
		return false
	}
	switch {
	case i > 0 && c.hi[i-1]+1 == n:
		c.hi[i-1] = n
		if i < k && c.lo[i] == n+1 {
			c.hi[i-1] = c.hi[i]
			c.lo = append(c.lo[:i], c.lo[i+1:]...)
			c.hi = append(c.hi[:i], c.hi[i+1:]...)
		}
	case i < k && c.lo[i] == n+1:
		c.lo[i] = n
	default:
		c.lo = append(c.lo, 0)
		c.hi = append(c.hi, 0)
		copy(c.lo[i+1:], c.lo[i:])
		copy(c.hi[i+1:], c.hi[i:])
		c.lo[i], c.hi[i] = n, n
	}
	return true
}
