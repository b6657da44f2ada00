package x12

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n got:\n%s\nwant:\n%s", name, got, want)
	}
}

func ackInput() string {
	in := interchange("PO",
		"BEG*00*SA*PO1**20240101~PO1*1*1*EA*1**UP*1",                 // good
		"BEG*00*XX*PO2**20241301~PO1*1*1X*EA*1**UP*1~ZZZ*1",          // element and segment errors
		"BEG*00*SA*PO3**20240101~PO1*1*1*EA*1**UP*1~CTT*1~CTT*2~AMT", // loop over max, AMT01 missing
	)
	return strings.Replace(in, "*0*P*>", "*1*P*>", 1) // ask for a TA1
}

func TestAcknowledge997And999(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"997", "999"} {
		var out bytes.Buffer
		sum, err := Acknowledge(context.Background(), strings.NewReader(ackInput()), &out, AckOptions{
			Catalog: testCatalog, Kind: kind, Now: time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC), LineEnding: "\n"})
		if err != nil {
			t.Fatal(err)
		}
		if len(sum.Groups) != 1 || sum.Groups[0].Status() != "P" || sum.Groups[0].Accepted() != 1 || sum.TA1s != 1 {
			t.Errorf("%s: summary %+v", kind, sum.Groups[0])
		}
		golden(t, "ack_"+kind, out.Bytes())
		// the acknowledgement reads back and matches what it acknowledges
		acks, errs, err := ReadAcks(bytes.NewReader(out.Bytes()))
		if err != nil || len(errs) != 0 {
			t.Fatalf("%s: reading the ack back: %v %v", kind, err, errs)
		}
		rep, st, ok := acks.Find("1", "0001")
		if !ok || st != "A" || rep.SetStatus("0002") != "R" || rep.Status != "P" || len(acks.TA1) != 1 {
			t.Errorf("%s: read back %+v, status %q", kind, rep, st)
		}
	}
}

func TestAck997CodesForEnvelopeErrors(t *testing.T) {
	t.Parallel()
	in := strings.Replace(interchange("PO", "BEG*00*SA*PO1**20240101~PO1*1*1*EA*1**UP*1"), "SE*4*0001", "SE*9*0002", 1)
	in = strings.Replace(in, "GE*1*1", "GE*2*1", 1)
	in = strings.Replace(in, "IEA*1*", "IEA*3*", 1)
	var out bytes.Buffer
	if _, err := Acknowledge(context.Background(), strings.NewReader(in), &out, AckOptions{Catalog: testCatalog, Kind: "997",
		Now: time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{"TA1*000000001*240101*1200*R*021~", "AK5*R*4*3~", "AK9*R*2*1*0*5~"} {
		if !strings.Contains(got, want) {
			t.Errorf("ack lacks %q:\n%s", want, got)
		}
	}
}

func TestTA1ForUnusableHeader(t *testing.T) {
	t.Parallel()
	// the component separator (ISA16) is a letter: the interchange cannot be read, but its
	// sender can be told so
	in := strings.Replace(interchange("PO", "BEG*00*SA*PO1**20240101~PO1*1*1*EA*1**UP*1"), "*0*P*>~", "*0*P*A~", 1)
	var out bytes.Buffer
	sum, err := Acknowledge(context.Background(), strings.NewReader(in), &out, AckOptions{Catalog: testCatalog, Now: time.Date(2024, 1, 2, 3, 4, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if sum.TA1s != 1 || !strings.Contains(out.String(), "TA1*000000001*240101*1200*R*027~") {
		t.Errorf("no TA1 rejecting the header:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "*ZZ*RECEIVER       *ZZ*SENDER         *") {
		t.Errorf("the TA1 does not go back to the sender:\n%s", out.String())
	}
}
