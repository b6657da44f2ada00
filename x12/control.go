package x12

import (
	"context"
	"fmt"
	"sync"
)

// ControlLevel is the envelope level a control number is for.
type ControlLevel string

const (
	ControlInterchange ControlLevel = "ISA" // ISA13/IEA02: 1 to 999999999
	ControlGroup       ControlLevel = "GS"  // GS06/GE02: 1 to 999999999
	ControlSet         ControlLevel = "ST"  // ST02/SE02: 1 to 999999999 (written with at least 4 digits)
)

// ControlNumbers hands out control numbers per sender, receiver and level. Implementations must
// never return the same number twice for the same sender, receiver and level (until the range
// wraps after 999999999), must persist what they handed out, and must be safe for concurrent use
// by several goroutines or processes.
type ControlNumbers interface {
	Next(ctx context.Context, sender, receiver string, level ControlLevel) (int64, error)
}

// MemoryControlNumbers is an in-memory ControlNumbers, for tests and one-shot tools: numbers start
// at 1 and are lost when the process ends. The zero value is ready to use.
type MemoryControlNumbers struct {
	mu   sync.Mutex
	last map[string]int64
}

var _ ControlNumbers = (*MemoryControlNumbers)(nil)

// Next returns the next number for sender, receiver and level.
func (m *MemoryControlNumbers) Next(ctx context.Context, sender, receiver string, level ControlLevel) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last == nil {
		m.last = map[string]int64{}
	}
	k := string(level) + "\x00" + sender + "\x00" + receiver
	n := m.last[k] + 1
	if n > 999999999 {
		n = 1
	}
	m.last[k] = n
	return n, nil
}

// FormatControl formats a control number for its level: 9 digits for ISA13, at least 4 for
// ST02, no padding for GS06.
func FormatControl(level ControlLevel, n int64) string {
	switch level {
	case ControlInterchange:
		return fmt.Sprintf("%09d", n)
	case ControlSet:
		return fmt.Sprintf("%04d", n)
	}
	return fmt.Sprint(n)
}
