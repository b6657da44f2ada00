package csvfeed

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
)

// dateTokens are the pattern tokens, longest first where one is the prefix of another.
var dateTokens = []struct{ tok, layout string }{
	{"YYYY", "2006"}, {"YY", "06"}, {"MM", "01"}, {"M", "1"}, {"DD", "02"}, {"D", "2"},
	{"HH", "15"}, {"mm", "04"}, {"ss", "05"},
}

// layout turns a date format into a Go layout: Go layouts pass through, token patterns are
// translated.
func layout(format string) string {
	if strings.Contains(format, "2006") {
		return format
	}
	var b strings.Builder
	for i := 0; i < len(format); {
		matched := false
		for _, t := range dateTokens {
			if strings.HasPrefix(format[i:], t.tok) {
				b.WriteString(t.layout)
				i += len(t.tok)
				matched = true
				break
			}
		}
		if !matched {
			b.WriteByte(format[i])
			i++
		}
	}
	return b.String()
}

func checkDateFormat(format string) error {
	if format == "" {
		return nil
	}
	l := layout(format)
	probe := time.Date(2026, 11, 26, 13, 45, 30, 0, time.UTC)
	back, err := time.Parse(l, probe.Format(l))
	if err != nil {
		return fmt.Errorf("%q cannot be read back: %v", format, err)
	}
	if back.Year() != 2026 && !strings.Contains(l, "06") {
		return fmt.Errorf("%q has no year", format)
	}
	if back.Month() != 11 || back.Day() != 26 {
		return fmt.Errorf("%q needs a month and a day", format)
	}
	return nil
}

// parseDecimal reads a number written with the mapping's separators: "1.234,50" with a decimal
// comma and '.' thousands, "1,234.50" with ',' thousands. Grouping separators are accepted only
// between digits of the integer part.
func (m *Mapping) parseDecimal(s string) (waybill.Decimal, error) {
	dsep := byte('.')
	if m.DecimalComma {
		dsep = ','
	}
	intPart, frac, hasFrac := strings.Cut(s, string(dsep))
	if m.Thousands != "" && strings.Contains(intPart, m.Thousands) {
		groups := strings.Split(intPart, m.Thousands)
		for i, g := range groups {
			digits := strings.TrimLeft(g, "+-")
			if (i > 0 && len(g) != 3) || (i == 0 && (len(digits) == 0 || len(digits) > 3)) {
				return waybill.Decimal{}, fmt.Errorf("misplaced thousands separator %q", m.Thousands)
			}
		}
		intPart = strings.Join(groups, "")
	}
	if strings.ContainsAny(frac, ".,' ") || (!m.DecimalComma && strings.Contains(intPart, ",")) || (m.DecimalComma && strings.Contains(intPart, ".")) {
		return waybill.Decimal{}, fmt.Errorf("not a number in this partner's format")
	}
	norm := intPart
	if hasFrac {
		norm += "." + frac
	}
	d, err := waybill.ParseDecimal(norm)
	if err != nil {
		return waybill.Decimal{}, fmt.Errorf("not a number in this partner's format")
	}
	return d, nil
}

// formatDecimal writes d with the mapping's separators, with places decimals when places >= 0.
func (m *Mapping) formatDecimal(d waybill.Decimal, places int) string {
	s := d.String()
	if places >= 0 {
		s = d.StringFixed(places)
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if m.Thousands != "" && len(intPart) > 3 {
		var b strings.Builder
		lead := len(intPart) % 3
		if lead > 0 {
			b.WriteString(intPart[:lead])
		}
		for i := lead; i < len(intPart); i += 3 {
			if b.Len() > 0 {
				b.WriteString(m.Thousands)
			}
			b.WriteString(intPart[i : i+3])
		}
		intPart = b.String()
	}
	if hasFrac {
		sep := "."
		if m.DecimalComma {
			sep = ","
		}
		intPart += sep + frac
	}
	if neg {
		return "-" + intPart
	}
	return intPart
}

func parseInt(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("not a whole number")
	}
	return n, nil
}
