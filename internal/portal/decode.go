package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// DocPortalOrder is the document type of an order received through the portal: an envelope
// holding the raw request, the account it was made for and what the portal learned validating it.
const DocPortalOrder = "portal-order"

// envelope is the stored payload of a portal order.
type envelope struct {
	Account        string            `json:"account"`
	KeyID          string            `json:"key_id"`
	IdempotencyKey string            `json:"idempotency_key"`
	ReceivedAt     time.Time         `json:"received_at"`
	Backordered    map[string]string `json:"backordered,omitempty"` // line number → quantity beyond availability
	UOMs           map[string]string `json:"uoms,omitempty"`        // line number → catalog unit, when the request named none
	Request        json.RawMessage   `json:"request"`
	Meta           map[string]string `json:"meta,omitempty"`
}

// decodePortalOrder turns a stored portal envelope into the canonical order.
func decodePortalOrder(_ context.Context, msg *store.Message, p waybill.Partner) ([]*waybill.Order, error) {
	var env envelope
	if err := json.Unmarshal(msg.Payload, &env); err != nil {
		return nil, &waybill.Error{Code: waybill.EINVALID, Reason: "portal_envelope", Message: "the portal order cannot be read: " + err.Error(),
			Where: waybill.Location{Partner: p.ID, Document: "portal order " + msg.ID}}
	}
	var req OrderRequest
	d := json.NewDecoder(bytes.NewReader(env.Request))
	if err := d.Decode(&req); err != nil {
		return nil, &waybill.Error{Code: waybill.EINVALID, Reason: "json_syntax", Message: "the portal order cannot be read: " + err.Error(),
			Where: waybill.Location{Partner: p.ID, Document: "portal order " + msg.ID}}
	}
	return []*waybill.Order{canonical(&req, env)}, nil
}

// canonical maps a portal request to the canonical order.
func canonical(req *OrderRequest, env envelope) *waybill.Order {
	o := &waybill.Order{PONumber: req.PONumber, PODate: req.PODate, Account: env.Account, Channel: waybill.ChannelPortal,
		Purpose: "original", Type: "standalone", RequestedDlv: req.RequestedDelivery}
	if req.ShipTo != nil {
		o.ShipTo = waybill.Party{Role: waybill.RoleShipTo, Code: req.ShipTo.Code, Name: req.ShipTo.Name,
			Address: waybill.Address{Lines: req.ShipTo.Lines, City: req.ShipTo.City, Region: req.ShipTo.Region,
				PostalCode: req.ShipTo.PostalCode, Country: req.ShipTo.Country}}
	}
	if req.Notes != "" {
		o.Notes = []string{req.Notes}
	}
	for i, l := range req.Lines {
		num := l.LineNumber
		if num == "" {
			num = itoa(i + 1)
		}
		qty, _ := waybill.ParseDecimal(l.Quantity)
		line := waybill.Line{Number: num, VendorItem: l.SKU, Quantity: qty, UOM: l.UOM}
		if line.UOM == "" {
			line.UOM = env.UOMs[num]
		}
		if line.UOM == "" {
			line.UOM = "EA"
		}
		if l.UnitPrice != "" {
			if p, err := waybill.ParseDecimal(l.UnitPrice); err == nil {
				line.UnitPrice, line.HasUnitPrice = p, true
			}
		}
		if b, ok := env.Backordered[num]; ok {
			line.Qty.Backordered, _ = waybill.ParseDecimal(b)
		}
		o.Lines = append(o.Lines, line)
	}
	return o
}
