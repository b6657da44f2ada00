package edi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/jobs"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/internal/store"
)

// InventoryAdvice is the canonical document an 846 is rendered from: the ERP's free-to-promise
// quantity of every item in the partner's item cross-reference, in the partner's codes.
type InventoryAdvice struct {
	Reference string       `json:"reference"` // BIA03: partner and date-time
	Date      time.Time    `json:"date"`
	Items     []AdviceItem `json:"items"`
}

// AdviceItem is one item of an inventory advice.
type AdviceItem struct {
	BuyerItem  string          `json:"buyer_item,omitempty"`
	VendorItem string          `json:"vendor_item,omitempty"`
	GTIN       string          `json:"gtin,omitempty"`
	Kind1      string          `json:"kind1,omitempty"` // as in HLItem: codes without gaps
	ID1        string          `json:"id1,omitempty"`
	Kind2      string          `json:"kind2,omitempty"`
	ID2        string          `json:"id2,omitempty"`
	Kind3      string          `json:"kind3,omitempty"`
	ID3        string          `json:"id3,omitempty"`
	Available  waybill.Decimal `json:"available"` // free to promise, never negative
	OnHand     waybill.Decimal `json:"on_hand"`
	UOM        string          `json:"uom"`
}

// AdviseInventory is the job sending one partner its 846.
type AdviseInventory struct {
	Partner string `json:"partner"`
}

// Kind implements river.JobArgs.
func (AdviseInventory) Kind() string { return "edi_inventory_advice" }

// Subject implements jobs.Args.
func (a AdviseInventory) Subject() jobs.Subject { return jobs.Subject{Partner: a.Partner} }

// InsertOpts keeps at most one advice per partner waiting.
func (AdviseInventory) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: jobs.UniqueWhileWaiting}
}

// InventorySchedules returns, per partner with an outbound 846, how often to send it: the
// document's schedule as a Go duration ("6h"), "@every 6h", "@hourly" or "@daily" (empty: daily).
// A schedule it cannot read is an error naming the profile.
func (f *Flow) InventorySchedules() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	var errs []error
	for _, id := range f.partners.IDs() {
		p, _ := f.partners.Profile(id)
		d, ok := p.Doc("846", partner.Outbound)
		if !ok {
			continue
		}
		every, err := parseSchedule(d.Schedule)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: documents 846 schedule: %w", p.File(), err))
			continue
		}
		out[id] = every
	}
	return out, errors.Join(errs...)
}

func parseSchedule(s string) (time.Duration, error) {
	switch s = strings.TrimSpace(s); s {
	case "", "@daily":
		return 24 * time.Hour, nil
	case "@hourly":
		return time.Hour, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(s, "@every")))
	if err != nil || d < time.Minute {
		return 0, fmt.Errorf("%q is not a schedule (a duration of at least 1m, @every 6h, @hourly or @daily)", s)
	}
	return d, nil
}

