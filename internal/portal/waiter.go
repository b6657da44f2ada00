package portal

import "sync"

// waiter wakes requests waiting for an order's outcome: the one waiting on a correlation id when
// the hub accepts its order in this process, and all of them when any job finishes (rejections,
// holds and duplicates have no hook of their own).
type waiter struct {
	mu  sync.Mutex
	gen chan struct{}
	by  map[string]chan struct{}
}

func newWaiter() *waiter { return &waiter{gen: make(chan struct{}), by: map[string]chan struct{}{}} }

// generation returns a channel closed at the next broadcast.
func (w *waiter) generation() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.gen
}

// broadcast wakes every waiter.
func (w *waiter) broadcast() {
	w.mu.Lock()
	close(w.gen)
	w.gen = make(chan struct{})
	w.mu.Unlock()
}

// listen returns a channel signalled when notify(corr) is called.
func (w *waiter) listen(corr string) chan struct{} {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	w.by[corr] = ch
	w.mu.Unlock()
	return ch
}

func (w *waiter) unlisten(corr string, ch chan struct{}) {
	w.mu.Lock()
	if w.by[corr] == ch {
		delete(w.by, corr)
	}
	w.mu.Unlock()
}

// notify wakes the request waiting on corr, if any.
func (w *waiter) notify(corr string) {
	w.mu.Lock()
	ch := w.by[corr]
	w.mu.Unlock()
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
