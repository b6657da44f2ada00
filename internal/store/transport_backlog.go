package store

import (
	"context"
	"fmt"

	"github.com/waybill-hub/waybill"
)

// PartnerBacklog counts, inside tx, a partner's work waiting in the pipeline: inbound messages
// still received (not processed) and orders still validated (not submitted to the ERP), each
// counted up to limit (so the cost stays bounded whatever the backlog). The hub uses it to give
// the jobs of a partner past its fair share a lower queue priority, so that one partner's backlog
// does not hold up everyone else's (see docs/transports.md, "Fairness between partners").
func (tx *Tx) PartnerBacklog(ctx context.Context, partner string, limit int) (messages, orders int, err error) {
	if err := tx.ex.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE state = ? AND direction = ? AND partner = ? LIMIT ?) b`,
		string(MessageReceived), string(Inbound), partner, limit).Scan(&messages); err != nil {
		return 0, 0, fmt.Errorf("counting the backlog of %s: %w", partner, err)
	}
	if err := tx.ex.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM orders WHERE state = ? AND partner = ? LIMIT ?) b`,
		string(waybill.OrderValidated), partner, limit).Scan(&orders); err != nil {
		return 0, 0, fmt.Errorf("counting the backlog of %s: %w", partner, err)
	}
	return messages, orders, nil
}
