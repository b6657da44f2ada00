package dashboard

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/store"
)

// TraceStep is one line of a trace timeline.
type TraceStep struct {
	At      time.Time
	Kind    string // audit kind, "event" for a lifecycle transition, "dead_letter"
	Actor   string
	Summary string
	Subject string
	Refs    []string
	Message string // a message id whose raw document can be opened
	Problem bool
}

// TraceChain is one correlation id's timeline.
type TraceChain struct {
	CorrelationID string
	Steps         []TraceStep
	Messages      []*store.Message
	Orders        []*store.OrderRecord
}

// TraceView is the trace page's data.
type TraceView struct {
	Key    string
	Chains []TraceChain
	Looked bool
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimSpace(r.URL.Query().Get("q"))
	v := &TraceView{Key: key}
	if key != "" {
		chains, err := s.Trace(r.Context(), key)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Chains, v.Looked = chains, true
	}
	s.render(w, r, "trace", http.StatusOK, page{Title: "Trace", Nav: "trace", Data: v})
}

// Trace finds the chains of a key (PO number, control number, AS2 message id, sale order or
// invoice name, message or correlation id) and merges each chain's audit records, order events
// and dead letters into one timeline, oldest first.
func (s *Server) Trace(ctx context.Context, key string) ([]TraceChain, error) {
	ts, err := s.cfg.Actions.Trace(ctx, key)
	if err != nil {
		return nil, err
	}
	out := make([]TraceChain, 0, len(ts))
	for _, t := range ts {
		out = append(out, chainOf(t))
	}
	return out, nil
}

func chainOf(t hub.Trace) TraceChain {
	c := TraceChain{CorrelationID: t.CorrelationID, Messages: t.Messages, Orders: t.Orders}
	msgs := map[string]bool{}
	for _, m := range t.Messages {
		msgs[m.ID] = true
	}
	for _, r := range t.Records {
		st := TraceStep{At: r.At, Kind: r.Kind, Actor: r.Actor, Summary: r.Summary, Subject: r.Subject, Refs: r.Refs,
			Problem: strings.Contains(r.Kind, "reject") || strings.Contains(r.Kind, "dead")}
		if msgs[r.Subject] {
			st.Message = r.Subject
		}
		c.Steps = append(c.Steps, st)
	}
	for id, evs := range t.Events {
		for _, e := range evs {
			from := string(e.From)
			if from == "" {
				from = "∅"
			}
			c.Steps = append(c.Steps, TraceStep{At: e.At, Kind: "event", Actor: e.Actor, Subject: id,
				Summary: from + " → " + string(e.To) + reasonSuffix(e.Reason), Problem: e.To == "rejected" || e.To == "on_hold"})
		}
	}
	for _, d := range t.DeadLetters {
		c.Steps = append(c.Steps, TraceStep{At: d.CreatedAt, Kind: "dead_letter", Actor: d.JobKind, Subject: d.ID,
			Summary: string(d.State) + ": " + d.Reason + " — " + d.Message + locSuffix(d.Location), Problem: d.State == store.DeadOpen})
	}
	sort.SliceStable(c.Steps, func(i, j int) bool { return c.Steps[i].At.Before(c.Steps[j].At) })
	return c
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return " (" + r + ")"
}

func locSuffix(l string) string {
	if l == "" {
		return ""
	}
	return " at " + l
}

// RawMessage is the raw document view's data.
type RawMessage struct {
	Message  *store.Message
	Text     string
	Binary   bool
	Archived bool
	Missing  string
}

// maxRawView caps the bytes of a document shown on the page.
const maxRawView = 512 << 10

func (s *Server) rawMessage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	m, err := s.cfg.DB.Message(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no message "+id, http.StatusNotFound)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := &RawMessage{Message: m}
	payload := m.Payload
	if payload == nil && m.State != store.MessageDuplicate {
		if s.cfg.Loader != nil {
			if b, err := s.cfg.Loader.LoadPayload(r.Context(), m); err == nil {
				payload, v.Archived = b, true
			} else {
				v.Missing = "the payload was archived and could not be read back: " + err.Error()
			}
		} else {
			v.Missing = "the payload is not in the database (archived) and no archive is configured"
		}
	}
	if m.State == store.MessageDuplicate {
		v.Missing = "duplicates are stored without a payload; open the original " + m.DuplicateOf
	}
	if r.URL.Query().Get("download") == "1" && payload != nil {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="`+m.ID+`.bin"`)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		_, _ = w.Write(payload)
		return
	}
	if len(payload) > maxRawView {
		payload = payload[:maxRawView]
	}
	if utf8.Valid(payload) {
		v.Text = string(payload)
		if m.DocType == "x12" || strings.HasPrefix(v.Text, "ISA") {
			v.Text = breakSegments(v.Text)
		}
	} else {
		v.Binary = true
	}
	s.render(w, r, "message", http.StatusOK, page{Title: "Message " + m.ID, Nav: "trace", Data: v})
}

// breakSegments puts each X12 segment on its own line (the terminator is ISA's 106th byte).
func breakSegments(s string) string {
	if len(s) < 106 || strings.Contains(s[:106], "\n") {
		return s
	}
	term := s[105:106]
	return strings.ReplaceAll(s, term, term+"\n")
}
