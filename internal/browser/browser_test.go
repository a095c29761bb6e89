package browser_test

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"

	"homeward/internal/browser"
)

// csp is the web interface's policy (the shared design's): no inline
// script or style, nothing from elsewhere.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

//go:embed testdata
var testdata embed.FS

var signedIn = template.Must(template.New("signed-in").Parse(`<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Signed in — Homeward</title><link rel="stylesheet" href="/style.css"></head>
<body><main><h1>Signed in</h1><dl>{{range .}}<dt>{{.Name}}</dt><dd id="{{.Name}}">{{.Value}}</dd>{{end}}</dl></main></body></html>`))

// site serves the test pages under the strict policy.
func site(t *testing.T) *httptest.Server {
	t.Helper()
	page := func(file, mediaType string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := testdata.ReadFile("testdata/" + file)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", mediaType)
			_, _ = w.Write(b)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accessible", page("accessible.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /violation", page("violation.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /style.css", page("style.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	mux.HandleFunc("POST /signed-in", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		type field struct{ Name, Value string }
		var fields []field
		for _, name := range []string{"email", "when", "role", "team", "note", "agree"} {
			fields = append(fields, field{name, r.PostForm.Get(name)})
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = signedIn.Execute(w, fields)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A page built as the design asks passes axe-core at both sizes, its
// screenshot is a PNG of the whole page, and a form filled and sent by the
// helpers arrives as typed.
func TestAccessiblePage(t *testing.T) {
	srv := site(t)
	for _, vp := range []browser.Viewport{browser.Desktop, browser.Phone} {
		t.Run(vp.Name, func(t *testing.T) {
			b := browser.New(t, vp)
			if st := b.Navigate(t, srv.URL+"/accessible"); st != 200 {
				t.Fatalf("status %d", st)
			}
			b.CheckAccessibility(t)
			checkPNG(t, b.Screenshot(t, "sign-in"), int(vp.Width))

			b.FillByLabel(t, "Email", "sam@example.org")
			b.FillByLabel(t, "Day", "2026-11-24")
			b.FillByName(t, "role", "coordinator")
			b.FillByLabel(t, "Team", "South")
			b.FillByName(t, "note", "first line")
			b.Check(t, "I agree")
			if st := b.Submit(t, "Sign in"); st != 200 {
				t.Fatalf("submitted: status %d", st)
			}
			want := map[string]string{"email": "sam@example.org", "when": "2026-11-24", "role": "coordinator",
				"team": "south", "note": "first line", "agree": "yes"}
			for name, v := range want {
				if got := b.Text(t, "#"+name); got != v {
					t.Errorf("%s arrived as %q, want %q", name, got, v)
				}
			}
			if p := b.Problems(); len(p) > 0 {
				t.Errorf("the pages complained: %v", p)
			}
		})
	}
}

// A page with an input without a label and text too faint to read: axe
// names both, and CheckAccessibility fails the test. The page's policy
// holds (its inline script is refused), yet axe runs: it is put in through
// the DevTools protocol, which the policy does not govern, while a script
// the page itself adds is refused.
func TestViolationsAreReported(t *testing.T) {
	srv := site(t)
	b := browser.New(t, browser.Desktop)
	b.Navigate(t, srv.URL+"/violation")

	var inline, injected string
	b.Evaluate(t, `document.body.getAttribute('data-inline-script') || 'refused'`, &inline)
	b.Evaluate(t, `(() => { const s = document.createElement('script'); s.textContent = 'window.injected = "ran"';
		document.head.appendChild(s); return window.injected || 'refused'; })()`, &injected)
	if inline != "refused" || injected != "refused" {
		t.Fatalf("the page's policy is not in force: inline script %s, added script %s", inline, injected)
	}
	if p := strings.Join(b.Problems(), "\n"); !strings.Contains(p, "Content Security Policy") {
		t.Errorf("no refusal by the policy among the page's complaints: %q", p)
	}

	found := map[string]string{}
	for _, v := range b.Accessibility(t) {
		for _, n := range v.Nodes {
			found[v.ID] += n.HTML
		}
	}
	if !strings.Contains(found["label"], `name="q"`) {
		t.Errorf("axe did not report the unlabelled input: %v", found)
	}
	if !strings.Contains(found["color-contrast"], "faint") {
		t.Errorf("axe did not report the faint text: %v", found)
	}

	r := record(t, b.CheckAccessibility)
	msg := strings.Join(r.errors, "\n")
	if !r.failed() || !strings.Contains(msg, "- label (critical)") || !strings.Contains(msg, "- color-contrast (serious)") ||
		!strings.Contains(msg, "dequeuniversity.com") {
		t.Errorf("CheckAccessibility did not fail readably: %q", msg)
	}
	checkPNG(t, b.Screenshot(t, "violation"), int(browser.Desktop.Width))
}

// Without a browser the harness skips, or fails when one is required.
func TestMissingBrowser(t *testing.T) {
	t.Setenv("HOMEWARD_CHROMIUM", "/nonexistent/chromium")
	t.Setenv("HOMEWARD_REQUIRE_BROWSER", "")
	start := func(tb testing.TB) { browser.New(tb, browser.Desktop) }
	if r := record(t, start); !strings.Contains(r.skipped, "/nonexistent/chromium") || r.failed() {
		t.Errorf("not required: skipped %q, errors %q", r.skipped, r.errors)
	}
	t.Setenv("HOMEWARD_REQUIRE_BROWSER", "1")
	if r := record(t, start); r.skipped != "" || !strings.Contains(strings.Join(r.errors, ""), "HOMEWARD_REQUIRE_BROWSER=1") {
		t.Errorf("required: skipped %q, errors %q", r.skipped, r.errors)
	}
}

func checkPNG(t *testing.T, path string, width int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot %s is not a PNG: %v", path, err)
	}
	// Device pixels: the phone is drawn at three times its CSS width.
	if w := img.Bounds().Dx(); w%width != 0 {
		t.Errorf("screenshot %s is %d pixels wide, want a multiple of %d", path, w, width)
	}
}

// recorder is a testing.TB that keeps failures and skips instead of
// acting on them, to test what the harness does to a test.
type recorder struct {
	testing.TB
	mu      sync.Mutex
	errors  []string
	skipped string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}
func (r *recorder) Fatal(args ...any) { r.Fatalf("%s", fmt.Sprint(args...)) }
func (r *recorder) Skip(args ...any) {
	r.skipped = fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recorder) Skipf(format string, args ...any) { r.Skip(fmt.Sprintf(format, args...)) }
func (r *recorder) failed() bool                     { return len(r.errors) > 0 }

// record runs fn with a recorder on its own goroutine, as a test runs.
func record(t *testing.T, fn func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}
