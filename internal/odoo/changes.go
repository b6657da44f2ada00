package odoo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/waybill-hub/waybill"
)

// Change capture polls write_date on three feeds: the hub's sale orders (hub reference set),
// outgoing deliveries linked to a sale order, and customer invoices and credit notes. Odoo stamps
// write_date with the time its transaction started, so a record can become visible after later
// ones were read: each poll looks back Config.ChangeOverlap before the newest write_date it
// returned, orders by (write_date, id), and drops what it already returned with the same
// write_date (the cursor carries those ids). A change is therefore never skipped as long as no
// Odoo transaction lasts longer than the overlap, and rarely returned twice.

type feed struct {
	kind   waybill.ChangeKind
	model  string
	domain func(c *Client) []any
	fields []string
}

var feeds = []feed{
	{waybill.ChangeOrder, "sale.order", func(c *Client) []any {
		return []any{[]any{c.cfg.HubRefField, "=like", c.cfg.HubRefPrefix + "%"}}
	}, []string{"id", "name", "write_date"}}, // plus the hub reference field, added in Changes
	{waybill.ChangeDelivery, "stock.picking", func(c *Client) []any {
		return []any{[]any{"picking_type_code", "=", "outgoing"}, []any{"sale_id", "!=", false}}
	}, []string{"id", "name", "write_date", "sale_id"}},
	{waybill.ChangeInvoice, "account.move", func(c *Client) []any {
		return []any{[]any{"move_type", "in", []any{"out_invoice", "out_refund"}}}
	}, []string{"id", "name", "write_date", "invoice_origin"}},
}

type feedPos struct {
	T    string           `json:"t,omitempty"` // newest write_date returned
	Seen map[int64]string `json:"s,omitempty"` // id → write_date returned, within the overlap of T
}

type cursorState map[waybill.ChangeKind]*feedPos

func decodeCursor(s string) (cursorState, error) {
	st := cursorState{}
	if s == "" {
		return st, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &st)
	}
	if err != nil {
		return nil, waybill.Errorf(waybill.EINVALID, "change_cursor", "malformed Odoo change cursor: %v", err)
	}
	return st, nil
}

func (st cursorState) encode() string {
	b, _ := json.Marshal(st)
	return base64.RawURLEncoding.EncodeToString(b)
}

type candidate struct {
	feed  int
	rec   record
	wdate string
}

