package edi

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/partner"
)

func TestBuildShipNoticePacking(t *testing.T) {
	t.Parallel()
	o := &waybill.Order{ID: "ord_1", PONumber: "PO-1", Lines: []waybill.Line{
		{Number: "1", BuyerItem: "B-1", Quantity: waybill.MustDecimal("10"), UOM: "EA", Product: waybill.ERPRef{ID: 1}, ERPLine: waybill.ERPRef{ID: 11}},
		{Number: "2", VendorItem: "SKU-2", Quantity: waybill.MustDecimal("3"), UOM: "EA", Product: waybill.ERPRef{ID: 2}, ERPLine: waybill.ERPRef{ID: 12}},
	}}
	d := waybill.Delivery{Ref: waybill.ERPRef{Name: "WH/OUT/1"}, State: "done", Moves: []waybill.DeliveryMove{
		{Product: waybill.ERPRef{ID: 1}, SaleLine: waybill.ERPRef{ID: 11}, Done: waybill.MustDecimal("10")},
		{Product: waybill.ERPRef{ID: 2}, Done: waybill.MustDecimal("3")}, // matched by product
	}}
	tests := []struct {
		name       string
		pack       partner.Packing
		cartons    int
		pallets    int
		hl         int
		firstCount string
	}{
		{name: "one carton per line", cartons: 2, hl: 6, firstCount: "10"},
		{name: "4 units per carton", pack: partner.Packing{UnitsPerCarton: 4}, cartons: 4, hl: 10, firstCount: "4"},
		{name: "pallets of 3 cartons", pack: partner.Packing{UnitsPerCarton: 4, CartonsPerPallet: 3}, cartons: 4, pallets: 2, hl: 12, firstCount: "4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n := int64(0)
			next := func() (string, error) { n++; return SSCC("0614141", n) }
			sn, err := BuildShipNotice(o, nil, d, tt.pack, time.Now(), next)
			require.NoError(t, err)
			require.Equal(t, tt.cartons, sn.CartonCount)
			require.Len(t, sn.Tares, tt.pallets)
			require.Equal(t, tt.hl, sn.HLCount, "S + O + tares + packs + items")
			got := sn.Shipment.ShippedByLine()
			require.Equal(t, "10", got["1"].String())
			require.Equal(t, "3", got["2"].String())
			first := sn.Shipment.AllPackages()[0].Contents[0]
			require.Equal(t, tt.firstCount, first.Quantity.String())
			if tt.pallets > 0 {
				require.Equal(t, "2", sn.Tares[0].Parent)
				require.Equal(t, sn.Tares[0].HL, sn.Tares[0].Packs[0].Parent)
				require.Len(t, sn.Tares[1].Packs, 1, "4 cartons on pallets of 3: 3 + 1")
			}
		})
	}
	_, err := BuildShipNotice(o, nil, waybill.Delivery{Moves: []waybill.DeliveryMove{{Product: waybill.ERPRef{ID: 9}, Done: waybill.MustDecimal("1")}}},
		partner.Packing{}, time.Now(), func() (string, error) { return "", fmt.Errorf("unused") })
	require.ErrorIs(t, err, errNotOnOrder)
}
