package x12

import "strings"

// Interchange is the ISA header of an interchange and what was learned while reading it.
// Values are trimmed of padding (spaces and no-break spaces).
type Interchange struct {
	Offset            int64
	Delimiters        Delimiters
	AuthQualifier     string // ISA01
	AuthInfo          string // ISA02
	SecurityQualifier string // ISA03
	SecurityInfo      string // ISA04
	SenderQualifier   string // ISA05
	SenderID          string // ISA06
	ReceiverQualifier string // ISA07
	ReceiverID        string // ISA08
	Date              string // ISA09 YYMMDD
	Time              string // ISA10 HHMM
	Version           string // ISA12, e.g. "00401"
	ControlNumber     string // ISA13
	AckRequested      string // ISA14: "1" asks for a TA1
	Usage             string // ISA15: P production, T test
	Header            Segment
	// GroupCount is the number of GS groups read so far.
	GroupCount int
	// Closed reports whether the IEA trailer was read.
	Closed bool
	// TA1s holds the interchange acknowledgements found in this interchange.
	TA1s []TA1Note
	// Errors are the problems of the envelope itself (ISA/IEA); their Code is a TA105 code.
	Errors []*Error
	// Warnings are the tolerated irregularities met in this interchange.
	Warnings []Warning
}

// Group is a GS functional group header and what was learned while reading it.
type Group struct {
	Interchange   *Interchange
	Offset        int64
	FunctionalID  string // GS01, e.g. "PO"
	SenderID      string // GS02
	ReceiverID    string // GS03
	Date          string // GS04
	Time          string // GS05
	ControlNumber string // GS06
	Agency        string // GS07
	Version       string // GS08, e.g. "004010" or "005010X222A1"
	Header        Segment
	// SetCount is the number of ST sets read so far.
	SetCount int
	// Closed reports whether the GE trailer was read.
	Closed bool
	// Errors are problems of the group envelope (GS/GE); their Code is an AK905 code.
	Errors []*Error

	trailerCount string // GE01 as read
}

// Set is one transaction set, ST to SE, as read. Its Segments (ST and SE included) are valid until
// the next call to [Decoder.Next]; call [Set.Clone] to keep them.
type Set struct {
	Group             *Group
	Offset            int64
	ID                string // ST01
	ControlNumber     string // ST02
	ImplementationRef string // ST03 (005010 and later)
	Segments          []Segment
	// Truncated reports that the set was larger than the decoder's MaxSetSize; Segments then
	// holds only its first segments.
	Truncated bool
	// Errors are envelope problems of the set (ST/SE counts and control numbers, duplicates);
	// their Code is an AK502/IK502 code. Schema problems come from [Validate].
	Errors []*Error

	arena []byte
	bnds  []int32
	recs  []segRec
	count int
}

type segRec struct {
	off    int64
	d0, d1 int32
	b0, b1 int32
}

// Clone returns a copy of the set whose segments stay valid.
func (s *Set) Clone() *Set {
	c := *s
	c.arena, c.bnds, c.recs = nil, nil, nil
	c.count = s.SegmentCount()
	c.Segments = make([]Segment, len(s.Segments))
	for i, g := range s.Segments {
		c.Segments[i] = g.Clone()
	}
	c.Errors = append([]*Error(nil), s.Errors...)
	return &c
}

// SegmentCount returns the number of segments read for the set, ST and SE included (also when
// the set was Truncated).
func (s *Set) SegmentCount() int {
	if s.count > 0 {
		return s.count
	}
	return len(s.Segments)
}

// Version returns the version of the set's group (GS08), "" when unknown.
func (s *Set) Version() string {
	if s.Group == nil {
		return ""
	}
	return s.Group.Version
}

// TA1Note is an interchange acknowledgement (TA1 segment) read from an interchange.
type TA1Note struct {
	Offset        int64
	ControlNumber string // TA101: the acknowledged ISA13
	Date          string // TA102
	Time          string // TA103
	Ack           string // TA104: A accepted, E accepted with errors, R rejected
	Code          string // TA105 note code
}

// functionalIDs maps a transaction set id to the GS01 code of the groups that carry it.
var functionalIDs = map[string]string{
	"810": "IN", "820": "RA", "846": "IB", "850": "PO", "855": "PR", "856": "SH", "860": "PC",
	"865": "CA", "940": "OW", "943": "AR", "944": "RE", "945": "SW", "947": "AW", "180": "AN",
	"997": "FA", "999": "FA", "824": "AG", "832": "SC", "852": "PD", "753": "GF", "754": "GF",
	"204": "SM", "214": "QM", "990": "GF", "210": "IM", "812": "CD", "830": "PS", "862": "SS",
	"870": "RS", "875": "OG", "880": "GP", "857": "BS", "861": "RC", "869": "RS", "864": "TX",
	"278": "HI", "270": "HS", "271": "HB", "276": "HR", "277": "HN", "834": "BE", "835": "HP", "837": "HC",
}

func trimPad(b []byte) string {
	s := string(b)
	s = strings.Trim(s, " \t\u00a0")
	return s
}
