package edi

import "testing"

func TestSSCC(t *testing.T) {
	t.Parallel()
	tests := []struct {
		prefix string
		serial int64
		want   string
		bad    bool
	}{
		// extension 0, prefix 0614141, serial 123456789
		{prefix: "0614141", serial: 123456789, want: "006141411234567890"},
		{prefix: "0614141", serial: 1, want: "006141410000000012"},
		{prefix: "12345678901", serial: 99999, want: "012345678901999995"},
		{prefix: "12345678901", serial: 100000, bad: true},
		{prefix: "12345", serial: 1, bad: true},
		{prefix: "06141A1", serial: 1, bad: true},
	}
	for _, tt := range tests {
		got, err := SSCC(tt.prefix, tt.serial)
		if tt.bad {
			if err == nil {
				t.Errorf("SSCC(%q, %d) = %q, want an error", tt.prefix, tt.serial, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("SSCC(%q, %d) = %q, %v; want %q", tt.prefix, tt.serial, got, err, tt.want)
		}
		if !ValidSSCC(got) {
			t.Errorf("ValidSSCC(%q) = false", got)
		}
	}
	// GS1's published example SSCC, extension digit 1.
	if !ValidSSCC("106141411234567897") {
		t.Error("ValidSSCC(106141411234567897) = false")
	}
	for _, s := range []string{"006141411234567891", "00614141123456789", "0061414112345678X0"} {
		if ValidSSCC(s) {
			t.Errorf("ValidSSCC(%q) = true, want false", s)
		}
	}
}
