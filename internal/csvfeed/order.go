package csvfeed

import (
	"io"
	"strconv"
	"time"

	"github.com/waybill-hub/waybill"
)

type orderRow struct {
	O waybill.Order
	L waybill.Line
}

var orderFields = index(concat([]field[orderRow]{
	textF("po_number", false, func(r *orderRow) *string { return &r.O.PONumber }),
	dateF("po_date", false, func(r *orderRow) *time.Time { return &r.O.PODate }),
	textF("account", false, func(r *orderRow) *string { return &r.O.Account }),
	textF("currency", false, func(r *orderRow) *string { return &r.O.Currency }),
	textF("purpose", false, func(r *orderRow) *string { return &r.O.Purpose }),
	textF("type", false, func(r *orderRow) *string { return &r.O.Type }),
	textF("carrier", false, func(r *orderRow) *string { return &r.O.Carrier }),
	dateF("requested_ship", false, func(r *orderRow) *time.Time { return &r.O.RequestedShip }),
	dateF("requested_delivery", false, func(r *orderRow) *time.Time { return &r.O.RequestedDlv }),
	dateF("cancel_after", false, func(r *orderRow) *time.Time { return &r.O.CancelAfter }),
	listF("notes", false, " | ", func(r *orderRow) *[]string { return &r.O.Notes }),

	textF("line.number", true, func(r *orderRow) *string { return &r.L.Number }),
	textF("line.buyer_item", true, func(r *orderRow) *string { return &r.L.BuyerItem }),
	textF("line.vendor_item", true, func(r *orderRow) *string { return &r.L.VendorItem }),
	textF("line.gtin", true, func(r *orderRow) *string { return &r.L.GTIN }),
	textF("line.description", true, func(r *orderRow) *string { return &r.L.Description }),
	decF("line.quantity", true, false, func(r *orderRow) *waybill.Decimal { return &r.L.Quantity }),
	textF("line.uom", true, func(r *orderRow) *string { return &r.L.UOM }),
	{name: "line.unit_price", kind: kindDecimal, item: true,
		get: func(r *orderRow) any {
			if !r.L.HasUnitPrice {
				return nil
			}
			return r.L.UnitPrice
		},
		set: func(r *orderRow, v any) { r.L.UnitPrice, r.L.HasUnitPrice = v.(waybill.Decimal), true }},
	decF("line.pack_size", true, true, func(r *orderRow) *waybill.Decimal { return &r.L.PackSize }),
	dateF("line.requested_ship", true, func(r *orderRow) *time.Time { return &r.L.RequestedShip }),
	dateF("line.requested_delivery", true, func(r *orderRow) *time.Time { return &r.L.RequestedDlv }),
	textF("line.status", true, func(r *orderRow) *string { return (*string)(&r.L.Status) }),
	decF("line.qty_accepted", true, false, func(r *orderRow) *waybill.Decimal { return &r.L.Qty.Accepted }),
	decF("line.qty_backordered", true, false, func(r *orderRow) *waybill.Decimal { return &r.L.Qty.Backordered }),
	decF("line.qty_shipped", true, false, func(r *orderRow) *waybill.Decimal { return &r.L.Qty.Shipped }),
	decF("line.qty_cancelled", true, false, func(r *orderRow) *waybill.Decimal { return &r.L.Qty.Cancelled }),
},
	termsF(func(r *orderRow) *waybill.Terms { return &r.O.Terms }),
	partyF("sold_to", func(r *orderRow) *waybill.Party { return &r.O.SoldTo }),
	partyF("ship_to", func(r *orderRow) *waybill.Party { return &r.O.ShipTo }),
	partyF("bill_to", func(r *orderRow) *waybill.Party { return &r.O.BillTo }),
))

var orderCodec = &codec[waybill.Order, orderRow]{
	doc:    DocOrder,
	fields: orderFields,
	header: func(r *orderRow) *waybill.Order { return &r.O },
	add: func(o *waybill.Order, r *orderRow) (string, string) {
		l := r.L
		if l.Number == "" {
			l.Number = strconv.Itoa(len(o.Lines) + 1)
		} else if o.LineByNumber(l.Number) != nil {
			return "line.number", "line " + l.Number + " appears twice in order " + o.PONumber
		}
		if l.Qty.Ordered.IsZero() {
			l.Qty.Ordered = l.Quantity
		}
		o.Lines = append(o.Lines, l)
		return "", ""
	},
	rows: func(o *waybill.Order) []orderRow {
		h := *o
		h.Lines = nil
		if len(o.Lines) == 0 {
			return []orderRow{{O: h}}
		}
		rows := make([]orderRow, len(o.Lines))
		for i, l := range o.Lines {
			rows[i] = orderRow{O: h, L: l}
		}
		return rows
	},
	finish: func(o *waybill.Order, m *Mapping) {
		if m.Partner != "" {
			o.Partner = m.Partner
		}
		setRole(&o.SoldTo, waybill.RoleSoldTo)
		setRole(&o.ShipTo, waybill.RoleShipTo)
		setRole(&o.BillTo, waybill.RoleBillTo)
	},
}

// DecodeOrders reads purchase orders with mapping m (whose Document must be "order"). Rows are
// grouped into orders by the key field (default po_number); lines without a line.number column
// are numbered 1, 2, ... per order, and each line's Qty.Ordered is its quantity.
//
// It returns the accepted orders in the order their first rows appear, every row problem found,
// and an error when the file could not be read (EINVALID: bad mapping, unreadable CSV, missing
// columns) or when policy reject_file met a bad row (a *FileError, which also carries the row
// errors; no orders are returned then).
func DecodeOrders(r io.Reader, m *Mapping) ([]waybill.Order, []RowError, error) {
	return decode(r, m, orderCodec)
}

// EncodeOrders writes orders with mapping m: one row per line, order fields repeated.
func EncodeOrders(w io.Writer, m *Mapping, orders []waybill.Order) error {
	return encode(w, m, orderCodec, orders)
}
