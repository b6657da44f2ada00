package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/waybill-hub/waybill/x12"
)

// newEDICmd returns the `waybill edi` command tree: inspect, validate, ack and tojson. Their
// output and exit status are a stable contract for scripts: 0 when the input has no errors, 1
// when it was read but has errors (duplicate control numbers included), 2 for usage or I/O
// problems.
func newEDICmd() *cobra.Command {
	var opts ediOptions
	cmd := &cobra.Command{
		Use:   "edi",
		Short: "Read, validate and acknowledge X12 interchanges",
		Long: `Read, validate and acknowledge ANSI X12 interchanges.

FILE may be - to read standard input. Exit status: 0 when the input has no errors, 1 when it was
read but has errors, 2 for usage or I/O problems.`,
	}
	cmd.PersistentFlags().StringVar(&opts.schemas, "schemas", "", "directory of transaction set definitions to use instead of the built-in ones (<version>/<set>.txt)")
	cmd.PersistentFlags().BoolVar(&opts.strict, "strict", false, "report as errors what is otherwise tolerated: trailer control numbers that differ from their header's, and values outside a code list the definitions do not mark as complete")

	inspect := &cobra.Command{
		Use:   "inspect [--json] FILE",
		Short: "Show interchanges, groups, sets, loops and segments with names, errors and warnings",
		Args:  oneFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := opts.read(args[0], true)
			if err != nil {
				return err
			}
			if opts.json {
				err = writeJSON(cmd.OutOrStdout(), rep.summaryJSON())
			} else {
				err = rep.writeTree(cmd.OutOrStdout())
			}
			return rep.exit(err)
		},
	}
	inspect.Flags().BoolVar(&opts.json, "json", false, "print JSON instead of a tree")

	validate := &cobra.Command{
		Use:   "validate [--guide FILE] [--json] FILE",
		Short: "Check envelopes and every transaction set against its definition and an optional partner guide",
		Args:  oneFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := opts.read(args[0], false)
			if err != nil {
				return err
			}
			if opts.json {
				return rep.exit(writeJSON(cmd.OutOrStdout(), rep.summaryJSON()))
			}
			return rep.exit(rep.writeValidation(cmd.OutOrStdout()))
		},
	}
	validate.Flags().StringVar(&opts.guide, "guide", "", "partner guide file laid over the standard definition")
	validate.Flags().BoolVar(&opts.json, "json", false, "print the inspect --json document instead of one line per problem")

	ack := &cobra.Command{
		Use:   "ack FILE",
		Short: "Print the 997/999 (and TA1) that would be sent for the input",
		Args:  oneFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			return opts.ack(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0])
		},
	}
	ack.Flags().StringVar(&opts.kind, "kind", "", "force 997 or 999 (default: 999 for 005010 groups, 997 otherwise)")
	ack.Flags().StringVar(&opts.guide, "guide", "", "partner guide file laid over the standard definition")
	ack.Flags().StringVar(&opts.now, "now", "", "date and time to write in the envelopes (RFC 3339), for reproducible output")
	ack.Flags().MarkHidden("now")

	tojson := &cobra.Command{
		Use:   "tojson FILE",
		Short: "Print the contents as structured JSON with segment and element names",
		Args:  oneFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := opts.read(args[0], true)
			if err != nil {
				return err
			}
			return rep.exit(writeJSON(cmd.OutOrStdout(), rep.contentJSON()))
		},
	}
	cmd.AddCommand(inspect, validate, ack, tojson)
	return cmd
}

type ediOptions struct {
	json    bool
	guide   string
	schemas string
	strict  bool
	kind    string
	now     string
}

func oneFile(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return &ExitError{Code: 2, Err: fmt.Errorf("%s: want exactly one FILE (or - for standard input), got %d arguments", cmd.CommandPath(), len(args))}
	}
	return nil
}

func (o *ediOptions) open(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(os.Stdin), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	return f, nil
}

