package web

import (
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"homeward/api"
	"homeward/store"
)

type overviewData struct {
	Month         string // e.g. "November 2026"
	Commissioners []store.Commissioner
	Commissioner  string // the chosen one's id
	Total         api.KPIFigure
	Open          int
	Charts        []chart
}

// breachReasons are the KPI report's reasons for a breached deadline, in
// the order the chart shows them.
var breachReasons = [][2]string{
	{"late_notification", "Referred after the deadline"},
	{"no_contact_attempted", "No contact attempted"},
	{"no_contact", "Attempts made, no offer"},
	{"other", "Other"},
}

// overview shows this month's figures of one commissioner, from the API's
// KPI report by week and its count of open episodes.
func (w *Web) overview(c *gin.Context) {
	d := overviewData{}
	u := sessionOf(c).User
	d.Commissioner = u.CommissionerID
	if u.CommissionerID == "" {
		var err error
		if d.Commissioners, err = w.d.Store.Commissioners(c.Request.Context()); err != nil {
			w.unavailable(c, "overview commissioners", err)
			return
		}
		d.Commissioner = chosenCommissioner(c.Query("commissioner"), d.Commissioners)
	}
	v := view{Title: "Overview — Homeward", Data: &d}
	if d.Commissioner == "" {
		v.Notice = "There is no commissioner yet, so there are no figures."
		w.render(c, http.StatusOK, "overview", v)
		return
	}
	from, to := monthOf(w.now().In(w.d.Location))
	d.Month = from.Format("January 2006")
	q := url.Values{"commissioner_id": {d.Commissioner}, "from": {from.Format(time.DateOnly)},
		"to": {to.Format(time.DateOnly)}, "group_by": {"week"}}
	var kpis api.KPIReport
	a, err := w.callAPI(c, http.MethodGet, "/v1/reports/kpis?"+q.Encode(), nil, "", &kpis)
	if err != nil || !a.ok() {
		w.apiProblem(c, a, err)
		return
	}
	var open api.OpenEpisodes
	a, err = w.callAPI(c, http.MethodGet, "/v1/reports/open-episodes?"+url.Values{"commissioner_id": {d.Commissioner}}.Encode(), nil, "", &open)
	if err != nil || !a.ok() {
		w.apiProblem(c, a, err)
		return
	}
	d.Total, d.Open = kpis.Total, open.Total
	d.Charts = overviewCharts(kpis, open)
	w.render(c, http.StatusOK, "overview", v)
}

// chosenCommissioner is the one asked for when it is known, else the first.
func chosenCommissioner(asked string, all []store.Commissioner) string {
	if id, err := uuid.Parse(asked); err == nil {
		for _, x := range all {
			if x.ID == id.String() {
				return x.ID
			}
		}
	}
	if len(all) > 0 {
		return all[0].ID
	}
	return ""
}

// monthOf is the first and last day of the month of now.
func monthOf(now time.Time) (from, to time.Time) {
	from = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	return from, from.AddDate(0, 1, -1)
}

func overviewCharts(k api.KPIReport, open api.OpenEpisodes) []chart {
	var opened, offers, breaches, statuses []datum
	for _, p := range k.Periods {
		l := "Week from " + weekStart(p.From)
		opened = append(opened, datum{l, count(p.Episodes)})
		offers = append(offers, datum{l, p.OffersInTimePercent})
	}
	for _, r := range breachReasons {
		breaches = append(breaches, datum{r[1], count(k.Total.Breaches[r[0]])})
	}
	for _, s := range open.Statuses {
		statuses = append(statuses, datum{label(string(s.Status)), count(s.Count)})
	}
	return []chart{
		newChart("chart-opened", "Episodes opened per week", "Week", "Episodes opened", "", 0, opened),
		newChart("chart-offers", "Offers made within 72 hours, per week (of the offers due that week)", "Week", "Offers in time", "%", 100, offers),
		newChart("chart-breaches", "Breached offer deadlines this month, by reason", "Reason", "Breaches", "", 0, breaches),
		newChart("chart-open", "Open episodes now, by status", "Status", "Episodes", "", 0, statuses),
	}
}

// weekStart shows a YYYY-MM-DD day as "23 Nov".
func weekStart(day string) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return day
	}
	return t.Format("2 Jan")
}
