// Command loadportal drives the customer portal API with a bounded load on loopback and prints
// latency percentiles: catalog and availability reads, then order submissions.
//
//	go run ./cmd/loadportal -duration 20s -reads 2000 -orders 100
//	go run ./cmd/loadportal -erp odoosim -reads 0 -orders 100
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"time"

	"github.com/waybill-hub/waybill/internal/portal/load"
)

func main() {
	var o load.Options
	var asJSON bool
	flag.DurationVar(&o.Duration, "duration", 10*time.Second, "length of each phase (at most 2m)")
	flag.IntVar(&o.ReadRate, "reads", 2000, "catalog and availability requests per second (0 skips the phase)")
	flag.IntVar(&o.OrderRate, "orders", 100, "orders per second (0 skips the phase)")
	flag.StringVar(&o.ERP, "erp", "memory", "memory or odoosim (the Odoo simulator through the Odoo connector, 0 latency)")
	flag.StringVar(&o.DatabaseURL, "db", "", "PostgreSQL URL (default: SQLite in a temporary directory)")
	flag.DurationVar(&o.PollInterval, "poll", 5*time.Millisecond, "job queue poll interval")
	flag.DurationVar(&o.ChangePoll, "change-poll", 0, "how often change capture polls Odoo (default: erp.odoo.poll_interval's default)")
	flag.IntVar(&o.SyncRate, "sync-rate", 0, "orders synced from the ERP per second at most (default: pipeline.sync_rate's default; -1: no limit)")
	flag.IntVar(&o.Products, "products", 50, "catalog size (memory ERP)")
	flag.IntVar(&o.PageSize, "page", 20, "catalog page size")
	flag.BoolVar(&asJSON, "json", false, "print the results as JSON")
	flag.BoolVar(&o.Spans, "spans", false, "record the hub's trace spans and print their durations per name after the order phase")
	flag.BoolVar(&o.Timeline, "timeline", false, "print each phase's latency per 5 seconds")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run (server and generator) to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "loadportal:", err)
			os.Exit(1)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "loadportal:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if !asJSON {
		o.Log = os.Stdout
	}
	res, err := load.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadportal:", err)
		return
	}
	if asJSON {
		json.NewEncoder(os.Stdout).Encode(res)
	}
}
