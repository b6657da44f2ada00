package x12

import (
	"context"
	"io"
	"strings"
	"time"
)

// AckOptions configures [Acknowledge].
type AckOptions struct {
	// Catalog provides the definitions to validate with; nil means [DefaultCatalog].
	Catalog *Catalog
	// Guide, when non-nil, returns the partner guide for a set (nil for none).
	Guide func(ic *Interchange, g *Group, setID string) *Guide
	// Kind forces "997" or "999"; "" chooses 999 for 005010 groups and 997 otherwise.
	Kind string
	// Controls hands out the acknowledgement's control numbers; nil means a fresh
	// MemoryControlNumbers (numbers start at 1).
	Controls ControlNumbers
	// Now is the time written in the envelopes; zero means time.Now().UTC().
	Now time.Time
	// Delimiters of the acknowledgement; zero means the received interchange's.
	Delimiters Delimiters
	// LineEnding is written after each segment terminator.
	LineEnding string
}

// AckSummary says what [Acknowledge] acknowledged.
type AckSummary struct {
	Interchanges int
	Groups       []*GroupAck
	TA1s         int
	Errors       []*Error
	Warnings     []Warning
}

// Acknowledge reads an inbound stream, validates every transaction set, and writes to w one
// acknowledgement interchange per received interchange (sender and receiver swapped): a TA1
// when ISA14 asks for one or the envelope has errors, then a functional group (GS01 FA) with one
// 997 or 999 per received group. Groups that are themselves acknowledgements (FA) are not
// acknowledged. Memory grows with the number of sets per interchange (one small record each).
func Acknowledge(ctx context.Context, r io.Reader, w io.Writer, opts AckOptions) (*AckSummary, error) {
	if opts.Catalog == nil {
		opts.Catalog = DefaultCatalog()
	}
	if opts.Controls == nil {
		opts.Controls = &MemoryControlNumbers{}
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now().UTC()
	}
	sum := &AckSummary{}
	d := NewDecoder(r)
	var wr *Writer
	var acks []*GroupAck
	var cur *GroupAck
	for {
		ev, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return sum, err
		}
		switch ev.Kind {
		case InterchangeStart:
			acks = acks[:0]
		case GroupStart:
			cur = NewGroupAck(ev.Group)
		case SetRead:
			if cur == nil {
				continue
			}
			var verrs []*Error
			if s, _, err := opts.Catalog.SchemaFor(ev.Set); err == nil {
				var g *Guide
				if opts.Guide != nil {
					g = opts.Guide(ev.Interchange, ev.Group, ev.Set.ID)
				}
				verrs = Validate(ev.Set, s, g)
			}
			cur.AddSet(ev.Set, verrs)
		case GroupEnd:
			if cur != nil {
				cur.Finish(ev.Group)
				if ev.Group.FunctionalID != "FA" {
					acks = append(acks, cur)
					sum.Groups = append(sum.Groups, cur)
				}
			}
			cur = nil
		case InterchangeEnd:
			ic := ev.Interchange
			if len(acks) == 0 && !TA1Due(ic) {
				continue
			}
			delims := opts.Delimiters
			if delims == (Delimiters{}) {
				delims = ic.Delimiters
			}
			if !delims.valid() {
				delims = DefaultDelimiters // the interchange's own are unusable
			}
			if wr == nil || wr.d != delims {
				if wr != nil {
					if err := wr.Flush(); err != nil {
						return sum, err
					}
				}
				eol := opts.LineEnding
				if delims.Segment == '\n' || delims.Segment == '\r' {
					eol = "" // the terminator is a line break already
				}
				wr = NewWriter(w, delims, WithLineEnding(eol))
			}
			if err := writeAckInterchange(ctx, wr, ic, acks, opts, now, sum); err != nil {
				return sum, err
			}
			sum.Interchanges++
		}
	}
	sum.Errors, sum.Warnings = d.Errors(), d.Warnings()
	if wr != nil {
		return sum, wr.Flush()
	}
	return sum, nil
}

func writeAckInterchange(ctx context.Context, w *Writer, ic *Interchange, acks []*GroupAck, opts AckOptions, now time.Time, sum *AckSummary) error {
	me, them := ic.ReceiverID, ic.SenderID
	n, err := opts.Controls.Next(ctx, me, them, ControlInterchange)
	if err != nil {
		return err
	}
	version := ic.Version
	if len(version) != 5 || !isDigits(version) {
		version = "00401"
	}
	hdr := &Interchange{SenderQualifier: ic.ReceiverQualifier, SenderID: me, ReceiverQualifier: ic.SenderQualifier, ReceiverID: them,
		Date: now.Format("060102"), Time: now.Format("1504"), Version: version, ControlNumber: FormatControl(ControlInterchange, n),
		AckRequested: "0", Usage: ic.Usage}
	if hdr.Usage != "T" {
		hdr.Usage = "P"
	}
	if err := w.BeginInterchange(hdr); err != nil {
		return err
	}
	if TA1Due(ic) {
		if err := WriteTA1(w, ic); err != nil {
			return err
		}
		sum.TA1s++
	}
	// one FA group per version family of the acknowledged groups
	for _, a := range acks {
		kind := opts.Kind
		if kind == "" {
			kind = "997"
			if strings.HasPrefix(a.Version, "005") || strings.HasPrefix(a.Version, "006") {
				kind = "999"
			}
		}
		gsVersion := "004010"
		if kind == "999" {
			gsVersion = "005010X231"
		}
		gsn, err := opts.Controls.Next(ctx, me, them, ControlGroup)
		if err != nil {
			return err
		}
		gsSender, gsReceiver := me, them
		if len(ic.Errors) == 0 {
			// application ids come from the received groups when known
			gsSender, gsReceiver = groupIDs(a, me, them)
		}
		if err := w.BeginGroup(&Group{FunctionalID: "FA", SenderID: gsSender, ReceiverID: gsReceiver, Date: now.Format("20060102"), Time: now.Format("1504"),
			ControlNumber: FormatControl(ControlGroup, gsn), Version: gsVersion}); err != nil {
			return err
		}
		stn, err := opts.Controls.Next(ctx, me, them, ControlSet)
		if err != nil {
			return err
		}
		if kind == "999" {
			err = WriteAck999(w, a, FormatControl(ControlSet, stn))
		} else {
			err = WriteAck997(w, a, FormatControl(ControlSet, stn))
		}
		if err != nil {
			return err
		}
		if err := w.EndGroup(); err != nil {
			return err
		}
	}
	return w.EndInterchange()
}

func groupIDs(a *GroupAck, me, them string) (string, string) {
	if a.appReceiver != "" && a.appSender != "" {
		return a.appReceiver, a.appSender
	}
	return me, them
}
