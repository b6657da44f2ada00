package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// decodeOrderJSON reads one canonical order or an array of them.
func decodeOrderJSON(_ context.Context, msg *store.Message, p waybill.Partner) ([]*waybill.Order, error) {
	body := bytes.TrimSpace(bytes.TrimPrefix(msg.Payload, []byte("\ufeff")))
	var orders []*waybill.Order
	dec := func(v any) error {
		d := json.NewDecoder(bytes.NewReader(body))
		d.DisallowUnknownFields()
		return d.Decode(v)
	}
	var err error
	if len(body) > 0 && body[0] == '[' {
		err = dec(&orders)
	} else {
		var o waybill.Order
		err = dec(&o)
		orders = []*waybill.Order{&o}
	}
	if err != nil {
		where := waybill.Location{Partner: p.ID, Document: "order JSON " + msg.ID}
		if se, ok := err.(*json.SyntaxError); ok {
			where.Field = fmt.Sprintf("byte %d", se.Offset)
		}
		if te, ok := err.(*json.UnmarshalTypeError); ok {
			where.Field = te.Field
		}
		return nil, &waybill.Error{Code: waybill.EINVALID, Reason: "json_syntax", Message: "the order JSON cannot be read: " + err.Error(), Where: where}
	}
	return orders, nil
}

// validate checks what can be checked without the ERP: the order names its PO number and has
// lines, each with an item, a positive quantity and a unit of measure. It returns every problem
// found, each located.
func validate(o *waybill.Order) []*waybill.Error {
	var errs []*waybill.Error
	where := waybill.Location{Partner: o.Partner, Document: "PO " + o.PONumber}
	add := func(reason, field, line, format string, args ...any) {
		w := where
		w.Field, w.Line = field, line
		errs = append(errs, &waybill.Error{Code: waybill.EINVALID, Reason: reason, Message: fmt.Sprintf(format, args...), Where: w})
	}
	if o.PONumber == "" {
		add("missing_po_number", "po_number", "", "the order has no PO number")
	}
	if len(o.Lines) == 0 {
		add("no_lines", "lines", "", "the order has no lines")
	}
	seen := map[string]bool{}
	for i := range o.Lines {
		l := &o.Lines[i]
		if l.Number == "" {
			l.Number = fmt.Sprint(i + 1)
		}
		if seen[l.Number] {
			add("duplicate_line", "lines.number", l.Number, "line number %s appears twice", l.Number)
		}
		seen[l.Number] = true
		if l.VendorItem == "" && l.GTIN == "" && l.BuyerItem == "" {
			add("no_item", "lines.vendor_item", l.Number, "line %s names no item (SKU, GTIN or buyer item)", l.Number)
		}
		if l.Quantity.Sign() <= 0 {
			add("bad_quantity", "lines.quantity", l.Number, "line %s: quantity must be positive, got %s", l.Number, l.Quantity)
		}
		if l.UOM == "" {
			add("no_uom", "lines.uom", l.Number, "line %s has no unit of measure", l.Number)
		}
	}
	return errs
}
