package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"homeward/internal/testenv"
	"homeward/store"
)

// kpiEpisode is one seeded episode: every instant exact, in UTC.
type kpiEpisode struct {
	commissioner, child     string
	status                  string
	lookedAfter             bool
	reported                string // "" for not known
	returned, opened        string
	deadline, offer         string // offer "" for none
	attempts                []string
	held                    string
	followDue, followDone   string
	breachReason, breachDue string
	// The return report: when due, sent and acknowledged ("" for none).
	reportDue, reportSent, reportAcked string
}

func kpiAt(t *testing.T, s string) *time.Time {
	t.Helper()
	if s == "" {
		return nil
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("seed instant %q: %v", s, err)
	}
	return &v
}

// seedKPIEpisode writes ep's records as the projection writes them (the
// store's tests check SaveEpisode keeps first_held_at and offer_accepted).
func seedKPIEpisode(t *testing.T, s *store.Store, ep kpiEpisode) {
	t.Helper()
	ctx := context.Background()
	id := uuid.NewString()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := s.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	exec(`INSERT INTO children (id, commissioner_id) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING`, ep.child, ep.commissioner)
	exec(`INSERT INTO episodes (id, reference, child_id, status, looked_after, reported_missing_at, returned_at, opened_at,
			offer_deadline, offer_made_at, follow_up_due_at, follow_up_completed_at, state, state_version, updated_at, commissioner_id,
			first_held_at, offer_accepted, report_due_by, report_sent_at, report_acknowledged_at)
		VALUES ($1, 'HW-KPI', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, '{}', 1, $7, $12, $13, $14, $15, $16, $17)`,
		id, ep.child, ep.status, ep.lookedAfter, kpiAt(t, ep.reported), kpiAt(t, ep.returned), kpiAt(t, ep.opened),
		kpiAt(t, ep.deadline), kpiAt(t, ep.offer), kpiAt(t, ep.followDue), kpiAt(t, ep.followDone), ep.commissioner,
		kpiAt(t, ep.held), slices.Contains(ep.attempts, "reached_offered"),
		kpiAt(t, ep.reportDue), kpiAt(t, ep.reportSent), kpiAt(t, ep.reportAcked))
	for i, outcome := range ep.attempts {
		exec(`INSERT INTO contact_attempts (episode_id, seq, method, outcome, attempted_at, recorded_at)
			VALUES ($1, $2, 'phone', $3, $4, $4)`, id, i+1, outcome, kpiAt(t, ep.returned))
	}
	if ep.held != "" {
		exec(`INSERT INTO interviews (episode_id, seq, outcome, scheduled_for, recorded_at)
			VALUES ($1, 1, 'scheduled', $2, $2)`, id, kpiAt(t, ep.held))
		exec(`INSERT INTO interviews (episode_id, seq, outcome, held_at, recorded_at)
			VALUES ($1, 2, 'held', $2, $2)`, id, kpiAt(t, ep.held))
	}
	if ep.breachReason != "" {
		exec(`INSERT INTO escalations (episode_id, kind, reason, due_at, triggered_at, commissioner_id)
			VALUES ($1, 'deadline_breached', $2, $3, $3, $4)`, id, ep.breachReason, kpiAt(t, ep.breachDue), ep.commissioner)
	}
	// A warning is not a breach: never counted.
	exec(`INSERT INTO escalations (episode_id, kind, reason, due_at, triggered_at, commissioner_id)
		VALUES ($1, 'deadline_warning', 'late_notification', $2, $2, $3)`, id, kpiAt(t, ep.deadline), ep.commissioner)
}

