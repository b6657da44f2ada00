package partner

import (
	"fmt"
	"time"

	"github.com/waybill-hub/waybill"
)

// Profile is one trading partner: who it is on the wire, what it exchanges, how it is
// acknowledged, which mapping versions translate its documents, how its codes resolve to ERP
// records, and how it is reached. It is read from one YAML file (see LoadDir) and immutable
// afterwards.
type Profile struct {
	ID       string `yaml:"id"`   // the hub's partner id; defaults to the file name without .yaml
	Name     string `yaml:"name"` // for people
	TimeZone string `yaml:"time_zone,omitempty"`

	// ERP is the customer account the partner's orders belong to.
	ERP ERPAccount `yaml:"erp"`
	// X12 is the partner's identity and envelope settings.
	X12 X12 `yaml:"x12"`
	// Documents lists what the partner exchanges, one entry per set and direction.
	Documents []Document `yaml:"documents"`
	// Acks is the acknowledgement policy.
	Acks AckPolicy `yaml:"acks"`
	// Validation decides what happens to an order that fails the checks against master data.
	Validation Validation `yaml:"validation"`
	// XRef holds the cross-reference tables from the partner's codes to the ERP's.
	XRef XRef `yaml:"xref"`
	// DuplicatePolicy is applied to a PO number seen before for the same account (any channel).
	DuplicatePolicy waybill.DuplicatePolicy `yaml:"duplicate_policy,omitempty"`
	// GS1CompanyPrefix is the partner-facing GS1 company prefix used to build SSCC-18 labels.
	GS1CompanyPrefix string `yaml:"gs1_company_prefix,omitempty"`
	// Packing is how a shipment is packed into cartons (and pallets) for the 856, since the ERP
	// records no packages.
	Packing Packing `yaml:"packing,omitempty"`
	// Transport is how documents move (typed in transport.go).
	Transport Transport `yaml:"transport"`

	file string
}

// ERPAccount is the ERP customer (and pricelist) a partner maps to.
type ERPAccount struct {
	Account   string `yaml:"account"`             // customer account code, the same across channels
	Customer  string `yaml:"customer,omitempty"`  // the ERP's customer reference (Odoo ref) when it differs from Account
	Pricelist string `yaml:"pricelist,omitempty"` // the pricelist name the partner's agreement lives in
}

// X12 is a partner's X12 identity and the envelope we write to it.
type X12 struct {
	SenderQualifier   string `yaml:"sender_qualifier"`   // the partner's ISA05
	SenderID          string `yaml:"sender_id"`          // the partner's ISA06
	ReceiverQualifier string `yaml:"receiver_qualifier"` // our ISA07 as the partner addresses us
	ReceiverID        string `yaml:"receiver_id"`        // our ISA08
	GSSenderID        string `yaml:"gs_sender_id,omitempty"`
	GSReceiverID      string `yaml:"gs_receiver_id,omitempty"`
	Version           string `yaml:"version"`         // 004010 or 005010
	Usage             string `yaml:"usage,omitempty"` // P (default) or T
	// Delimiters are what we send with; each is one character.
	Delimiters Delimiters `yaml:"delimiters"`
	// LineEnding is written after each segment terminator ("", "\n" or "\r\n").
	LineEnding string `yaml:"line_ending,omitempty"`
}

// Delimiters are the separators written in outbound interchanges.
type Delimiters struct {
	Element    string `yaml:"element"`
	Component  string `yaml:"component"`
	Repetition string `yaml:"repetition,omitempty"` // 005010 only
	Segment    string `yaml:"segment"`
}

// Direction says whether a document comes to the hub or leaves it.
type Direction string

const (
	Inbound  Direction = "in"  // The partner sends it to us.
	Outbound Direction = "out" // We send it to the partner.
)

// Document is one transaction set a partner exchanges with us.
type Document struct {
	Set       string    `yaml:"set"`       // 850, 855, 856, 810, 846, 860, 865
	Direction Direction `yaml:"direction"` // in or out
	// Mapping is the mapping version in use ("v1"); see the mappings directory.
	Mapping string `yaml:"mapping"`
	// Guide is the partner's implementation guide for the set (x12 guide format), relative to the
	// profile file; inbound sets are validated against it.
	Guide string `yaml:"guide,omitempty"`
	// AckSLA is how long the partner may take to acknowledge an outbound document (0: no SLA).
	AckSLA time.Duration `yaml:"ack_sla,omitempty"`
	// Schedule is a cron-like schedule for periodic documents (846); empty for event-driven ones.
	Schedule string `yaml:"schedule,omitempty"`
}

// AckPolicy is how we acknowledge what the partner sends and what we expect back.
type AckPolicy struct {
	// Functional is "997", "999" or "none"; empty chooses by version (999 for 005010).
	Functional string `yaml:"functional,omitempty"`
	// TA1 is "on_request" (ISA14 = 1, the default), "always" or "never".
	TA1 string `yaml:"ta1,omitempty"`
	// RejectSetsWithErrors makes a set with syntax errors rejected (AK5 R) and not processed; when
	// false, sets with only element-level errors are accepted with errors (AK5 E) and processed.
	RejectSetsWithErrors *bool `yaml:"reject_sets_with_errors,omitempty"`
}

// Validation says what to do with orders that fail checks against the partner's agreement.
type Validation struct {
	UnknownItem   Action `yaml:"unknown_item,omitempty"`    // reject_line (default), reject, hold
	UnknownShipTo Action `yaml:"unknown_ship_to,omitempty"` // hold (default), reject
	InvalidUOM    Action `yaml:"invalid_uom,omitempty"`     // reject_line (default), reject, hold
	PriceMismatch Action `yaml:"price_mismatch,omitempty"`  // hold (default), reject, accept
	// PriceTolerance is the largest accepted difference between the partner's price and the
	// ERP's, in percent of the ERP's price ("0.5"); "0" demands equality.
	PriceTolerance waybill.Decimal `yaml:"price_tolerance,omitempty"`
}

