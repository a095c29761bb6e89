package api

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"homeward/store"
)

// maxKPIDays bounds a KPI report's range: five years of months.
const maxKPIDays = 5*366 + 1

// KPIReport is the answer of GET /v1/reports/kpis (see the OpenAPI
// document for each figure's definition).
type KPIReport struct {
	CommissionerID string      `json:"commissioner_id"`
	From           string      `json:"from"`
	To             string      `json:"to"`
	GroupBy        string      `json:"group_by"`
	TimeZone       string      `json:"time_zone"`
	Periods        []KPIFigure `json:"periods"`
	Total          KPIFigure   `json:"total"`
}

// KPIHours is a median and 90th percentile of hours; null when nothing
// was there to measure.
type KPIHours struct {
	Median *float64 `json:"median"`
	P90    *float64 `json:"p90"`
}

// KPIFigure is the figures of one period.
type KPIFigure struct {
	Period              string         `json:"period"`
	From                string         `json:"from"`
	To                  string         `json:"to"`
	Episodes            int            `json:"episodes"`
	Children            int            `json:"children"`
	RepeatChildren      int            `json:"repeat_children"`
	MissingOver24Hours  int            `json:"missing_over_24_hours"`
	LookedAfter         int            `json:"looked_after"`
	NotLookedAfter      int            `json:"not_looked_after"`
	OffersDue           int            `json:"offers_due"`
	OffersInTime        int            `json:"offers_in_time"`
	OffersInTimePercent *float64       `json:"offers_in_time_percent"`
	OffersAccepted      int            `json:"offers_accepted"`
	InterviewsHeld      int            `json:"interviews_held"`
	Declines            int            `json:"declines"`
	ReturnToOffer       KPIHours       `json:"hours_return_to_offer"`
	ReturnToInterview   KPIHours       `json:"hours_return_to_interview"`
	Breaches            map[string]int `json:"breaches"`
	FollowUpsDue        int            `json:"follow_ups_due"`
	FollowUpsOnTime     int            `json:"follow_ups_on_time"`
	ReportsDue          int            `json:"reports_due"`
	ReportsSentOnTime   int            `json:"reports_sent_on_time"`
	ReportsAcknowledged int            `json:"reports_acknowledged"`
}

// kpiRoutes mounts the KPI report: the provider's and commissioners'
// managers and admins, and commissioner officers (their own commissioner).
func (h *handlers) kpiRoutes(v1 *gin.RouterGroup) {
	v1.GET("/reports/kpis", allow(store.RoleManager, store.RoleAdmin, store.RoleCommissionerOfficer), h.kpis)
	v1.GET("/reports/open-episodes", allow(store.RoleManager, store.RoleAdmin), h.openEpisodes)
}

func (h *handlers) kpis(c *gin.Context) {
	q, ok := h.kpiQuery(c)
	if !ok {
		return
	}
	periods, err := h.Store.KPIs(c.Request.Context(), q)
	if err != nil {
		h.serverError(c, "kpis", err)
		return
	}
	report := KPIReport{CommissionerID: q.CommissionerID, From: q.From.Format(time.DateOnly), To: q.To.Format(time.DateOnly),
		GroupBy: q.GroupBy, TimeZone: store.KPIZone, Periods: []KPIFigure{}}
	for _, p := range periods {
		if p.Period == "total" {
			report.Total = figureOf(p)
		} else {
			report.Periods = append(report.Periods, figureOf(p))
		}
	}
	if c.NegotiateFormat(gin.MIMEJSON, "text/csv") == "text/csv" {
		c.Data(http.StatusOK, "text/csv; charset=utf-8", kpiCSV(report))
		return
	}
	c.JSON(http.StatusOK, report)
}

// kpiQuery reads the query: the commissioner (a commissioner's staff may
// name only their own; the provider's staff must name one), the days and
// the grouping.
func (h *handlers) kpiQuery(c *gin.Context) (store.KPIQuery, bool) {
	var p problems
	day := func(field string) time.Time {
		v := c.Query(field)
		t, ok := parseDay(v)
		switch {
		case v == "":
			p.add(field, "is required: a day, YYYY-MM-DD")
		case !ok:
			p.add(field, dayReason)
			return time.Time{}
		}
		return t
	}
	from, to := day("from"), day("to")
	if !from.IsZero() && !to.IsZero() {
		if to.Before(from) {
			p.add("to", "must not be before from")
		} else if to.Sub(from) > maxKPIDays*24*time.Hour {
			p.add("to", "must be at most "+strconv.Itoa(maxKPIDays)+" days after from")
		}
	}
	groupBy := c.DefaultQuery("group_by", "month")
	if groupBy != "month" && groupBy != "week" {
		p.add("group_by", "must be month or week")
	}
	cid := ""
	requested := strings.TrimSpace(c.Query("commissioner_id"))
	if u, err := uuid.Parse(requested); requested != "" && err != nil {
		p.add("commissioner_id", "must be a uuid")
	} else {
		if requested != "" {
			requested = u.String()
		}
		commissioner, reason, err := h.episodeCommissionerFor(c.Request.Context(), currentUser(c), requested)
		if err != nil {
			h.serverError(c, "kpi commissioner", err)
			return store.KPIQuery{}, false
		}
		if reason != "" {
			p.add("commissioner_id", reason)
		}
		cid = commissioner
	}
	if len(p) > 0 {
		invalid(c, p)
		return store.KPIQuery{}, false
	}
	return store.KPIQuery{CommissionerID: cid, From: from, To: to, GroupBy: groupBy}, true
}

