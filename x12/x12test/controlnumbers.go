// Package x12test holds conformance tests for implementations of the x12 package's interfaces,
// so that every implementation (in memory, SQLite, PostgreSQL) is held to the same contract.
package x12test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/waybill-hub/waybill/x12"
)

// ControlNumbers runs the conformance suite for an x12.ControlNumbers implementation. newCN
// returns a fresh, empty implementation for each subtest; when reopen is non-nil it returns a new
// instance over the same storage as its argument (a restart), to check that numbers persist.
func ControlNumbers(t *testing.T, newCN func(t *testing.T) x12.ControlNumbers, reopen func(t *testing.T, old x12.ControlNumbers) x12.ControlNumbers) {
	ctx := context.Background()

	t.Run("starts at 1 and increases", func(t *testing.T) {
		cn := newCN(t)
		prev := int64(0)
		for i := 0; i < 5; i++ {
			n, err := cn.Next(ctx, "ME", "YOU", x12.ControlInterchange)
			if err != nil {
				t.Fatal(err)
			}
			if n <= prev || n < 1 || n > 999999999 {
				t.Fatalf("number %d after %d: want increasing numbers from 1 to 999999999", n, prev)
			}
			prev = n
		}
	})

	t.Run("independent per partner and level", func(t *testing.T) {
		cn := newCN(t)
		first := map[string]int64{}
		for _, l := range []x12.ControlLevel{x12.ControlInterchange, x12.ControlGroup, x12.ControlSet} {
			for _, pair := range [][2]string{{"ME", "A"}, {"ME", "B"}, {"OTHER", "A"}} {
				n, err := cn.Next(ctx, pair[0], pair[1], l)
				if err != nil {
					t.Fatal(err)
				}
				first[fmt.Sprint(l, pair)] = n
			}
		}
		for k, n := range first {
			if n != 1 {
				t.Errorf("%s starts at %d, want 1 (each partner and level has its own sequence)", k, n)
			}
		}
	})

	t.Run("never reused under concurrent senders", func(t *testing.T) {
		cn := newCN(t)
		const workers, each = 8, 50
		var mu sync.Mutex
		seen := map[int64]bool{}
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < each; i++ {
					n, err := cn.Next(ctx, "ME", "YOU", x12.ControlGroup)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					if seen[n] {
						t.Errorf("control number %d handed out twice", n)
					}
					seen[n] = true
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != workers*each {
			t.Errorf("%d distinct numbers, want %d", len(seen), workers*each)
		}
	})

	t.Run("canceled context", func(t *testing.T) {
		cn := newCN(t)
		c, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := cn.Next(c, "ME", "YOU", x12.ControlSet); err == nil {
			t.Error("Next succeeded with a canceled context")
		}
	})

	if reopen != nil {
		t.Run("persisted across a restart", func(t *testing.T) {
			cn := newCN(t)
			last := int64(0)
			for i := 0; i < 3; i++ {
				n, err := cn.Next(ctx, "ME", "YOU", x12.ControlInterchange)
				if err != nil {
					t.Fatal(err)
				}
				last = n
			}
			again := reopen(t, cn)
			n, err := again.Next(ctx, "ME", "YOU", x12.ControlInterchange)
			if err != nil {
				t.Fatal(err)
			}
			if n <= last {
				t.Errorf("after a restart the next number is %d, not above %d", n, last)
			}
		})
	}
}
