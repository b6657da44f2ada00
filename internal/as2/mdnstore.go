package as2

import (
	"context"
	"sort"
	"sync"
	"time"
)

// PendingMDN is a message we sent whose asynchronous MDN has not arrived yet.
type PendingMDN struct {
	MessageID  string    // the AS2 Message-ID we sent
	Partner    string    // the partner's hub id
	OutboundID string    // waybill.OutboundMessage.ID
	MIC        string    // the MIC the MDN must return ("digest, alg")
	SignedMDN  bool      // an unsigned MDN is to be refused
	SentAt     time.Time // when the message was posted
	Deadline   time.Time // after this the missing MDN is an exception
}

// MDNStore keeps the asynchronous MDNs we wait for. Implementations must be safe for concurrent
// use and should be durable (the hub's database), so a restart does not forget them.
type MDNStore interface {
	// PutPending records p, replacing a record with the same MessageID (a resend).
	PutPending(ctx context.Context, p PendingMDN) error
	// TakePending removes and returns the record for messageID; ok is false when there is none.
	TakePending(ctx context.Context, messageID string) (p PendingMDN, ok bool, err error)
	// PendingMDNs returns every record, oldest first.
	PendingMDNs(ctx context.Context) ([]PendingMDN, error)
}

// MemoryMDNStore is an MDNStore in memory, for tests and single-process setups that accept losing
// pending MDNs on restart. The zero value is ready to use.
type MemoryMDNStore struct {
	mu sync.Mutex
	m  map[string]PendingMDN
}

var _ MDNStore = (*MemoryMDNStore)(nil)

// PutPending implements MDNStore.
func (s *MemoryMDNStore) PutPending(_ context.Context, p PendingMDN) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]PendingMDN{}
	}
	s.m[p.MessageID] = p
	return nil
}

// TakePending implements MDNStore.
func (s *MemoryMDNStore) TakePending(_ context.Context, id string) (PendingMDN, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.m[id]
	delete(s.m, id)
	return p, ok, nil
}

// PendingMDNs implements MDNStore.
func (s *MemoryMDNStore) PendingMDNs(context.Context) ([]PendingMDN, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]PendingMDN, 0, len(s.m))
	for _, p := range s.m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SentAt.Before(out[j].SentAt) })
	return out, nil
}
