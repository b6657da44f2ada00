package app

import (
	"context"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"

	"github.com/waybill-hub/waybill/internal/edi"
	"github.com/waybill-hub/waybill/internal/store"
	"github.com/waybill-hub/waybill/mappings"
)

// mountEDIFulfilment adds what runs beside the EDI flow mountEDI installs (856, 810 and inbound
// acknowledgements need nothing more): the 846 inventory advice job with one periodic schedule per
// partner that sends 846s, the job writing overdue acknowledgements into the trace (every 5
// minutes), and the gauge of overdue acknowledgements. It does nothing without
// partner profiles; a schedule that cannot be read is logged and that partner gets no 846.
func mountEDIFulfilment(a *App) {
	if a.Partners == nil {
		return
	}
	lib := edi.NewLibrary(mappings.FS)
	if md := firstSet(a.Config.MappingsDir, os.Getenv(EnvMappingsDir)); md != "" {
		lib = edi.NewLibrary(os.DirFS(md))
	}
	log := a.Log.With("component", "edi")
	flow, err := edi.New(edi.Options{Hub: a.Hub, Partners: a.Partners, Library: lib, Logger: log})
	if err != nil { // mountEDI has reported it already
		return
	}
	river.AddWorker(a.Workers, flow.InventoryWorker())
	river.AddWorker(a.Workers, flow.OverdueWorker())
	a.Queue.AddPeriodic(5*time.Minute, func() river.JobArgs { return edi.FlagOverdueAcks{} }, false)
	schedules, err := flow.InventorySchedules()
	if err != nil {
		log.Error("846 schedules", "error", err)
	}
	for id, every := range schedules {
		a.Queue.AddPeriodic(every, func() river.JobArgs { return edi.AdviseInventory{Partner: id} }, false)
	}
	a.Metrics.Registry.MustRegister(&overdueAcks{db: a.Storage.DB})
}

func firstSet(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

var overdueAcksDesc = prometheus.NewDesc("waybill_edi_acks_overdue",
	"Outbound X12 sets whose 997/999 is past the partner's ack_sla, by partner and set.", []string{"partner", "set"}, nil)

// overdueAcks reads the overdue acknowledgements from the store at scrape time.
type overdueAcks struct{ db *store.DB }

func (c *overdueAcks) Describe(ch chan<- *prometheus.Desc) { ch <- overdueAcksDesc }

func (c *overdueAcks) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	list, err := c.db.OverdueEDIOutbound(ctx, time.Now().UTC(), 100000)
	if err != nil {
		return
	}
	n := map[[2]string]int{}
	for _, o := range list {
		n[[2]string{o.Partner, o.SetID}]++
	}
	for k, v := range n {
		ch <- prometheus.MustNewConstMetric(overdueAcksDesc, prometheus.GaugeValue, float64(v), k[0], k[1])
	}
}
