package load_test

import (
	"context"
	"flag"
	"os"
	"testing"
	"time"

	"github.com/waybill-hub/waybill/internal/portal/load"
)

var run = flag.Bool("load", false, "run the load generator (a short, low-rate run; use cmd/loadportal for figures)")

func TestLoadSmoke(t *testing.T) {
	if !*run {
		t.Skip("pass -load to run")
	}
	res, err := load.Run(context.Background(), load.Options{Duration: 2 * time.Second, ReadRate: 200, OrderRate: 20, ERP: "memory", Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Failed > 0 || r.OK == 0 {
			t.Errorf("%s", r)
		}
	}
}