func (o *ediOptions) catalog() *x12.Catalog {
	c := x12.DefaultCatalog()
	if o.schemas != "" {
		c = x12.NewCatalog(os.DirFS(o.schemas))
	}
	if o.strict {
		c = c.Strict()
	}
	return c
}

func (o *ediOptions) loadGuide() (*x12.Guide, error) {
	if o.guide == "" {
		return nil, nil
	}
	g, err := x12.LoadGuide(o.guide)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	return g, nil
}

func (o *ediOptions) ack(ctx context.Context, out, errOut io.Writer, name string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	g, err := o.loadGuide()
	if err != nil {
		return err
	}
	in, err := o.open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	if o.kind != "" && o.kind != "997" && o.kind != "999" {
		return &ExitError{Code: 2, Err: fmt.Errorf("--kind must be 997 or 999, not %q", o.kind)}
	}
	opts := x12.AckOptions{Catalog: o.catalog(), Kind: o.kind, LineEnding: "\n"}
	if g != nil {
		opts.Guide = func(_ *x12.Interchange, _ *x12.Group, setID string) *x12.Guide {
			if setID == g.SetID {
				return g
			}
			return nil
		}
	}
	if o.now != "" {
		t, err := time.Parse(time.RFC3339, o.now)
		if err != nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("--now: %w", err)}
		}
		opts.Now = t
	}
	bw := bufio.NewWriter(out)
	sum, err := x12.Acknowledge(ctx, bufio.NewReader(in), bw, opts)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	errs := len(sum.Errors)
	for _, g := range sum.Groups {
		for _, s := range g.Sets {
			errs += len(s.Errors)
		}
	}
	if sum.Interchanges == 0 && len(sum.Errors) > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("nothing to acknowledge: %s", sum.Errors[0].Message)}
	}
	if sum.Interchanges == 0 {
		fmt.Fprintln(errOut, "nothing to acknowledge: no functional groups other than acknowledgements, and no TA1 requested")
	}
	if errs > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

// report is everything read from one input, kept for rendering.
type report struct {
	interchanges []*icRep
	errors       []*x12.Error
	warnings     []x12.Warning
	catalog      *x12.Catalog
}

type icRep struct {
	ic     *x12.Interchange
	groups []*groupRep
}

type groupRep struct {
	g    *x12.Group
	sets []*setRep
}

type setRep struct {
	set    *x12.Set
	schema *x12.Schema
	loops  []string
	errs   []*x12.Error // envelope and validation errors of the set
}

