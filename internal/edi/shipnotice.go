package edi

import (
	"fmt"
	"strconv"
	"time"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/partner"
)

// ShipNotice is the canonical document an 856 is rendered from: one ERP delivery of one order,
// packed per the partner's rule, with its HL hierarchy numbered (shipment 1, order 2, then tares,
// packs and items in order). Its JSON form is what outbound 856 templates read.
type ShipNotice struct {
	Shipment    *waybill.Shipment `json:"-"`
	ShipmentID  string            `json:"shipment_id"` // BSN02: the ERP delivery's name
	NoticeDate  time.Time         `json:"notice_date"`
	ShipDate    time.Time         `json:"ship_date"`
	PONumber    string            `json:"po_number"`
	PODate      time.Time         `json:"po_date,omitzero"`
	ERPOrder    string            `json:"erp_order,omitempty"`
	Carrier     string            `json:"carrier,omitempty"` // as the ERP names it; the mapping's carrier_scac table gives the SCAC
	Tracking    string            `json:"tracking_number,omitempty"`
	BOL         string            `json:"bol_number,omitempty"`
	ShipTo      waybill.Party     `json:"ship_to,omitzero"`
	Backorder   bool              `json:"backorder,omitempty"`
	CartonCount int               `json:"carton_count"`
	HLCount     int               `json:"hl_count"`
	Tares       []HLTare          `json:"tares,omitempty"` // pallets (S/O/T/P/I)
	Packs       []HLPack          `json:"packs,omitempty"` // cartons not on a pallet (S/O/P/I)
}

// HLTare is a pallet level of an 856.
type HLTare struct {
	HL     string   `json:"hl"`
	Parent string   `json:"parent"`
	SSCC   string   `json:"sscc"`
	Packs  []HLPack `json:"packs"`
}

// HLPack is a carton level of an 856.
type HLPack struct {
	HL     string   `json:"hl"`
	Parent string   `json:"parent"`
	SSCC   string   `json:"sscc"`
	Items  []HLItem `json:"items"`
}

// HLItem is an item level of an 856: one order line's quantity in a carton, in the partner's
// item codes and units.
type HLItem struct {
	HL         string          `json:"hl"`
	Parent     string          `json:"parent"`
	LineNumber string          `json:"line_number"`
	BuyerItem  string          `json:"buyer_item,omitempty"`
	VendorItem string          `json:"vendor_item,omitempty"`
	GTIN       string          `json:"gtin,omitempty"`
	Quantity   waybill.Decimal `json:"quantity"`
	UOM        string          `json:"uom"`
	Ordered    waybill.Decimal `json:"ordered"`
	// ID1..ID3 are the item's codes in the order buyer item, vendor item, GTIN, without gaps, so
	// that a template can fill a segment whose first pair is mandatory (LIN02/03); Kind1..Kind3 say
	// which code each is (buyer_item, vendor_item, gtin) for the mapping's qualifier table.
	Kind1 string `json:"kind1,omitempty"`
	ID1   string `json:"id1,omitempty"`
	Kind2 string `json:"kind2,omitempty"`
	ID2   string `json:"id2,omitempty"`
	Kind3 string `json:"kind3,omitempty"`
	ID3   string `json:"id3,omitempty"`
}

// setIDs fills ID1..ID3 from the item codes that are set.
func (it *HLItem) setIDs() {
	var kinds, ids []string
	for _, p := range [][2]string{{"buyer_item", it.BuyerItem}, {"vendor_item", it.VendorItem}, {"gtin", it.GTIN}} {
		if p[1] != "" {
			kinds, ids = append(kinds, p[0]), append(ids, p[1])
		}
	}
	for len(ids) < 3 {
		kinds, ids = append(kinds, ""), append(ids, "")
	}
	it.Kind1, it.ID1, it.Kind2, it.ID2, it.Kind3, it.ID3 = kinds[0], ids[0], kinds[1], ids[1], kinds[2], ids[2]
}

// shippedLine is one order line's quantity in a delivery.
type shippedLine struct {
	line     *waybill.Line // the order line as the hub keeps it
	original waybill.Line  // as the partner sent it (item codes, units)
	qty      waybill.Decimal
}

// lineFor finds the order line a delivery move ships: by the ERP's sale line, else by product.
func lineFor(o *waybill.Order, m waybill.DeliveryMove) *waybill.Line {
	for i := range o.Lines {
		if m.SaleLine.ID != 0 && o.Lines[i].ERPLine.ID == m.SaleLine.ID {
			return &o.Lines[i]
		}
	}
	for i := range o.Lines {
		if m.Product.ID != 0 && o.Lines[i].Product.ID == m.Product.ID {
			return &o.Lines[i]
		}
	}
	return nil
}

// ErrNotOnOrder is wrapped by BuildShipNotice when a delivery ships a product the order does not have.
var errNotOnOrder = fmt.Errorf("the delivery ships a product that is not on the order")