// Changes implements waybill.ChangeFeed (see the comment at the top of changes.go). limit <= 0
// means 100. It makes one search_read per feed, plus one to find the hub references of the
// orders that changed deliveries and invoices belong to.
func (c *Client) Changes(ctx context.Context, cursor string, limit int) ([]waybill.Change, string, error) {
	if limit <= 0 {
		limit = 100
	}
	st, err := decodeCursor(cursor)
	if err != nil {
		return nil, cursor, err
	}
	var cands []candidate
	for i, f := range feeds {
		pos := st[f.kind]
		if pos == nil {
			pos = &feedPos{}
			st[f.kind] = pos
		}
		domain := f.domain(c)
		if pos.T != "" {
			t, _ := time.Parse(odooDatetime, pos.T)
			domain = append(domain, []any{"write_date", ">=", t.Add(-c.cfg.ChangeOverlap).Format(odooDatetime)})
		}
		fields := f.fields
		if f.kind == waybill.ChangeOrder {
			fields = append(fields[:len(fields):len(fields)], c.cfg.HubRefField)
		}
		rs, err := c.searchRead(ctx, f.model, domain, fields, map[string]any{"order": "write_date asc, id asc", "limit": limit + len(pos.Seen)})
		if err != nil {
			return nil, cursor, fmt.Errorf("polling %s changes: %w", f.model, err)
		}
		for _, r := range rs {
			wd := r.Str("write_date")
			if pos.Seen[r.ID()] == wd {
				continue
			}
			cands = append(cands, candidate{i, r, wd})
		}
	}
	sort.SliceStable(cands, func(a, b int) bool {
		x, y := cands[a], cands[b]
		if x.wdate != y.wdate {
			return x.wdate < y.wdate
		}
		if x.feed != y.feed {
			return x.feed < y.feed
		}
		return x.rec.ID() < y.rec.ID()
	})
	if len(cands) > limit {
		cands = cands[:limit]
	}
	out := make([]waybill.Change, 0, len(cands))
	for _, cd := range cands {
		f := feeds[cd.feed]
		ch := waybill.Change{Kind: f.kind, Ref: waybill.ERPRef{Model: f.model, ID: cd.rec.ID(), Name: cd.rec.Str("name")}, WriteDate: cd.rec.Time("write_date")}
		switch f.kind {
		case waybill.ChangeOrder:
			ch.Order = ch.Ref
			ch.HubRef = c.hubRefOf(cd.rec.Str(c.cfg.HubRefField))
		case waybill.ChangeDelivery:
			ch.Order = cd.rec.M2O("sale_id", "sale.order")
		case waybill.ChangeInvoice:
			if o := strings.TrimSpace(strings.Split(cd.rec.Str("invoice_origin"), ",")[0]); o != "" {
				ch.Order = waybill.ERPRef{Model: "sale.order", Name: o}
			}
		}
		out = append(out, ch)
		pos := st[f.kind]
		if cd.wdate > pos.T {
			pos.T = cd.wdate
		}
		if pos.Seen == nil {
			pos.Seen = map[int64]string{}
		}
		pos.Seen[cd.rec.ID()] = cd.wdate
	}
	for _, pos := range st { // forget what fell out of the overlap window
		if pos.T == "" {
			continue
		}
		t, _ := time.Parse(odooDatetime, pos.T)
		floor := t.Add(-c.cfg.ChangeOverlap).Format(odooDatetime)
		for id, wd := range pos.Seen {
			if wd < floor {
				delete(pos.Seen, id)
			}
		}
	}
	if err := c.resolveChangeOrders(ctx, out); err != nil {
		return nil, cursor, err
	}
	return out, st.encode(), nil
}

// resolveChangeOrders fills Order (id and name) and HubRef of changes with one search_read.
func (c *Client) resolveChangeOrders(ctx context.Context, chs []waybill.Change) error {
	var ids, names []any
	for _, ch := range chs {
		if ch.Kind == waybill.ChangeOrder {
			continue // read with its hub reference already
		}
		if ch.Order.ID != 0 {
			ids = append(ids, ch.Order.ID)
		} else if ch.Order.Name != "" {
			names = append(names, ch.Order.Name)
		}
	}
	if len(ids) == 0 && len(names) == 0 {
		return nil
	}
	domain := []any{"|", []any{"id", "in", ids}, []any{"name", "in", names}}
	rs, err := c.searchRead(ctx, "sale.order", domain, []string{"id", "name", c.cfg.HubRefField}, nil)
	if err != nil {
		return fmt.Errorf("reading sale orders of changes: %w", err)
	}
	byID, byName := map[int64]record{}, map[string]record{}
	for _, r := range rs {
		byID[r.ID()], byName[r.Str("name")] = r, r
	}
	for i := range chs {
		if chs[i].Kind == waybill.ChangeOrder {
			continue
		}
		o := &chs[i].Order
		r, ok := byID[o.ID]
		if !ok && o.ID == 0 {
			r, ok = byName[o.Name]
		}
		if !ok {
			if o.ID == 0 { // an invoice not made from a sale order
				*o = waybill.ERPRef{}
			}
			continue
		}
		*o = waybill.ERPRef{Model: "sale.order", ID: r.ID(), Name: r.Str("name")}
		chs[i].HubRef = c.hubRefOf(r.Str(c.cfg.HubRefField))
	}
	return nil
}

// ChangeCursorAt returns a cursor from which Changes returns what changed at or after t (minus
// the overlap), so that change capture can start now rather than from Odoo's first record.
func ChangeCursorAt(t time.Time) string {
	st := cursorState{}
	ts := t.UTC().Format(odooDatetime)
	for _, f := range feeds {
		st[f.kind] = &feedPos{T: ts}
	}
	return st.encode()
}
