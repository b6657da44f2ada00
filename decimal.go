package waybill

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// DecimalPlaces is the number of decimal places a Decimal holds exactly. Six places cover unit
// prices quoted to the tenth of a thousandth and quantities in any unit of measure a distributor uses.
const DecimalPlaces = 6

const decimalUnit = 1_000_000 // 10^DecimalPlaces

// Decimal is an exact fixed-point number with DecimalPlaces places, for money and quantities.
// The zero value is 0. Values are comparable with == (one representation per number).
// Its range is about ±9.2 trillion; arithmetic that would leave it panics with ErrDecimalRange,
// which a caller can only reach with amounts no business document holds.
type Decimal struct {
	u int64 // value × 10^DecimalPlaces
}

// ErrDecimalRange is the panic value of arithmetic whose result a Decimal cannot hold.
var ErrDecimalRange = errors.New("decimal out of range")

// Zero is the Decimal 0.
var Zero Decimal

// NewDecimal returns coef × 10^-scale, rounded half away from zero when scale exceeds DecimalPlaces.
// For example NewDecimal(1250, 2) is 12.50.
func NewDecimal(coef int64, scale int) Decimal {
	if scale < 0 {
		d := Decimal{}
		for i := 0; i < -scale; i++ {
			coef = mulChecked(coef, 10)
		}
		d.u = mulChecked(coef, decimalUnit)
		return d
	}
	if scale <= DecimalPlaces {
		return Decimal{u: mulChecked(coef, pow10[DecimalPlaces-scale])}
	}
	return Decimal{u: divRound(coef, pow10i(scale-DecimalPlaces))}
}

// DecimalFromInt returns n as a Decimal.
func DecimalFromInt(n int64) Decimal { return Decimal{u: mulChecked(n, decimalUnit)} }

var pow10 = [...]int64{1, 10, 100, 1000, 10000, 100000, 1000000}

func pow10i(n int) int64 {
	if n > 18 {
		panic(ErrDecimalRange)
	}
	p := int64(1)
	for i := 0; i < n; i++ {
		p *= 10
	}
	return p
}

// ParseDecimal parses a decimal number such as "12", "-3.5", "0.125", ".5" or "+7.".
// Digits past DecimalPlaces must be zeros; a value that would need more precision is an error
// rather than silently rounded, because a rounded price is a different price.
func ParseDecimal(s string) (Decimal, error) {
	orig := s
	if s == "" {
		return Decimal{}, fmt.Errorf("parsing decimal %q: empty", orig)
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return Decimal{}, fmt.Errorf("parsing decimal %q: no digits", orig)
	}
	_ = hasDot
	var u uint64
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if c < '0' || c > '9' {
			return Decimal{}, fmt.Errorf("parsing decimal %q: invalid character %q", orig, c)
		}
		hi, lo := bits.Mul64(u, 10)
		if hi != 0 {
			return Decimal{}, fmt.Errorf("parsing decimal %q: %w", orig, ErrDecimalRange)
		}
		u = lo + uint64(c-'0')
	}
	hi, lo := bits.Mul64(u, decimalUnit)
	if hi != 0 || lo > math.MaxInt64 {
		return Decimal{}, fmt.Errorf("parsing decimal %q: %w", orig, ErrDecimalRange)
	}
	u = lo
	for i := 0; i < len(frac); i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return Decimal{}, fmt.Errorf("parsing decimal %q: invalid character %q", orig, c)
		}
		if i >= DecimalPlaces {
			if c != '0' {
				return Decimal{}, fmt.Errorf("parsing decimal %q: more than %d decimal places", orig, DecimalPlaces)
			}
			continue
		}
		u += uint64(c-'0') * uint64(pow10[DecimalPlaces-1-i])
	}
	if u > math.MaxInt64 {
		return Decimal{}, fmt.Errorf("parsing decimal %q: %w", orig, ErrDecimalRange)
	}
	v := int64(u)
	if neg {
		v = -v
	}
	return Decimal{u: v}, nil
}

