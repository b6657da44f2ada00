package app

import (
	"os"
	"runtime/debug"

	"github.com/waybill-hub/waybill/internal/config"
)

// TuneRuntime applies cfg's garbage collector pace to this process (see config.Runtime); zero
// values leave Go's. It is for a process that runs a hub (serve, demo, benchmarks), not for a
// library. GOGC and GOMEMLIMIT in the environment win over cfg.
func TuneRuntime(cfg config.Runtime) {
	if os.Getenv("GOGC") == "" && cfg.GCPercent != 0 {
		debug.SetGCPercent(cfg.GCPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" && cfg.MemoryLimitMiB > 0 {
		debug.SetMemoryLimit(int64(cfg.MemoryLimitMiB) << 20)
	}
}
