package x12

import (
	"sort"
	"strconv"
)

// GroupAck gathers what a functional acknowledgement (997 or 999) says about one received group.
// Build it with [NewGroupAck] and [GroupAck.AddSet] while reading, then write it with
// [WriteAck997] or [WriteAck999].
type GroupAck struct {
	FunctionalID  string // GS01 of the received group
	ControlNumber string // GS06
	Version       string // GS08
	// Included is GE01 when it was readable, otherwise the number of sets read.
	Included int
	Sets     []SetAck
	// Errors are the group's envelope errors (AK905 codes).
	Errors []*Error

	appSender, appReceiver string // GS02, GS03 of the received group
}

// SetAck is the acknowledgement of one transaction set.
type SetAck struct {
	ID                string
	ControlNumber     string
	ImplementationRef string
	// Errors are the set's envelope errors and its validation errors.
	Errors []*Error
}

// Accepted reports whether the set has no errors.
func (s *SetAck) Accepted() bool { return len(s.Errors) == 0 }

// NewGroupAck starts the acknowledgement of group g.
func NewGroupAck(g *Group) *GroupAck {
	return &GroupAck{FunctionalID: g.FunctionalID, ControlNumber: g.ControlNumber, Version: g.Version, appSender: g.SenderID, appReceiver: g.ReceiverID}
}

// AddSet records set s with its validation errors (the set's own envelope errors are added too).
func (a *GroupAck) AddSet(s *Set, validation []*Error) {
	errs := make([]*Error, 0, len(s.Errors)+len(validation))
	errs = append(errs, s.Errors...)
	errs = append(errs, validation...)
	if len(errs) == 0 {
		errs = nil
	}
	a.Sets = append(a.Sets, SetAck{ID: s.ID, ControlNumber: s.ControlNumber, ImplementationRef: s.ImplementationRef, Errors: errs})
}

// Finish records the group's final state (call it on the GroupEnd event).
func (a *GroupAck) Finish(g *Group) {
	a.Errors = g.Errors
	a.Included = len(a.Sets)
	if g.Closed {
		// GE01 as sent, when it is a number
		if n, err := strconv.Atoi(g.trailerCount); err == nil {
			a.Included = n
		}
	}
}

// Accepted returns the number of accepted sets.
func (a *GroupAck) Accepted() int {
	n := 0
	for i := range a.Sets {
		if a.Sets[i].Accepted() {
			n++
		}
	}
	return n
}

// Status returns AK901: A (all accepted), P (some), R (none, or the group itself is in error).
func (a *GroupAck) Status() string {
	acc := a.Accepted()
	switch {
	case len(a.Errors) > 0 || (acc == 0 && len(a.Sets) > 0):
		return "R"
	case acc == len(a.Sets):
		return "A"
	default:
		return "P"
	}
}

// ack997Code maps an implementation (999) code to the nearest 997 code.
func ack997Code(level Level, code string) string {
	switch level {
	case LevelSegment:
		switch code {
		case SegImplNotUsed:
			return SegUnexpected
		case SegImplDependMissing:
			return SegMandatoryMissing
		}
	case LevelElement:
		switch code {
		case ElemImplNotUsed, ElemImplCodeNotUsed:
			return ElemInvalidCode
		case "I9":
			return ElemMandatoryMissing
		}
	case LevelSet:
		if code == SetImplSegmentsInErr {
			return SetSegmentsInError
		}
	}
	if len(code) > 0 && code[0] == 'I' {
		return "1"
	}
	return code
}

// WriteAck997 writes a 997 transaction set (ST to SE) acknowledging a, with ST02 control.
func WriteAck997(w *Writer, a *GroupAck, control string) error {
	return writeAck(w, a, control, false)
}

// WriteAck999 writes a 999 transaction set (ST to SE, ST03 005010X231) acknowledging a.
func WriteAck999(w *Writer, a *GroupAck, control string) error {
	return writeAck(w, a, control, true)
}

