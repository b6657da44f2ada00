package x12

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Reader tokenizes an X12 stream into segments. It learns the delimiters from every ISA header
// it meets, so one stream may hold several interchanges with different delimiters.
//
// Memory stays bounded by the largest segment (at most MaxSegmentSize) whatever the input size.
// Offsets count bytes of the input; in a hard-wrapped input (line breaks inside the ISA header)
// every CR and LF is dropped as it is read and offsets count the bytes that remain.
// A Reader is not safe for concurrent use.
type Reader struct {
	r       io.Reader
	buf     []byte
	start   int   // first unread byte in buf
	end     int   // end of valid data in buf
	base    int64 // stream offset of buf[0]
	eof     bool
	rerr    error
	delims  Delimiters
	have    bool // delimiters known
	strip   bool // hard-wrapped input: CR and LF are removed as they are read
	maxSeg  int
	bounds  []int32
	warns   []Warning
	warned  map[string]bool
	started bool
	resync  bool // skip to the next ISA after an unreadable header
	isaLen  int
}

// ReaderOption configures a Reader.
type ReaderOption func(*Reader)

// WithMaxSegmentSize bounds the size of one segment (default 1 MiB); a longer segment makes
// Next fail with an error wrapping [ErrSegmentTooLong].
func WithMaxSegmentSize(n int) ReaderOption { return func(r *Reader) { r.maxSeg = n } }

// WithBufferSize sets the initial read buffer size (default 64 KiB).
func WithBufferSize(n int) ReaderOption {
	return func(r *Reader) {
		if n >= 512 {
			r.buf = make([]byte, n)
		}
	}
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader, opts ...ReaderOption) *Reader {
	rd := &Reader{r: r, maxSeg: 1 << 20, warned: map[string]bool{}}
	for _, o := range opts {
		o(rd)
	}
	if rd.buf == nil {
		rd.buf = make([]byte, 64<<10)
	}
	return rd
}

// Delimiters returns the delimiters of the current interchange (zero before the first ISA).
func (r *Reader) Delimiters() Delimiters { return r.delims }

// TakeWarnings returns the warnings gathered since the last call and forgets them.
func (r *Reader) TakeWarnings() []Warning {
	w := r.warns
	r.warns = nil
	return w
}

func (r *Reader) warnOnce(key string, off int64, msg string) {
	if r.warned[key] {
		return
	}
	r.warned[key] = true
	r.warns = append(r.warns, Warning{Offset: off, Message: msg})
}