// AdviseInventory renders and queues one 846 for a partner from the ERP's free-to-promise
// quantities of the items in its cross-reference (ERP calls outside any transaction). Partners
// without an outbound 846 or without items are skipped.
func (f *Flow) AdviseInventory(ctx context.Context, partnerID string) error {
	p, ok := f.partners.Profile(partnerID)
	if !ok {
		return waybill.Errorf(waybill.ENOTFOUND, "no_edi_profile", "partner %s has no EDI profile", partnerID)
	}
	m, ok := f.Mapping(p.ID, "846", partner.Outbound)
	if !ok || len(p.XRef.Items) == 0 {
		return nil
	}
	erp := f.h.ERP()
	keys := make([]waybill.ProductKey, len(p.XRef.Items))
	for i, it := range p.XRef.Items {
		keys[i] = waybill.ProductKey{SKU: it.SKU, GTIN: it.GTIN}
	}
	found, err := erp.FindProducts(ctx, keys)
	if err != nil {
		return fmt.Errorf("finding %s's items in the ERP: %w", p.ID, err)
	}
	var refs []waybill.ERPRef
	var items []partner.ItemXRef
	var products []waybill.Product
	for i, r := range found {
		if r.Err != nil || r.Product.Ref.ID == 0 {
			f.log.Warn("846: item not in the ERP", "partner", p.ID, "item", p.XRef.Items[i].Partner)
			continue
		}
		refs, items, products = append(refs, r.Product.Ref), append(items, p.XRef.Items[i]), append(products, r.Product)
	}
	if len(refs) == 0 {
		return nil
	}
	stock, err := erp.Stock(ctx, refs, "")
	if err != nil {
		return fmt.Errorf("reading stock for %s: %w", p.ID, err)
	}
	byID := map[int64]waybill.InventoryPosition{}
	for _, s := range stock {
		cur := byID[s.Product.ID] // several locations or lots of one product add up
		cur.OnHand, cur.FreeToPromise, cur.UOM = cur.OnHand.Add(s.OnHand), cur.FreeToPromise.Add(s.FreeToPromise), firstNonEmpty(cur.UOM, s.UOM)
		byID[s.Product.ID] = cur
	}
	now := f.now()
	adv := &InventoryAdvice{Reference: fmt.Sprintf("%s-%s", strings.ToUpper(p.ID), now.Format("20060102150405")), Date: now}
	for i, it := range items {
		pos := byID[refs[i].ID]
		uom := firstNonEmpty(it.UOM, products[i].UOM, pos.UOM, "EA")
		ai := AdviceItem{BuyerItem: it.Partner, VendorItem: products[i].SKU, GTIN: products[i].GTIN, Available: pos.FreeToPromise.Max(waybill.Zero),
			OnHand: pos.OnHand, UOM: uom}
		h := HLItem{BuyerItem: ai.BuyerItem, VendorItem: ai.VendorItem, GTIN: ai.GTIN}
		h.setIDs()
		ai.Kind1, ai.ID1, ai.Kind2, ai.ID2, ai.Kind3, ai.ID3 = h.Kind1, h.ID1, h.Kind2, h.ID2, h.Kind3, h.ID3
		adv.Items = append(adv.Items, ai)
	}
	tree, err := ToTree(adv)
	if err != nil {
		return err
	}
	return f.h.DB().InTx(ctx, func(tx *store.Tx) error {
		doc := &waybill.Order{CorrelationID: store.NewID("cor")} // an 846 belongs to no order
		id, c, err := f.emitSet(ctx, tx, p, m, "846", tree, doc, map[string]string{"reference": adv.Reference}, adv.Reference)
		var re *renderError
		if errors.As(err, &re) {
			return &waybill.Error{Code: waybill.EINVALID, Reason: ReasonRender, Message: re.Error(), Where: waybill.Location{Partner: p.ID}}
		}
		if err != nil {
			return err
		}
		return tx.Audit(ctx, store.AuditRecord{Kind: "edi.846", CorrelationID: doc.CorrelationID, Partner: p.ID, Subject: id, Actor: "edi",
			Summary: fmt.Sprintf("846 %s for %s: %d items (ISA %s)", adv.Reference, p.ID, len(adv.Items), c.Interchange),
			Refs:    []string{adv.Reference, id, c.Interchange}})
	})
}

// InventoryWorker returns the worker of AdviseInventory jobs, run under the hub's retry and
// dead-letter policy. Add it to the queue's workers before the queue starts.
func (f *Flow) InventoryWorker() river.Worker[AdviseInventory] { return &inventoryWorker{f: f} }

type inventoryWorker struct {
	river.WorkerDefaults[AdviseInventory]
	f *Flow
}

func (w *inventoryWorker) Work(ctx context.Context, job *river.Job[AdviseInventory]) error {
	return w.f.h.Runner().Run(ctx, job.JobRow, job.Args, func(ctx context.Context) error {
		return w.f.AdviseInventory(ctx, job.Args.Partner)
	})
}
