package x12

import (
	"fmt"
	"io"
	"strconv"
)

// AckReport is an inbound functional acknowledgement (997 or 999) as read: which group it
// acknowledges and what it says about each transaction set.
type AckReport struct {
	SetID         string // "997" or "999"
	FunctionalID  string // AK101: GS01 of the acknowledged group
	GroupControl  string // AK102: GS06 of the acknowledged group
	Version       string // AK103 (999 only)
	Status        string // AK901: A, E, P, R, M, W, X
	Included      int    // AK902
	Received      int    // AK903
	Accepted      int    // AK904
	GroupCodes    []string
	Sets          []AckedSet
	Sender        string // ISA06 of the interchange carrying the acknowledgement
	Receiver      string // ISA08
	AckSetControl string // ST02 of the acknowledgement itself
}

// AckedSet is what an acknowledgement says about one transaction set (AK2 to AK5, or IK5).
type AckedSet struct {
	ID            string // AK201
	ControlNumber string // AK202: ST02 of the acknowledged set
	Status        string // AK501/IK501: A, E, R, M, W, X
	Codes         []string
	Errors        []AckedError
}

// AckedError is one AK3/IK3 segment note, with its AK4/IK4 element notes.
type AckedError struct {
	SegmentID       string
	SegmentPosition int
	LoopID          string
	Code            string
	Elements        []AckedElement
}

// AckedElement is one AK4/IK4 element note.
type AckedElement struct {
	Position, Component, Repetition int
	Ref, Code, Value                string
}

// SetStatus returns what the acknowledgement says about the set with ST02 control: its AK501
// status when listed; otherwise "A" when the whole group was accepted (a 997 may omit accepted
// sets), "" when unknown.
func (r *AckReport) SetStatus(control string) string {
	for _, s := range r.Sets {
		if s.ControlNumber == control {
			return s.Status
		}
	}
	if r.Status == "A" || r.Status == "E" {
		return "A"
	}
	return ""
}

// Acknowledges reports whether r acknowledges the group with GS06 gs06.
func (r *AckReport) Acknowledges(gs06 string) bool {
	a, e1 := strconv.ParseUint(r.GroupControl, 10, 64)
	b, e2 := strconv.ParseUint(gs06, 10, 64)
	if e1 == nil && e2 == nil {
		return a == b
	}
	return r.GroupControl == gs06
}

// ParseAck reads a 997 or 999 transaction set.
func ParseAck(s *Set) (*AckReport, error) {
	if s.ID != "997" && s.ID != "999" {
		return nil, fmt.Errorf("x12: transaction set %s is not a 997 or 999", s.ID)
	}
	r := &AckReport{SetID: s.ID, AckSetControl: s.ControlNumber}
	if s.Group != nil && s.Group.Interchange != nil {
		r.Sender, r.Receiver = s.Group.Interchange.SenderID, s.Group.Interchange.ReceiverID
	}
	var cur *AckedSet
	var note *AckedError
	for _, seg := range s.Segments {
		switch string(seg.ID()) {
		case "AK1":
			r.FunctionalID, r.GroupControl, r.Version = seg.ElementString(1), seg.ElementString(2), seg.ElementString(3)
		case "AK2":
			r.Sets = append(r.Sets, AckedSet{ID: seg.ElementString(1), ControlNumber: seg.ElementString(2)})
			cur, note = &r.Sets[len(r.Sets)-1], nil
		case "AK3", "IK3":
			if cur != nil {
				p, _ := strconv.Atoi(seg.ElementString(2))
				cur.Errors = append(cur.Errors, AckedError{SegmentID: seg.ElementString(1), SegmentPosition: p, LoopID: seg.ElementString(3), Code: seg.ElementString(4)})
				note = &cur.Errors[len(cur.Errors)-1]
			}
		case "AK4", "IK4":
			if note != nil {
				el := AckedElement{Ref: seg.ElementString(2), Code: seg.ElementString(3), Value: seg.ElementString(4)}
				el.Position, _ = strconv.Atoi(string(seg.Component(1, 1)))
				el.Component, _ = strconv.Atoi(string(seg.Component(1, 2)))
				el.Repetition, _ = strconv.Atoi(string(seg.Component(1, 3)))
				note.Elements = append(note.Elements, el)
			}
		case "AK5", "IK5":
			if cur != nil {
				cur.Status = seg.ElementString(1)
				for i := 2; i <= seg.Len(); i++ {
					if c := seg.ElementString(i); c != "" {
						cur.Codes = append(cur.Codes, c)
					}
				}
			}
		case "AK9":
			r.Status = seg.ElementString(1)
			r.Included, _ = strconv.Atoi(seg.ElementString(2))
			r.Received, _ = strconv.Atoi(seg.ElementString(3))
			r.Accepted, _ = strconv.Atoi(seg.ElementString(4))
			for i := 5; i <= seg.Len(); i++ {
				if c := seg.ElementString(i); c != "" {
					r.GroupCodes = append(r.GroupCodes, c)
				}
			}
		}
	}
	if r.GroupControl == "" {
		return r, fmt.Errorf("x12: %s %s has no AK1 segment", s.ID, s.ControlNumber)
	}
	return r, nil
}

// Acks is everything acknowledgement-like found in a stream.
type Acks struct {
	Functional []*AckReport // 997 and 999 sets
	TA1        []TA1Note    // interchange acknowledgements
}

// ReadAcks reads a stream and returns the acknowledgements it carries; other sets are skipped.
// Problems in the data are returned as the decoder's errors.
func ReadAcks(r io.Reader) (*Acks, []*Error, error) {
	d := NewDecoder(r)
	out := &Acks{}
	for {
		ev, err := d.Next()
		if err == io.EOF {
			return out, d.Errors(), nil
		}
		if err != nil {
			return out, d.Errors(), err
		}
		switch ev.Kind {
		case SetRead:
			if ev.Set.ID == "997" || ev.Set.ID == "999" {
				if rep, err := ParseAck(ev.Set); err == nil {
					out.Functional = append(out.Functional, rep)
				}
			}
		case InterchangeEnd:
			out.TA1 = append(out.TA1, ev.Interchange.TA1s...)
		}
	}
}

// Find returns the report acknowledging group gs06 and the status of set st02 in it.
func (a *Acks) Find(gs06, st02 string) (*AckReport, string, bool) {
	for _, r := range a.Functional {
		if r.Acknowledges(gs06) {
			return r, r.SetStatus(st02), true
		}
	}
	return nil, "", false
}
