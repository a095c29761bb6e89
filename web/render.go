package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"homeward/store"
)

type page struct{ t *template.Template }

// loadPages parses each page with the layout and the shared parts. The
// templates are embedded: one that does not parse is a build mistake.
func loadPages(funcs template.FuncMap) map[string]*page {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*page{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/_*.html", n))
		pages[base] = &page{t: t}
	}
	return pages
}

// view is what every page's template gets.
type view struct {
	Title    string // in <title>: never a child's name
	User     store.User
	SignedIn bool
	CSRF     string
	Nav      []navItem
	Path     string
	Error    string // the message at the top, in words
	Notice   string
	Data     any
}

type navItem struct {
	Href, Label string
	Current     bool
}

// navFor lists the pages of a role.
func navFor(r store.Role, path string) []navItem {
	var items []navItem
	add := func(href, label string) {
		items = append(items, navItem{Href: href, Label: label, Current: strings.HasPrefix(path, href)})
	}
	switch r {
	case store.RoleCoordinator:
		add("/board", "Board")
		add("/referrals/new", "New referral")
	case store.RoleInterviewer:
		add("/mine", "My episodes")
	case store.RoleManager:
		add("/board", "Board")
		add("/escalations", "Escalations")
		add("/overview", "Overview")
		add("/audit", "Audit")
	case store.RoleAdmin:
		add("/board", "Board")
		add("/referrals/new", "New referral")
		add("/escalations", "Escalations")
		add("/audit", "Audit")
	}
	return items
}

// render answers status with the named page.
func (w *Web) render(c *gin.Context, status int, name string, v view) {
	p, ok := w.pages[name]
	if !ok {
		panic("web: no page " + name)
	}
	if ws, ok := c.Get(ctxSession); ok {
		s := ws.(store.WebSession)
		v.User, v.SignedIn, v.CSRF = s.User, true, s.CSRFToken
		v.Nav = navFor(s.User.Role, c.Request.URL.Path)
	}
	v.Path = c.Request.URL.Path
	var buf bytes.Buffer
	if err := p.t.Execute(&buf, v); err != nil {
		w.d.Logger.ErrorContext(c.Request.Context(), "Rendering a page failed", "page", name, "error", err)
		c.Data(http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("Homeward could not show this page."))
		c.Abort()
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// refuse answers status with a page that says why, in words.
func (w *Web) refuse(c *gin.Context, status int, message string) {
	w.render(c, status, "problem", view{Title: http.StatusText(status) + " — Homeward", Error: message})
	c.Abort()
}

// unavailable logs err and answers 503: a dependency is down; the text
// never reaches the page.
func (w *Web) unavailable(c *gin.Context, op string, err error) {
	w.d.Logger.ErrorContext(c.Request.Context(), "Web request failed", "op", op, "error", err)
	c.Header("Retry-After", "5")
	w.refuse(c, http.StatusServiceUnavailable,
		"Homeward is temporarily unavailable. Nothing was lost; try again in a few seconds.")
}

// funcs are the templates' functions; instants in the team's time zone.
func (w *Web) funcs() template.FuncMap {
	return template.FuncMap{
		"label": label,
		"dict":  dict,
		"idOf":  idOf,
		"when":  w.whenAny,
		"until": w.untilAny,
		"join":  func(s []string) string { return strings.Join(s, "; ") },
		"deref": deref,
	}
}

// whenAny is when for a time.Time or a *time.Time (nil shows nothing).
func (w *Web) whenAny(v any) string {
	switch t := v.(type) {
	case time.Time:
		return w.when(t)
	case *time.Time:
		if t != nil {
			return w.when(*t)
		}
	}
	return ""
}

// untilAny is the countdown to a time.Time or a *time.Time.
func (w *Web) untilAny(v any) countdown {
	switch t := v.(type) {
	case time.Time:
		return w.countdownTo(t)
	case *time.Time:
		if t != nil {
			return w.countdownTo(*t)
		}
	}
	return countdown{}
}

// dict lets a template pass several values to a shared part.
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// idOf is an element id for a form field named by its API path.
func idOf(field string) string {
	return "f-" + strings.NewReplacer(".", "-", "[", "-", "]", "", "_", "-").Replace(field)
}

// label turns an API word (awaiting_contact) into words (awaiting contact).
func label(s string) string {
	s = strings.ReplaceAll(s, "_", " ")
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// when shows an instant in the team's time zone, e.g. "Tue 24 Nov 2026, 16:05".
func (w *Web) when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(w.d.Location).Format("Mon 2 Jan 2006, 15:04")
}

// countdown is a deadline as words and a colour band (never colour alone).
type countdown struct {
	Text, Band string
	At         string // the instant, shown beside the words
	ISO        string // for app.js's live countdown
}

func (w *Web) countdownTo(deadline time.Time) countdown {
	if deadline.IsZero() {
		return countdown{}
	}
	left := deadline.Sub(w.now())
	cd := countdown{At: w.when(deadline), ISO: deadline.UTC().Format(time.RFC3339)}
	switch {
	case left <= 0:
		cd.Text, cd.Band = "breached "+span(-left)+" ago", "band-breached"
	case left <= 6*time.Hour:
		cd.Text, cd.Band = "in "+span(left), "band-6h"
	case left <= 24*time.Hour:
		cd.Text, cd.Band = "in "+span(left), "band-24h"
	default:
		cd.Text = "in " + span(left)
	}
	return cd
}

// span is a duration in words: "5 h 12 min", "3 d 4 h", "40 min".
func span(d time.Duration) string {
	d = d.Round(time.Minute)
	days, hours, mins := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60
	switch {
	case days > 0:
		return fmt.Sprintf("%d d %d h", days, hours)
	case hours > 0:
		return fmt.Sprintf("%d h %d min", hours, mins)
	}
	return fmt.Sprintf("%d min", mins)
}

// deref shows what a pointer points at (nil shows nothing).
func deref(v any) any {
	switch p := v.(type) {
	case *bool:
		return p != nil && *p
	case *string:
		if p != nil {
			return *p
		}
		return ""
	}
	return v
}