// Action is a validation outcome.
type Action string

const (
	ActionRejectLine Action = "reject_line" // Refuse the line (855 line status rejected), keep the others.
	ActionReject     Action = "reject"      // Refuse the whole order.
	ActionHold       Action = "hold"        // Keep the order on hold for a person; replay releases it.
	ActionAccept     Action = "accept"      // Go on (the ERP's value wins).
)

// XRef is the set of cross-reference tables of a partner.
type XRef struct {
	// Items maps the partner's item code (buyer part number, GTIN or SKU as they send it) to ours.
	Items []ItemXRef `yaml:"items,omitempty"`
	// Locations maps a location code (N1*ST*92*1234: qualifier 92, code 1234) to an ERP address.
	Locations []LocationXRef `yaml:"locations,omitempty"`
	// UOM maps the partner's unit codes to ours ("CS": "CA"); units absent here pass unchanged.
	UOM map[string]string `yaml:"uom,omitempty"`
	// AllowedUOM, when set, lists the units an order line may use after translation.
	AllowedUOM []string `yaml:"allowed_uom,omitempty"`
}

// ItemXRef maps one partner item to one of ours, by SKU, GTIN or customer item code.
type ItemXRef struct {
	Partner string `yaml:"partner"`        // the code the partner sends (PO107 and friends)
	SKU     string `yaml:"sku,omitempty"`  // our SKU (ERP default_code)
	GTIN    string `yaml:"gtin,omitempty"` // or our GTIN
	UOM     string `yaml:"uom,omitempty"`  // the unit the partner orders it in, when fixed
}

// LocationXRef maps a partner location code to an ERP address.
type LocationXRef struct {
	Qualifier string `yaml:"qualifier,omitempty"` // N103 (92 assigned by buyer, UL GLN, ...); empty matches any
	Code      string `yaml:"code"`                // N104
	Address   string `yaml:"address"`             // the ERP address reference (Odoo partner ref)
	Name      string `yaml:"name,omitempty"`
}

// File returns the file the profile was read from.
func (p *Profile) File() string { return p.file }

// Doc returns the profile's entry for set in direction d.
func (p *Profile) Doc(set string, d Direction) (Document, bool) {
	for _, doc := range p.Documents {
		if doc.Set == set && doc.Direction == d {
			return doc, true
		}
	}
	return Document{}, false
}

// FunctionalAck returns "997", "999" or "none" for the partner's X12 version.
func (p *Profile) FunctionalAck() string {
	if p.Acks.Functional != "" {
		return p.Acks.Functional
	}
	if p.X12.Version == "005010" {
		return "999"
	}
	return "997"
}

// RejectSetsWithErrors reports the policy for sets with syntax errors (true by default).
func (p *Profile) RejectSetsWithErrors() bool {
	return p.Acks.RejectSetsWithErrors == nil || *p.Acks.RejectSetsWithErrors
}

// Domain converts the profile to the hub core's partner.
func (p *Profile) Domain() waybill.Partner {
	dp := p.DuplicatePolicy
	if dp == "" {
		dp = waybill.DuplicateReject
	}
	return waybill.Partner{ID: p.ID, Name: p.Name, Account: p.ERP.Account, DuplicatePolicy: dp, TimeZone: p.TimeZone,
		Channels: p.channels()}
}

func (p *Profile) channels() []waybill.Channel {
	var out []waybill.Channel
	t := p.Transport
	if t.AS2 != nil {
		out = append(out, waybill.ChannelAS2)
	}
	if t.SFTP != nil {
		out = append(out, waybill.ChannelSFTP)
	}
	if t.Folder != nil {
		out = append(out, waybill.ChannelFolder)
	}
	if t.HTTP != nil {
		out = append(out, waybill.ChannelHTTP)
	}
	return out
}

// OutboundChannel returns the channel outbound documents go over: Transport.Outbound, else the
// first configured channel, else folder.
func (p *Profile) OutboundChannel() waybill.Channel {
	if p.Transport.Outbound != "" {
		return waybill.Channel(p.Transport.Outbound)
	}
	if cs := p.channels(); len(cs) > 0 {
		return cs[0]
	}
	return waybill.ChannelFolder
}

// Item finds the cross-reference for a partner item code.
func (x *XRef) Item(code string) (ItemXRef, bool) {
	for _, it := range x.Items {
		if it.Partner == code {
			return it, true
		}
	}
	return ItemXRef{}, false
}

// Location finds the ERP address for a partner location code under qualifier.
func (x *XRef) Location(qualifier, code string) (LocationXRef, bool) {
	for _, l := range x.Locations {
		if l.Code == code && (l.Qualifier == "" || l.Qualifier == qualifier) {
			return l, true
		}
	}
	return LocationXRef{}, false
}

// String names the profile for messages.
func (p *Profile) String() string { return fmt.Sprintf("partner %s (%s)", p.ID, p.file) }

// Packing is a partner's packing rule for ship notices. The zero value packs one carton per
// shipped line.
type Packing struct {
	// UnitsPerCarton packs each line into cartons of at most this many units (0: one carton per line).
	UnitsPerCarton int `yaml:"units_per_carton,omitempty"`
	// CartonsPerPallet puts the cartons on pallets of at most this many (0: no pallets, S/O/P/I).
	CartonsPerPallet int `yaml:"cartons_per_pallet,omitempty"`
}