func writeAck(w *Writer, a *GroupAck, control string, x999 bool) error {
	id, impl := "997", ""
	if x999 {
		id, impl = "999", "005010X231"
	}
	if err := w.BeginSet(id, control, impl); err != nil {
		return err
	}
	if x999 {
		w.WriteSegment("AK1", a.FunctionalID, a.ControlNumber, a.Version)
	} else {
		w.WriteSegment("AK1", a.FunctionalID, a.ControlNumber)
	}
	code := func(e *Error) string {
		if x999 {
			return e.Code
		}
		return ack997Code(e.Level, e.Code)
	}
	for i := range a.Sets {
		s := &a.Sets[i]
		if x999 {
			w.WriteSegment("AK2", s.ID, s.ControlNumber, s.ImplementationRef)
		} else {
			w.WriteSegment("AK2", s.ID, s.ControlNumber)
		}
		var setCodes []string
		var detail []*Error
		segErrs := false
		for _, e := range s.Errors {
			switch e.Level {
			case LevelSegment, LevelElement:
				detail = append(detail, e)
				segErrs = true
			default:
				setCodes = append(setCodes, code(e))
			}
		}
		sort.SliceStable(detail, func(i, j int) bool {
			if detail[i].SegmentPosition != detail[j].SegmentPosition {
				return detail[i].SegmentPosition < detail[j].SegmentPosition
			}
			return detail[i].Level == LevelSegment && detail[j].Level != LevelSegment
		})
		seg3, elem4 := "AK3", "AK4"
		if x999 {
			seg3, elem4 = "IK3", "IK4"
		}
		for k := 0; k < len(detail); {
			e := detail[k]
			// one AK3 per segment position; segment errors first, then its element errors
			if e.Level == LevelSegment {
				w.WriteSegment(seg3, e.SegmentID, strconv.Itoa(e.SegmentPosition), e.LoopID, code(e))
				k++
			} else {
				c := "8"
				w.WriteSegment(seg3, e.SegmentID, strconv.Itoa(e.SegmentPosition), e.LoopID, c)
			}
			for k < len(detail) && detail[k].Level == LevelElement && detail[k].SegmentPosition == e.SegmentPosition {
				el := detail[k]
				pos := strconv.Itoa(el.ElementPosition)
				comp, rep := "", ""
				if el.ComponentPosition > 0 {
					comp = strconv.Itoa(el.ComponentPosition)
				}
				if x999 && el.RepetitionPosition > 0 {
					rep = strconv.Itoa(el.RepetitionPosition)
				}
				bad := w.clean(el.Value)
				if len(bad) > 99 {
					bad = bad[:99]
				}
				w.WriteSegment(elem4, w.Composite(pos, comp, rep), el.ElementRef, code(el), bad)
				k++
			}
		}
		status := "A"
		if segErrs {
			if x999 && allImpl(detail) {
				setCodes = append(setCodes, SetImplSegmentsInErr)
			} else {
				setCodes = append(setCodes, SetSegmentsInError)
			}
		}
		if len(setCodes) > 0 {
			status = "R"
		}
		setCodes = dedupe(setCodes)
		if len(setCodes) > 5 {
			setCodes = setCodes[:5]
		}
		seg5 := "AK5"
		if x999 {
			seg5 = "IK5"
		}
		w.WriteSegment(seg5, append([]string{status}, setCodes...)...)
	}
	var gcodes []string
	for _, e := range a.Errors {
		gcodes = append(gcodes, e.Code)
	}
	gcodes = dedupe(gcodes)
	if len(gcodes) > 5 {
		gcodes = gcodes[:5]
	}
	included := a.Included
	if included == 0 {
		included = len(a.Sets)
	}
	w.WriteSegment("AK9", append([]string{a.Status(), strconv.Itoa(included), strconv.Itoa(len(a.Sets)), strconv.Itoa(a.Accepted())}, gcodes...)...)
	return w.EndSet()
}

func allImpl(errs []*Error) bool {
	for _, e := range errs {
		if len(e.Code) == 0 || e.Code[0] != 'I' {
			return false
		}
	}
	return len(errs) > 0
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// TA1Due reports whether an interchange acknowledgement should be sent for ic: the sender asked
// for one (ISA14 = 1) or the envelope has errors.
func TA1Due(ic *Interchange) bool { return ic.AckRequested == "1" || len(ic.Errors) > 0 }

// WriteTA1 writes a TA1 segment acknowledging ic: TA104 is A when the envelope has no errors,
// R otherwise, and TA105 the code of its first error (000 when none).
func WriteTA1(w *Writer, ic *Interchange) error {
	ack, code := "A", TA1NoError
	if len(ic.Errors) > 0 {
		ack, code = "R", ic.Errors[0].Code
		if code == "" {
			code = TA1BadContent
		}
	}
	return w.WriteSegment("TA1", ic.ControlNumber, ic.Date, ic.Time, ack, code)
}
