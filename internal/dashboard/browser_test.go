package dashboard_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/waybill-hub/waybill"
	"github.com/waybill-hub/waybill/internal/store"
)

// chromium finds Debian's chromium (or another Chrome) on PATH; the test skips without one.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (apt-get install -y chromium); browser test skipped")
	return ""
}

// TestBrowser drives a real headless Chromium: sign in, open every page, replay a dead letter
// from the exceptions page and check the result. On failure it saves a screenshot of the page
// in the test's artifact directory (go test -artifacts keeps it); with WAYBILL_SCREENSHOT_DIR set
// it also saves one of each page there.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	exe := chromium(t)
	t.Parallel()
	b := setup(t, "sqlite")
	dl := b.onHold(t, "PO-B1")

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1400, 1000),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	defer cancelT()

	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			sctx, c := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)); err == nil {
				p := filepath.Join(t.ArtifactDir(), strings.ReplaceAll(name, " ", "_")+".png")
				if os.WriteFile(p, png, 0o644) == nil {
					t.Logf("screenshot: %s", p)
				}
			}
			c()
			t.Fatalf("%s: %v", name, err)
		}
	}

	textOf := func(id string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		require.NoError(t, err)
		return s
	}
	step("sign in",
		chromedp.Navigate(b.base+"/"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "olga"),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("business")),
	)
	require.Equal(t, "olga (operator)", textOf("operator"))

	for _, p := range []struct{ path, sel string }{
		{"/ui/technical", "#deps"},
		{"/ui/trace?q=PO-B1", ".timeline"},
		{"/ui/", "#backlog"},
		{"/ui/exceptions", "#holds"},
	} {
		step("open "+p.path, chromedp.Navigate(b.base+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
		if dir := os.Getenv("WAYBILL_SCREENSHOT_DIR"); dir != "" {
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			require.NoError(t, err)
			name := strings.NewReplacer("/", "_", "?", "_", "=", "_").Replace(strings.TrimPrefix(p.path, "/ui/"))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "page"+name+".png"), png, 0o644))
		}
	}

	step("replay",
		chromedp.Navigate(b.base+"/ui/exceptions"),
		chromedp.WaitVisible(chromedp.ID("dl-"+dl.ID)),
		chromedp.Click(chromedp.CSS("#dl-"+dl.ID+" button.replay")),
		chromedp.WaitVisible(chromedp.ID("flash")),
	)
	require.Equal(t, "Replayed "+dl.ID+".", textOf("flash"))
	b.eventually(t, 10*time.Second, func() bool {
		rec, err := b.db.Order(context.Background(), dl.OrderID)
		require.NoError(t, err)
		return rec.Order.State == waybill.OrderAccepted
	})
	d, err := b.db.DeadLetter(context.Background(), dl.ID)
	require.NoError(t, err)
	require.Equal(t, store.DeadReplayed, d.State)

	step("replayed letter is gone",
		chromedp.Navigate(b.base+"/ui/exceptions"),
		chromedp.WaitVisible(chromedp.ID("no-exceptions")),
	)
}
