package x12

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func tokens(t *testing.T, in string) (ids []string, warns []Warning, err error) {
	t.Helper()
	r := NewReader(strings.NewReader(in), WithBufferSize(512))
	for {
		s, e := r.Next()
		warns = append(warns, r.TakeWarnings()...)
		if e == io.EOF {
			return ids, warns, nil
		}
		if e != nil {
			return ids, warns, e
		}
		ids = append(ids, s.IDString()+":"+strings.Join(s.Elements(), ","))
	}
}

const isa = "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       *240101*1200*U*00401*000000001*0*P*>"

func TestReaderDelimitersAndTolerances(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		last      string
		warnings  int
		wantDelim Delimiters
	}{
		{"canonical", isa + "~GS*PO~IEA*1*000000001~", "IEA:1,000000001", 0, Delimiters{'*', 0, '>', '~'}},
		{"newline terminator", isa + "\nGS*PO\nIEA*1*000000001\n", "IEA:1,000000001", 0, Delimiters{'*', 0, '>', '\n'}},
		{"CR terminator with LF", isa + "\r\nGS*PO\r\nIEA*1*000000001\r\n", "IEA:1,000000001", 1, Delimiters{'*', 0, '>', '\r'}},
		{"NAK and DEL", strings.ReplaceAll(isa, "*", "\x7f") + "\x15GS\x7fPO\x15", "GS:PO", 0, Delimiters{0x7f, 0, '>', 0x15}},
		{"BOM and indentation", "\ufeff" + isa + "~\r\n  GS*PO~\r\n\tST*850~", "ST:850", 3, Delimiters{'*', 0, '>', '~'}},
		{"repetition separator", strings.Replace(isa, "*U*00401", "*^*00501", 1) + "~GS*PO~", "GS:PO", 0, Delimiters{'*', '^', '>', '~'}},
		{"hard wrapped", (isa + "~GS*PO*1*2~ST*850*0001~")[:80] + "\r\n" + (isa + "~GS*PO*1*2~ST*850*0001~")[80:], "ST:850,0001", 1, Delimiters{'*', 0, '>', '~'}},
		{"wrapped wider than the ISA", isa + "~\r\nGS*PO*12\r\n34~ST*850*0001~", "ST:850,0001", 2, Delimiters{'*', 0, '>', '~'}},
		{"short ISA", "ISA*00**00**ZZ*S*ZZ*R*240101*1200*U*00401*000000001*0*P*>~GS*PO~", "GS:PO", 1, Delimiters{'*', 0, '>', '~'}},
		{"no final terminator", isa + "~GS*PO~IEA*1*1", "IEA:1,1", 1, Delimiters{'*', 0, '>', '~'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := NewReader(strings.NewReader(tt.in))
			var last Segment
			var warns []Warning
			for {
				s, err := r.Next()
				warns = append(warns, r.TakeWarnings()...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				last = s.Clone()
			}
			if got := last.IDString() + ":" + strings.Join(last.Elements(), ","); got != tt.last {
				t.Errorf("last segment %q, want %q", got, tt.last)
			}
			if len(warns) != tt.warnings {
				t.Errorf("%d warnings, want %d: %v", len(warns), tt.warnings, warns)
			}
			if r.Delimiters() != tt.wantDelim {
				t.Errorf("delimiters %q, want %q", r.Delimiters(), tt.wantDelim)
			}
		})
	}
}

func TestReaderRejectsNonX12(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"EBCDIC":  "\xc9\xe2\xc1\x5c\xf0\xf0",
		"EDIFACT": "UNA:+.? 'UNB+UNOA:1'",
		"text":    "hello world",
	} {
		_, _, err := tokens(t, in)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, ErrNotX12) {
			t.Errorf("%s: got %v, want a located *Error wrapping ErrNotX12", name, err)
		}
	}
}

func TestReaderSegmentTooLong(t *testing.T) {
	t.Parallel()
	in := isa + "~GS*" + strings.Repeat("A", 5000)
	r := NewReader(strings.NewReader(in), WithMaxSegmentSize(1024), WithBufferSize(512))
	var err error
	for err == nil {
		_, err = r.Next()
	}
	if !errors.Is(err, ErrSegmentTooLong) {
		t.Fatalf("got %v, want ErrSegmentTooLong", err)
	}
}

func TestSegmentAccessors(t *testing.T) {
	t.Parallel()
	s := NewSegment(DefaultDelimiters, "AK4", "1:2:3", "66", "", "X")
	if s.Len() != 4 || string(s.Component(1, 2)) != "2" || s.Component(1, 4) != nil || s.Element(9) != nil {
		t.Fatalf("accessors wrong: len %d comp %q", s.Len(), s.Component(1, 2))
	}
	r := NewSegment(DefaultDelimiters, "CTX", "A^B:2^C")
	if reps := r.Repetitions(1); len(reps) != 3 || string(reps[1]) != "B:2" {
		t.Errorf("repetitions %q", reps)
	}
	if !bytes.Equal(s.Raw(), []byte("AK4*1:2:3*66**X")) {
		t.Fatalf("raw %q", s.Raw())
	}
}
