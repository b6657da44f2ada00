// Package partners holds the sample trading partner profiles used by the demo and the tests,
// embedded so that `waybill demo` works from any directory. Operators keep their own profiles in a
// directory of the same layout (one YAML file per partner) and point the hub at it.
package partners

import "embed"

// FS holds the sample profiles (*.yaml) and their implementation guides (guides/).
//
//go:embed *.yaml guides
var FS embed.FS
