package x12

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Writer writes X12 segments and envelopes with the partner's delimiters. It counts what
// trailers need (segments per set, sets per group, groups per interchange) and writes them on
// End calls. Control numbers come from the caller (see [ControlNumbers]). Output is buffered:
// call Flush at the end. A Writer is not safe for concurrent use.
type Writer struct {
	w      *bufio.Writer
	d      Delimiters
	eol    string
	err    error
	isa13  string
	groups int
	gs06   string
	sets   int
	st02   string
	segs   int
	inIC   bool
	inGS   bool
	inST   bool
	buf    []byte
}

// WriterOption configures a Writer.
type WriterOption func(*Writer)

// WithLineEnding writes s (for example "\n" or "\r\n") after every segment terminator.
func WithLineEnding(s string) WriterOption { return func(w *Writer) { w.eol = s } }

// ErrEnvelope is wrapped by errors from Writer calls made in the wrong order (a set outside a
// group, an End without its Begin).
var ErrEnvelope = errors.New("x12: envelope calls out of order")

// NewWriter returns a Writer writing to w with delimiters d.
func NewWriter(w io.Writer, d Delimiters, opts ...WriterOption) *Writer {
	wr := &Writer{w: bufio.NewWriterSize(w, 64<<10), d: d}
	for _, o := range opts {
		o(wr)
	}
	return wr
}

// Delimiters returns the writer's delimiters.
func (w *Writer) Delimiters() Delimiters { return w.d }

// Composite joins component values with the writer's component separator.
func (w *Writer) Composite(parts ...string) string {
	for len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return strings.Join(parts, string(w.d.Component))
}

// ErrDelimiterInData is wrapped by the error WriteSegment returns when a value holds the element
// separator or the segment terminator, which would corrupt the interchange.
var ErrDelimiterInData = errors.New("x12: value contains a delimiter")

// WriteSegment writes one segment; trailing empty elements are dropped. Inside a set it is
// counted for SE01. Values may hold the component and repetition separators (composites and
// repeated elements, see [Writer.Composite]) but not the element separator or the segment
// terminator.
func (w *Writer) WriteSegment(id string, elements ...string) error {
	for len(elements) > 0 && elements[len(elements)-1] == "" {
		elements = elements[:len(elements)-1]
	}
	for i, e := range elements {
		if strings.IndexByte(e, w.d.Element) >= 0 || strings.IndexByte(e, w.d.Segment) >= 0 {
			return fmt.Errorf("%w: %s%02d %q", ErrDelimiterInData, id, i+1, e)
		}
	}
	b := append(w.buf[:0], id...)
	for _, e := range elements {
		b = append(b, w.d.Element)
		b = append(b, e...)
	}
	w.buf = b
	return w.writeRaw(b)
}

// WriteRaw writes a segment read from another stream. When its delimiters equal the writer's
// its bytes are written unchanged (so a canonical input round-trips byte for byte); otherwise it
// is re-delimited.
func (w *Writer) WriteRaw(s Segment) error {
	if s.Delimiters == w.d || (s.Delimiters.Element == w.d.Element && s.Delimiters.Component == w.d.Component &&
		s.Delimiters.Repetition == w.d.Repetition) {
		return w.writeRaw(s.Raw())
	}
	b := w.buf[:0]
	for _, c := range s.Raw() {
		switch c {
		case s.Delimiters.Element:
			c = w.d.Element
		case s.Delimiters.Component:
			c = w.d.Component
		default:
			if s.Delimiters.Repetition != 0 && c == s.Delimiters.Repetition {
				c = w.d.Repetition
			}
		}
		b = append(b, c)
	}
	w.buf = b
	return w.writeRaw(b)
}

func (w *Writer) writeRaw(b []byte) error {
	if w.err != nil {
		return w.err
	}
	w.w.Write(b)
	w.w.WriteByte(w.d.Segment)
	if w.eol != "" {
		w.w.WriteString(w.eol)
	}
	if w.inST {
		w.segs++
	}
	return nil
}

func pad(s string, n int) string {
	if len(s) >= n {
		return s
	}
	return s + strings.Repeat(" ", n-len(s))
}

