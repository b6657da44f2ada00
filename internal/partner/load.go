package partner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/waybill-hub/waybill"
)

// FieldError is one problem in one profile file, named by file and field:
// "partners/acme.yaml: x12.sender_id must be 1-15 characters".
type FieldError struct {
	File  string
	Field string // dotted path, "" for the whole file
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.File + ": " + e.Msg
	}
	return e.File + ": " + e.Field + " " + e.Msg
}

// Errors is every problem found while loading profiles. Its Error lists them one a line.
type Errors []*FieldError

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// LoadDir reads every *.yaml and *.yml file of dir as a profile and validates them all. It
// returns every problem of every file together (as Errors), never only the first.
func LoadDir(dir string) (*Registry, error) {
	return LoadFS(os.DirFS(dir), dir)
}

// LoadFS is LoadDir over a file system; prefix is prepended to file names in errors and in
// Profile.File.
func LoadFS(fsys fs.FS, prefix string) (*Registry, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("reading partner profiles: %w", err)
	}
	var errs Errors
	reg := &Registry{byID: map[string]*Profile{}, bySender: map[string]*Profile{}, fsys: fsys, prefix: prefix}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			continue
		}
		file := path.Join(prefix, name)
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, &FieldError{File: file, Msg: err.Error()})
			continue
		}
		p, perrs := Parse(file, data)
		errs = append(errs, perrs...)
		if p == nil {
			continue
		}
		if p.ID == "" {
			p.ID = strings.TrimSuffix(strings.TrimSuffix(name, ".yaml"), ".yml")
		}
		if prev, ok := reg.byID[p.ID]; ok {
			errs = append(errs, &FieldError{File: file, Field: "id", Msg: fmt.Sprintf("%q is already used by %s", p.ID, prev.file)})
			continue
		}
		if p.X12.SenderID != "" {
			k := senderKey(p.X12.SenderQualifier, p.X12.SenderID)
			if prev, ok := reg.bySender[k]; ok {
				errs = append(errs, &FieldError{File: file, Field: "x12.sender_id", Msg: fmt.Sprintf("%s/%s is already used by %s",
					p.X12.SenderQualifier, p.X12.SenderID, prev.file)})
				continue
			}
			reg.bySender[k] = p
		}
		reg.byID[p.ID] = p
		reg.order = append(reg.order, p.ID)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	sort.Strings(reg.order)
	return reg, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}`)

// Parse decodes and validates one profile. Unknown keys are errors. ${VAR} and ${VAR:default}
// are replaced from the environment; a missing variable without a default is an error. It returns
// the profile (nil when it cannot be decoded) and every problem found.
func Parse(file string, data []byte) (*Profile, Errors) {
	var errs Errors
	var missing []string
	expanded := envRef.ReplaceAllStringFunc(string(data), func(m string) string {
		sub := envRef.FindStringSubmatch(m)
		if v, ok := os.LookupEnv(sub[1]); ok {
			return v
		}
		if strings.Contains(m, ":") {
			return sub[2]
		}
		missing = append(missing, sub[1])
		return ""
	})
	for _, v := range missing {
		errs = append(errs, &FieldError{File: file, Msg: fmt.Sprintf("environment variable %s is not set", v)})
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(expanded)))
	dec.KnownFields(true)
	var p Profile
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, append(errs, &FieldError{File: file, Msg: "the file is empty"})
		}
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				errs = append(errs, &FieldError{File: file, Msg: m})
			}
			return nil, errs
		}
		return nil, append(errs, &FieldError{File: file, Msg: err.Error()})
	}
	p.file = file
	// Secrets must come from the environment: a literal in the file is refused.
	if t := p.Transport.SFTP; t != nil && t.Remote != nil && t.Remote.Password != "" && !secretFromEnv(data, "transport", "sftp", "remote", "password") {
		errs = append(errs, &FieldError{File: file, Field: "transport.sftp.remote.password", Msg: "must be given as ${ENV}, not written in the file"})
	}
	errs = append(errs, p.Validate()...)
	return &p, errs
}

// secretFromEnv reports whether the value at path in the raw (unexpanded) YAML is absent or
// taken from the environment (${VAR}).
func secretFromEnv(raw []byte, path ...string) bool {
	var doc yaml.Node
	if yaml.Unmarshal(raw, &doc) != nil || len(doc.Content) == 0 {
		return true
	}
	n := doc.Content[0]
	for _, key := range path {
		if n.Kind != yaml.MappingNode {
			return true
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return true
		}
		n = next
	}
	v := strings.TrimSpace(n.Value)
	return v == "" || strings.HasPrefix(v, "${")
}

var (
	sets       = map[string]bool{"850": true, "855": true, "856": true, "810": true, "846": true, "860": true, "865": true, "997": true, "999": true}
	qualifiers = regexp.MustCompile(`^[0-9A-Z]{2}$`)
	mappingVer = regexp.MustCompile(`^v[0-9]+[a-z0-9._-]*$`)
)

// Validate checks the profile and returns every problem, each naming its field.
func (p *Profile) Validate() Errors {
	var errs Errors
	add := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{File: p.file, Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	if p.ID != "" && !regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`).MatchString(p.ID) {
		add("id", "must be 1-40 lower-case letters, digits, '-' or '_'")
	}
	if p.ERP.Account == "" {
		add("erp.account", "is required (the customer account the partner's orders belong to)")
	}
	x := p.X12
	checkID := func(field, v string, min, max int) {
		if n := len(v); n < min || n > max {
			if min == max {
				add(field, "must be %d characters", min)
			} else {
				add(field, "must be %d-%d characters", min, max)
			}
		}
	}
	checkQual := func(field, v string) {
		if !qualifiers.MatchString(v) {
			add(field, "must be a 2-character ISA qualifier (01, 12, 14, ZZ, ...)")
		}
	}
	checkQual("x12.sender_qualifier", x.SenderQualifier)
	checkID("x12.sender_id", x.SenderID, 1, 15)
	checkQual("x12.receiver_qualifier", x.ReceiverQualifier)
	checkID("x12.receiver_id", x.ReceiverID, 1, 15)
	if x.GSSenderID != "" {
		checkID("x12.gs_sender_id", x.GSSenderID, 2, 15)
	}
	if x.GSReceiverID != "" {
		checkID("x12.gs_receiver_id", x.GSReceiverID, 2, 15)
	}
	switch x.Version {
	case "004010", "005010":
	default:
		add("x12.version", "must be 004010 or 005010, got %q", x.Version)
	}
	switch x.Usage {
	case "", "P", "T":
	default:
		add("x12.usage", "must be P or T")
	}
	switch x.LineEnding {
	case "", "\n", "\r\n":
	default:
		add("x12.line_ending", `must be empty, "\n" or "\r\n"`)
	}
	errs = append(errs, p.validateDelimiters()...)
	seen := map[string]bool{}
	for i, d := range p.Documents {
		f := fmt.Sprintf("documents[%d]", i)
		if !sets[d.Set] {
			add(f+".set", "must be one of 810, 846, 850, 855, 856, 860, 865, got %q", d.Set)
		}
		if d.Direction != Inbound && d.Direction != Outbound {
			add(f+".direction", "must be in or out, got %q", d.Direction)
		}
		if !mappingVer.MatchString(d.Mapping) {
			add(f+".mapping", "must be a mapping version such as v1, got %q", d.Mapping)
		}
		if d.AckSLA < 0 {
			add(f+".ack_sla", "must not be negative")
		}
		if d.AckSLA > 0 && d.Direction == Inbound {
			add(f+".ack_sla", "applies to outbound documents only")
		}
		k := d.Set + "/" + string(d.Direction)
		if seen[k] {
			add(f, "%s %s is listed twice", d.Set, d.Direction)
		}
		seen[k] = true
	}
	switch p.Acks.Functional {
	case "", "997", "999", "none":
	default:
		add("acks.functional", "must be 997, 999 or none, got %q", p.Acks.Functional)
	}
	switch p.Acks.TA1 {
	case "", "on_request", "always", "never":
	default:
		add("acks.ta1", "must be on_request, always or never, got %q", p.Acks.TA1)
	}
	checkAction := func(field string, a Action, allowed ...Action) {
		if a == "" {
			return
		}
		for _, ok := range allowed {
			if a == ok {
				return
			}
		}
		names := make([]string, len(allowed))
		for i, a := range allowed {
			names[i] = string(a)
		}
		add(field, "must be one of %s, got %q", strings.Join(names, ", "), a)
	}
	v := p.Validation
	checkAction("validation.unknown_item", v.UnknownItem, ActionRejectLine, ActionReject, ActionHold)
	checkAction("validation.unknown_ship_to", v.UnknownShipTo, ActionHold, ActionReject, ActionAccept)
	checkAction("validation.invalid_uom", v.InvalidUOM, ActionRejectLine, ActionReject, ActionHold)
	checkAction("validation.price_mismatch", v.PriceMismatch, ActionHold, ActionReject, ActionAccept)
	if v.PriceTolerance.Sign() < 0 {
		add("validation.price_tolerance", "must not be negative")
	}
	switch p.DuplicatePolicy {
	case "", waybill.DuplicateReject, waybill.DuplicateFlag, waybill.DuplicateSupersede:
	default:
		add("duplicate_policy", "must be reject, flag or supersede, got %q", p.DuplicatePolicy)
	}
	if gp := p.GS1CompanyPrefix; gp != "" && (!digits(gp) || len(gp) < 6 || len(gp) > 11) {
		add("gs1_company_prefix", "must be 6-11 digits")
	}
	if p.Packing.UnitsPerCarton < 0 {
		add("packing.units_per_carton", "must not be negative")
	}
	if p.Packing.CartonsPerPallet < 0 {
		add("packing.cartons_per_pallet", "must not be negative")
	}
	items := map[string]bool{}
	for i, it := range p.XRef.Items {
		f := fmt.Sprintf("xref.items[%d]", i)
		if it.Partner == "" {
			add(f+".partner", "is required")
		}
		if it.SKU == "" && it.GTIN == "" {
			add(f, "needs sku or gtin")
		}
		if items[it.Partner] {
			add(f+".partner", "%q is listed twice", it.Partner)
		}
		items[it.Partner] = true
	}
	for i, l := range p.XRef.Locations {
		f := fmt.Sprintf("xref.locations[%d]", i)
		if l.Code == "" {
			add(f+".code", "is required")
		}
		if l.Address == "" {
			add(f+".address", "is required")
		}
	}
	for k, u := range p.XRef.UOM {
		if len(k) != 2 || len(u) != 2 {
			add("xref.uom."+k, "must map a 2-character unit code to another")
		}
	}
	return errs
}

