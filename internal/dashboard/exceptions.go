package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/store"
)

// exceptionLimit caps the dead letters and holds one page lists (counts stay exact).
const exceptionLimit = 1000

// ExceptionGroup is the open dead letters sharing one reason.
type ExceptionGroup struct {
	Reason  string
	Code    string
	Fix     string
	Count   int64
	Letters []*store.DeadLetter
}

// Hold is an order on hold with why.
type Hold struct {
	Order      *waybill.Order
	Reason     string
	DeadLetter string // the open dead letter that holds it, when there is one
}

// Exceptions is the exceptions page's data.
type Exceptions struct {
	Groups []ExceptionGroup
	Holds  []Hold
	Total  int64
}

// SuggestedFix says what a person should do about a dead letter, from its reason and code.
func SuggestedFix(reason, code string) string {
	switch reason {
	case "duplicate_po":
		return "The PO was received before. Replay to accept it as a separate order, release the hold, or discard it if it is a resend."
	case "unknown_partner":
		return "Add the partner to the configuration (partners:), restart, then replay."
	case "unknown_doc_type":
		return "No translation is registered for this document type: check the partner's document settings, then replay."
	case "panic":
		return "A bug stopped the job: report it with the correlation id; replay once fixed."
	case "retries_exhausted":
		return "A dependency failed for too long. Check the technical health page (Odoo reachability, breaker), then replay all."
	}
	switch waybill.ErrorCode(code) {
	case waybill.EINVALID:
		return "The document breaks a rule at the location shown: fix the partner mapping or cross-reference, or ask the partner to resend; then replay."
	case waybill.ENOTFOUND:
		return "A referenced record is missing: create the customer, address or product in Odoo (or add a cross-reference), then replay."
	case waybill.EREJECTED:
		return "Odoo refused the order with the message shown: fix the data in Odoo (credit, pricelist, product), then replay."
	case waybill.EUNAUTHORIZED, waybill.EFORBIDDEN:
		return "The hub's Odoo credentials or rights are wrong: fix the API key or the user's access rights, then replay all."
	case waybill.EUNAVAILABLE:
		return "Odoo was unreachable: check the technical health page, then replay all of this reason."
	case waybill.ECONFLICT:
		return "The record's state does not allow this: check the trace, then replay or discard."
	}
	return "Read the message and the trace, fix the cause, then replay."
}

func (s *Server) exceptions(w http.ResponseWriter, r *http.Request) {
	ex, err := s.Exceptions(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, "exceptions", http.StatusOK, page{Title: "Exceptions", Nav: "exceptions", Data: ex})
}

// Exceptions reads open dead letters grouped by reason (largest group first) and orders on hold.
func (s *Server) Exceptions(ctx context.Context) (*Exceptions, error) {
	db := s.cfg.DB
	counts, err := db.CountDeadLetters(ctx)
	if err != nil {
		return nil, err
	}
	dls, err := db.DeadLetters(ctx, store.DeadLetterFilter{Limit: exceptionLimit})
	if err != nil {
		return nil, err
	}
	ex := &Exceptions{}
	groups := map[string]*ExceptionGroup{}
	for reason, n := range counts {
		groups[reason] = &ExceptionGroup{Reason: reason, Count: n}
		ex.Total += n
	}
	openByOrder := map[string]string{}
	for _, d := range dls {
		g := groups[d.Reason]
		if g == nil {
			g = &ExceptionGroup{Reason: d.Reason, Count: 1}
			groups[d.Reason] = g
		}
		if g.Code == "" {
			g.Code, g.Fix = d.Code, SuggestedFix(d.Reason, d.Code)
		}
		g.Letters = append(g.Letters, d)
		if d.OrderID != "" {
			openByOrder[d.OrderID] = d.ID
		}
	}
	for _, g := range groups {
		if g.Fix == "" {
			g.Fix = SuggestedFix(g.Reason, "")
		}
		ex.Groups = append(ex.Groups, *g)
	}
	sort.Slice(ex.Groups, func(i, j int) bool {
		if ex.Groups[i].Count != ex.Groups[j].Count {
			return ex.Groups[i].Count > ex.Groups[j].Count
		}
		return ex.Groups[i].Reason < ex.Groups[j].Reason
	})
	holds, err := db.Orders(ctx, store.OrderFilter{State: waybill.OrderOnHold, Limit: exceptionLimit})
	if err != nil {
		return nil, err
	}
	for _, h := range holds {
		hold := Hold{Order: h.Order, DeadLetter: openByOrder[h.Order.ID]}
		evs, err := db.OrderEvents(ctx, h.Order.ID)
		if err != nil {
			return nil, err
		}
		for i := len(evs) - 1; i >= 0; i-- {
			if evs[i].To == waybill.OrderOnHold {
				hold.Reason = evs[i].Reason
				break
			}
		}
		ex.Holds = append(ex.Holds, hold)
	}
	return ex, nil
}

// back redirects to the exceptions page with a message.
func back(w http.ResponseWriter, r *http.Request, flash string, err error) {
	v := url.Values{}
	if err != nil {
		v.Set("error", userError(err))
	} else {
		v.Set("flash", flash)
	}
	to := r.PostFormValue("back")
	if !strings.HasPrefix(to, Prefix) || strings.HasPrefix(to, "//") {
		to = "/ui/exceptions"
	}
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	http.Redirect(w, r, to+sep+v.Encode(), http.StatusSeeOther)
}

// userError shows coded errors as they are and hides anything else behind a generic text.
func userError(err error) string {
	if c := waybill.Code(err); c != "" && c != waybill.EINTERNAL {
		return waybill.Message(err)
	}
	return "the action failed; see the hub's log"
}