func figureOf(p *store.KPIPeriod) KPIFigure {
	f := KPIFigure{
		Period: p.Period, From: p.From, To: p.To, Episodes: p.Episodes, Children: p.Children,
		RepeatChildren: p.RepeatChildren, MissingOver24Hours: p.MissingOver24h,
		LookedAfter: p.LookedAfter, NotLookedAfter: p.NotLookedAfter,
		OffersDue: p.OffersDue, OffersInTime: p.OffersWithinDeadline,
		OffersAccepted: p.Accepted, InterviewsHeld: p.InterviewsHeld, Declines: p.Declines,
		ReturnToOffer:     KPIHours{Median: round2(p.ReturnToOfferMedian), P90: round2(p.ReturnToOfferP90)},
		ReturnToInterview: KPIHours{Median: round2(p.ReturnToInterviewMedian), P90: round2(p.ReturnToInterviewP90)},
		Breaches:          p.Breaches, FollowUpsDue: p.FollowUpsDue, FollowUpsOnTime: p.FollowUpsOnTime,
		ReportsDue: p.ReportsDue, ReportsSentOnTime: p.ReportsSentOnTime, ReportsAcknowledged: p.ReportsAcknowledged,
	}
	if p.OffersDue > 0 {
		pct := math.Round(1000*float64(p.OffersWithinDeadline)/float64(p.OffersDue)) / 10
		f.OffersInTimePercent = &pct
	}
	return f
}

// round2 rounds hours to two decimal places (to the nearest 36 seconds).
func round2(v *float64) *float64 {
	if v == nil {
		return nil
	}
	r := math.Round(*v*100) / 100
	return &r
}

// kpiColumns are the CSV's columns, in order: the JSON's names, with the
// nested figures flattened.
var kpiColumns = []string{
	"period", "from", "to", "episodes", "children", "repeat_children", "missing_over_24_hours",
	"looked_after", "not_looked_after", "offers_due", "offers_in_time", "offers_in_time_percent",
	"offers_accepted", "interviews_held", "declines",
	"hours_return_to_offer_median", "hours_return_to_offer_p90",
	"hours_return_to_interview_median", "hours_return_to_interview_p90",
	"breaches_late_notification", "breaches_no_contact", "breaches_no_contact_attempted", "breaches_other",
	"follow_ups_due", "follow_ups_on_time",
	"reports_due", "reports_sent_on_time", "reports_acknowledged",
}

// kpiCSV is the report as CSV: one row per month, then the total. An
// empty cell is a figure with nothing to measure.
func kpiCSV(r KPIReport) []byte {
	var rows [][]string
	for _, f := range append(append([]KPIFigure{}, r.Periods...), r.Total) {
		rows = append(rows, kpiRow(f))
	}
	return csvBytes(kpiColumns, rows)
}

func kpiRow(f KPIFigure) []string {
	n := strconv.Itoa
	num := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	return []string{
		f.Period, f.From, f.To, n(f.Episodes), n(f.Children), n(f.RepeatChildren), n(f.MissingOver24Hours),
		n(f.LookedAfter), n(f.NotLookedAfter), n(f.OffersDue), n(f.OffersInTime), num(f.OffersInTimePercent),
		n(f.OffersAccepted), n(f.InterviewsHeld), n(f.Declines),
		num(f.ReturnToOffer.Median), num(f.ReturnToOffer.P90),
		num(f.ReturnToInterview.Median), num(f.ReturnToInterview.P90),
		n(f.Breaches["late_notification"]), n(f.Breaches["no_contact"]),
		n(f.Breaches["no_contact_attempted"]), n(f.Breaches["other"]),
		n(f.FollowUpsDue), n(f.FollowUpsOnTime),
		n(f.ReportsDue), n(f.ReportsSentOnTime), n(f.ReportsAcknowledged),
	}
}