// seedKPIs seeds commissioner a's episodes of March and April 2025 (the
// clocks went forward on 30 March) and one of commissioner b that must not
// count. The figures each test expects are worked out by hand in wantKPIs.
func seedKPIs(t *testing.T, s *store.Store, a, b string) {
	c1, c2, c3, c4, c5 := uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()
	for _, ep := range []kpiEpisode{
		// E1: March; missing 48h; offered 24h after return, interview at 48h; follow-up on time.
		{commissioner: a, child: c1, status: "interview_held", lookedAfter: true,
			reported: "2025-03-01T08:00:00Z", returned: "2025-03-03T08:00:00Z", opened: "2025-03-03T10:00:00Z",
			deadline: "2025-03-06T08:00:00Z", offer: "2025-03-04T08:00:00Z", attempts: []string{"no_answer", "reached_offered"},
			held: "2025-03-05T08:00:00Z", followDue: "2025-03-12T08:00:00Z", followDone: "2025-03-11T08:00:00Z",
			reportDue: "2025-03-08T08:00:00Z", reportSent: "2025-03-08T08:00:00Z", reportAcked: "2025-03-12T09:00:00Z"},
		// E2: March, same child; offered 96h after return (late), declined every offer; breached: no contact.
		{commissioner: a, child: c1, status: "declined",
			reported: "2025-03-20T00:00:00Z", returned: "2025-03-20T10:00:00Z", opened: "2025-03-20T12:00:00Z",
			deadline: "2025-03-23T10:00:00Z", offer: "2025-03-24T10:00:00Z", attempts: []string{"reached_declined"},
			breachReason: "no_contact", breachDue: "2025-03-23T10:00:00Z"},
		// E10: March; offered at 4h, declined once but not ended as declined.
		{commissioner: a, child: c4, status: "reoffer_pending",
			returned: "2025-03-15T09:00:00Z", opened: "2025-03-15T10:00:00Z",
			deadline: "2025-03-18T09:00:00Z", offer: "2025-03-15T13:00:00Z", attempts: []string{"reached_declined"}},
		// E7: opened in February (not counted as opened); its deadline on 1 March breached with no attempt.
		{commissioner: a, child: c1, status: "awaiting_contact",
			returned: "2025-02-26T09:00:00Z", opened: "2025-02-26T10:00:00Z", deadline: "2025-03-01T09:00:00Z",
			breachReason: "no_contact_attempted", breachDue: "2025-03-01T09:00:00Z"},
		// E3: opened 23:30 UTC on 31 March = 00:30 on 1 April in London: an April episode.
		{commissioner: a, child: c2, status: "offer_accepted", lookedAfter: true,
			returned: "2025-03-31T22:00:00Z", opened: "2025-03-31T23:30:00Z",
			deadline: "2025-04-03T22:00:00Z", offer: "2025-04-01T10:00:00Z", attempts: []string{"reached_offered"}},
		// E4: April, the March child c4 again; missing 48h; notified after the deadline, never offered.
		{commissioner: a, child: c4, status: "awaiting_contact",
			reported: "2025-04-05T09:00:00Z", returned: "2025-04-07T09:00:00Z", opened: "2025-04-10T09:00:00Z",
			deadline: "2025-04-10T09:00:00Z", breachReason: "late_notification", breachDue: "2025-04-10T09:00:00Z"},
		// E5: April; offered at 30h, a shared interview held at 60h (no accepting attempt); follow-up late;
		// its report, due on 20 April, sent a day late and never acknowledged.
		{commissioner: a, child: c3, status: "interview_held",
			reported: "2025-04-14T20:00:00Z", returned: "2025-04-15T08:00:00Z", opened: "2025-04-15T09:00:00Z",
			deadline: "2025-04-18T08:00:00Z", offer: "2025-04-16T14:00:00Z",
			held: "2025-04-17T20:00:00Z", followDue: "2025-04-24T08:00:00Z", followDone: "2025-04-25T08:00:00Z",
			reportDue: "2025-04-20T20:00:00Z", reportSent: "2025-04-21T20:00:00Z"},
		// E11: a report due at 23:30 UTC on 30 April (00:30 on 1 May in London: not counted), sent on time.
		{commissioner: a, child: c2, status: "interview_held",
			returned: "2025-04-28T09:00:00Z", opened: "2025-05-01T10:00:00Z", deadline: "2025-05-01T09:00:00Z",
			reportDue: "2025-04-30T23:30:00Z", reportSent: "2025-04-30T10:00:00Z"},
		// E6: April; missing exactly 24h (not over); offered at 12h; deadline in May.
		{commissioner: a, child: c3, status: "offer_accepted",
			reported: "2025-04-28T08:00:00Z", returned: "2025-04-29T08:00:00Z", opened: "2025-04-29T09:00:00Z",
			deadline: "2025-05-02T08:00:00Z", offer: "2025-04-29T20:00:00Z", attempts: []string{"reached_offered"}},
		// E9: opened in May; its April deadline breached for a reason counted as other.
		{commissioner: a, child: c3, status: "awaiting_contact",
			returned: "2025-04-01T10:00:00Z", opened: "2025-05-02T10:00:00Z", deadline: "2025-04-04T10:00:00Z",
			breachReason: "some_future_reason", breachDue: "2025-04-04T10:00:00Z"},
		// E8: commissioner b's: never in a's figures.
		{commissioner: b, child: c5, status: "interview_held", lookedAfter: true,
			reported: "2025-03-08T08:00:00Z", returned: "2025-03-10T08:00:00Z", opened: "2025-03-10T09:00:00Z",
			deadline: "2025-03-13T08:00:00Z", offer: "2025-03-10T10:00:00Z", attempts: []string{"reached_offered"},
			held: "2025-03-11T08:00:00Z", followDue: "2025-03-18T08:00:00Z", followDone: "2025-03-18T08:00:00Z",
			breachReason: "late_notification", breachDue: "2025-03-13T08:00:00Z",
			reportDue: "2025-03-14T08:00:00Z", reportSent: "2025-03-12T08:00:00Z", reportAcked: "2025-03-13T08:00:00Z"},
	} {
		seedKPIEpisode(t, s, ep)
	}
}

