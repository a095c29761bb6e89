package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"homeward/store"
)

type referralData struct {
	Form          form
	Commissioners []store.Commissioner
	Interviewers  []store.User
	Candidates    []candidate
}

// Choices of the referral form: the API's values and their words.
var (
	riskOptions        = [][2]string{{"low", "Low"}, {"medium", "Medium"}, {"high", "High"}}
	categoryOptions    = [][2]string{{"missing", "Missing"}, {"away_from_placement", "Away from placement"}}
	lookedAfterOptions = [][2]string{{"true", "Yes"}, {"false", "No"}}
)

// Options are the referral form's radio choices, for the template.
func (referralData) Options(name string) [][2]string {
	switch name {
	case "risk_grade":
		return riskOptions
	case "category":
		return categoryOptions
	}
	return lookedAfterOptions
}

// candidate is a known child the API says the referral may be about.
type candidate struct {
	ID                    string  `json:"id"`
	FirstName             string  `json:"first_name"`
	LastName              string  `json:"last_name"`
	DateOfBirth           *string `json:"date_of_birth"`
	LocalAuthorityChildID string  `json:"local_authority_child_id"`
}

func (w *Web) newReferral(c *gin.Context) {
	w.renderReferral(c, http.StatusOK, newForm(nil), nil, "")
}

func (w *Web) renderReferral(c *gin.Context, status int, f form, cands []candidate, message string) {
	d := referralData{Form: f, Candidates: cands}
	u := sessionOf(c).User
	var err error
	if u.CommissionerID == "" {
		if d.Commissioners, err = w.d.Store.Commissioners(c.Request.Context()); err == nil {
			d.Interviewers, err = w.d.Store.ActiveUsers(c.Request.Context(), store.RoleInterviewer)
		}
	} else {
		d.Interviewers, err = w.d.Store.ActiveUsersFor(c.Request.Context(), store.RoleInterviewer, u.CommissionerID)
	}
	if err != nil {
		w.unavailable(c, "referral choices", err)
		return
	}
	w.render(c, status, "referral", view{Title: "New referral — Homeward", Error: message, Data: d})
}

// postReferral opens the episode through the API. A refusal shows the form
// again as typed, with each reason beside its field.
func (w *Web) postReferral(c *gin.Context) {
	_ = c.Request.ParseForm()
	values := c.Request.PostForm
	key := idempotencyKey(c)
	var created struct {
		ID string `json:"id"`
	}
	a, err := w.callAPI(c, http.MethodPost, "/v1/episodes", w.referralBody(values), key, &created)
	if err == nil && a.ok() {
		c.Redirect(http.StatusSeeOther, "/episodes/"+created.ID+"?opened=1")
		return
	}
	if err != nil || !a.refused() {
		w.apiProblem(c, a, err)
		return
	}
	f := newForm(values)
	f.Errors = a.reasons()
	var match struct {
		Candidates []candidate `json:"candidates"`
	}
	_ = json.Unmarshal(a.Body, &match)
	w.renderReferral(c, a.Status, f, match.Candidates, a.Err.Message)
}

// referralBody is the API's CreateEpisode from the form; the form's
// fields are named by the API's own field paths.
func (w *Web) referralBody(v url.Values) map[string]any {
	text := func(m map[string]any, key, field string) {
		if s := strings.TrimSpace(v.Get(field)); s != "" {
			m[key] = s
		}
	}
	child := map[string]any{}
	for _, k := range []string{"id", "first_name", "last_name", "date_of_birth", "gender", "local_authority_child_id", "police_person_reference"} {
		text(child, k, "child."+k)
	}
	contact := map[string]any{}
	for _, k := range []string{"child_phone", "child_mobile", "address"} {
		text(contact, k, "contact."+k)
	}
	carer := map[string]any{}
	for _, k := range []string{"name", "relationship", "phone", "email"} {
		text(carer, k, "contact.carers[0]."+k)
	}
	if len(carer) > 0 {
		contact["carers"] = []any{carer}
	}
	prefs := map[string]any{}
	for _, k := range []string{"worker_gender", "language", "notes"} {
		text(prefs, k, "preferences."+k)
	}
	body := map[string]any{"child": child, "contact": contact, "looked_after": v.Get("looked_after") == "true"}
	if len(prefs) > 0 {
		body["preferences"] = prefs
	}
	for _, k := range []string{"police_reference", "risk_grade", "category", "referral_source",
		"assigned_interviewer_id", "assignment_override_reason", "commissioner_id"} {
		text(body, k, k)
	}
	for _, k := range []string{"reported_missing_at", "returned_at"} {
		if s := strings.TrimSpace(v.Get(k)); s != "" {
			body[k] = w.instant(s)
		}
	}
	if v.Get("new_child") == "true" && v.Get("child.id") == "" {
		body["new_child"] = true
	}
	return body
}