// MustDecimal is ParseDecimal for constants in code and tests; it panics on a malformed value.
func MustDecimal(s string) Decimal {
	d, err := ParseDecimal(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DecimalFromFloat converts a float received from an external system (Odoo's JSON numbers) to the
// nearest Decimal. Use it only at the edges, where the other side speaks floats.
func DecimalFromFloat(f float64) Decimal {
	if math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 9e12 {
		panic(ErrDecimalRange)
	}
	d, err := ParseDecimal(strconv.FormatFloat(f, 'f', DecimalPlaces, 64))
	if err != nil {
		panic(err)
	}
	return d
}

// Float returns the nearest float64, for the edges that need one (Odoo's JSON numbers, metrics).
func (d Decimal) Float() float64 { return float64(d.u) / decimalUnit }

// Add returns d + e.
func (d Decimal) Add(e Decimal) Decimal {
	s, ok := addChecked(d.u, e.u)
	if !ok {
		panic(ErrDecimalRange)
	}
	return Decimal{u: s}
}

// Sub returns d - e.
func (d Decimal) Sub(e Decimal) Decimal { return d.Add(e.Neg()) }

// Neg returns -d.
func (d Decimal) Neg() Decimal { return Decimal{u: -d.u} }

// Abs returns |d|.
func (d Decimal) Abs() Decimal {
	if d.u < 0 {
		return d.Neg()
	}
	return d
}

// Mul returns d × e, rounded half away from zero to DecimalPlaces.
func (d Decimal) Mul(e Decimal) Decimal {
	neg := (d.u < 0) != (e.u < 0)
	hi, lo := bits.Mul64(absU(d.u), absU(e.u))
	if hi >= decimalUnit {
		panic(ErrDecimalRange)
	}
	q, r := bits.Div64(hi, lo, decimalUnit)
	if r*2 >= decimalUnit {
		q++
	}
	if q > math.MaxInt64 {
		panic(ErrDecimalRange)
	}
	v := int64(q)
	if neg {
		v = -v
	}
	return Decimal{u: v}
}

// MulInt returns d × n.
func (d Decimal) MulInt(n int64) Decimal { return Decimal{u: mulChecked(d.u, n)} }

// Div returns d ÷ e rounded half away from zero to DecimalPlaces. It panics when e is zero.
func (d Decimal) Div(e Decimal) Decimal {
	if e.u == 0 {
		panic("waybill: decimal division by zero")
	}
	neg := (d.u < 0) != (e.u < 0)
	hi, lo := bits.Mul64(absU(d.u), decimalUnit)
	den := absU(e.u)
	if hi >= den {
		panic(ErrDecimalRange)
	}
	q, r := bits.Div64(hi, lo, den)
	if r >= den-r {
		q++
	}
	if q > math.MaxInt64 {
		panic(ErrDecimalRange)
	}
	v := int64(q)
	if neg {
		v = -v
	}
	return Decimal{u: v}
}

// Round returns d rounded half away from zero to places decimal places (0 to DecimalPlaces).
// Invoice totals use Round(2), as the ERP does for a currency with cents.
func (d Decimal) Round(places int) Decimal {
	if places >= DecimalPlaces {
		return d
	}
	if places < 0 {
		places = 0
	}
	step := pow10[DecimalPlaces-places]
	return Decimal{u: divRound(d.u, step) * step}
}

// Cmp returns -1, 0 or +1 as d is less than, equal to or greater than e.
func (d Decimal) Cmp(e Decimal) int {
	switch {
	case d.u < e.u:
		return -1
	case d.u > e.u:
		return 1
	}
	return 0
}

// Sign returns -1, 0 or +1.
func (d Decimal) Sign() int { return d.Cmp(Zero) }

// IsZero reports whether d is 0.
func (d Decimal) IsZero() bool { return d.u == 0 }

// Min returns the smaller of d and e.
func (d Decimal) Min(e Decimal) Decimal {
	if e.u < d.u {
		return e
	}
	return d
}

// Max returns the larger of d and e.
func (d Decimal) Max(e Decimal) Decimal {
	if e.u > d.u {
		return e
	}
	return d
}

// IntPart returns the integer part, truncated toward zero.
func (d Decimal) IntPart() int64 { return d.u / decimalUnit }

// String formats d with as few decimal places as it needs: "12.5", "-3", "0.125".
func (d Decimal) String() string { return string(d.append(nil, -1)) }

// StringFixed formats d with exactly places decimal places (0 to DecimalPlaces), rounding half
// away from zero: StringFixed(2) of 12.5 is "12.50".
func (d Decimal) StringFixed(places int) string {
	if places > DecimalPlaces {
		places = DecimalPlaces
	}
	return string(d.Round(places).append(nil, places))
}

func (d Decimal) append(b []byte, places int) []byte {
	u := absU(d.u)
	if d.u < 0 {
		b = append(b, '-')
	}
	b = strconv.AppendUint(b, u/decimalUnit, 10)
	frac := u % decimalUnit
	digits := DecimalPlaces
	if places < 0 {
		if frac == 0 {
			return b
		}
		for frac%10 == 0 {
			frac /= 10
			digits--
		}
	} else {
		if places == 0 {
			return b
		}
		frac /= uint64(pow10[DecimalPlaces-places])
		digits = places
	}
	b = append(b, '.')
	s := strconv.FormatUint(frac, 10)
	for i := len(s); i < digits; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// MarshalText implements encoding.TextMarshaler; JSON carries decimals as strings ("12.5") so no
// reader turns them into floats.
func (d Decimal) MarshalText() ([]byte, error) { return d.append(nil, -1), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Decimal) UnmarshalText(b []byte) error {
	v, err := ParseDecimal(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalJSON accepts a JSON string ("12.5") or a JSON number (12.5).
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("parsing decimal %q: %w", s, err)
		}
		*d = DecimalFromFloat(f)
		return nil
	}
	return d.UnmarshalText([]byte(s))
}

// Value implements driver.Valuer: decimals are stored as text, exactly.
func (d Decimal) Value() (driver.Value, error) { return d.String(), nil }

// Scan implements sql.Scanner for text, integer and (as a last resort) float columns.
func (d *Decimal) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = Zero
		return nil
	case string:
		return d.UnmarshalText([]byte(v))
	case []byte:
		return d.UnmarshalText(v)
	case int64:
		*d = DecimalFromInt(v)
		return nil
	case float64:
		*d = DecimalFromFloat(v)
		return nil
	}
	return fmt.Errorf("scanning decimal from %T", src)
}

func absU(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

func addChecked(a, b int64) (int64, bool) {
	s := a + b
	if (a > 0 && b > 0 && s < 0) || (a < 0 && b < 0 && s >= 0) {
		return 0, false
	}
	return s, true
}

func mulChecked(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	p := a * b
	if p/b != a {
		panic(ErrDecimalRange)
	}
	return p
}

// divRound divides a by a positive b, rounding half away from zero.
func divRound(a, b int64) int64 {
	q, r := a/b, a%b
	if r < 0 {
		r = -r
	}
	if 2*r >= b {
		if a < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}
