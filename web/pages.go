package web

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"homeward/store"
)

// pageRoutes are the pages behind sign-in. Each role's pages are also
// guarded by the API itself, which answers 403 to anyone else.
func (w *Web) pageRoutes(in *gin.RouterGroup) {
	in.GET("/board", w.roles(pageRoles["/board"]...), w.board)
	in.GET("/referrals/new", w.roles(pageRoles["/referrals/new"]...), w.newReferral)
	in.POST("/referrals/new", w.roles(pageRoles["/referrals/new"]...), w.postReferral)
	in.GET("/episodes/:id", w.episodePage)
	in.POST("/episodes/:id/assignment", w.roles(store.RoleCoordinator, store.RoleManager, store.RoleAdmin), w.postAssignment)
	in.GET("/mine", w.roles(pageRoles["/mine"]...), w.mine)
	in.POST("/episodes/:id/contact-attempts", w.roles(formRoles...), w.postContactAttempt)
	in.GET("/episodes/:id/report", w.returnReport)
	in.GET("/escalations", w.roles(pageRoles["/escalations"]...), w.escalations)
	in.POST("/escalations/:id/acknowledgement", w.roles(pageRoles["/escalations"]...), w.postAcknowledgement)
	in.GET("/overview", w.roles(pageRoles["/overview"]...), w.overview)
	in.GET("/audit", w.roles(pageRoles["/audit"]...), w.audit)
	w.formRoutes(in, w.roles(formRoles...))
}

// pageRoles are the roles that use each page with a fixed path; the pages
// not listed are for every role (the API decides what each sees).
var pageRoles = map[string][]store.Role{
	"/board":         {store.RoleCoordinator, store.RoleManager, store.RoleAdmin},
	"/referrals/new": {store.RoleCoordinator, store.RoleAdmin},
	"/mine":          {store.RoleInterviewer},
	"/escalations":   {store.RoleManager, store.RoleAdmin},
	"/overview":      {store.RoleManager, store.RoleAdmin},
	"/audit":         {store.RoleManager, store.RoleAdmin},
}

// formRoles use the interviewer's outcome forms (/episodes/{id}/{form}).
var formRoles = []store.Role{store.RoleInterviewer}

// usesPage reports whether role may open the page at path, so that a
// page remembered at sign-in is not where someone in another role lands,
// only to be refused.
func usesPage(role store.Role, path string) bool {
	roles, fixed := pageRoles[path]
	if rest, ok := strings.CutPrefix(path, "/episodes/"); ok && !fixed {
		if _, form, ok := strings.Cut(rest, "/"); ok && isOutcomeForm(form) {
			roles, fixed = formRoles, true
		}
	}
	return !fixed || slices.Contains(roles, role)
}

// roles lets only the given roles see a page; the API decides again.
func (w *Web) roles(roles ...store.Role) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := sessionOf(c).User.Role
		for _, x := range roles {
			if r == x {
				c.Next()
				return
			}
		}
		w.refuse(c, http.StatusForbidden, "Your role does not use this page.")
	}
}

// form is a form as typed, with the API's reason beside each field.
type form struct {
	Values         url.Values
	Errors         map[string]string
	IdempotencyKey string
}

// V is the value typed into field.
func (f form) V(field string) string { return f.Values.Get(field) }

// E is the API's reason for field, if any.
func (f form) E(field string) string { return f.Errors[field] }

// Checked reports whether field was typed as value (radios, checkboxes).
func (f form) Checked(field, value string) bool { return f.Values.Get(field) == value }

func newForm(values url.Values) form {
	if values == nil {
		values = url.Values{}
	}
	return form{Values: values, Errors: map[string]string{}, IdempotencyKey: uuid.NewString()}
}

// idempotencyKey is the key the form was rendered with, or a new one when
// it is missing or malformed.
func idempotencyKey(c *gin.Context) string {
	k := c.PostForm("idempotency_key")
	if _, err := uuid.Parse(k); err != nil {
		return uuid.NewString()
	}
	return k
}

// instant turns a datetime-local value, typed in the team's time zone,
// into RFC 3339; a value it cannot read goes to the API as typed, which
// names the field.
func (w *Web) instant(v string) string {
	v = strings.TrimSpace(v)
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, w.d.Location); err == nil {
			return t.UTC().Format(time.RFC3339)
		}
	}
	return v
}

// localInput is an instant as a datetime-local input shows it.
func (w *Web) localInput(t time.Time) string { return t.In(w.d.Location).Format("2006-01-02T15:04") }

var episodeIDPattern = regexp.MustCompile(`^[0-9a-fA-F-]{36}$`)

// episodePath is the API path of an episode; the id is checked so that no
// path can be smuggled into the in-process request.
func episodePath(c *gin.Context, suffix string) (string, bool) {
	id := c.Param("id")
	if !episodeIDPattern.MatchString(id) {
		return "", false
	}
	return "/v1/episodes/" + id + suffix, true
}

// apiProblem shows an answer that is neither success nor a form refusal.
func (w *Web) apiProblem(c *gin.Context, a apiAnswer, err error) {
	if err != nil {
		w.unavailable(c, "api", err)
		return
	}
	if a.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", a.Header.Get("Retry-After"))
	}
	status := a.Status
	if status >= 500 && status != http.StatusServiceUnavailable {
		status = http.StatusInternalServerError
	}
	w.refuse(c, status, a.Err.Message)
}
