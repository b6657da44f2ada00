package store

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"testing/fstest"
	"text/template"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// renderMigrations fills the dialect placeholders of the embedded migrations.
func renderMigrations(vars map[string]string) (fs.FS, error) {
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		raw, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		t, err := template.New(e.Name()).Option("missingkey=error").Parse(string(raw))
		if err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, vars); err != nil {
			return nil, fmt.Errorf("migration %s: %w", e.Name(), err)
		}
		out[e.Name()] = &fstest.MapFile{Data: buf.Bytes()}
	}
	return out, nil
}
