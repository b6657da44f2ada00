package as2

import (
	"bytes"
	"errors"
	"fmt"
)

// errBER reports a malformed BER/DER encoding.
var errBER = errors.New("malformed BER encoding")

// berToDER rewrites a BER encoding with indefinite lengths into one with definite lengths, which
// encoding/asn1 can read. Constructed strings stay constructed; readers of OCTET STRINGs in this
// package accept both forms (see octets). Input that is already DER comes back unchanged.
func berToDER(b []byte) ([]byte, error) {
	var out bytes.Buffer
	rest, err := berCopy(&out, b, 0)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBER, len(rest))
	}
	return out.Bytes(), nil
}

const berMaxDepth = 64

// berCopy reads one element from b, writes its definite-length form to out and returns the rest.
func berCopy(out *bytes.Buffer, b []byte, depth int) ([]byte, error) {
	if depth > berMaxDepth {
		return nil, fmt.Errorf("%w: nested too deeply", errBER)
	}
	tag, b, err := berTag(b)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: missing length", errBER)
	}
	constructed := tag[0]&0x20 != 0
	if b[0] == 0x80 { // indefinite length
		if !constructed {
			return nil, fmt.Errorf("%w: indefinite length on a primitive", errBER)
		}
		b = b[1:]
		var inner bytes.Buffer
		for {
			if len(b) >= 2 && b[0] == 0 && b[1] == 0 {
				b = b[2:]
				break
			}
			if len(b) == 0 {
				return nil, fmt.Errorf("%w: unterminated indefinite length", errBER)
			}
			if b, err = berCopy(&inner, b, depth+1); err != nil {
				return nil, err
			}
		}
		writeTLV(out, tag, inner.Bytes())
		return b, nil
	}
	n, b, err := berLength(b)
	if err != nil {
		return nil, err
	}
	if n > len(b) {
		return nil, fmt.Errorf("%w: length %d exceeds the %d bytes left", errBER, n, len(b))
	}
	content, rest := b[:n], b[n:]
	if !constructed {
		writeTLV(out, tag, content)
		return rest, nil
	}
	var inner bytes.Buffer
	for len(content) > 0 {
		if content, err = berCopy(&inner, content, depth+1); err != nil {
			return nil, err
		}
	}
	writeTLV(out, tag, inner.Bytes())
	return rest, nil
}

func berTag(b []byte) (tag, rest []byte, err error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("%w: missing tag", errBER)
	}
	i := 1
	if b[0]&0x1f == 0x1f { // high tag number: base-128 continuation bytes
		for {
			if i >= len(b) || i > 5 {
				return nil, nil, fmt.Errorf("%w: bad high tag number", errBER)
			}
			i++
			if b[i-1]&0x80 == 0 {
				break
			}
		}
	}
	return b[:i], b[i:], nil
}

func berLength(b []byte) (int, []byte, error) {
	first := b[0]
	b = b[1:]
	if first&0x80 == 0 {
		return int(first), b, nil
	}
	k := int(first & 0x7f)
	if k == 0 || k > 4 || k > len(b) {
		return 0, nil, fmt.Errorf("%w: bad length of length %d", errBER, k)
	}
	n := 0
	for _, c := range b[:k] {
		n = n<<8 | int(c)
	}
	if n < 0 {
		return 0, nil, fmt.Errorf("%w: negative length", errBER)
	}
	return n, b[k:], nil
}

func writeTLV(out *bytes.Buffer, tag, content []byte) {
	out.Write(tag)
	n := len(content)
	switch {
	case n < 0x80:
		out.WriteByte(byte(n))
	default:
		var l []byte
		for v := n; v > 0; v >>= 8 {
			l = append([]byte{byte(v)}, l...)
		}
		out.WriteByte(0x80 | byte(len(l)))
		out.Write(l)
	}
	out.Write(content)
}
