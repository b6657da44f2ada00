package edi

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/x12"
)

// Interchange is one inbound interchange as read and validated.
type Interchange struct {
	Header *x12.Interchange
	Groups []*Group
}

// Group is one functional group of an inbound interchange with its acknowledgement.
type Group struct {
	Header *x12.Group
	Ack    *x12.GroupAck
	Sets   []*SetResult
}

// SetResult is one transaction set with its validation outcome.
type SetResult struct {
	Set      *x12.Set
	Loops    []string
	Errors   []*x12.Error
	Accepted bool
}

// Read decodes every interchange of payload and validates each set against its schema and, for
// sets the partner has a guide for, the guide. A set is accepted when it has no errors; with the
// partner's reject_sets_with_errors false, element-level errors alone do not reject it. Only an
// input that is not X12 at all is an error.
func Read(payload []byte, p *partner.Profile, guides map[string]*x12.Guide) ([]*Interchange, error) {
	dec := x12.NewDecoder(bytes.NewReader(payload))
	var out []*Interchange
	var ic *Interchange
	var g *Group
	for {
		ev, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch ev.Kind {
		case x12.InterchangeStart:
			ic = &Interchange{Header: ev.Interchange}
			out = append(out, ic)
		case x12.GroupStart:
			g = &Group{Header: ev.Group, Ack: x12.NewGroupAck(ev.Group)}
			if ic != nil {
				ic.Groups = append(ic.Groups, g)
			}
		case x12.SetRead:
			set := ev.Set.Clone()
			r := &SetResult{Set: set}
			version, _ := x12.SchemaVersion(set.Version())
			schema, serr := x12.LoadSchema(version, set.ID)
			if serr != nil {
				r.Errors = []*x12.Error{{Level: x12.LevelSet, SegmentID: "ST", SegmentPosition: 1, Code: x12.SetNotSupported,
					Message: fmt.Sprintf("transaction set %s is not supported in version %s", set.ID, set.Version())}}
			} else {
				r.Loops = x12.Loops(set, schema)
				r.Errors = x12.Validate(set, schema, guides[set.ID])
			}
			r.Accepted = len(set.Errors) == 0 && acceptable(r.Errors, p.RejectSetsWithErrors())
			ackErrs := r.Errors
			if r.Accepted {
				ackErrs = nil
			}
			if g != nil {
				g.Ack.AddSet(set, ackErrs)
				g.Sets = append(g.Sets, r)
			}
		case x12.GroupEnd:
			if g != nil {
				g.Ack.Finish(ev.Group)
			}
			g = nil
		}
	}
	if len(out) == 0 {
		for _, e := range dec.Errors() {
			return nil, e
		}
		return nil, x12.ErrNotX12
	}
	return out, nil
}

func acceptable(errs []*x12.Error, strict bool) bool {
	if len(errs) == 0 {
		return true
	}
	if strict {
		return false
	}
	for _, e := range errs {
		if e.Level != x12.LevelElement {
			return false
		}
	}
	return true
}

// syntaxError turns an unreadable payload into a coded error for the dead-letter queue.
func syntaxError(p string, err error) error {
	where := waybill.Location{Partner: p}
	var xe *x12.Error
	if errors.As(err, &xe) {
		where.Segment, where.SegmentPos, where.Element = xe.SegmentID, xe.SegmentPosition, xe.ElementPosition
	}
	return &waybill.Error{Code: waybill.EINVALID, Reason: "x12_syntax", Message: "the interchange cannot be read: " + err.Error(),
		Where: where, Err: err}
}