// read decodes and validates the whole input. keep says whether set contents are kept.
func (o *ediOptions) read(name string, keep bool) (*report, error) {
	g, err := o.loadGuide()
	if err != nil {
		return nil, err
	}
	in, err := o.open(name)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	var dopts []x12.DecoderOption
	if o.strict {
		dopts = append(dopts, x12.WithStrict())
	}
	d := x12.NewDecoder(in, dopts...)
	rep := &report{catalog: o.catalog()}
	var ic *icRep
	var gr *groupRep
	var valErrs []*x12.Error
	var valWarns []x12.Warning
	noSchema := map[string]bool{}
	for {
		ev, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, &ExitError{Code: 2, Err: fmt.Errorf("reading %s: %w", name, err)}
		}
		switch ev.Kind {
		case x12.InterchangeStart:
			ic = &icRep{ic: ev.Interchange}
			rep.interchanges = append(rep.interchanges, ic)
		case x12.GroupStart:
			gr = &groupRep{g: ev.Group}
			if ic != nil {
				ic.groups = append(ic.groups, gr)
			}
		case x12.SetRead:
			set := ev.Set.Clone()
			sr := &setRep{set: set, errs: append([]*x12.Error(nil), set.Errors...)}
			schema, exact, serr := rep.catalog.SchemaFor(set)
			key := set.Version() + "/" + set.ID
			switch {
			case serr != nil:
				if !noSchema[key] {
					noSchema[key] = true
					valWarns = append(valWarns, x12.Warning{Offset: set.Offset, SegmentID: "ST",
						Message: fmt.Sprintf("no definition of transaction set %s for version %q; its contents were not validated", set.ID, set.Version())})
				}
			default:
				if !exact && !noSchema[key] {
					noSchema[key] = true
					valWarns = append(valWarns, x12.Warning{Offset: set.Offset, SegmentID: "ST",
						Message: fmt.Sprintf("version %q has no definitions of its own; transaction set %s was validated against %s", set.Version(), set.ID, schema.Version)})
				}
				var guide *x12.Guide
				if g != nil && g.SetID == set.ID {
					guide = g
				}
				ve := x12.Validate(set, schema, guide)
				sr.errs = append(sr.errs, ve...)
				valErrs = append(valErrs, ve...)
				sr.schema = schema
				if keep {
					sr.loops = x12.Loops(set, schema)
				}
			}
			if !keep {
				set.Segments = nil
			}
			if gr != nil {
				gr.sets = append(gr.sets, sr)
			}
		case x12.GroupEnd:
			gr = nil
		case x12.InterchangeEnd:
			ic = nil
		}
	}
	rep.errors = append(d.Errors(), valErrs...)
	sort.SliceStable(rep.errors, func(i, j int) bool { return rep.errors[i].Offset < rep.errors[j].Offset })
	rep.warnings = append(d.Warnings(), valWarns...)
	sort.SliceStable(rep.warnings, func(i, j int) bool { return rep.warnings[i].Offset < rep.warnings[j].Offset })
	return rep, nil
}

