package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"homeward/episode"
	"homeward/store"
)

const boardPageSize = 25

type boardRow struct {
	store.EpisodeSummary
	Deadline    countdown
	NextContact string
}

type boardData struct {
	Rows          []boardRow
	Filters       url.Values
	Commissioners []store.Commissioner
	Interviewers  []store.User
	Statuses      []episode.Status
	Page          int
	Prev, Next    string
}

// board lists the open episodes the user may see, the most urgent first.
func (w *Web) board(c *gin.Context) {
	f := url.Values{}
	for _, k := range []string{"commissioner", "status", "interviewer"} {
		if v := c.Query(k); v != "" {
			f.Set(k, v)
		}
	}
	page, _ := strconv.Atoi(c.Query("page"))
	page = max(page, 1)
	var list struct {
		Episodes []store.EpisodeSummary `json:"episodes"`
	}
	a, err := w.callAPI(c, http.MethodGet, "/v1/episodes?"+boardQuery(f, page).Encode(), nil, "", &list)
	if err != nil || (!a.ok() && a.Status != http.StatusBadRequest) {
		w.apiProblem(c, a, err)
		return
	}
	d, err := w.boardChoices(c)
	if err != nil {
		w.unavailable(c, "board choices", err)
		return
	}
	d.Filters, d.Page = f, page
	for _, e := range list.Episodes {
		d.Rows = append(d.Rows, w.boardRow(e))
	}
	d.Prev, d.Next = pager(f, page, len(list.Episodes) == boardPageSize)
	v := view{Title: "Board — Homeward", Data: d}
	if !a.ok() {
		v.Error = a.Err.Message
	}
	w.render(c, http.StatusOK, "board", v)
}

func boardQuery(f url.Values, page int) url.Values {
	q := url.Values{"open": {"true"}, "limit": {strconv.Itoa(boardPageSize)},
		"offset": {strconv.Itoa((page - 1) * boardPageSize)}}
	if v := f.Get("status"); v != "" {
		q.Set("status", v)
	}
	if v := f.Get("interviewer"); v != "" {
		q.Set("assignee", v)
	}
	if v := f.Get("commissioner"); v != "" {
		q.Set("commissioner", v)
	}
	return q
}

func (w *Web) boardRow(e store.EpisodeSummary) boardRow {
	r := boardRow{EpisodeSummary: e}
	if e.OfferMadeAt == nil {
		r.Deadline = w.countdownTo(e.OfferDeadline)
	}
	if nc := e.NextContact; nc != nil {
		r.NextContact = label(string(nc.Method)) + ", " + w.when(nc.DueAt)
	}
	return r
}

// boardChoices are the filters' options: the staff list, not case data.
func (w *Web) boardChoices(c *gin.Context) (boardData, error) {
	u := sessionOf(c).User
	d := boardData{}
	for _, s := range episode.Statuses {
		if s.Open() {
			d.Statuses = append(d.Statuses, s)
		}
	}
	var err error
	if u.CommissionerID == "" {
		if d.Commissioners, err = w.d.Store.Commissioners(c.Request.Context()); err != nil {
			return d, err
		}
		d.Interviewers, err = w.d.Store.ActiveUsers(c.Request.Context(), store.RoleInterviewer)
		return d, err
	}
	d.Interviewers, err = w.d.Store.ActiveUsersFor(c.Request.Context(), store.RoleInterviewer, u.CommissionerID)
	return d, err
}

func pager(f url.Values, page int, more bool) (prev, next string) {
	link := func(p int) string {
		q := url.Values{}
		for k, v := range f {
			q[k] = v
		}
		q.Set("page", strconv.Itoa(p))
		return "/board?" + q.Encode()
	}
	if page > 1 {
		prev = link(page - 1)
	}
	if more {
		next = link(page + 1)
	}
	return prev, next
}
