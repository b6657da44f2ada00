package store

import (
	"context"
	"fmt"

	"github.com/waybill-hub/waybill"
)

// PartnerBacklog counts, inside tx, a partner's work waiting at one stage of the pipeline:
// inbound messages still received (not processed), or orders still validated (not submitted to
// the ERP), counted up to limit (so the cost stays bounded whatever the backlog). The hub uses it
// to give the jobs of a partner past its fair share a lower queue priority, so that one partner's
// backlog does not hold up everyone else's (see docs/transports.md, "Fairness between partners").
func (tx *Tx) PartnerBacklog(ctx context.Context, stage BacklogStage, partner string, limit int) (int, error) {
	var q string
	var args []any
	switch stage {
	case BacklogMessages:
		q = `SELECT COUNT(*) FROM (SELECT 1 FROM messages WHERE state = ? AND direction = ? AND partner = ? LIMIT ?) b`
		args = []any{string(MessageReceived), string(Inbound), partner, limit}
	case BacklogOrders:
		q = `SELECT COUNT(*) FROM (SELECT 1 FROM orders WHERE state = ? AND partner = ? LIMIT ?) b`
		args = []any{string(waybill.OrderValidated), partner, limit}
	default:
		return 0, fmt.Errorf("unknown backlog stage %d", stage)
	}
	var n int
	if err := tx.ex.QueryRow(ctx, q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting the backlog of %s: %w", partner, err)
	}
	return n, nil
}

// BacklogStage names the stage of the pipeline PartnerBacklog counts.
type BacklogStage int

const (
	BacklogMessages BacklogStage = iota + 1 // messages received, not yet processed
	BacklogOrders                           // orders validated, not yet submitted
)
