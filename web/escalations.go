package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"

	"homeward/store"
)

type escalationRow struct {
	store.EscalationView
	Ack form
}

type escalationsData struct {
	// Undelivered are the emails nobody has received yet, of every kind.
	Undelivered  []undeliveredRow
	Rows         []escalationRow
	Acknowledged string // the filter: "", "true" or "false"
	Page         int
	Prev, Next   string
}

type undeliveredRow struct {
	store.UndeliveredEmail
	About string
}

// emailsAbout says in words what an undelivered email is about.
var emailsAbout = map[string]string{
	"escalation":         "Escalation",
	"contact_reminder":   "Reminder of a contact attempt",
	"action_reminder":    "Reminder of an action due",
	"return_report":      "Return report ready, to the commissioner's officers",
	"report_undelivered": "Notice to the managers that a return report reached no officer",
}

func aboutEmail(u store.UndeliveredEmail) string {
	about := emailsAbout[u.Email]
	if about == "" {
		about = label(u.Email)
	}
	if u.EscalationKind != "" {
		about += ": " + label(string(u.EscalationKind))
	}
	return about
}

var escalationIDPattern = regexp.MustCompile(`^[0-9]{1,18}$`)

// escalations lists the escalations the manager may see, those nobody has
// acknowledged first, then newest first (the API's order), each with a
// form to acknowledge it with a note.
func (w *Web) escalations(c *gin.Context) {
	w.showEscalations(c, http.StatusOK, "", form{}, "")
}

// showEscalations renders the list; refused is the escalation whose form
// the API refused, shown again with what was typed.
func (w *Web) showEscalations(c *gin.Context, status int, refused string, f form, message string) {
	filter := url.Values{}
	if v := c.Query("acknowledged"); v == "true" || v == "false" {
		filter.Set("acknowledged", v)
	}
	page := pageOf(c)
	q := pageQuery(page)
	if v := filter.Get("acknowledged"); v != "" {
		q.Set("acknowledged", v)
	}
	var list struct {
		Escalations []store.EscalationView   `json:"escalations"`
		Undelivered []store.UndeliveredEmail `json:"undelivered_emails"`
	}
	a, err := w.callAPI(c, http.MethodGet, "/v1/escalations?"+q.Encode(), nil, "", &list)
	if err != nil || !a.ok() {
		w.apiProblem(c, a, err)
		return
	}
	d := escalationsData{Acknowledged: filter.Get("acknowledged"), Page: page}
	for _, u := range list.Undelivered {
		d.Undelivered = append(d.Undelivered, undeliveredRow{UndeliveredEmail: u, About: aboutEmail(u)})
	}
	for _, x := range list.Escalations {
		r := escalationRow{EscalationView: x, Ack: newForm(nil)}
		if refused != "" && refused == idString(x.ID) {
			r.Ack = f
		}
		d.Rows = append(d.Rows, r)
	}
	d.Prev, d.Next = pagerAt("/escalations", filter, page, len(list.Escalations) == listPageSize)
	v := view{Title: "Escalations — Homeward", Error: message, Data: d}
	if c.Query("acknowledged_one") != "" {
		v.Notice = "Acknowledged. The team sees your note on the escalation and the episode."
	}
	w.render(c, status, "escalations", v)
}

// postAcknowledgement acknowledges an escalation with a note through the
// API, with the form's idempotency key: a double submit records once.
func (w *Web) postAcknowledgement(c *gin.Context) {
	id := c.Param("id")
	if !escalationIDPattern.MatchString(id) {
		w.refuse(c, http.StatusNotFound, "No such escalation.")
		return
	}
	_ = c.Request.ParseForm()
	body := map[string]any{"note": strings.TrimSpace(c.PostForm("note"))}
	a, err := w.callAPI(c, http.MethodPost, "/v1/escalations/"+id+"/acknowledgement", body, idempotencyKey(c), nil)
	if err == nil && a.ok() {
		c.Redirect(http.StatusSeeOther, "/escalations?acknowledged_one=1")
		return
	}
	if err != nil || !a.refused() {
		w.apiProblem(c, a, err)
		return
	}
	f := newForm(url.Values(c.Request.PostForm))
	f.Errors = a.reasons()
	w.showEscalations(c, a.Status, id, f, a.Err.Message)
}
