package transport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/csvfeed"
	"github.com/waybill-hub/waybill/internal/store"
)

// buildCSV loads every CSV partner's mapping and applies the profile's policy.
func (c *Channels) buildCSV() []error {
	var errs []error
	for _, pt := range c.sorted() {
		cv := pt.Transport.CSV
		if cv == nil {
			continue
		}
		where := fmt.Sprintf("partner %s: transport.csv", pt.ID)
		if cv.MappingFile == "" {
			errs = append(errs, fmt.Errorf("%s.mapping_file: is required", where))
			continue
		}
		file := pt.path(cv.MappingFile)
		data, err := pt.readFile(cv.MappingFile)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.mapping_file: %w", where, err))
			continue
		}
		m, err := csvfeed.LoadMapping(file, data)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s.mapping_file: %w", where, err))
			continue
		}
		switch strings.ReplaceAll(cv.Policy, "-", "_") {
		case "":
		case string(csvfeed.PolicyRejectFile):
			m.Policy = csvfeed.PolicyRejectFile
		case string(csvfeed.PolicyAcceptGood):
			m.Policy = csvfeed.PolicyAcceptGood
		default:
			errs = append(errs, fmt.Errorf("%s.policy: %q is not reject-file or accept-good", where, cv.Policy))
			continue
		}
		if m.Document != csvfeed.DocOrder {
			errs = append(errs, fmt.Errorf("%s.mapping_file: inbound CSV must map orders, %s maps %s", where, file, m.Document))
			continue
		}
		if m.Partner == "" {
			m.Partner = pt.ID
		}
		c.mappings[pt.ID] = m
	}
	return errs
}

// decodeCSV is the hub decoder of "csv" messages: the partner's file read with its mapping.
// Under reject-file, one bad row rejects the file (the dead letter lists every row error with
// its row and column); under accept-good the good orders go on and the row errors are recorded
// in the audit trail of the message (kind csv.rows_rejected), findable by trace.
func (c *Channels) decodeCSV(ctx context.Context, msg *store.Message, p waybill.Partner) ([]*waybill.Order, error) {
	m, ok := c.mappings[msg.Partner]
	if !ok {
		return nil, &waybill.Error{Code: waybill.EINVALID, Reason: "no_csv_mapping",
			Message: fmt.Sprintf("partner %s has no CSV mapping", msg.Partner), Where: waybill.Location{Partner: msg.Partner}}
	}
	orders, rowErrs, err := csvfeed.DecodeOrders(bytes.NewReader(msg.Payload), m)
	if err != nil {
		return nil, err
	}
	if len(rowErrs) > 0 {
		if err := c.recordRowErrors(ctx, msg, rowErrs, len(orders)); err != nil {
			// The orders must not go on without their row errors on record: retry.
			return nil, waybill.Unavailable(err, "recording CSV row errors of %s", msg.ID)
		}
	}
	out := make([]*waybill.Order, len(orders))
	for i := range orders {
		out[i] = &orders[i]
	}
	return out, nil
}

func (c *Channels) recordRowErrors(ctx context.Context, msg *store.Message, rowErrs []csvfeed.RowError, accepted int) error {
	rows := make([]map[string]any, len(rowErrs))
	for i, e := range rowErrs {
		rows[i] = map[string]any{"row": e.Row, "column": e.Column, "column_name": e.ColumnName, "field": e.Field, "value": e.Value,
			"message": e.Message, "text": e.Error()}
	}
	// A replayed message records its row errors again only if they were not recorded yet.
	if prev, err := RowErrors(ctx, c.hub.DB(), msg); err == nil && prev != nil {
		return nil
	}
	return c.hub.DB().InTx(ctx, func(tx *store.Tx) error {
		return tx.Audit(ctx, store.AuditRecord{Kind: "csv.rows_rejected", CorrelationID: msg.CorrelationID, Partner: msg.Partner,
			Subject: msg.ID, Actor: "hub", Summary: fmt.Sprintf("%d CSV row error(s) in %s; %d order(s) accepted: %s", len(rowErrs),
				msg.Filename, accepted, rowErrs[0].Error()), Detail: map[string]any{"row_errors": rows}, Refs: []string{msg.ID}})
	})
}

// RowErrors returns the CSV row errors recorded for an inbound message (accept-good policy).
func RowErrors(ctx context.Context, db *store.DB, msg *store.Message) ([]map[string]any, error) {
	trail, err := db.AuditTrail(ctx, msg.CorrelationID)
	if err != nil {
		return nil, err
	}
	for _, r := range trail {
		if r.Kind == "csv.rows_rejected" && r.Subject == msg.ID {
			list, _ := r.Detail["row_errors"].([]any)
			out := make([]map[string]any, 0, len(list))
			for _, x := range list {
				if m, ok := x.(map[string]any); ok {
					out = append(out, m)
				}
			}
			return out, nil
		}
	}
	return nil, nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", errors.New("no randomness: " + err.Error())
	}
	return "wbt_" + hex.EncodeToString(b), nil
}