func (s *Server) replay(w http.ResponseWriter, r *http.Request) {
	by := sessionFrom(r.Context()).Operator
	id := r.PostFormValue("id")
	err := s.replayOne(r.Context(), id, by)
	back(w, r, fmt.Sprintf("Replayed %s.", id), err)
}

// replayOne puts an archived payload back online when the dead letter's message was purged, then
// replays the dead letter.
func (s *Server) replayOne(ctx context.Context, id, by string) error {
	d, err := s.cfg.DB.DeadLetter(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return waybill.Errorf(waybill.ENOTFOUND, "no_dead_letter", "no dead letter %s", id)
	}
	if err != nil {
		return err
	}
	if d.MessageID != "" {
		if err := s.restore(ctx, d.MessageID); err != nil {
			return err
		}
	}
	if err := s.cfg.Actions.Replay(ctx, id, by); err != nil {
		s.log.Warn("dashboard: replay failed", "dead_letter", id, "operator", by, "error", err, "correlation_id", d.CorrelationID)
		return err
	}
	s.log.Info("dashboard: replayed", "dead_letter", id, "operator", by, "correlation_id", d.CorrelationID)
	return nil
}

// restore reads a purged payload back from the archive into the store.
func (s *Server) restore(ctx context.Context, msgID string) error {
	m, err := s.cfg.DB.Message(ctx, msgID)
	if err != nil || m.Payload != nil || m.State == store.MessageDuplicate || s.cfg.Loader == nil {
		return nil
	}
	if _, err := s.cfg.DB.ArchiveEntry(ctx, msgID); err != nil {
		return nil // never archived: nothing to restore
	}
	b, err := s.cfg.Loader.LoadPayload(ctx, m)
	if err != nil {
		return waybill.Errorf(waybill.EUNAVAILABLE, "archive_unavailable", "reading message %s back from the archive: %v", msgID, err)
	}
	return s.cfg.DB.InTx(ctx, func(tx *store.Tx) error { return tx.RestorePayload(ctx, msgID, b) })
}

func (s *Server) replayReason(w http.ResponseWriter, r *http.Request) {
	by := sessionFrom(r.Context()).Operator
	reason := r.PostFormValue("reason")
	dls, err := s.cfg.DB.DeadLetters(r.Context(), store.DeadLetterFilter{Reason: reason})
	if err != nil {
		back(w, r, "", err)
		return
	}
	ok, failed := 0, 0
	for _, d := range dls {
		if err := s.replayOne(r.Context(), d.ID, by); err != nil {
			failed++
			continue
		}
		ok++
	}
	if failed > 0 {
		back(w, r, "", waybill.Errorf(waybill.ECONFLICT, "replay_partial", "replayed %d of %d dead letters with reason %s; %d failed (see the log)", ok, ok+failed, reason, failed))
		return
	}
	back(w, r, fmt.Sprintf("Replayed %d dead letters with reason %s.", ok, reason), nil)
}

func (s *Server) discard(w http.ResponseWriter, r *http.Request) {
	by := sessionFrom(r.Context()).Operator
	id, why := r.PostFormValue("id"), strings.TrimSpace(r.PostFormValue("why"))
	if why == "" {
		why = "discarded from the dashboard"
	}
	err := s.cfg.Actions.Discard(r.Context(), id, by, why)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err = waybill.Errorf(waybill.ENOTFOUND, "no_dead_letter", "no dead letter %s", id)
	case errors.Is(err, store.ErrConflict):
		err = waybill.Errorf(waybill.ECONFLICT, "not_open", "dead letter %s is not open (already replayed or discarded)", id)
	}
	back(w, r, fmt.Sprintf("Discarded %s.", id), err)
}

func (s *Server) release(w http.ResponseWriter, r *http.Request) {
	by := sessionFrom(r.Context()).Operator
	id := r.PostFormValue("order")
	err := s.Release(r.Context(), id, by)
	back(w, r, fmt.Sprintf("Released order %s.", id), err)
}

// Release takes an order off hold: when an open dead letter holds it, that dead letter is
// replayed; otherwise the order goes back to validated and its submission to the ERP is
// scheduled, audited with the operator's name.
func (s *Server) Release(ctx context.Context, orderID, by string) error {
	db := s.cfg.DB
	dls, err := db.DeadLetters(ctx, store.DeadLetterFilter{})
	if err != nil {
		return err
	}
	for _, d := range dls {
		if d.OrderID == orderID {
			return s.replayOne(ctx, d.ID, by)
		}
	}
	err = db.InTx(ctx, func(tx *store.Tx) error {
		rec, err := tx.Order(ctx, orderID)
		if err != nil {
			return err
		}
		o := rec.Order
		if o.State != waybill.OrderOnHold {
			return waybill.Errorf(waybill.ECONFLICT, "not_on_hold", "order %s is %s, not on hold", orderID, o.State)
		}
		if _, err := tx.Transition(ctx, rec, waybill.OrderValidated, waybill.OwnerHub, by, "released by "+by); err != nil {
			return err
		}
		if err := tx.Audit(ctx, store.AuditRecord{Kind: "hold.release", CorrelationID: o.CorrelationID, Partner: o.Partner, Subject: o.ID,
			Actor: by, Summary: fmt.Sprintf("%s released order %s (PO %s) from hold", by, o.ID, o.PONumber), Refs: []string{o.PONumber}}); err != nil {
			return err
		}
		return s.cfg.Queue.InsertTx(ctx, tx, hub.SubmitOrder{OrderID: o.ID, CorrelationID: o.CorrelationID, Partner: o.Partner}, nil)
	})
	if errors.Is(err, store.ErrNotFound) {
		return waybill.Errorf(waybill.ENOTFOUND, "no_order", "no order %s", orderID)
	}
	return err
}
