package portal

import (
	"reflect"
	"testing"

	"github.com/waybill-hub/waybill/internal/hub"
	"github.com/waybill-hub/waybill/internal/memerp"
)

// TestHookSync: when the hub offers change capture hooks, the portal is registered with them.
func TestHookSync(t *testing.T) {
	h := hub.New(hub.Config{ERP: memerp.New(true)})
	defer h.Close()
	s := &Server{}
	_, has := reflect.TypeOf(h).MethodByName("OnSync")
	if got := s.hookSync(h); got != has {
		t.Fatalf("hookSync = %v, hub has OnSync = %v: the hook signature changed?", got, has)
	}
	t.Logf("hub has OnSync: %v", has)
}