type kpiFigure struct {
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
	ReturnToOffer       kpiHours       `json:"hours_return_to_offer"`
	ReturnToInterview   kpiHours       `json:"hours_return_to_interview"`
	Breaches            map[string]int `json:"breaches"`
	FollowUpsDue        int            `json:"follow_ups_due"`
	FollowUpsOnTime     int            `json:"follow_ups_on_time"`
	ReportsDue          int            `json:"reports_due"`
	ReportsSentOnTime   int            `json:"reports_sent_on_time"`
	ReportsAcknowledged int            `json:"reports_acknowledged"`
}

type kpiHours struct {
	Median *float64 `json:"median"`
	P90    *float64 `json:"p90"`
}

type kpiReport struct {
	CommissionerID string      `json:"commissioner_id"`
	From           string      `json:"from"`
	To             string      `json:"to"`
	GroupBy        string      `json:"group_by"`
	TimeZone       string      `json:"time_zone"`
	Periods        []kpiFigure `json:"periods"`
	Total          kpiFigure   `json:"total"`
}

func f(v float64) *float64 { return &v }

func breaches(late, none, unattempted, other int) map[string]int {
	return map[string]int{"late_notification": late, "no_contact": none, "no_contact_attempted": unattempted, "other": other}
}

// wantKPIs are the seeded figures, worked out by hand (see seedKPIs).
// Percentiles interpolate: of 4, 24, 96 the 90th is at position 2.8,
// 24 + 0.8 x 72 = 81.6.
var wantKPIs = []kpiFigure{
	{Period: "2025-03", From: "2025-03-01", To: "2025-03-31",
		Episodes: 3, Children: 2, RepeatChildren: 1, MissingOver24Hours: 1, LookedAfter: 1, NotLookedAfter: 2,
		OffersDue: 4, OffersInTime: 2, OffersInTimePercent: f(50), OffersAccepted: 1, InterviewsHeld: 1, Declines: 1,
		ReturnToOffer: kpiHours{f(24), f(81.6)}, ReturnToInterview: kpiHours{f(48), f(48)},
		Breaches: breaches(0, 1, 1, 0), FollowUpsDue: 1, FollowUpsOnTime: 1,
		ReportsDue: 1, ReportsSentOnTime: 1, ReportsAcknowledged: 1},
	{Period: "2025-04", From: "2025-04-01", To: "2025-04-30",
		Episodes: 4, Children: 3, RepeatChildren: 1, MissingOver24Hours: 1, LookedAfter: 1, NotLookedAfter: 3,
		OffersDue: 4, OffersInTime: 2, OffersInTimePercent: f(50), OffersAccepted: 3, InterviewsHeld: 1, Declines: 0,
		ReturnToOffer: kpiHours{f(12), f(26.4)}, ReturnToInterview: kpiHours{f(60), f(60)},
		Breaches: breaches(1, 0, 0, 1), FollowUpsDue: 1, FollowUpsOnTime: 0,
		ReportsDue: 1, ReportsSentOnTime: 0, ReportsAcknowledged: 0},
	{Period: "total", From: "2025-03-01", To: "2025-04-30",
		Episodes: 7, Children: 4, RepeatChildren: 3, MissingOver24Hours: 2, LookedAfter: 2, NotLookedAfter: 5,
		OffersDue: 8, OffersInTime: 4, OffersInTimePercent: f(50), OffersAccepted: 4, InterviewsHeld: 2, Declines: 1,
		ReturnToOffer: kpiHours{f(18), f(63)}, ReturnToInterview: kpiHours{f(54), f(58.8)},
		Breaches: breaches(1, 1, 1, 1), FollowUpsDue: 2, FollowUpsOnTime: 1,
		ReportsDue: 2, ReportsSentOnTime: 1, ReportsAcknowledged: 1},
}

