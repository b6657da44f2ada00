package app

import (
	"context"
	"fmt"
	"os"

	"github.com/waybill-hub/waybill/internal/edi"
	"github.com/waybill-hub/waybill/internal/partner"
	"github.com/waybill-hub/waybill/mappings"
)

// Environment variables read by mountEDI when the configuration sets no partners_dir or
// mappings_dir.
const (
	EnvPartnersDir = "WAYBILL_PARTNERS_DIR" // directory of partner profiles; EDI is off when unset
	EnvMappingsDir = "WAYBILL_MAPPINGS_DIR" // directory of mappings; the built-in library when unset
)

// mountEDI loads the partner profiles and the mapping library, records mapping version changes
// in the audit trail, and installs the EDI flow on the hub. It does nothing when no partner
// directory is configured. It must run before the job queue starts.
func mountEDI(ctx context.Context, a *App) error {
	dir := a.Config.PartnersDir
	if dir == "" {
		dir = os.Getenv(EnvPartnersDir)
	}
	if dir == "" {
		return nil
	}
	reg, err := partner.LoadDir(dir)
	if err != nil {
		return fmt.Errorf("loading partner profiles:\n%w", err)
	}
	lib := edi.NewLibrary(mappings.FS)
	md := a.Config.MappingsDir
	if md == "" {
		md = os.Getenv(EnvMappingsDir)
	}
	if md != "" {
		lib = edi.NewLibrary(os.DirFS(md))
	}
	flow, err := edi.New(edi.Options{Hub: a.Hub, Partners: reg, Library: lib, Logger: a.Log.With("component", "edi")})
	if err != nil {
		return fmt.Errorf("preparing EDI mappings:\n%w", err)
	}
	by := "config"
	if u := os.Getenv("USER"); u != "" {
		by = "config (" + u + ")"
	}
	changes, err := flow.RecordMappingVersions(ctx, a.Storage.DB, by)
	if err != nil {
		return err
	}
	for _, c := range changes {
		a.Log.Info("mapping version", "change", c)
	}
	flow.Install()
	a.Partners = reg
	return nil
}