// BeginInterchange writes an ISA header from h: qualifiers and ids are padded to their fixed
// widths, ISA11 is the repetition separator (or 'U' when there is none), ISA16 the component
// separator. h.ControlNumber must be 1 to 9 digits (it is zero-padded to 9).
func (w *Writer) BeginInterchange(h *Interchange) error {
	if w.inIC {
		return fmt.Errorf("%w: BeginInterchange inside an interchange", ErrEnvelope)
	}
	n, err := strconv.ParseUint(h.ControlNumber, 10, 64)
	if err != nil || n > 999999999 {
		return fmt.Errorf("x12: interchange control number %q is not 1 to 9 digits", h.ControlNumber)
	}
	w.isa13 = fmt.Sprintf("%09d", n)
	rep := "U"
	if w.d.Repetition != 0 {
		rep = string(w.d.Repetition)
	}
	def := func(s, d string) string {
		if s == "" {
			return d
		}
		return s
	}
	w.inIC, w.groups = true, 0
	return w.WriteSegment("ISA", def(h.AuthQualifier, "00"), pad(h.AuthInfo, 10), def(h.SecurityQualifier, "00"), pad(h.SecurityInfo, 10),
		pad(def(h.SenderQualifier, "ZZ"), 2), pad(h.SenderID, 15), pad(def(h.ReceiverQualifier, "ZZ"), 2), pad(h.ReceiverID, 15),
		h.Date, h.Time, rep, def(h.Version, "00401"), w.isa13, def(h.AckRequested, "0"), def(h.Usage, "P"), string(w.d.Component))
}

// EndInterchange writes the IEA trailer.
func (w *Writer) EndInterchange() error {
	if !w.inIC || w.inGS {
		return fmt.Errorf("%w: EndInterchange without an open interchange, or with a group open", ErrEnvelope)
	}
	w.inIC = false
	return w.WriteSegment("IEA", strconv.Itoa(w.groups), w.isa13)
}

// BeginGroup writes a GS header from h.
func (w *Writer) BeginGroup(h *Group) error {
	if !w.inIC || w.inGS {
		return fmt.Errorf("%w: BeginGroup outside an interchange or inside a group", ErrEnvelope)
	}
	w.inGS, w.sets, w.gs06 = true, 0, h.ControlNumber
	w.groups++
	agency := h.Agency
	if agency == "" {
		agency = "X"
	}
	return w.WriteSegment("GS", h.FunctionalID, h.SenderID, h.ReceiverID, h.Date, h.Time, h.ControlNumber, agency, h.Version)
}

// EndGroup writes the GE trailer.
func (w *Writer) EndGroup() error {
	if !w.inGS || w.inST {
		return fmt.Errorf("%w: EndGroup without an open group, or with a set open", ErrEnvelope)
	}
	w.inGS = false
	return w.WriteSegment("GE", strconv.Itoa(w.sets), w.gs06)
}

// BeginSet writes an ST header; implRef (ST03) may be empty.
func (w *Writer) BeginSet(id, control, implRef string) error {
	if !w.inGS || w.inST {
		return fmt.Errorf("%w: BeginSet outside a group or inside a set", ErrEnvelope)
	}
	w.inST, w.segs, w.st02 = true, 0, control
	w.sets++
	return w.WriteSegment("ST", id, control, implRef)
}

// EndSet writes the SE trailer with the number of segments written since BeginSet.
func (w *Writer) EndSet() error {
	if !w.inST {
		return fmt.Errorf("%w: EndSet without an open set", ErrEnvelope)
	}
	err := w.WriteSegment("SE", strconv.Itoa(w.segs+1), w.st02)
	w.inST = false
	return err
}

// clean drops the writer's delimiters from a value copied from elsewhere (a copy of bad data).
func (w *Writer) clean(v string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (byte(r) == w.d.Element || byte(r) == w.d.Segment || byte(r) == w.d.Component ||
			(w.d.Repetition != 0 && byte(r) == w.d.Repetition)) {
			return -1
		}
		return r
	}, v)
}

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	w.err = w.w.Flush()
	return w.err
}
