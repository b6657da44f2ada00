package odoosim

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Values inside the simulator use the shapes decoded from the wire: nil or
// false for an empty field, bool, int, float64, string, []any and
// map[string]any. Stored many2one values are ints, x2many values []int.

// Odoo's wire formats for dates and datetimes (UTC).
const (
	datetimeFormat = "2006-01-02 15:04:05"
	dateFormat     = "2006-01-02"
)

func formatDatetime(t time.Time) string { return t.UTC().Format(datetimeFormat) }
func formatDate(t time.Time) string     { return t.UTC().Format(dateFormat) }

// normalize turns json.Number values from the JSON decoders into int or float64.
func normalize(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = normalize(x[i])
		}
		return x
	case map[string]any:
		for k := range x {
			x[k] = normalize(x[k])
		}
		return x
	}
	return v
}

// truthy is Python's truth value of v.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case []int:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func asInt(v any) (int, bool) {
	switch x := v.(type) {
	case int:
		return x, true
	case float64:
		if x == math.Trunc(x) {
			return int(x), true
		}
	case string:
		if i, err := strconv.Atoi(x); err == nil {
			return i, true
		}
	}
	return 0, false
}

func asFloat(v any) float64 {
	switch x := v.(type) {
	case int:
		return float64(x)
	case float64:
		return x
	case bool:
		if x {
			return 1
		}
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return 0
}

func asDecimal(v any) decimal.Decimal { return decimal.NewFromFloat(asFloat(v)) }

func asString(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case bool:
		if !x {
			return ""
		}
		return "True"
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// asIDs accepts an id or a list of ids (Odoo accepts both for record methods).
func asIDs(v any) ([]int, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case bool:
		if !x {
			return nil, true
		}
	case int:
		return []int{x}, true
	case float64:
		if i, ok := asInt(x); ok {
			return []int{i}, true
		}
	case []int:
		return x, true
	case []any:
		out := make([]int, 0, len(x))
		for _, e := range x {
			i, ok := asInt(e)
			if !ok {
				return nil, false
			}
			out = append(out, i)
		}
		return out, true
	}
	return nil, false
}

func intsToAny(ids []int) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

func containsInt(ids []int, id int) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func uniqueInts(ids []int) []int {
	seen := make(map[int]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func sortedKeys[V any](m map[int]V) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Ints(out)
	return out
}

// round2 rounds a monetary amount to the currency's two decimals, half away
// from zero as Odoo's float_round does, and returns the wire float.
func round2(d decimal.Decimal) float64 {
	f, _ := d.Round(2).Float64()
	return f
}

func dec(f float64) decimal.Decimal { return decimal.NewFromFloat(f) }

func floatOf(d decimal.Decimal) float64 {
	f, _ := d.Float64()
	return f
}

// pyRepr renders a value the way Python's repr would in error messages.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return "'" + strings.ReplaceAll(x, "'", "\\'") + "'"
	}
	return fmt.Sprint(v)
}
