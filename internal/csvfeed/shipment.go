package csvfeed

import (
	"io"
	"time"

	"github.com/waybill-hub/waybill"
)

type shipmentRow struct {
	S      waybill.Shipment
	Pallet waybill.Pallet  // SSCC and weight only
	Pkg    waybill.Package // SSCC, weight and tracking only
	It     waybill.PackageItem
}

var shipmentFields = index(concat([]field[shipmentRow]{
	textF("shipment_id", false, func(r *shipmentRow) *string { return &r.S.ID }),
	listF("order_ids", false, " ", func(r *shipmentRow) *[]string { return &r.S.OrderIDs }),
	listF("po_numbers", false, " ", func(r *shipmentRow) *[]string { return &r.S.PONumbers }),
	textF("carrier_scac", false, func(r *shipmentRow) *string { return &r.S.CarrierSCAC }),
	textF("service", false, func(r *shipmentRow) *string { return &r.S.Service }),
	textF("tracking_number", false, func(r *shipmentRow) *string { return &r.S.TrackingNumber }),
	textF("bol_number", false, func(r *shipmentRow) *string { return &r.S.BOLNumber }),
	dateF("ship_date", false, func(r *shipmentRow) *time.Time { return &r.S.ShipDate }),
	dateF("estimated_delivery", false, func(r *shipmentRow) *time.Time { return &r.S.EstDelivery }),
	decF("weight", false, true, func(r *shipmentRow) *waybill.Decimal { return &r.S.Weight }),
	textF("weight_uom", false, func(r *shipmentRow) *string { return &r.S.WeightUOM }),

	textF("pallet.sscc", true, func(r *shipmentRow) *string { return &r.Pallet.SSCC }),
	decF("pallet.weight", true, true, func(r *shipmentRow) *waybill.Decimal { return &r.Pallet.Weight }),
	textF("package.sscc", true, func(r *shipmentRow) *string { return &r.Pkg.SSCC }),
	decF("package.weight", true, true, func(r *shipmentRow) *waybill.Decimal { return &r.Pkg.Weight }),
	textF("package.tracking", true, func(r *shipmentRow) *string { return &r.Pkg.Tracking }),
	textF("item.order_id", true, func(r *shipmentRow) *string { return &r.It.OrderID }),
	textF("item.line_number", true, func(r *shipmentRow) *string { return &r.It.LineNumber }),
	textF("item.vendor_item", true, func(r *shipmentRow) *string { return &r.It.VendorItem }),
	textF("item.buyer_item", true, func(r *shipmentRow) *string { return &r.It.BuyerItem }),
	textF("item.gtin", true, func(r *shipmentRow) *string { return &r.It.GTIN }),
	decF("item.quantity", true, false, func(r *shipmentRow) *waybill.Decimal { return &r.It.Quantity }),
	textF("item.uom", true, func(r *shipmentRow) *string { return &r.It.UOM }),
},
	partyF("ship_from", func(r *shipmentRow) *waybill.Party { return &r.S.ShipFrom }),
	partyF("ship_to", func(r *shipmentRow) *waybill.Party { return &r.S.ShipTo }),
))

var shipmentCodec = &codec[waybill.Shipment, shipmentRow]{
	doc:    DocShipment,
	fields: shipmentFields,
	header: func(r *shipmentRow) *waybill.Shipment { return &r.S },
	add: func(s *waybill.Shipment, r *shipmentRow) (string, string) {
		pkgs := &s.Packages
		if r.Pallet.SSCC != "" {
			var pal *waybill.Pallet
			for i := range s.Pallets {
				if s.Pallets[i].SSCC == r.Pallet.SSCC {
					pal = &s.Pallets[i]
				}
			}
			if pal == nil {
				s.Pallets = append(s.Pallets, waybill.Pallet{SSCC: r.Pallet.SSCC, Weight: r.Pallet.Weight})
				pal = &s.Pallets[len(s.Pallets)-1]
			}
			pkgs = &pal.Packages
		}
		var pkg *waybill.Package
		for i := range *pkgs {
			if (*pkgs)[i].SSCC == r.Pkg.SSCC {
				pkg = &(*pkgs)[i]
			}
		}
		if pkg == nil {
			p := r.Pkg
			p.Contents = nil
			*pkgs = append(*pkgs, p)
			pkg = &(*pkgs)[len(*pkgs)-1]
		}
		if r.It != (waybill.PackageItem{}) {
			pkg.Contents = append(pkg.Contents, r.It)
		}
		return "", ""
	},
	rows: func(s *waybill.Shipment) []shipmentRow {
		h := *s
		h.Pallets, h.Packages = nil, nil
		var rows []shipmentRow
		addPkgs := func(pal waybill.Pallet, pkgs []waybill.Package) {
			for _, p := range pkgs {
				hp := p
				hp.Contents = nil
				if len(p.Contents) == 0 {
					rows = append(rows, shipmentRow{S: h, Pallet: pal, Pkg: hp})
				}
				for _, it := range p.Contents {
					rows = append(rows, shipmentRow{S: h, Pallet: pal, Pkg: hp, It: it})
				}
			}
		}
		for _, pal := range s.Pallets {
			addPkgs(waybill.Pallet{SSCC: pal.SSCC, Weight: pal.Weight}, pal.Packages)
		}
		addPkgs(waybill.Pallet{}, s.Packages)
		if len(rows) == 0 {
			rows = append(rows, shipmentRow{S: h})
		}
		return rows
	},
	finish: func(s *waybill.Shipment, m *Mapping) {
		if m.Partner != "" {
			s.Partner = m.Partner
		}
		setRole(&s.ShipFrom, waybill.RoleShipFrom)
		setRole(&s.ShipTo, waybill.RoleShipTo)
	},
}

// DecodeShipments reads shipment notices with mapping m (Document "shipment"), one row per
// package item, grouped by the key field (default shipment_id). Rows with a pallet.sscc put their
// package on that pallet; rows sharing a package.sscc share the package. Results and errors are as
// for DecodeOrders.
func DecodeShipments(r io.Reader, m *Mapping) ([]waybill.Shipment, []RowError, error) {
	return decode(r, m, shipmentCodec)
}

// EncodeShipments writes shipments with mapping m: one row per package item (pallets first, then
// loose packages), shipment fields repeated; a package without contents gets one row.
func EncodeShipments(w io.Writer, m *Mapping, shipments []waybill.Shipment) error {
	return encode(w, m, shipmentCodec, shipments)
}
