// Package browser drives Debian's chromium, headless, for tests of the web
// interface: open pages at a desktop or phone size, fill and submit forms
// as a person would, save full-page screenshots, and check each page with
// axe-core against WCAG 2.2 AA.
//
//	b := browser.New(t, browser.Desktop)
//	b.Navigate(t, srv.URL+"/")
//	b.FillByLabel(t, "Email", "sam@example.org")
//	b.Submit(t, "Sign in")
//	b.Screenshot(t, "board")
//	b.CheckAccessibility(t)
//
// The browser is /usr/bin/chromium, or HOMEWARD_CHROMIUM. Without one the
// tests that need it are skipped, unless HOMEWARD_REQUIRE_BROWSER=1 (CI
// sets it), when they fail.
package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Viewport is the size of the window a page is shown in.
type Viewport struct {
	Name          string // in screenshot file names
	Width, Height int64
	Mobile        bool // a touch screen at a phone's pixel ratio
}

// The two sizes every page is checked at.
var (
	Desktop = Viewport{Name: "desktop", Width: 1280, Height: 900}
	Phone   = Viewport{Name: "phone", Width: 390, Height: 844, Mobile: true}
)

// Timeout bounds each step (a navigation, a form, an axe run). The machine
// may be busy: it is generous.
const Timeout = 60 * time.Second

// Browser is one headless chromium with one tab, closed when the test ends.
type Browser struct {
	ctx      context.Context
	viewport Viewport

	mu       sync.Mutex
	problems []string // console errors, exceptions, CSP refusals
}

// Chromium is the path of the browser the tests use.
func Chromium() string {
	if p := os.Getenv("HOMEWARD_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// Required reports whether a missing browser fails the tests (CI) rather
// than skipping them.
func Required() bool { return os.Getenv("HOMEWARD_REQUIRE_BROWSER") == "1" }

// New starts a headless chromium showing pages at viewport. Without a
// browser the test is skipped, or fails when one is Required.
func New(t testing.TB, viewport Viewport) *Browser {
	t.Helper()
	path := Chromium()
	if _, err := exec.LookPath(path); err != nil {
		msg := fmt.Sprintf("browser: no chromium at %s (%v): install Debian's chromium package or set HOMEWARD_CHROMIUM", path, err)
		if Required() {
			t.Fatal(msg + "; HOMEWARD_REQUIRE_BROWSER=1, so this fails rather than skips")
		}
		t.Skip(msg)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.WindowSize(int(viewport.Width), int(viewport.Height)),
		// The tests run as root in containers, where chromium's sandbox
		// cannot start; the pages are the tests' own.
		chromedp.NoSandbox,
		chromedp.Flag("lang", "en-GB"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	b := &Browser{ctx: ctx, viewport: viewport}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	chromedp.ListenTarget(ctx, b.listen)
	// The first run starts chromium and ties it to its context, so it gets
	// the tab's own (a timeout's would close the browser when it ends); a
	// timer bounds it instead.
	stuck := time.AfterFunc(Timeout, cancelTab)
	err := chromedp.Run(ctx, emulate(viewport),
		// As the teams see it: British English, London time.
		emulation.SetLocaleOverride().WithLocale("en-GB"),
		emulation.SetTimezoneOverride("Europe/London"))
	stuck.Stop()
	if err != nil {
		t.Fatalf("browser: start %s: %v", path, err)
	}
	return b
}

func emulate(viewport Viewport) chromedp.EmulateAction {
	opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(1)}
	if viewport.Mobile {
		opts = []chromedp.EmulateViewportOption{chromedp.EmulateScale(3), chromedp.EmulateMobile}
	}
	return chromedp.EmulateViewport(viewport.Width, viewport.Height, opts...)
}

// Resize shows pages at viewport from now on, as when the next person in a
// test uses a phone: one browser serves a whole journey. The page shown is
// laid out again at once.
func (b *Browser) Resize(t testing.TB, viewport Viewport) {
	t.Helper()
	b.run(t, "resize to "+viewport.Name, emulate(viewport))
	b.viewport = viewport
}

// Context is the tab's context, for chromedp actions the helpers lack.
func (b *Browser) Context() context.Context { return b.ctx }

// Viewport is the size the browser shows pages at.
func (b *Browser) Viewport() Viewport { return b.viewport }

// run runs actions within Timeout, failing the test on an error.
func (b *Browser) run(t testing.TB, what string, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// listen keeps what the page complains of: console errors, uncaught
// exceptions and the browser's refusals (a blocked script or style).
func (b *Browser) listen(ev any) {
	var p string
	switch ev := ev.(type) {
	case *log.EventEntryAdded:
		if ev.Entry.Level == log.LevelError {
			p = fmt.Sprintf("%s: %s", ev.Entry.Source, ev.Entry.Text)
			if ev.Entry.URL != "" {
				p += " (" + ev.Entry.URL + ")"
			}
		}
	case *runtime.EventExceptionThrown:
		p = "exception: " + ev.ExceptionDetails.Error()
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.APITypeError {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, strings.Trim(string(a.Value), `"`))
			}
			p = "console.error: " + strings.Join(parts, " ")
		}
	}
	if p != "" {
		b.mu.Lock()
		b.problems = append(b.problems, p)
		b.mu.Unlock()
	}
}

// Problems are the console errors, uncaught exceptions and refusals (such
// as a script the Content-Security-Policy blocked) seen so far.
func (b *Browser) Problems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.problems...)
}

// Navigate opens url and waits for it to load; it returns the HTTP status
// of the page (after redirects).
func (b *Browser) Navigate(t testing.TB, url string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, Timeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Navigate(url))
	if err != nil {
		t.Fatalf("browser: open %s: %v", url, err)
	}
	return int(resp.Status)
}

// Evaluate runs expression in the page through the DevTools protocol and
// decodes its value into res (nil to ignore it). A promise is awaited.
func (b *Browser) Evaluate(t testing.TB, expression string, res any) {
	t.Helper()
	b.run(t, "evaluate", chromedp.Evaluate(expression, res, awaitPromise))
}

func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams {
	return p.WithAwaitPromise(true)
}

// Text is the visible text of the first element selector finds.
func (b *Browser) Text(t testing.TB, selector string) string {
	t.Helper()
	var s string
	b.run(t, "text of "+selector, chromedp.Text(selector, &s, chromedp.ByQuery, chromedp.NodeReady))
	return strings.TrimSpace(s)
}

// Title is the page's title.
func (b *Browser) Title(t testing.TB) string {
	t.Helper()
	var s string
	b.run(t, "title", chromedp.Title(&s))
	return s
}

// Location is the page's URL.
func (b *Browser) Location(t testing.TB) string {
	t.Helper()
	var s string
	b.run(t, "location", chromedp.Location(&s))
	return s
}

// js quotes s as a JavaScript string.
func js(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}
