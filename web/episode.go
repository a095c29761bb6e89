package web

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"homeward/episode"
	"homeward/store"
)

type episodeData struct {
	E            store.EpisodeDetail
	Pending      bool
	Deadline     countdown
	Timeline     []episode.TimelineEntry
	CanAssign    bool
	CanContact   bool
	Interviewers []store.User
	Assign       form
	Contact      form
	Methods      []episode.Method
	Outcomes     [][2]string
	// FormsNow are the interviewer's forms the episode's status calls for.
	FormsNow []formLink
}

// formLink is a link to one of the interviewer's forms.
type formLink struct{ Href, Label string }

// formsNow offers the forms by the episode's status only: whether an
// outcome may be recorded is the episode's to decide, and a form it
// refuses says why.
// planned says whether an action plan is recorded (true hides its form).
func formsNow(id string, status episode.Status, planned bool) []formLink {
	base := "/episodes/" + id + "/"
	link := func(page, words string) formLink { return formLink{Href: base + page, Label: words} }
	var out []formLink
	switch status {
	case episode.StatusOfferAccepted:
		out = append(out, link("interview/arrangement", "Arrange the interview"), link("interview", "Record the interview"))
	case episode.StatusInterviewScheduled:
		out = append(out, link("interview/arrangement", "Reschedule, or record that the child did not attend"), link("interview", "Record the interview"))
	case episode.StatusInterviewHeld:
		out = append(out, link("agreement", "Record the agreement"))
	case episode.StatusFollowUpDue:
		out = append(out, link("follow-up", "Record the follow-up"))
	}
	held := status == episode.StatusInterviewHeld || status == episode.StatusFollowUpDue
	if held && !planned {
		out = append(out, link("action-plan", "Record the action plan"))
	}
	return out
}

// contactStatuses are the statuses that wait for a contact attempt.
func contactStatus(s episode.Status) bool {
	return s == episode.StatusAwaitingContact || s == episode.StatusUnableToContact || s == episode.StatusReofferPending
}

// episodePage shows the whole episode, as the API answers it.
func (w *Web) episodePage(c *gin.Context) {
	w.showEpisode(c, http.StatusOK, newForm(nil), newForm(nil), "")
}

func (w *Web) showEpisode(c *gin.Context, status int, assign, contact form, message string) {
	path, ok := episodePath(c, "")
	if !ok {
		w.refuse(c, http.StatusNotFound, "No such episode.")
		return
	}
	var got struct {
		store.EpisodeDetail
		Pending bool `json:"pending"`
	}
	a, err := w.callAPI(c, http.MethodGet, path, nil, "", &got)
	if err != nil || !a.ok() {
		w.apiProblem(c, a, err)
		return
	}
	d, err := w.episodeData(c, got.EpisodeDetail, assign, contact)
	if err != nil {
		w.unavailable(c, "episode choices", err)
		return
	}
	d.Pending = got.Pending
	v := view{Title: "Episode " + got.Reference + " — Homeward", Error: message, Data: d}
	if c.Query("opened") != "" {
		v.Notice = "The episode is open."
	}
	if k := c.Query("recorded"); k != "" {
		v.Notice = recordedNotice(k)
	}
	w.render(c, status, "episode", v)
}

func (w *Web) episodeData(c *gin.Context, e store.EpisodeDetail, assign, contact form) (episodeData, error) {
	u := sessionOf(c).User
	d := episodeData{E: e, Assign: assign, Contact: contact, Methods: episode.Methods,
		Outcomes: attemptOutcomes}
	if e.OfferMadeAt == nil && e.Status.Open() {
		d.Deadline = w.countdownTo(e.OfferDeadline)
	}
	d.Timeline = append([]episode.TimelineEntry(nil), e.Timeline...)
	sort.SliceStable(d.Timeline, func(i, j int) bool { return d.Timeline[i].At.Before(d.Timeline[j].At) })
	open := e.Status.Open()
	d.CanContact = contactStatus(e.Status) && u.Role == store.RoleInterviewer
	if u.Role == store.RoleInterviewer {
		d.FormsNow = formsNow(e.ID, e.Status, e.ActionPlan != nil)
	}
	d.CanAssign = open && (u.Role == store.RoleCoordinator || u.Role == store.RoleManager || u.Role == store.RoleAdmin)
	if d.CanContact && d.Contact.V("attempted_at") == "" {
		d.Contact.Values.Set("attempted_at", w.localInput(w.now()))
	}
	if !d.CanAssign {
		return d, nil
	}
	var err error
	if u.CommissionerID == "" {
		d.Interviewers, err = w.d.Store.ActiveUsers(c.Request.Context(), store.RoleInterviewer)
	} else {
		d.Interviewers, err = w.d.Store.ActiveUsersFor(c.Request.Context(), store.RoleInterviewer, u.CommissionerID)
	}
	return d, err
}

// postAssignment assigns or reassigns the interviewer through the API.
func (w *Web) postAssignment(c *gin.Context) {
	path, ok := episodePath(c, "/assignment")
	if !ok {
		w.refuse(c, http.StatusNotFound, "No such episode.")
		return
	}
	_ = c.Request.ParseForm()
	body := map[string]any{"interviewer_id": c.PostForm("interviewer_id")}
	if r := strings.TrimSpace(c.PostForm("override_reason")); r != "" {
		body["override_reason"] = r
	}
	w.record(c, path, body, func(status int, f form, msg string) {
		w.showEpisode(c, status, f, newForm(nil), msg)
	})
}

// record sends one outcome of a form; a refusal shows the form again.
func (w *Web) record(c *gin.Context, path string, body any, again func(status int, f form, msg string)) {
	a, err := w.callAPI(c, http.MethodPost, path, body, idempotencyKey(c), nil)
	if err == nil && a.ok() {
		c.Redirect(http.StatusSeeOther, afterRecording(c))
		return
	}
	if err != nil || !a.refused() {
		w.apiProblem(c, a, err)
		return
	}
	f := newForm(url.Values(c.Request.PostForm))
	f.Errors = a.reasons()
	again(a.Status, f, a.Err.Message)
}

// afterRecording is where a recorded form goes: back to the page it came
// from (the form says which), else the episode.
func afterRecording(c *gin.Context) string {
	if c.PostForm("back") == "mine" {
		return "/mine?recorded=1"
	}
	return "/episodes/" + c.Param("id") + "?recorded=1"
}
