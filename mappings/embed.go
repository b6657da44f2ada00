// Package mappings holds the hub's declarative X12 mappings and their golden examples, embedded
// so that the binary carries them: base mappings per transaction set, X12 version and mapping
// version under base/, partner overlays under partners/ (see internal/edi.Library for the layout).
// An operator may point the hub at a directory of the same layout instead.
package mappings

import "embed"

// FS is the mapping library.
//
//go:embed base partners
var FS embed.FS