// fill reads more input, keeping buf[start:end]. It returns false at end of input.
func (r *Reader) fill() bool {
	if r.eof {
		return false
	}
	if r.start > 0 {
		n := copy(r.buf, r.buf[r.start:r.end])
		r.base += int64(r.start)
		r.start, r.end = 0, n
	}
	if r.end == len(r.buf) {
		if len(r.buf) >= r.maxSeg+4096 {
			return false
		}
		nb := make([]byte, min(2*len(r.buf), r.maxSeg+4096))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for tries := 0; tries < 100; tries++ {
		n, err := r.r.Read(r.buf[r.end:])
		if n > 0 {
			if r.strip {
				n = stripNL(r.buf[r.end : r.end+n])
			}
			r.end += n
		}
		if err != nil {
			r.eof = true
			if err != io.EOF {
				r.rerr = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
	}
	r.eof = true
	r.rerr = io.ErrNoProgress
	return false
}

func stripNL(b []byte) int {
	w := 0
	for _, c := range b {
		if c != '\r' && c != '\n' {
			b[w] = c
			w++
		}
	}
	return w
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// Next returns the next segment. It returns io.EOF after the last one. Other errors are
// *Error values (input that is not X12, a broken ISA header) or I/O errors; after an error the
// reader is done, except that a bad ISA header is skipped up to the next one.
func (r *Reader) Next() (Segment, error) {
	for {
		// skip blanks before a segment
		skipped := 0
		var sawNL, sawSpace bool
		for {
			if r.start == r.end && !r.fill() {
				break
			}
			c := r.buf[r.start]
			if isBlank(c) && c != r.delims.Segment {
				if c == '\r' || c == '\n' {
					sawNL = true
				} else {
					sawSpace = true
				}
				r.start++
				skipped++
				continue
			}
			if c == 0xC2 && r.have { // no-break space used as indentation
				if r.end-r.start < 2 {
					r.fill()
				}
				if r.end-r.start >= 2 && r.buf[r.start+1] == 0xA0 {
					r.start += 2
					sawSpace = true
					continue
				}
			}
			break
		}
		if r.start == r.end {
			if r.rerr != nil {
				return Segment{}, r.rerr
			}
			return Segment{}, io.EOF
		}
		off := r.base + int64(r.start)
		if sawNL && r.have {
			r.warnOnce("nl", off, "line breaks after segment terminators were ignored")
		}
		if sawSpace && r.have {
			r.warnOnce("indent", off, "blanks before segments (indentation) were ignored")
		}
		if !r.started {
			r.started = true
			if err := r.checkStart(); err != nil {
				return Segment{}, err
			}
			continue
		}
		if r.atISA() {
			if err := r.header(); err != nil {
				return Segment{}, err
			}
		}
		if !r.have && r.resync {
			if r.skipToISA() {
				continue
			}
			return Segment{}, io.EOF
		}
		if !r.have {
			return Segment{}, r.notX12(off)
		}
		seg, err := r.segment()
		if err != nil {
			return Segment{}, err
		}
		return seg, nil
	}
}

// checkStart handles a byte order mark and recognises non-X12 input at the very beginning.
func (r *Reader) checkStart() error {
	for r.end-r.start < 3 && r.fill() {
	}
	b := r.buf[r.start:r.end]
	if bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		r.warns = append(r.warns, Warning{Offset: r.base + int64(r.start), Message: "a UTF-8 byte order mark at the start was ignored"})
		r.start += 3
	}
	return nil
}

// skipToISA drops input up to the next "ISA" after the current byte (which does not start a
// readable header); it reports false at end of input.
func (r *Reader) skipToISA() bool {
	if r.start < r.end {
		r.start++
	}
	for {
		if i := bytes.Index(r.buf[r.start:r.end], []byte("ISA")); i >= 0 {
			r.start += i
			return true
		}
		if r.end-r.start > 2 {
			r.start = r.end - 2
		}
		if !r.fill() {
			r.start = r.end
			return false
		}
	}
}

func (r *Reader) atISA() bool {
	for r.end-r.start < 4 && r.fill() {
	}
	b := r.buf[r.start:r.end]
	return len(b) >= 4 && b[0] == 'I' && b[1] == 'S' && b[2] == 'A' && !isAlnum(b[3]) && !isBlank(b[3])
}

func (r *Reader) notX12(off int64) error {
	b := r.buf[r.start:min(r.end, r.start+8)]
	msg := "the input does not start with an ISA interchange header; it is not an X12 interchange"
	switch {
	case len(b) >= 3 && b[0] == 0xC9 && b[1] == 0xE2 && b[2] == 0xC1:
		msg = "the input is EBCDIC-encoded (ISA in EBCDIC); only ASCII/UTF-8 X12 is read"
	case bytes.HasPrefix(b, []byte("UNA")) || bytes.HasPrefix(b, []byte("UNB")):
		msg = "the input is EDIFACT (UNA/UNB), not X12"
	case len(b) > 0 && b[0] >= 0x80:
		msg = "the input starts with non-ASCII bytes; it is not an X12 interchange (EBCDIC or binary?)"
	}
	r.eof, r.start, r.end = true, 0, 0
	e := &Error{Level: LevelFile, Offset: off, Message: msg, wrapped: ErrNotX12}
	r.rerr = e
	return e
}

// header reads the delimiters from the ISA header at r.start.
func (r *Reader) header() error {
	for r.end-r.start < 512 && r.fill() {
	}
	off := r.base + int64(r.start)
	b := r.buf[r.start:r.end]
	sep := b[3]
	var seps [16]int
	n := 0
	nl := false
	for i := 3; i < len(b) && n < 16 && i < 1024; i++ {
		if b[i] == sep {
			seps[n] = i
			n++
		} else if b[i] == '\r' || b[i] == '\n' {
			nl = true
		}
	}
	if nl && n == 16 && !r.strip && sep != '\r' && sep != '\n' {
		// A line break inside the ISA: the file is hard-wrapped at a fixed width.
		r.strip = true
		r.end = r.start + stripNL(r.buf[r.start:r.end])
		r.warns = append(r.warns, Warning{Offset: off, SegmentID: "ISA", Message: "the input is hard-wrapped; every CR and LF in it was ignored"})
		return r.header()
	}
	bad := func(code, msg string) error {
		e := &Error{Level: LevelInterchange, Offset: off, SegmentID: "ISA", Code: code, Message: msg}
		if n == 16 {
			// the fields are readable: keep them so that a TA1 can answer the sender
			e.Value = string(b[:min(seps[15]+2, len(b))])
		}
		// skip this header so a caller may go on to the next ISA
		r.start += 3
		r.have, r.resync = false, true
		return e
	}
	if n < 16 || seps[15]+2 >= len(b) {
		return bad(TA1BadStructure, "the ISA header is incomplete: it needs 16 elements followed by the component separator and the segment terminator")
	}
	d := Delimiters{Element: sep, Component: b[seps[15]+1], Segment: b[seps[15]+2]}
	isa11 := bytes.TrimSpace(b[seps[10]+1 : seps[11]])
	if len(isa11) == 1 && !isAlnum(isa11[0]) {
		d.Repetition = isa11[0]
	}
	if d.Repetition == d.Element || d.Repetition == d.Component || d.Repetition == d.Segment {
		d.Repetition = 0
	}
	switch {
	case isAlnum(d.Element):
		return bad(TA1BadElementSep, fmt.Sprintf("the element separator %q is a letter or digit", d.Element))
	case isAlnum(d.Component) || d.Component == d.Element:
		return bad(TA1BadComponentSep, fmt.Sprintf("the component separator (ISA16) %q is not usable", d.Component))
	case isAlnum(d.Segment) || d.Segment == d.Element || d.Segment == d.Component:
		return bad(TA1BadSegmentTerm, fmt.Sprintf("the segment terminator %q (the byte after ISA16) is not usable", d.Segment))
	}
	r.delims, r.have = d, true
	r.isaLen = seps[15] + 3
	clear(r.warned)
	if r.isaLen != 106 {
		r.warns = append(r.warns, Warning{Offset: off, SegmentID: "ISA", Message: fmt.Sprintf("the ISA header is %d bytes long, not 106; its fields were read by their separators", r.isaLen)})
	}
	return nil
}

// segment cuts the next segment at r.start.
func (r *Reader) segment() (Segment, error) {
	term := r.delims.Segment
	i := bytes.IndexByte(r.buf[r.start:r.end], term)
	for i < 0 {
		if r.end-r.start > r.maxSeg {
			r.eof, r.rerr = true, fmt.Errorf("%w: more than %d bytes without a segment terminator at byte %d", ErrSegmentTooLong, r.maxSeg, r.base+int64(r.start))
			return Segment{}, r.rerr
		}
		scanned := r.end - r.start
		if !r.fill() {
			// the last segment has no terminator
			if r.rerr != nil {
				return Segment{}, r.rerr
			}
			if r.end == r.start {
				return Segment{}, io.EOF
			}
			r.warns = append(r.warns, Warning{Offset: r.base + int64(r.start), Message: "the last segment has no terminator"})
			i = r.end - r.start
			data := bytes.TrimRight(r.buf[r.start:r.end], " \t\r\n")
			return r.finish(data, r.end), nil
		}
		if j := bytes.IndexByte(r.buf[r.start+scanned:r.end], term); j >= 0 {
			i = scanned + j
		}
	}
	return r.finish(r.buf[r.start:r.start+i], r.start+i+1), nil
}

func (r *Reader) finish(data []byte, next int) Segment {
	off := r.base + int64(r.start)
	bounds := append(r.bounds[:0], -1)
	sep := r.delims.Element
	nl := false
	for i, c := range data {
		if c == sep {
			bounds = append(bounds, int32(i))
		} else if c == '\n' {
			nl = true
		}
	}
	if t := r.delims.Segment; nl && t != '\n' && t != '\r' {
		// a line break inside a segment: lines hard-wrapped at a width wider than the ISA
		data = data[:stripNL(data)]
		r.warnOnce("wrap", off, "line breaks inside segments were removed (hard-wrapped lines)")
		bounds = append(bounds[:0], -1)
		for i, c := range data {
			if c == sep {
				bounds = append(bounds, int32(i))
			}
		}
	}
	bounds = append(bounds, int32(len(data)))
	r.bounds = bounds
	r.start = next
	return Segment{data: data, bounds: bounds, Offset: off, Delimiters: r.delims}
}

// errAs is errors.As for *Error.
func errAs(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
