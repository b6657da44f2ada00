package waybill

import "time"

// Shipment is one delivery of goods for one or more orders: one ERP delivery (a partial shipment
// and its backorder are two shipments), and one 856 or portal shipment notice.
type Shipment struct {
	ID             string    `json:"id,omitempty"`
	Partner        string    `json:"partner,omitempty"`
	OrderIDs       []string  `json:"order_ids,omitempty"`
	PONumbers      []string  `json:"po_numbers,omitempty"`
	ShipFrom       Party     `json:"ship_from,omitzero"`
	ShipTo         Party     `json:"ship_to,omitzero"`
	CarrierSCAC    string    `json:"carrier_scac,omitempty"`
	Service        string    `json:"service,omitempty"` // carrier service level, e.g. "GROUND"
	TrackingNumber string    `json:"tracking_number,omitempty"`
	BOLNumber      string    `json:"bol_number,omitempty"`
	ShipDate       time.Time `json:"ship_date,omitzero"`
	EstDelivery    time.Time `json:"estimated_delivery,omitzero"`
	Weight         Decimal   `json:"weight,omitzero"`
	WeightUOM      string    `json:"weight_uom,omitempty"` // LB or KG
	Pallets        []Pallet  `json:"pallets,omitempty"`
	Packages       []Package `json:"packages,omitempty"` // cartons not on a pallet
	ERP            ERPRef    `json:"erp,omitzero"`       // the ERP delivery (stock.picking)
	Backorder      bool      `json:"backorder,omitempty"`
}

// Pallet is a tare (the T level of an 856) holding cartons, with its own SSCC.
type Pallet struct {
	SSCC     string    `json:"sscc"`
	Weight   Decimal   `json:"weight,omitzero"`
	Packages []Package `json:"packages"`
}

// Package is a carton with an SSCC-18 and its contents per order line.
type Package struct {
	SSCC     string        `json:"sscc"`
	Weight   Decimal       `json:"weight,omitzero"`
	Tracking string        `json:"tracking,omitempty"`
	Contents []PackageItem `json:"contents"`
}

// PackageItem is the quantity of one order line in a package.
type PackageItem struct {
	OrderID    string  `json:"order_id,omitempty"`
	LineNumber string  `json:"line_number"`
	VendorItem string  `json:"vendor_item,omitempty"`
	BuyerItem  string  `json:"buyer_item,omitempty"`
	GTIN       string  `json:"gtin,omitempty"`
	Quantity   Decimal `json:"quantity"`
	UOM        string  `json:"uom"`
}

// AllPackages returns the cartons on pallets followed by the loose ones.
func (s *Shipment) AllPackages() []Package {
	var out []Package
	for _, p := range s.Pallets {
		out = append(out, p.Packages...)
	}
	return append(out, s.Packages...)
}

// ShippedByLine sums the shipped quantity per order line number across all packages.
func (s *Shipment) ShippedByLine() map[string]Decimal {
	m := map[string]Decimal{}
	for _, p := range s.AllPackages() {
		for _, it := range p.Contents {
			m[it.LineNumber] = m[it.LineNumber].Add(it.Quantity)
		}
	}
	return m
}
