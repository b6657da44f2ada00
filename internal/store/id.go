package store

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

var idMu sync.Mutex
var lastID struct {
	ms   uint64
	rand [10]byte
}

// NewID returns a new identifier with the given prefix: prefix + "_" + 26 characters of Crockford
// base32 holding a 48-bit millisecond timestamp and 80 random bits. IDs from one process sort in
// creation order (the random part is incremented within a millisecond).
func NewID(prefix string) string {
	idMu.Lock()
	ms := uint64(time.Now().UnixMilli())
	if ms <= lastID.ms {
		ms = lastID.ms
		for i := len(lastID.rand) - 1; i >= 0; i-- {
			lastID.rand[i]++
			if lastID.rand[i] != 0 {
				break
			}
		}
	} else {
		lastID.ms = ms
		_, _ = rand.Read(lastID.rand[:])
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], ms<<16)
	copy(b[6:], lastID.rand[:])
	idMu.Unlock()

	out := make([]byte, 0, len(prefix)+27)
	out = append(out, prefix...)
	out = append(out, '_')
	// 128 bits → 26 base32 characters, most significant first.
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	for i := 25; i >= 0; i-- {
		shift := uint(i * 5)
		var v uint64
		switch {
		case shift >= 64:
			v = hi >> (shift - 64)
		case shift+5 > 64:
			v = lo>>shift | hi<<(64-shift)
		default:
			v = lo >> shift
		}
		out = append(out, crockford[v&31])
	}
	return string(out)
}
