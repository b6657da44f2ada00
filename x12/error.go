package x12

import (
	"errors"
	"fmt"
	"strings"
)

// Level says which envelope level or structure an [Error] belongs to, and therefore which
// acknowledgement segment carries its Code.
type Level string

const (
	LevelInterchange Level = "interchange" // Code is a TA105 note code
	LevelGroup       Level = "group"       // Code is an AK905 code
	LevelSet         Level = "set"         // Code is an AK502/IK502 code
	LevelSegment     Level = "segment"     // Code is an AK304/IK304 code
	LevelElement     Level = "element"     // Code is an AK403/IK403 code
	LevelFile        Level = "file"        // the input is not X12 at all; no code
)

// Error is one problem found in the data, located as precisely as the problem allows.
// Positions are 1-based; 0 means "not applicable".
type Error struct {
	Level              Level
	Offset             int64  // byte offset of the segment in the input (a BOM counts)
	SegmentPosition    int    // position of the segment in its transaction set (ST = 1), or in the file for envelope segments
	SegmentID          string // e.g. "BEG"
	LoopID             string // the loop the segment belongs to, when known
	ElementPosition    int    // 1-based element position
	ComponentPosition  int    // 1-based component position inside a composite
	RepetitionPosition int    // 1-based repetition position
	ElementRef         string // data element reference number, e.g. "353"
	Code               string // X12 code for the acknowledgement (see Level)
	Value              string // a copy of the bad value, when there is one
	Message            string // a sentence for people

	wrapped error
}

// Unwrap returns the sentinel error this one refines ([ErrNotX12]), if any.
func (e *Error) Unwrap() error { return e.wrapped }

// Error implements the error interface.
func (e *Error) Error() string {
	var b strings.Builder
	if e.SegmentID != "" {
		b.WriteString(e.SegmentID)
		if e.ElementPosition > 0 {
			fmt.Fprintf(&b, "%02d", e.ElementPosition)
			if e.ComponentPosition > 0 {
				fmt.Fprintf(&b, "-%d", e.ComponentPosition)
			}
		}
		if e.SegmentPosition > 0 {
			fmt.Fprintf(&b, " (segment %d", e.SegmentPosition)
		} else {
			b.WriteString(" (")
		}
		fmt.Fprintf(&b, ", byte %d): ", e.Offset)
	} else {
		fmt.Fprintf(&b, "byte %d: ", e.Offset)
	}
	b.WriteString(e.Message)
	if e.Code != "" {
		fmt.Fprintf(&b, " [%s %s]", e.Level, e.Code)
	}
	return b.String()
}

// Warning is an irregularity that was tolerated, reported so that nothing is silent.
type Warning struct {
	Offset    int64
	SegmentID string
	Message   string
}

func (w Warning) String() string {
	if w.SegmentID != "" {
		return fmt.Sprintf("byte %d, %s: %s", w.Offset, w.SegmentID, w.Message)
	}
	return fmt.Sprintf("byte %d: %s", w.Offset, w.Message)
}

var (
	// ErrNotX12 is wrapped by the error returned when the input does not start with an ISA
	// header (after an optional byte order mark and blanks).
	ErrNotX12 = errors.New("x12: input is not an X12 interchange")
	// ErrSegmentTooLong is wrapped by the error returned when a segment exceeds the reader's
	// MaxSegmentSize; the reader cannot go on after it.
	ErrSegmentTooLong = errors.New("x12: segment too long")
)

// AK304/IK304 segment error codes.
const (
	SegUnrecognized      = "1" // unrecognized segment ID
	SegUnexpected        = "2" // unexpected segment
	SegMandatoryMissing  = "3" // mandatory segment missing
	SegLoopOverMax       = "4" // loop occurs over maximum times
	SegExceedsMaxUse     = "5" // segment exceeds maximum use
	SegNotInSet          = "6" // segment not in defined transaction set
	SegNotInSequence     = "7" // segment not in proper sequence
	SegHasElementErrors  = "8" // segment has data element errors
	SegImplNotUsed       = "I4"
	SegImplDependMissing = "I6"
)

// AK403/IK403 element error codes.
const (
	ElemMandatoryMissing   = "1"
	ElemConditionalMissing = "2"
	ElemTooMany            = "3"
	ElemTooShort           = "4"
	ElemTooLong            = "5"
	ElemInvalidChar        = "6"
	ElemInvalidCode        = "7"
	ElemInvalidDate        = "8"
	ElemInvalidTime        = "9"
	ElemExclusion          = "10"
	ElemTooManyReps        = "12"
	ElemTooManyComponents  = "13"
	ElemImplNotUsed        = "I10"
	ElemImplCodeNotUsed    = "I6"
)

// AK502/IK502 transaction set error codes.
const (
	SetNotSupported       = "1"
	SetTrailerMissing     = "2"
	SetControlMismatch    = "3"
	SetCountMismatch      = "4"
	SetSegmentsInError    = "5"
	SetBadIdentifier      = "6"
	SetBadControlNumber   = "7"
	SetNotInGroup         = "18"
	SetControlNotUnique   = "23"
	SetImplSegmentsInErr  = "I5"
	GroupNotSupported     = "1"
	GroupVersionNotSupp   = "2"
	GroupTrailerMissing   = "3"
	GroupControlMismatch  = "4"
	GroupCountMismatch    = "5"
	GroupBadControlNumber = "6"
	GroupControlNotUnique = "19"
)

// TA105 interchange note codes.
const (
	TA1NoError            = "000"
	TA1ControlMismatch    = "001"
	TA1BadVersion         = "017"
	TA1BadControlNumber   = "018"
	TA1BadGroupCount      = "021"
	TA1BadStructure       = "022"
	TA1PrematureEOF       = "023"
	TA1BadContent         = "024"
	TA1DuplicateControl   = "025"
	TA1BadElementSep      = "026"
	TA1BadComponentSep    = "027"
	TA1BadSegmentTerm     = "004"
	TA1BadSenderQualifier = "005"
	TA1BadSenderID        = "006"
	TA1BadRecvQualifier   = "007"
	TA1BadRecvID          = "008"
	TA1BadAckRequested    = "019"
	TA1BadTestIndicator   = "020"
	TA1BadDate            = "014"
	TA1BadTime            = "015"
)
