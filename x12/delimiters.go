package x12

// Delimiters are the four separators of an interchange, taken from its ISA header.
// A zero Repetition means the interchange has no repetition separator (versions before 00402,
// or ISA11 'U').
type Delimiters struct {
	Element    byte // the byte after "ISA"
	Repetition byte // ISA11 in 00402 and later; 0 when absent
	Component  byte // ISA16
	Segment    byte // the byte after ISA16
}

// DefaultDelimiters are the delimiters most partners use: '*', '^', ':' and '~'.
var DefaultDelimiters = Delimiters{Element: '*', Repetition: '^', Component: ':', Segment: '~'}

// valid reports whether the delimiters are pairwise distinct and usable.
func (d Delimiters) valid() bool {
	b := []byte{d.Element, d.Component, d.Segment}
	if d.Repetition != 0 {
		b = append(b, d.Repetition)
	}
	for i := range b {
		if isAlnum(b[i]) {
			return false
		}
		for j := i + 1; j < len(b); j++ {
			if b[i] == b[j] {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}
