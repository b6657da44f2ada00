package x12

import (
	"io"
	"strings"
	"testing"
)

type decoded struct {
	sets   []string // "ID/control:errcodes"
	errs   []*Error
	warns  []Warning
	ends   int
	events []EventKind
}

func decodeAll(t *testing.T, in string, opts ...DecoderOption) decoded {
	t.Helper()
	d := NewDecoder(strings.NewReader(in), opts...)
	var out decoded
	for {
		ev, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out.events = append(out.events, ev.Kind)
		if ev.Kind == SetRead {
			var codes []string
			for _, e := range ev.Set.Errors {
				codes = append(codes, e.Code)
			}
			out.sets = append(out.sets, ev.Set.ID+"/"+ev.Set.ControlNumber+":"+strings.Join(codes, ","))
		}
	}
	out.errs, out.warns = d.Errors(), d.Warnings()
	return out
}

func errCodes(errs []*Error) string {
	var s []string
	for _, e := range errs {
		s = append(s, string(e.Level)+":"+e.Code+"@"+e.SegmentID)
	}
	return strings.Join(s, " ")
}

func TestDecoderEnvelopeChecks(t *testing.T) {
	t.Parallel()
	good := interchange("PO", "BEG*00*SA*PO1**20240101~PO1*1*1*EA*1**UP*1", "BEG*00*SA*PO2**20240101~PO1*1*1*EA*1**UP*1")
	tests := []struct {
		name     string
		in       string
		sets     string
		errs     string
		strict   bool
		warnings int
	}{
		{"valid", good, "850/0001: 850/0002:", "", false, 1},
		{"SE count", strings.Replace(good, "SE*4*0001", "SE*5*0001", 1), "850/0001:4 850/0002:", "set:4@SE", false, 1},
		{"SE control", strings.Replace(good, "SE*4*0001", "SE*4*0009", 1), "850/0001:3 850/0002:", "set:3@SE", false, 1},
		{"GE count", strings.Replace(good, "GE*2*1", "GE*3*1", 1), "850/0001: 850/0002:", "group:5@GE", false, 1},
		{"GE control tolerated", strings.Replace(good, "GE*2*1", "GE*2*7", 1), "850/0001: 850/0002:", "", false, 2},
		{"GE control strict", strings.Replace(good, "GE*2*1", "GE*2*7", 1), "850/0001: 850/0002:", "group:4@GE", true, 1},
		{"IEA count", strings.Replace(good, "IEA*1*", "IEA*2*", 1), "850/0001: 850/0002:", "interchange:021@IEA", false, 1},
		{"IEA control strict", strings.Replace(good, "IEA*1*000000001", "IEA*1*000000002", 1), "850/0001: 850/0002:", "interchange:001@IEA", true, 1},
		{"duplicate ST02", strings.Replace(strings.Replace(good, "ST*850*0002", "ST*850*0001", 1), "SE*4*0002", "SE*4*0001", 1), "850/0001: 850/0001:23", "set:23@ST", false, 1},
		{"duplicate ISA13", good + good, "850/0001: 850/0002: 850/0001: 850/0002:", "interchange:025@ISA", false, 2},
		{"missing SE recovers", strings.Replace(good, "SE*4*0001~\n", "", 1), "850/0001:2 850/0002:", "set:2@SE", false, 1},
		{"missing GE and IEA", strings.Replace(strings.Replace(good, "GE*2*1~\n", "", 1), "IEA*1*000000001~\n", "", 1), "850/0001: 850/0002:", "group:3@GE interchange:023@ISA", false, 1},
		{"set outside group", strings.Replace(good, "GS*PO", "XX*PO", 1), "", "interchange:024@XX set:18@ST set:18@ST group:1@GE interchange:021@IEA", false, 1},
		{"functional id mismatch", strings.Replace(good, "GS*PO", "GS*IN", 1), "850/0001:18 850/0002:18", "set:18@ST set:18@ST", false, 1},
		{"bad ISA values", strings.Replace(good, "*0*P*>", "*7*Q*>", 1), "850/0001: 850/0002:", "interchange:019@ISA interchange:020@ISA", false, 1},
		{"ISB and TA1", strings.Replace(good, "GS*PO", "ISB*1~\nTA1*000000009*240101*1200*A*000~\nGS*PO", 1), "850/0001: 850/0002:", "", false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var opts []DecoderOption
			if tt.strict {
				opts = append(opts, WithStrict())
			}
			got := decodeAll(t, tt.in, opts...)
			if s := strings.Join(got.sets, " "); s != tt.sets {
				t.Errorf("sets %q, want %q", s, tt.sets)
			}
			if s := errCodes(got.errs); s != tt.errs {
				t.Errorf("errors %q, want %q\n%v", s, tt.errs, got.errs)
			}
			if len(got.warns) != tt.warnings {
				t.Errorf("%d warnings, want %d: %v", len(got.warns), tt.warnings, got.warns)
			}
			for _, e := range got.errs {
				if e.Message == "" || (e.Level != LevelFile && e.SegmentPosition == 0) {
					t.Errorf("error not located: %+v", e)
				}
			}
		})
	}
}

func TestDecoderEmptyInput(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", " \r\n\t", "\ufeff"} {
		got := decodeAll(t, in)
		if len(got.errs) != 1 || got.errs[0].Level != LevelFile {
			t.Errorf("%q: errors %v, want one file-level error", in, got.errs)
		}
	}
}

func TestDecoderEventsAndTA1(t *testing.T) {
	t.Parallel()
	in := strings.Replace(interchange("PO", "BEG*00*SA*PO1**20240101~PO1*1*1*EA*1**UP*1"), "GS*PO", "TA1*000000009*240101*1200*R*022~\nGS*PO", 1)
	d := NewDecoder(strings.NewReader(in))
	var kinds []string
	var ic *Interchange
	for {
		ev, err := d.Next()
		if err == io.EOF {
			break
		}
		kinds = append(kinds, ev.Kind.String())
		if ev.Kind == InterchangeEnd {
			ic = ev.Interchange
		}
	}
	if got := strings.Join(kinds, ","); got != "interchange start,group start,set,group end,interchange end" {
		t.Errorf("events %s", got)
	}
	if ic == nil || len(ic.TA1s) != 1 || ic.TA1s[0].Code != "022" || ic.TA1s[0].ControlNumber != "000000009" || !ic.Closed {
		t.Errorf("TA1 not read: %+v", ic)
	}
}

func TestCtlSet(t *testing.T) {
	t.Parallel()
	var c ctlSet
	for _, v := range []string{"1", "2", "3", "10", "5", "4", "A1", "0007"} {
		if !c.add(v) {
			t.Errorf("%s reported as duplicate", v)
		}
	}
	for _, v := range []string{"2", "5", "10", "A1", "7"} {
		if c.add(v) {
			t.Errorf("%s not reported as duplicate", v)
		}
	}
	if len(c.lo) != 3 {
		t.Errorf("ranges %v-%v, want 1-5, 7 and 10", c.lo, c.hi)
	}
}