func TestKPIFigures(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	a := env.Commissioner.ID
	b := env.AddCommissioner(t, "KPI other council").ID
	seedKPIs(t, env.Store, a, b)
	_, token := env.AddUserIn(t, store.RoleManager, "")
	path := "/v1/reports/kpis?commissioner_id=" + a + "&from=2025-03-01&to=2025-04-30&group_by=month"

	st, body := env.Do(t, "GET", path, token, nil)
	if st != 200 {
		t.Fatalf("GET kpis: %d %s", st, body)
	}
	var got kpiReport
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got.CommissionerID != a || got.TimeZone != "Europe/London" || got.GroupBy != "month" {
		t.Errorf("report heading: %+v", got)
	}
	all := append(append([]kpiFigure{}, got.Periods...), got.Total)
	if len(all) != len(wantKPIs) {
		t.Fatalf("periods: got %d, want %d: %s", len(all), len(wantKPIs), body)
	}
	for i, want := range wantKPIs {
		checkKPIFigure(t, all[i], want)
	}

	st, body = env.Do(t, "GET", path, token, nil, "Accept", "text/csv")
	if st != 200 {
		t.Fatalf("GET kpis as CSV: %d %s", st, body)
	}
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("CSV: %v", err)
	}
	wantRows := [][]string{
		strings.Split("period,from,to,episodes,children,repeat_children,missing_over_24_hours,looked_after,not_looked_after,"+
			"offers_due,offers_in_time,offers_in_time_percent,offers_accepted,interviews_held,declines,"+
			"hours_return_to_offer_median,hours_return_to_offer_p90,hours_return_to_interview_median,hours_return_to_interview_p90,"+
			"breaches_late_notification,breaches_no_contact,breaches_no_contact_attempted,breaches_other,follow_ups_due,follow_ups_on_time,"+
			"reports_due,reports_sent_on_time,reports_acknowledged", ","),
		strings.Split("2025-03,2025-03-01,2025-03-31,3,2,1,1,1,2,4,2,50,1,1,1,24,81.6,48,48,0,1,1,0,1,1,1,1,1", ","),
		strings.Split("2025-04,2025-04-01,2025-04-30,4,3,1,1,1,3,4,2,50,3,1,0,12,26.4,60,60,1,0,0,1,1,0,1,0,0", ","),
		strings.Split("total,2025-03-01,2025-04-30,7,4,3,2,2,5,8,4,50,4,2,1,18,63,54,58.8,1,1,1,1,2,1,2,1,1", ","),
	}
	if !reflect.DeepEqual(rows, wantRows) {
		t.Errorf("CSV:\n got %q\nwant %q", rows, wantRows)
	}
}

