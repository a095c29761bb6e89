package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"homeward/store"
)

// outcomeForm is one of the interviewer's forms, on a page of its own
// under the episode (/episodes/:id/<page>). Its fields are named by the
// API's own field paths where they can be, so the API's reasons land
// beside them; rename maps the others.
type outcomeForm struct {
	page    string // the URL's tail
	tmpl    string // the template
	heading string // the page's <h1>, also in its title
	api     string // the API path's tail, e.g. "/interview"
	notice  string // shown on the episode page once recorded
	// body is the API's request from what was typed, and how to turn the
	// fields the API names back into the form's own.
	body func(w *Web, v url.Values) (any, rename)
	// prefill fills a fresh form, e.g. with "now" for an instant.
	prefill func(w *Web, f form)
}

// rename turns a field the API named into the form's field.
type rename func(field string) string

// outcomeData is what an outcome form's template gets.
type outcomeData struct {
	E       store.EpisodeDetail
	Form    form
	Heading string
	Action  string
	// Summary lists the fields' reasons at the top (a 400, several may be
	// wrong); a 409 is one reason about the episode, said at the top.
	Summary bool
}

// outcomeForms are the interviewer's forms, by page.
var outcomeForms = []outcomeForm{arrangementForm, interviewForm, agreementForm, followUpForm, actionPlanForm}

// isOutcomeForm reports whether page is one of the outcome forms' pages.
func isOutcomeForm(page string) bool {
	for _, of := range outcomeForms {
		if of.page == page {
			return true
		}
	}
	return false
}

// formRoutes registers each outcome form's page and its post.
func (w *Web) formRoutes(in *gin.RouterGroup, guard gin.HandlerFunc) {
	for _, of := range outcomeForms {
		in.GET("/episodes/:id/"+of.page, guard, w.outcomePage(of))
		in.POST("/episodes/:id/"+of.page, guard, w.postOutcome(of))
	}
}

func (w *Web) outcomePage(of outcomeForm) gin.HandlerFunc {
	return func(c *gin.Context) {
		f := newForm(nil)
		if of.prefill != nil {
			of.prefill(w, f)
		}
		w.showOutcome(c, of, http.StatusOK, f, "", false)
	}
}

// showOutcome renders the form with the episode as the API answers it.
func (w *Web) showOutcome(c *gin.Context, of outcomeForm, status int, f form, message string, summary bool) {
	path, ok := episodePath(c, "")
	if !ok {
		w.refuse(c, http.StatusNotFound, "No such episode.")
		return
	}
	var e store.EpisodeDetail
	a, err := w.callAPI(c, http.MethodGet, path, nil, "", &e)
	if err != nil || !a.ok() {
		w.apiProblem(c, a, err)
		return
	}
	d := outcomeData{E: e, Form: f, Heading: of.heading, Action: "/episodes/" + e.ID + "/" + of.page, Summary: summary}
	w.render(c, status, of.tmpl, view{Title: of.heading + " — Episode " + e.Reference + " — Homeward", Error: message, Data: d})
}

// postOutcome records the form through the API: 303 to the episode once
// recorded; a refusal shows the form again as typed, with the reasons.
func (w *Web) postOutcome(of outcomeForm) gin.HandlerFunc {
	return func(c *gin.Context) {
		path, ok := episodePath(c, of.api)
		if !ok {
			w.refuse(c, http.StatusNotFound, "No such episode.")
			return
		}
		_ = c.Request.ParseForm()
		values := c.Request.PostForm
		body, rn := of.body(w, values)
		a, err := w.callAPI(c, http.MethodPost, path, body, idempotencyKey(c), nil)
		if err == nil && a.ok() {
			c.Redirect(http.StatusSeeOther, "/episodes/"+c.Param("id")+"?recorded="+of.page)
			return
		}
		if err != nil || !a.refused() {
			w.apiProblem(c, a, err)
			return
		}
		f := newForm(url.Values(values))
		for _, d := range a.Err.Details {
			field := d.Field
			if rn != nil {
				field = rn(field)
			}
			if _, seen := f.Errors[field]; !seen {
				f.Errors[field] = d.Reason
			}
		}
		w.showOutcome(c, of, a.Status, f, a.Err.Message, a.Status == http.StatusBadRequest)
	}
}

// recordedNotice is the episode page's notice after a form was recorded.
func recordedNotice(kind string) string {
	for _, of := range outcomeForms {
		if of.page == kind {
			return of.notice
		}
	}
	return "Recorded."
}

// lines is a textarea of one item a line, as the API's list; blank lines
// are left out.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// setText sets m[key] to the trimmed value of field, when there is one.
func setText(m map[string]any, key string, v url.Values, field string) {
	if s := strings.TrimSpace(v.Get(field)); s != "" {
		m[key] = s
	}
}

// setLines sets m[key] to the lines of field, when there are any.
func setLines(m map[string]any, key string, v url.Values, field string) {
	if l := lines(v.Get(field)); len(l) > 0 {
		m[key] = l
	}
}

var itemIndex = regexp.MustCompile(`^([a-z_.]+)\[(\d+)\](.*)$`)

// renames builds a rename: a list's item ("record.push_factors[2]") is
// the list's textarea; an item of rows that were compacted
// ("shared_with[1].what") goes to the row it came from, rows[list][i],
// which is the form's own prefix for it ("what.police").
func renames(lists []string, rows map[string][]string) rename {
	return func(field string) string {
		m := itemIndex.FindStringSubmatch(field)
		if m == nil {
			return field
		}
		for _, l := range lists {
			if m[1] == l && m[3] == "" {
				return l
			}
		}
		if r, ok := rows[m[1]]; ok {
			if i, err := strconv.Atoi(m[2]); err == nil && i < len(r) {
				return r[i] + m[3]
			}
		}
		return field
	}
}
