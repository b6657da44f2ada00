package edi

import (
	"bytes"
	"context"
	"strings"
	"time"

	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/x12"
)

// Controls are the control numbers of one outbound interchange with one group and one set.
type Controls struct {
	Interchange string // ISA13, 9 digits
	Group       string // GS06
	Set         string // ST02
}

// Numbers hands out control numbers; *store.Tx satisfies it.
type Numbers interface {
	NextControlNumber(ctx context.Context, sender, receiver, level string) (int64, error)
}

var _ Numbers = (*store.Tx)(nil)

// delimiters returns the partner's outbound delimiters.
func delimiters(p *partner.Profile) x12.Delimiters {
	d := x12.DefaultDelimiters
	pd := p.X12.Delimiters
	if pd.Element != "" {
		d.Element = pd.Element[0]
	}
	if pd.Component != "" {
		d.Component = pd.Component[0]
	}
	if pd.Segment != "" {
		d.Segment = pd.Segment[0]
	}
	d.Repetition = 0
	if pd.Repetition != "" && p.X12.Version >= "005010" {
		d.Repetition = pd.Repetition[0]
	}
	return d
}

// envelopeOut writes one interchange to partner p with one functional group (functional id fid)
// holding the sets body writes, taking ISA, GS (and, through setControl, ST) numbers from nums.
// beforeGroup (may be nil) writes between ISA and GS (a TA1); body receives the writer and a function returning the next ST02.
func envelopeOut(ctx context.Context, nums Numbers, p *partner.Profile, fid string, now time.Time,
	beforeGroup func(w *x12.Writer) error, body func(w *x12.Writer, nextST func() (string, error)) error) ([]byte, Controls, error) {
	var c Controls
	us, them := p.X12.ReceiverQualifier+"/"+p.X12.ReceiverID, p.X12.SenderQualifier+"/"+p.X12.SenderID
	isa, err := nums.NextControlNumber(ctx, us, them, string(x12.ControlInterchange))
	if err != nil {
		return nil, c, err
	}
	c.Interchange = x12.FormatControl(x12.ControlInterchange, isa)
	if body != nil {
		gs, err := nums.NextControlNumber(ctx, us, them, string(x12.ControlGroup))
		if err != nil {
			return nil, c, err
		}
		c.Group = x12.FormatControl(x12.ControlGroup, gs)
	}
	var buf bytes.Buffer
	var opts []x12.WriterOption
	if p.X12.LineEnding != "" {
		opts = append(opts, x12.WithLineEnding(p.X12.LineEnding))
	}
	w := x12.NewWriter(&buf, delimiters(p), opts...)
	isaVersion, gsVersion := "00401", "004010"
	if p.X12.Version == "005010" {
		isaVersion, gsVersion = "00501", "005010"
	}
	if err := w.BeginInterchange(&x12.Interchange{SenderQualifier: p.X12.ReceiverQualifier, SenderID: p.X12.ReceiverID,
		ReceiverQualifier: p.X12.SenderQualifier, ReceiverID: p.X12.SenderID, Date: now.Format("060102"), Time: now.Format("1504"),
		Version: isaVersion, ControlNumber: c.Interchange, AckRequested: "0", Usage: usage(p)}); err != nil {
		return nil, c, err
	}
	if beforeGroup != nil {
		if err := beforeGroup(w); err != nil {
			return nil, c, err
		}
	}
	if body == nil { // an interchange acknowledgement alone: ISA, TA1, IEA
		if err := w.EndInterchange(); err != nil {
			return nil, c, err
		}
		if err := w.Flush(); err != nil {
			return nil, c, err
		}
		return buf.Bytes(), c, nil
	}
	gsSender, gsReceiver := p.X12.GSReceiverID, p.X12.GSSenderID
	if gsSender == "" {
		gsSender = p.X12.ReceiverID
	}
	if gsReceiver == "" {
		gsReceiver = p.X12.SenderID
	}
	if err := w.BeginGroup(&x12.Group{FunctionalID: fid, SenderID: gsSender, ReceiverID: gsReceiver, Date: now.Format("20060102"),
		Time: now.Format("1504"), ControlNumber: c.Group, Version: gsVersion}); err != nil {
		return nil, c, err
	}
	nextST := func() (string, error) {
		n, err := nums.NextControlNumber(ctx, us, them, string(x12.ControlSet))
		if err != nil {
			return "", err
		}
		st := x12.FormatControl(x12.ControlSet, n)
		if c.Set == "" {
			c.Set = st
		}
		return st, nil
	}
	if err := body(w, nextST); err != nil {
		return nil, c, err
	}
	if err := w.EndGroup(); err != nil {
		return nil, c, err
	}
	if err := w.EndInterchange(); err != nil {
		return nil, c, err
	}
	if err := w.Flush(); err != nil {
		return nil, c, err
	}
	return buf.Bytes(), c, nil
}

func usage(p *partner.Profile) string {
	if p.X12.Usage == "" {
		return "P"
	}
	return p.X12.Usage
}

func trim(s string) string { return strings.TrimSpace(s) }
