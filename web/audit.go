package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"homeward/store"
)

type auditEntry struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	UserID    string    `json:"user_id"`
	Role      string    `json:"role"`
	Action    string    `json:"action"`
	EpisodeID string    `json:"episode_id"`
	Outcome   string    `json:"outcome"`
	Status    int       `json:"status"`
	RequestID string    `json:"request_id"`
	Who       string    `json:"-"`
}

type auditData struct {
	Rows       []auditEntry
	Filters    url.Values // as typed
	Errors     map[string]string
	Staff      []store.User
	Page       int
	Prev, Next string
}

// auditFilters are the page's filters and the API's parameter of each.
var auditFilters = [][2]string{{"episode_id", "episode_id"}, {"user_id", "user_id"}, {"from", "from"}, {"to", "to"}}

// audit shows the audit trail, newest first, with the API's filters.
func (w *Web) audit(c *gin.Context) {
	f, q := url.Values{}, pageQuery(pageOf(c))
	for _, k := range auditFilters {
		v := strings.TrimSpace(c.Query(k[0]))
		if v == "" {
			continue
		}
		f.Set(k[0], v)
		if k[0] == "from" || k[0] == "to" {
			v = w.instant(v)
		}
		q.Set(k[1], v)
	}
	var got struct {
		Entries []auditEntry `json:"entries"`
	}
	a, err := w.callAPI(c, http.MethodGet, "/v1/audit?"+q.Encode(), nil, "", &got)
	if err != nil || (!a.ok() && a.Status != http.StatusBadRequest) {
		w.apiProblem(c, a, err)
		return
	}
	staff, err := w.staff(c)
	if err != nil {
		w.unavailable(c, "audit staff", err)
		return
	}
	d := auditData{Filters: f, Errors: a.reasons(), Staff: staff, Page: pageOf(c)}
	names := map[string]string{}
	for _, u := range staff {
		names[u.ID] = u.Name
	}
	for _, e := range got.Entries {
		e.Who = names[e.UserID]
		d.Rows = append(d.Rows, e)
	}
	d.Prev, d.Next = pagerAt("/audit", f, d.Page, len(got.Entries) == listPageSize)
	v := view{Title: "Audit trail — Homeward", Data: d}
	if !a.ok() {
		v.Error = a.Err.Message
	}
	w.render(c, http.StatusOK, "audit", v)
}

// staff is everyone whose actions the user may read in the trail: the
// staff list, not case data.
func (w *Web) staff(c *gin.Context) ([]store.User, error) {
	u := sessionOf(c).User
	var out []store.User
	for _, r := range store.Roles {
		var us []store.User
		var err error
		if u.CommissionerID == "" {
			us, err = w.d.Store.ActiveUsers(c.Request.Context(), r)
		} else {
			us, err = w.d.Store.ActiveUsersFor(c.Request.Context(), r, u.CommissionerID)
		}
		if err != nil {
			return nil, err
		}
		for _, x := range us {
			if u.CommissionerID == "" || x.CommissionerID == u.CommissionerID {
				out = append(out, x)
			}
		}
	}
	return out, nil
}
