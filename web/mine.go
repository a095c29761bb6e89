package web

import (
	"net/http"
	"sort"
	"strings"

	"github.com/gin-gonic/gin"

	"homeward/episode"
	"homeward/store"
)

var attemptOutcomes = [][2]string{
	{string(episode.OutcomeNoAnswer), "No answer"},
	{string(episode.OutcomeNoReply), "No reply"},
	{string(episode.OutcomeReachedOffered), "Reached: interview offered"},
	{string(episode.OutcomeReachedDeclined), "Reached: declined"},
	{string(episode.OutcomeWrongDetails), "Wrong details"},
}

type mineRow struct {
	boardRow
	NextDue    countdown
	CanContact bool
	Contact    form
}

type mineData struct {
	Rows     []mineRow
	Methods  []episode.Method
	Outcomes [][2]string
}

// mine lists the interviewer's own open episodes, each with a one-tap
// contact attempt form.
func (w *Web) mine(c *gin.Context) {
	var list struct {
		Episodes []store.EpisodeSummary `json:"episodes"`
	}
	a, err := w.callAPI(c, http.MethodGet, "/v1/episodes?open=true&assignee=me&limit=200", nil, "", &list)
	if err != nil || !a.ok() {
		w.apiProblem(c, a, err)
		return
	}
	d := mineData{Methods: episode.Methods, Outcomes: attemptOutcomes}
	for _, e := range list.Episodes {
		f := newForm(nil)
		if e.NextContact != nil {
			f.Values.Set("method", string(e.NextContact.Method))
		}
		r := mineRow{boardRow: w.boardRow(e), Contact: f, CanContact: contactStatus(e.Status)}
		if e.NextContact != nil {
			r.NextDue = w.countdownTo(e.NextContact.DueAt)
		}
		d.Rows = append(d.Rows, r)
	}
	sortByNextContact(d.Rows)
	v := view{Title: "My episodes — Homeward", Data: d}
	if c.Query("recorded") != "" {
		v.Notice = "Recorded."
	}
	w.render(c, http.StatusOK, "mine", v)
}

// sortByNextContact puts the next contact due first; episodes with no
// contact due keep the API's order (most urgent first) after them.
func sortByNextContact(rows []mineRow) {
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i].EpisodeSummary.NextContact, rows[j].EpisodeSummary.NextContact
		switch {
		case a == nil:
			return false
		case b == nil:
			return true
		}
		return a.DueAt.Before(b.DueAt)
	})
}

// postContactAttempt records one contact attempt through the API.
func (w *Web) postContactAttempt(c *gin.Context) {
	path, ok := episodePath(c, "/contact-attempts")
	if !ok {
		w.refuse(c, http.StatusNotFound, "No such episode.")
		return
	}
	_ = c.Request.ParseForm()
	at := c.PostForm("attempted_at")
	if strings.TrimSpace(at) == "" {
		at = w.localInput(w.now())
	}
	body := map[string]any{"method": c.PostForm("method"), "outcome": c.PostForm("outcome"), "attempted_at": w.instant(at)}
	if n := strings.TrimSpace(c.PostForm("notes")); n != "" {
		body["notes"] = n
	}
	w.record(c, path, body, func(status int, f form, msg string) {
		w.showEpisode(c, status, newForm(nil), f, msg)
	})
}