func (r *report) exit(err error) error {
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	if len(r.errors) > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// JSON shapes: a stable contract (fields may be added, never renamed or removed).

type errorJSON struct {
	Code               string `json:"code"`
	Level              string `json:"level"`
	Message            string `json:"message"`
	Offset             int64  `json:"offset"`
	SegmentPosition    int    `json:"segment_position"`
	SegmentID          string `json:"segment_id"`
	ElementPosition    int    `json:"element_position"`
	ComponentPosition  int    `json:"component_position,omitempty"`
	RepetitionPosition int    `json:"repetition_position,omitempty"`
	ElementRef         string `json:"element_ref,omitempty"`
	LoopID             string `json:"loop_id,omitempty"`
	Value              string `json:"value,omitempty"`
	// Where the error belongs: the control numbers of its interchange, group and set.
	InterchangeControl string `json:"interchange_control_number,omitempty"`
	GroupControl       string `json:"group_control_number,omitempty"`
	SetControl         string `json:"set_control_number,omitempty"`
	SetID              string `json:"set_id,omitempty"`
}

type warningJSON struct {
	Message   string `json:"message"`
	Offset    int64  `json:"offset"`
	SegmentID string `json:"segment_id,omitempty"`
}

type interchangeJSON struct {
	SenderQualifier   string      `json:"sender_qualifier"`
	SenderID          string      `json:"sender_id"`
	ReceiverQualifier string      `json:"receiver_qualifier"`
	ReceiverID        string      `json:"receiver_id"`
	ControlNumber     string      `json:"control_number"`
	Version           string      `json:"version"`
	Date              string      `json:"date"`
	Time              string      `json:"time"`
	Usage             string      `json:"usage"`
	AckRequested      bool        `json:"ack_requested"`
	Offset            int64       `json:"offset"`
	Closed            bool        `json:"closed"`
	TA1               []ta1JSON   `json:"ta1,omitempty"`
	Groups            []groupJSON `json:"groups"`
}

type ta1JSON struct {
	ControlNumber string `json:"control_number"`
	Date          string `json:"date"`
	Time          string `json:"time"`
	Ack           string `json:"ack"`
	Code          string `json:"code"`
	Offset        int64  `json:"offset"`
}

type groupJSON struct {
	FunctionalID  string    `json:"functional_id"`
	ControlNumber string    `json:"control_number"`
	Version       string    `json:"version"`
	SenderID      string    `json:"sender_id"`
	ReceiverID    string    `json:"receiver_id"`
	Date          string    `json:"date"`
	Time          string    `json:"time"`
	Offset        int64     `json:"offset"`
	Closed        bool      `json:"closed"`
	Sets          []setJSON `json:"sets"`
}

type setJSON struct {
	ID                string        `json:"id"`
	ControlNumber     string        `json:"control_number"`
	ImplementationRef string        `json:"implementation_reference,omitempty"`
	SegmentCount      int           `json:"segment_count"`
	Offset            int64         `json:"offset"`
	Valid             bool          `json:"valid"`
	ErrorCount        int           `json:"error_count"`
	Segments          []segmentJSON `json:"segments,omitempty"`
}

type segmentJSON struct {
	Position int           `json:"position"`
	ID       string        `json:"id"`
	Name     string        `json:"name,omitempty"`
	Loop     string        `json:"loop,omitempty"`
	Offset   int64         `json:"offset"`
	Elements []elementJSON `json:"elements"`
}

type elementJSON struct {
	Position    int             `json:"position"`
	Ref         string          `json:"ref,omitempty"`
	Name        string          `json:"name,omitempty"`
	Value       string          `json:"value"`
	Meaning     string          `json:"meaning,omitempty"`
	Components  []componentJSON `json:"components,omitempty"`
	Repetitions []string        `json:"repetitions,omitempty"`
}

type componentJSON struct {
	Position int    `json:"position"`
	Ref      string `json:"ref,omitempty"`
	Name     string `json:"name,omitempty"`
	Value    string `json:"value"`
	Meaning  string `json:"meaning,omitempty"`
}

type documentJSON struct {
	Interchanges []interchangeJSON `json:"interchanges"`
	Errors       []errorJSON       `json:"errors"`
	Warnings     []warningJSON     `json:"warnings"`
}

func (r *report) summaryJSON() documentJSON { return r.document(false) }
func (r *report) contentJSON() documentJSON { return r.document(true) }

func (r *report) document(contents bool) documentJSON {
	doc := documentJSON{Interchanges: []interchangeJSON{}, Errors: []errorJSON{}, Warnings: []warningJSON{}}
	for _, ic := range r.interchanges {
		h := ic.ic
		ij := interchangeJSON{SenderQualifier: h.SenderQualifier, SenderID: h.SenderID, ReceiverQualifier: h.ReceiverQualifier,
			ReceiverID: h.ReceiverID, ControlNumber: h.ControlNumber, Version: h.Version, Date: h.Date, Time: h.Time, Usage: h.Usage,
			AckRequested: h.AckRequested == "1", Offset: h.Offset, Closed: h.Closed, Groups: []groupJSON{}}
		for _, t := range h.TA1s {
			ij.TA1 = append(ij.TA1, ta1JSON{ControlNumber: t.ControlNumber, Date: t.Date, Time: t.Time, Ack: t.Ack, Code: t.Code, Offset: t.Offset})
		}
		for _, g := range ic.groups {
			gj := groupJSON{FunctionalID: g.g.FunctionalID, ControlNumber: g.g.ControlNumber, Version: g.g.Version, SenderID: g.g.SenderID,
				ReceiverID: g.g.ReceiverID, Date: g.g.Date, Time: g.g.Time, Offset: g.g.Offset, Closed: g.g.Closed, Sets: []setJSON{}}
			for _, s := range g.sets {
				sj := setJSON{ID: s.set.ID, ControlNumber: s.set.ControlNumber, ImplementationRef: s.set.ImplementationRef,
					SegmentCount: segmentCount(s), Offset: s.set.Offset, Valid: len(s.errs) == 0, ErrorCount: len(s.errs)}
				if contents {
					sj.Segments = s.segmentsJSON()
				}
				gj.Sets = append(gj.Sets, sj)
			}
			ij.Groups = append(ij.Groups, gj)
		}
		doc.Interchanges = append(doc.Interchanges, ij)
	}
	where := map[*x12.Error]errorJSON{}
	for _, ic := range r.interchanges {
		for _, e := range ic.ic.Errors {
			where[e] = errorJSON{InterchangeControl: ic.ic.ControlNumber}
		}
		for _, g := range ic.groups {
			for _, e := range g.g.Errors {
				where[e] = errorJSON{InterchangeControl: ic.ic.ControlNumber, GroupControl: g.g.ControlNumber}
			}
			for _, s := range g.sets {
				for _, e := range s.errs {
					where[e] = errorJSON{InterchangeControl: ic.ic.ControlNumber, GroupControl: g.g.ControlNumber,
						SetControl: s.set.ControlNumber, SetID: s.set.ID}
				}
			}
		}
	}
	for _, e := range r.errors {
		ej := toErrorJSON(e)
		w := where[e]
		ej.InterchangeControl, ej.GroupControl, ej.SetControl, ej.SetID = w.InterchangeControl, w.GroupControl, w.SetControl, w.SetID
		doc.Errors = append(doc.Errors, ej)
	}
	for _, w := range r.warnings {
		doc.Warnings = append(doc.Warnings, warningJSON{Message: w.Message, Offset: w.Offset, SegmentID: w.SegmentID})
	}
	return doc
}

func segmentCount(s *setRep) int {
	if s.set.Segments != nil {
		return len(s.set.Segments)
	}
	return s.set.SegmentCount()
}

func toErrorJSON(e *x12.Error) errorJSON {
	return errorJSON{Code: e.Code, Level: string(e.Level), Message: e.Message, Offset: e.Offset, SegmentPosition: e.SegmentPosition,
		SegmentID: e.SegmentID, ElementPosition: e.ElementPosition, ComponentPosition: e.ComponentPosition,
		RepetitionPosition: e.RepetitionPosition, ElementRef: e.ElementRef, LoopID: e.LoopID, Value: e.Value}
}

// elementUse returns the definition of element pos of segment def, or nil.
func elementUse(def *x12.SegmentDef, pos int) *x12.ElementUse {
	if def == nil {
		return nil
	}
	for _, u := range def.Elements {
		if u.Pos == pos {
			return u
		}
	}
	return nil
}

func (s *setRep) segDef(seg x12.Segment) *x12.SegmentDef {
	if s.schema == nil {
		return nil
	}
	return s.schema.Segments[seg.IDString()]
}

func (s *setRep) segmentsJSON() []segmentJSON {
	out := make([]segmentJSON, 0, len(s.set.Segments))
	for i, seg := range s.set.Segments {
		def := s.segDef(seg)
		sj := segmentJSON{Position: i + 1, ID: seg.IDString(), Offset: seg.Offset, Elements: []elementJSON{}}
		if def != nil {
			sj.Name = def.Name
		}
		if i < len(s.loops) {
			sj.Loop = s.loops[i]
		}
		for p := 1; p <= seg.Len(); p++ {
			val := seg.ElementString(p)
			if val == "" {
				continue
			}
			ej := elementJSON{Position: p, Value: val}
			if u := elementUse(def, p); u != nil {
				ej.Ref, ej.Name = u.Ref, u.Name()
				d := seg.Delimiters
				if d.Repetition != 0 && u.Repeat != 1 && strings.IndexByte(val, d.Repetition) >= 0 {
					ej.Repetitions = strings.Split(val, string(d.Repetition))
				}
				if u.Composite != nil {
					for k, c := range strings.Split(val, string(d.Component)) {
						cj := componentJSON{Position: k + 1, Value: c}
						if k < len(u.Composite.Components) {
							cu := u.Composite.Components[k]
							cj.Ref, cj.Name, cj.Meaning = cu.Ref, cu.Name(), cu.CodeMeaning(c)
						}
						ej.Components = append(ej.Components, cj)
					}
				} else {
					ej.Meaning = u.CodeMeaning(val)
				}
			}
			sj.Elements = append(sj.Elements, ej)
		}
		out = append(out, sj)
	}
	return out
}

// writeTree renders the readable inspect tree.
func (r *report) writeTree(out io.Writer) error {
	w := bufio.NewWriter(out)
	setErr := map[*x12.Error]bool{}
	for _, ic := range r.interchanges {
		for _, g := range ic.groups {
			for _, s := range g.sets {
				for _, e := range s.errs {
					setErr[e] = true
				}
			}
		}
	}
	listed := map[*x12.Error]bool{}
	printErr := func(indent string, e *x12.Error) {
		listed[e] = true
		loc := ""
		if e.SegmentID != "" {
			loc = e.SegmentID
			if e.ElementPosition > 0 {
				loc += fmt.Sprintf("%02d", e.ElementPosition)
				if e.ComponentPosition > 0 {
					loc += fmt.Sprintf("-%d", e.ComponentPosition)
				}
			}
			loc += fmt.Sprintf(" at segment %d, ", e.SegmentPosition)
		}
		code := ""
		if e.Code != "" {
			code = fmt.Sprintf(" [%s code %s]", e.Level, e.Code)
		}
		fmt.Fprintf(w, "%sERROR %sbyte %d: %s%s\n", indent, loc, e.Offset, e.Message, code)
	}
	warned := map[int]bool{}
	printWarnings := func(indent string, from, to int64) {
		for i, wn := range r.warnings {
			if !warned[i] && wn.Offset >= from && wn.Offset < to {
				warned[i] = true
				fmt.Fprintf(w, "%sWARNING byte %d: %s\n", indent, wn.Offset, wn.Message)
			}
		}
	}
	for ii, ic := range r.interchanges {
		h := ic.ic
		end := int64(1 << 62)
		if ii+1 < len(r.interchanges) {
			end = r.interchanges[ii+1].ic.Offset
		}
		printWarnings("", -1, h.Offset+1)
		fmt.Fprintf(w, "interchange %s  from %s/%s to %s/%s  version %s  %s  usage %s%s  (byte %d)\n", h.ControlNumber,
			h.SenderQualifier, h.SenderID, h.ReceiverQualifier, h.ReceiverID, h.Version, h.Date+" "+h.Time, h.Usage,
			map[bool]string{true: "  TA1 requested", false: ""}[h.AckRequested == "1"], h.Offset)
		fmt.Fprintf(w, "  delimiters: element %q, component %q, repetition %s, segment %q\n", rune(h.Delimiters.Element),
			rune(h.Delimiters.Component), repr(h.Delimiters.Repetition), rune(h.Delimiters.Segment))
		printWarnings("  ", h.Offset, end)
		for _, e := range h.Errors {
			printErr("  ", e)
		}
		for _, t := range h.TA1s {
			fmt.Fprintf(w, "  TA1 acknowledges interchange %s: %s, note %s\n", t.ControlNumber, ackWord(t.Ack), t.Code)
		}
		for _, g := range ic.groups {
			gh := g.g
			fmt.Fprintf(w, "  group %s %s  from %s to %s  version %s  %s %s  (byte %d)\n", gh.FunctionalID, gh.ControlNumber,
				gh.SenderID, gh.ReceiverID, gh.Version, gh.Date, gh.Time, gh.Offset)
			for _, e := range gh.Errors {
				printErr("    ", e)
			}
			for _, s := range g.sets {
				r.writeSet(w, s, printErr)
			}
		}
	}
	// errors that belong to no interchange (input that is not X12, stray segments)
	for _, e := range r.errors {
		if !listed[e] && !setErr[e] {
			printErr("", e)
		}
	}
	printWarnings("", -1, 1<<62)
	fmt.Fprintf(w, "%d interchanges, %d errors, %d warnings\n", len(r.interchanges), len(r.errors), len(r.warnings))
	return w.Flush()
}

func repr(b byte) string {
	if b == 0 {
		return "none"
	}
	return fmt.Sprintf("%q", rune(b))
}

func ackWord(a string) string {
	switch a {
	case "A":
		return "accepted"
	case "E":
		return "accepted with errors"
	case "R":
		return "rejected"
	}
	return a
}

func (r *report) writeSet(w *bufio.Writer, s *setRep, printErr func(string, *x12.Error)) {
	name := ""
	if s.schema != nil {
		name = " " + s.schema.Name
	}
	status := "valid"
	if len(s.errs) > 0 {
		status = fmt.Sprintf("%d errors", len(s.errs))
	}
	fmt.Fprintf(w, "    set %s%s  control %s  %d segments  %s  (byte %d)\n", s.set.ID, name, s.set.ControlNumber, segmentCount(s), status, s.set.Offset)
	byPos := map[int][]*x12.Error{}
	for _, e := range s.errs {
		p := e.SegmentPosition
		if p > len(s.set.Segments) {
			p = len(s.set.Segments)
		}
		byPos[p] = append(byPos[p], e)
	}
	for _, e := range byPos[0] {
		printErr("      ", e)
	}
	for i, seg := range s.set.Segments {
		loop := ""
		if i < len(s.loops) {
			loop = s.loops[i]
		}
		depth := 0
		if loop != "" {
			depth = strings.Count(loop, "/") + 1
		}
		if loop != "" && strings.HasSuffix("/"+loop, "/"+seg.IDString()) {
			// the loop's trigger: a loop (or a new iteration of it) starts here
			fmt.Fprintf(w, "%sloop %s\n", strings.Repeat("  ", 3+depth), seg.IDString())
		}
		ind := strings.Repeat("  ", 4+depth)
		def := s.segDef(seg)
		segName := ""
		if def != nil {
			segName = "  " + def.Name
		}
		fmt.Fprintf(w, "%s%d %s%s\n", ind, i+1, seg.IDString(), segName)
		for p := 1; p <= seg.Len(); p++ {
			val := seg.ElementString(p)
			if val == "" {
				continue
			}
			label := ""
			meaning := ""
			if u := elementUse(def, p); u != nil {
				label = " " + u.Ref + " " + u.Name()
				if u.Composite == nil {
					if m := u.CodeMeaning(val); m != "" {
						meaning = " (" + m + ")"
					}
				}
			}
			fmt.Fprintf(w, "%s  %s%02d%s = %q%s\n", ind, seg.IDString(), p, label, val, meaning)
		}
		for _, e := range byPos[i+1] {
			printErr(ind+"  ", e)
		}
	}
}

// writeValidation prints one line per error and warning, then a summary.
func (r *report) writeValidation(out io.Writer) error {
	w := bufio.NewWriter(out)
	sets, bad := 0, 0
	for _, ic := range r.interchanges {
		for _, g := range ic.groups {
			for _, s := range g.sets {
				sets++
				if len(s.errs) > 0 {
					bad++
				}
			}
		}
	}
	for _, e := range r.errors {
		fmt.Fprintf(w, "error: %s\n", e.Error())
	}
	for _, wn := range r.warnings {
		fmt.Fprintf(w, "warning: %s\n", wn.String())
	}
	verdict := "valid"
	if len(r.errors) > 0 {
		verdict = "INVALID"
	}
	fmt.Fprintf(w, "%s: %d interchanges, %d transaction sets (%d with errors), %d errors, %d warnings\n", verdict, len(r.interchanges), sets, bad, len(r.errors), len(r.warnings))
	return w.Flush()
}