func checkKPIFigure(t *testing.T, got, want kpiFigure) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	var gm, wm map[string]any
	_ = json.Unmarshal(g, &gm)
	_ = json.Unmarshal(w, &wm)
	for k, wv := range wm {
		if !reflect.DeepEqual(gm[k], wv) {
			t.Errorf("%s %s: got %v, want %v", want.Period, k, gm[k], wv)
		}
	}
}

// An empty month is listed with zeros and null hours and percentage.
func TestKPIEmptyMonth(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	_, token := env.AddUserIn(t, store.RoleCommissionerOfficer, env.Commissioner.ID)
	st, body := env.Do(t, "GET", "/v1/reports/kpis?from=2025-02-10&to=2025-02-20", token, nil)
	if st != 200 {
		t.Fatalf("GET kpis: %d %s", st, body)
	}
	var got kpiReport
	_ = json.Unmarshal(body, &got)
	if len(got.Periods) != 1 || got.Periods[0].Period != "2025-02" || got.Periods[0].From != "2025-02-10" ||
		got.Periods[0].To != "2025-02-20" || got.Total.Episodes != 0 || got.Total.OffersInTimePercent != nil ||
		got.Total.ReturnToOffer.Median != nil || got.Total.Breaches["other"] != 0 {
		t.Errorf("empty report: %s", body)
	}
}

