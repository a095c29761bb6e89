package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"homeward/internal/pglocal"
	"homeward/internal/testenv"
	"homeward/store"
	"homeward/web"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	code := m.Run()
	pglocal.StopTestClusters()
	os.Exit(code)
}

// clock is the web's clock; tests move it to expire sessions.
type clock struct {
	mu   sync.Mutex
	skew time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.skew)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.skew += d
	c.mu.Unlock()
}

func (c *clock) reset() {
	c.mu.Lock()
	c.skew = 0
	c.mu.Unlock()
}

type site struct {
	env   *testenv.Env
	clock *clock
}

func start(t *testing.T) *site {
	s := &site{clock: &clock{}}
	s.env = testenv.Start(t, testenv.Options{Mount: func(r *gin.Engine, e *testenv.Env) {
		web.Mount(r, web.Deps{API: r, Store: e.Store, Clock: s.clock.now, Logger: e.Logger})
	}})
	return s
}

// browser is one person's browser: a cookie jar, redirects not followed.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (s *site) browser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: s.env.URL, c: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

func (p page) location() string { return p.Header.Get("Location") }

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{Status: resp.StatusCode, Header: resp.Header, Body: string(raw)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	return b.do("POST", path, form)
}

// link makes a one-time sign-in link for u and returns its path.
func (s *site) link(t *testing.T, u store.User) string {
	t.Helper()
	l, err := web.NewSignInLink(context.Background(), s.env.Store, u, "", s.clock.now())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// signIn signs u in in a new browser.
func (s *site) signIn(t *testing.T, u store.User) *browser {
	t.Helper()
	b := s.browser(t)
	l := s.link(t, u)
	p := b.get(l)
	token := hidden(t, p.Body, "token")
	p = b.post("/sign-in/link", url.Values{"token": {token}})
	if p.Status != http.StatusSeeOther || p.location() != web.HomeOf(u) {
		t.Fatalf("sign in: %d to %q, want 303 to %s; %s", p.Status, p.location(), web.HomeOf(u), p.Body)
	}
	return b
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)"`)

// hidden is the value of the first hidden input called name.
func hidden(t *testing.T, html, name string) string {
	t.Helper()
	for _, m := range hiddenInput.FindAllStringSubmatch(html, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	t.Fatalf("no hidden %s in the page:\n%s", name, html)
	return ""
}

// referral is a complete referral as the form sends it.
func referral(firstName string) url.Values {
	london, _ := time.LoadLocation("Europe/London")
	now := time.Now().In(london)
	return url.Values{
		"child.first_name":     {firstName},
		"child.last_name":      {"Testchild"},
		"reported_missing_at":  {now.Add(-30 * time.Hour).Format("2006-01-02T15:04")},
		"returned_at":          {now.Add(-2 * time.Hour).Format("2006-01-02T15:04")},
		"risk_grade":           {"medium"},
		"category":             {"missing"},
		"looked_after":         {"true"},
		"contact.child_mobile": {"07700 900001"},
	}
}

// withForm adds the csrf token and idempotency key of the form page.
func withForm(t *testing.T, v url.Values, formPage string) url.Values {
	t.Helper()
	v.Set("csrf", hidden(t, formPage, "csrf"))
	v.Set("idempotency_key", hidden(t, formPage, "idempotency_key"))
	return v
}

// episodeCount is how many episodes token's user sees through the API.
func (s *site) episodeCount(t *testing.T, token string) int {
	t.Helper()
	st, body := s.env.Do(t, "GET", "/v1/episodes?limit=200", token, nil)
	if st != 200 {
		t.Fatalf("list episodes: %d %s", st, body)
	}
	var list struct {
		Episodes []json.RawMessage `json:"episodes"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatal(err)
	}
	return len(list.Episodes)
}

func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	b.t.Fatalf("no cookie %s", name)
	return ""
}

func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.base)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}