func (p *Profile) validateDelimiters() Errors {
	var errs Errors
	d := p.X12.Delimiters
	vals := map[string]string{"element": d.Element, "component": d.Component, "segment": d.Segment}
	if d.Repetition != "" {
		vals["repetition"] = d.Repetition
	}
	seen := map[string]string{}
	for _, k := range []string{"element", "component", "repetition", "segment"} {
		v, ok := vals[k]
		if !ok {
			continue
		}
		field := "x12.delimiters." + k
		if len(v) != 1 {
			errs = append(errs, &FieldError{File: p.file, Field: field, Msg: "must be exactly one character"})
			continue
		}
		if c := v[0]; (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ' {
			errs = append(errs, &FieldError{File: p.file, Field: field, Msg: "must not be a letter, digit or space"})
		}
		if other, dup := seen[v]; dup {
			errs = append(errs, &FieldError{File: p.file, Field: field, Msg: "must differ from x12.delimiters." + other})
		}
		seen[v] = k
	}
	if d.Repetition != "" && p.X12.Version == "004010" {
		errs = append(errs, &FieldError{File: p.file, Field: "x12.delimiters.repetition", Msg: "is not used in 004010 (ISA11 is U)"})
	}
	return errs
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func senderKey(q, id string) string { return q + "/" + id }