func TestKPIAccess(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	a := env.Commissioner.ID
	b := env.AddCommissioner(t, "KPI other council").ID
	seedKPIs(t, env.Store, a, b)
	q := "&from=2025-03-01&to=2025-04-30"
	episodes := func(token, path string) int {
		t.Helper()
		st, body := env.Do(t, "GET", path, token, nil)
		if st != 200 {
			t.Fatalf("GET %s: %d %s", path, st, body)
		}
		var got kpiReport
		_ = json.Unmarshal(body, &got)
		return got.Total.Episodes
	}
	_, officer := env.AddUserIn(t, store.RoleCommissionerOfficer, a)
	if n := episodes(officer, "/v1/reports/kpis?"+q[1:]); n != 7 {
		t.Errorf("officer of a, own commissioner implied: %d episodes, want 7", n)
	}
	if n := episodes(officer, "/v1/reports/kpis?commissioner_id="+strings.ToUpper(a)+q); n != 7 {
		t.Errorf("officer of a naming a: %d episodes, want 7", n)
	}
	_, bMgr := env.AddUserIn(t, store.RoleManager, b)
	if n := episodes(bMgr, "/v1/reports/kpis?"+q[1:]); n != 1 {
		t.Errorf("manager of b: %d episodes, want 1", n)
	}
	_, pAdmin := env.AddUserIn(t, store.RoleAdmin, "")

	for _, tc := range []struct {
		name, token, path string
		status            int
		field             string
	}{
		{"officer naming another commissioner", officer, "/v1/reports/kpis?commissioner_id=" + b + q, 400, "commissioner_id"},
		{"provider staff without a commissioner", pAdmin, "/v1/reports/kpis?" + q[1:], 400, "commissioner_id"},
		{"no such commissioner", pAdmin, "/v1/reports/kpis?commissioner_id=" + uuid.NewString() + q, 400, "commissioner_id"},
		{"commissioner not a uuid", pAdmin, "/v1/reports/kpis?commissioner_id=council" + q, 400, "commissioner_id"},
		{"from missing", pAdmin, "/v1/reports/kpis?commissioner_id=" + a + "&to=2025-04-30", 400, "from"},
		{"to not a day", pAdmin, "/v1/reports/kpis?commissioner_id=" + a + "&from=2025-03-01&to=30/04/2025", 400, "to"},
		{"to before from", pAdmin, "/v1/reports/kpis?commissioner_id=" + a + "&from=2025-03-01&to=2025-02-28", 400, "to"},
		{"range too long", pAdmin, "/v1/reports/kpis?commissioner_id=" + a + "&from=2015-03-01&to=2025-02-28", 400, "to"},
		{"group by year", pAdmin, "/v1/reports/kpis?commissioner_id=" + a + q + "&group_by=year", 400, "group_by"},
	} {
		st, body := env.Do(t, "GET", tc.path, tc.token, nil)
		t.Run(tc.name, func(t *testing.T) { wantError(t, st, body, tc.status, "invalid_request", tc.field) })
	}
	for _, role := range []store.Role{store.RoleCoordinator, store.RoleInterviewer} {
		_, token := env.AddUserIn(t, role, a)
		st, body := env.Do(t, "GET", "/v1/reports/kpis?"+q[1:], token, nil)
		wantError(t, st, body, 403, "forbidden", "role")
	}

	var audited int
	if err := env.Store.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM audit_log WHERE action = 'report.kpis'`).Scan(&audited); err != nil {
		t.Fatal(err)
	}
	if audited < 3 {
		t.Errorf("report.kpis audited %d times, want every request", audited)
	}
}

// By ISO week: 1 March 2025 is a Saturday, so the first week is cut to
// two days; each figure falls in the week of the instant it counts by.
func TestKPIWeeks(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	a := env.Commissioner.ID
	seedKPIs(t, env.Store, a, env.AddCommissioner(t, "KPI other council").ID)
	_, token := env.AddUserIn(t, store.RoleManager, "")
	st, body := env.Do(t, "GET", "/v1/reports/kpis?commissioner_id="+a+"&from=2025-03-01&to=2025-03-16&group_by=week", token, nil)
	if st != 200 {
		t.Fatalf("GET kpis by week: %d %s", st, body)
	}
	var got kpiReport
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	type week struct {
		period, from, to                                   string
		episodes, offersDue, offersInTime, unattempted     int
		followUpsDue, reportsDue, reportsSentOnTime, acked int
	}
	want := []week{
		{"2025-W09", "2025-03-01", "2025-03-02", 0, 1, 0, 1, 0, 0, 0, 0}, // E7's deadline, breached unattempted
		{"2025-W10", "2025-03-03", "2025-03-09", 1, 1, 1, 0, 0, 1, 1, 1}, // E1 opened, offered in time; its report
		{"2025-W11", "2025-03-10", "2025-03-16", 1, 0, 0, 0, 1, 0, 0, 0}, // E10 opened; E1's follow-up
	}
	if got.GroupBy != "week" || len(got.Periods) != len(want) {
		t.Fatalf("weeks: %s", body)
	}
	for i, w := range want {
		p := got.Periods[i]
		g := week{p.Period, p.From, p.To, p.Episodes, p.OffersDue, p.OffersInTime, p.Breaches["no_contact_attempted"],
			p.FollowUpsDue, p.ReportsDue, p.ReportsSentOnTime, p.ReportsAcknowledged}
		if g != w {
			t.Errorf("week %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	if got.Total.Episodes != 2 || got.Total.From != "2025-03-01" || got.Total.To != "2025-03-16" {
		t.Errorf("total: %+v", got.Total)
	}
}
