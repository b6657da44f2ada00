package edi

import (
	"fmt"
	"strings"
)

// SSCC builds an SSCC-18 from a GS1 company prefix (6 to 11 digits) and a serial reference: the
// extension digit 0, the prefix, the serial left-padded with zeros to fill 16 digits in all, and
// the GS1 mod-10 check digit. It fails when the serial does not fit the room the prefix leaves.
func SSCC(prefix string, serial int64) (string, error) {
	if len(prefix) < 6 || len(prefix) > 11 || !allDigits(prefix) {
		return "", fmt.Errorf("GS1 company prefix %q must be 6-11 digits", prefix)
	}
	room := 16 - len(prefix)
	s := fmt.Sprintf("%0*d", room, serial)
	if serial < 0 || len(s) > room {
		return "", fmt.Errorf("serial %d does not fit the %d digits prefix %s leaves", serial, room, prefix)
	}
	body := "0" + prefix + s
	return body + string(rune('0'+gs1Check(body))), nil
}

// ValidSSCC reports whether s is 18 digits with a correct GS1 check digit.
func ValidSSCC(s string) bool {
	return len(s) == 18 && allDigits(s) && int(s[17]-'0') == gs1Check(s[:17])
}

// gs1Check is the GS1 mod-10 check digit of digits: weights 3 and 1 alternating from the right.
func gs1Check(digits string) int {
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return (10 - sum%10) % 10
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
