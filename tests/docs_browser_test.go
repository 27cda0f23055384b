package tests

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"boxoffice/session/sessiontest"
)

// TestDocsPageInBrowser opens /docs in headless Chromium: the operations render, "Try it out"
// on readyz gets a live 200 from this server, and the page loads nothing from anywhere else.
func TestDocsPageInBrowser(t *testing.T) {
	skipShort(t, "the browser test")
	chromium := sessiontest.RequireBinary(t, "chromium", "Debian package chromium")
	base := fleet.procs[0].base
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	done := make(chan struct{})
	time.AfterFunc(90*time.Second, func() { // the browser's context takes no deadline of its own
		select {
		case <-done:
		default:
			cancel()
		}
	})
	defer close(done)

	var mu sync.Mutex
	var requested []string
	reqs := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for ev, err := range reqs {
			if err != nil {
				return
			}
			mu.Lock()
			requested = append(requested, ev.Request.URL)
			mu.Unlock()
		}
	}()

	const op = "#operations-health-readyz"
	css := func(sel string) chromedp.CSS { return chromedp.CSS(sel) }
	step := func(what string, a chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, a); err != nil {
			t.Fatalf("browser: %s: %v", what, err)
		}
	}
	step("open /docs", chromedp.Navigate(base+"/docs"))
	step("operations render", chromedp.WaitVisible(css("#operations-sessions-getSession")))
	ops, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll('.opblock').length`))
	if err != nil {
		t.Fatal(err)
	}
	title, err := chromedp.Run(ctx, chromedp.Text(css(".info .title")))
	if err != nil {
		t.Fatal(err)
	}
	step("expand readyz", chromedp.Click(css(op+" .opblock-summary")))
	step("try it out", chromedp.Click(css(op+" .try-out__btn")))
	step("execute", chromedp.Click(css(op+" .execute")))
	step("live response", chromedp.WaitVisible(css(op+" .live-responses-table tbody .response-col_status")))
	status, err := chromedp.Run(ctx, chromedp.Text(css(op+" .live-responses-table tbody .response-col_status")))
	if err != nil {
		t.Fatal(err)
	}
	if ops < 16 {
		t.Fatalf("%d operations rendered, want every operation of the spec", ops)
	}
	if !strings.Contains(title, "boxoffice") {
		t.Fatalf("page title %q", title)
	}
	if !strings.Contains(status, "200") {
		t.Fatalf("try it out on readyz answered %q, want 200", status)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(strings.Join(requested, " "), base+"/openapi.json") {
		t.Fatalf("request log misses the spec (is the listener working?): %v", requested)
	}
	for _, u := range requested {
		if !strings.HasPrefix(u, base+"/") && !strings.HasPrefix(u, "data:") {
			t.Errorf("the docs page requested %s, outside this server", u)
		}
	}
}
