package edi

import (
	"context"
	"fmt"

	"github.com/waybill-hub/waybill/internal/store"
)

// RecordMappingVersions compares each partner document's mapping version with the one last
// recorded and records every change in the audit trail with who (by) and when. It runs at start:
// a profile edit that moves a partner to another mapping version is therefore always visible in
// `waybill trace <partner>` and the audit trail, whoever edited the file. It returns the changes.
func (f *Flow) RecordMappingVersions(ctx context.Context, db *store.DB, by string) ([]string, error) {
	var changes []string
	for _, id := range f.partners.IDs() {
		p, _ := f.partners.Profile(id)
		for _, d := range p.Documents {
			doc := d.Set + " " + string(d.Direction)
			prev, err := db.MappingVersion(ctx, id, doc)
			if err != nil {
				return nil, err
			}
			if prev == d.Mapping {
				continue
			}
			summary := fmt.Sprintf("%s %s mapping set to %s by %s", id, doc, d.Mapping, by)
			if prev != "" {
				summary = fmt.Sprintf("%s %s mapping changed from %s to %s by %s", id, doc, prev, d.Mapping, by)
			}
			err = db.InTx(ctx, func(tx *store.Tx) error {
				if err := tx.SetMappingVersion(ctx, id, doc, d.Mapping, by); err != nil {
					return err
				}
				return tx.Audit(ctx, store.AuditRecord{Kind: "mapping.version", CorrelationID: "partner:" + id, Partner: id, Subject: id,
					Actor: by, Summary: summary, Detail: map[string]any{"doc": doc, "from": prev, "to": d.Mapping, "profile": p.File()},
					Refs: []string{id, "mapping:" + id + ":" + d.Set}})
			})
			if err != nil {
				return nil, err
			}
			changes = append(changes, summary)
		}
	}
	return changes, nil
}
