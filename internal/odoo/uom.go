package odoo

import (
	"context"
	"fmt"
	"strings"

	"github.com/waybill-hub/waybill"
)

// uomAliases maps the X12 unit codes (355 data element) partners send to the names of Odoo's
// standard units of measure. A unit that is neither an alias nor an Odoo unit name is refused:
// ordering 3 cases as 3 units would be a silent error.
var uomAliases = map[string]string{
	"EA": "Units", "PC": "Units", "UN": "Units", "EACH": "Units", "UNIT": "Units",
	"DZ": "Dozens", "DOZ": "Dozens",
	"CA": "Cases", "CS": "Cases", // not in a new Odoo: create a unit named Cases (or name it after the code)
	"KG": "kg", "GR": "g", "LB": "lb", "OZ": "oz",
	"LT": "L", "LTR": "L", "MR": "m", "MTR": "m",
	"HR": "Hours", "DA": "Days",
}

// uomName returns the Odoo unit name for a unit given by a partner.
func uomName(u string) string {
	if n, ok := uomAliases[strings.ToUpper(strings.TrimSpace(u))]; ok {
		return n
	}
	return strings.TrimSpace(u)
}

// uomIDs resolves unit names to uom.uom ids, with one search_read for those not cached.
// Names Odoo does not know are absent from the result.
func (c *Client) uomIDs(ctx context.Context, units []string) (map[string]int64, error) {
	out := map[string]int64{}
	var missing []any
	for _, u := range units {
		n := uomName(u)
		if v, ok := c.cache.get("uom:" + n); ok {
			out[n] = v.(int64)
		} else {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	rs, err := c.searchRead(ctx, "uom.uom", []any{[]any{"name", "in", missing}}, []string{"id", "name"}, map[string]any{"order": "id"})
	if err != nil {
		return nil, fmt.Errorf("finding units of measure: %w", err)
	}
	for _, r := range rs {
		n := r.Str("name")
		if _, dup := out[n]; !dup {
			out[n] = r.ID()
			c.cache.put("uom:"+n, r.ID())
		}
	}
	return out, nil
}

// resolveUOMs checks the units of the drafts' lines, returning per draft the unit id of each line
// (0: the product's own unit) or an EINVALID error naming the first unknown unit.
func (c *Client) resolveUOMs(ctx context.Context, drafts []waybill.OrderDraft) ([][]int64, []error, error) {
	var units []string
	for _, d := range drafts {
		for _, l := range d.Lines {
			if l.UOM != "" {
				units = append(units, l.UOM)
			}
		}
	}
	ids := make([][]int64, len(drafts))
	errs := make([]error, len(drafts))
	if len(units) == 0 {
		return ids, errs, nil
	}
	known, err := c.uomIDs(ctx, units)
	if err != nil {
		return nil, nil, err
	}
	for i, d := range drafts {
		ids[i] = make([]int64, len(d.Lines))
		for j, l := range d.Lines {
			if l.UOM == "" {
				continue
			}
			id, ok := known[uomName(l.UOM)]
			if !ok {
				errs[i] = &waybill.Error{Code: waybill.EINVALID, Reason: "unknown_uom",
					Message: fmt.Sprintf("order %s line %s: unit of measure %q has no Odoo unit", d.HubRef, l.LineNumber, l.UOM),
					Where:   waybill.Location{Line: l.LineNumber}}
				break
			}
			ids[i][j] = id
		}
	}
	return ids, errs, nil
}
