package x12

import "bytes"

// Segment is one X12 segment: its id and elements, without the terminator.
//
// A Segment returned by [Reader.Next] points into the reader's buffer and is valid only until the
// next call to Next; a Segment inside a [Set] returned by [Decoder.Next] is valid until the next
// call to Decoder.Next. [Segment.Clone] makes a copy that stays valid.
type Segment struct {
	data   []byte
	bounds []int32 // bounds[0] = -1, bounds[i] = index of the i-th element separator, last = len(data)
	// Offset is the byte offset of the segment's first byte in the input.
	Offset int64
	// Delimiters are the delimiters of the interchange the segment was read from.
	Delimiters Delimiters
}

// NewSegment builds a segment from its id and element values (which may hold repetition and
// component separators already); mostly useful for tests and writers.
func NewSegment(d Delimiters, id string, elements ...string) Segment {
	n := len(id)
	for _, e := range elements {
		n += 1 + len(e)
	}
	data := make([]byte, 0, n)
	bounds := make([]int32, 0, len(elements)+2)
	bounds = append(bounds, -1)
	data = append(data, id...)
	for _, e := range elements {
		bounds = append(bounds, int32(len(data)))
		data = append(data, d.Element)
		data = append(data, e...)
	}
	bounds = append(bounds, int32(len(data)))
	return Segment{data: data, bounds: bounds, Delimiters: d}
}

// ID returns the segment identifier (element 0). The slice aliases the segment.
func (s Segment) ID() []byte {
	if len(s.bounds) < 2 {
		return nil
	}
	return s.data[:s.bounds[1]]
}

// IDString returns the segment identifier as a string.
func (s Segment) IDString() string { return string(s.ID()) }

// Len returns the number of data elements after the id, trailing empty ones included.
func (s Segment) Len() int {
	if len(s.bounds) < 2 {
		return 0
	}
	return len(s.bounds) - 2
}

// Element returns element i (1-based) or nil when the segment has fewer elements.
// The slice aliases the segment.
func (s Segment) Element(i int) []byte {
	if i < 0 || i+1 >= len(s.bounds) {
		return nil
	}
	return s.data[s.bounds[i]+1 : s.bounds[i+1]]
}

// ElementString returns element i (1-based) as a string, "" when absent.
func (s Segment) ElementString(i int) string { return string(s.Element(i)) }

// Elements returns copies of all data elements (without the id).
func (s Segment) Elements() []string {
	out := make([]string, s.Len())
	for i := range out {
		out[i] = string(s.Element(i + 1))
	}
	return out
}

// Raw returns the segment's bytes without the terminator. The slice aliases the segment.
func (s Segment) Raw() []byte { return s.data }

// Clone returns a deep copy of s that does not alias any buffer.
func (s Segment) Clone() Segment {
	c := s
	c.data = bytes.Clone(s.data)
	c.bounds = append([]int32(nil), s.bounds...)
	return c
}

// Split cuts value at sep; with sep 0 it returns value alone. The results alias value.
func Split(value []byte, sep byte) [][]byte {
	if sep == 0 {
		return [][]byte{value}
	}
	return bytes.Split(value, []byte{sep})
}

// Component returns component j (1-based) of element i, or nil.
func (s Segment) Component(i, j int) []byte {
	e := s.Element(i)
	if e == nil || j < 1 {
		return nil
	}
	for k := 1; ; k++ {
		p := bytes.IndexByte(e, s.Delimiters.Component)
		if k == j {
			if p < 0 {
				return e
			}
			return e[:p]
		}
		if p < 0 {
			return nil
		}
		e = e[p+1:]
	}
}

// Repetitions returns the repetitions of element i (split at the repetition separator; the
// element alone when the interchange has none). The slices alias the segment.
func (s Segment) Repetitions(i int) [][]byte {
	e := s.Element(i)
	if e == nil {
		return nil
	}
	return Split(e, s.Delimiters.Repetition)
}

// String renders the segment with its own delimiters, without the terminator.
func (s Segment) String() string { return string(s.data) }