// BuildShipNotice packs delivery d of order o per rule pack, taking one SSCC per carton and per
// pallet from nextSSCC. original holds the lines as the partner sent them (nil: the order's own).
// Quantities are the ERP's done quantities, unchanged.
func BuildShipNotice(o *waybill.Order, original []waybill.Line, d waybill.Delivery, pack partner.Packing, now time.Time,
	nextSSCC func() (string, error)) (*ShipNotice, error) {
	orig := map[string]waybill.Line{}
	for _, l := range original {
		orig[l.Number] = l
	}
	var shipped []shippedLine
	for _, m := range d.Moves {
		if m.Done.Sign() <= 0 {
			continue
		}
		l := lineFor(o, m)
		if l == nil {
			return nil, fmt.Errorf("%w: %s (%s)", errNotOnOrder, m.SKU, d.Ref.Name)
		}
		ol, ok := orig[l.Number]
		if !ok {
			ol = *l
		}
		shipped = append(shipped, shippedLine{line: l, original: ol, qty: m.Done})
	}
	sn := &ShipNotice{ShipmentID: d.Ref.Name, NoticeDate: now.UTC(), ShipDate: d.DoneAt.UTC(), PONumber: o.PONumber, PODate: o.PODate,
		ERPOrder: o.ERP.Name, Carrier: d.Carrier, Tracking: d.TrackingRef, BOL: d.Ref.Name, ShipTo: o.ShipTo,
		Backorder: d.BackorderOf.ID != 0}
	if sn.ShipDate.IsZero() {
		sn.ShipDate = sn.NoticeDate
	}
	ship := &waybill.Shipment{ID: d.Ref.Name, Partner: o.Partner, OrderIDs: []string{o.ID}, PONumbers: []string{o.PONumber},
		ShipTo: o.ShipTo, CarrierSCAC: d.Carrier, TrackingNumber: d.TrackingRef, BOLNumber: sn.BOL, ShipDate: sn.ShipDate, ERP: d.Ref,
		Backorder: sn.Backorder}
	// Cartons: per line, at most UnitsPerCarton units each (0: the whole line in one carton).
	var cartons []waybill.Package
	per := waybill.DecimalFromInt(int64(pack.UnitsPerCarton))
	for _, s := range shipped {
		rest := s.qty
		for rest.Sign() > 0 {
			q := rest
			if pack.UnitsPerCarton > 0 {
				q = rest.Min(per)
			}
			rest = rest.Sub(q)
			code, err := nextSSCC()
			if err != nil {
				return nil, err
			}
			cartons = append(cartons, waybill.Package{SSCC: code, Contents: []waybill.PackageItem{{OrderID: o.ID,
				LineNumber: s.line.Number, VendorItem: s.original.VendorItem, BuyerItem: s.original.BuyerItem, GTIN: s.original.GTIN,
				Quantity: q, UOM: s.original.UOM}}})
		}
	}
	if pack.CartonsPerPallet > 0 {
		for i := 0; i < len(cartons); i += pack.CartonsPerPallet {
			code, err := nextSSCC()
			if err != nil {
				return nil, err
			}
			ship.Pallets = append(ship.Pallets, waybill.Pallet{SSCC: code, Packages: cartons[i:min(i+pack.CartonsPerPallet, len(cartons))]})
		}
	} else {
		ship.Packages = cartons
	}
	sn.Shipment = ship
	sn.number(o)
	return sn, nil
}

// number lays out the HL hierarchy of sn.Shipment: S 1, O 2, then T, P, I depth first.
func (sn *ShipNotice) number(o *waybill.Order) {
	n := 2
	next := func() string { n++; return strconv.Itoa(n) }
	packs := func(parent string, pk []waybill.Package) []HLPack {
		var out []HLPack
		for _, p := range pk {
			hp := HLPack{HL: next(), Parent: parent, SSCC: p.SSCC}
			for _, it := range p.Contents {
				ordered := waybill.Zero
				if l := o.LineByNumber(it.LineNumber); l != nil {
					ordered = l.Quantity
				}
				item := HLItem{HL: next(), Parent: hp.HL, LineNumber: it.LineNumber, BuyerItem: it.BuyerItem,
					VendorItem: it.VendorItem, GTIN: it.GTIN, Quantity: it.Quantity, UOM: it.UOM, Ordered: ordered}
				item.setIDs()
				hp.Items = append(hp.Items, item)
			}
			out = append(out, hp)
			sn.CartonCount++
		}
		return out
	}
	for _, pl := range sn.Shipment.Pallets {
		t := HLTare{HL: next(), Parent: "2", SSCC: pl.SSCC}
		t.Packs = packs(t.HL, pl.Packages)
		sn.Tares = append(sn.Tares, t)
	}
	sn.Packs = packs("2", sn.Shipment.Packages)
	sn.HLCount = n
}
