package api_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"homeward/internal/testenv"
	"homeward/store"
)

// seedChild records a child of commissioner with the local authority's id
// la and date of birth dob ("" for none).
func seedChild(t *testing.T, env *testenv.Env, commissioner, la, dob string) string {
	t.Helper()
	id := uuid.NewString()
	var birth *string
	if dob != "" {
		birth = &dob
	}
	if _, err := env.Store.Pool.Exec(context.Background(), `INSERT INTO children (id, commissioner_id, local_authority_child_id, date_of_birth)
		VALUES ($1, $2, $3, $4::date)`, id, commissioner, la, birth); err != nil {
		t.Fatal(err)
	}
	return id
}

// seedEp is an episode as the records hold it, for the exports to read.
type seedEp struct {
	commissioner, child, category, status string
	notLookedAfter                        bool
	missing                               *time.Time
	returned                              time.Time
	offerMade                             *time.Time
	declines                              int
	closure                               string // a closure reason, if closed early
}

func at(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

// seedEpisode writes e straight into the records, with exact instants.
func seedEpisode(t *testing.T, env *testenv.Env, e seedEp) (id, ref string) {
	t.Helper()
	id, ref = uuid.NewString(), "HW-"+strings.ToUpper(uuid.NewString()[:8])
	if e.status == "" {
		e.status = "awaiting_contact"
	}
	if e.category == "" {
		e.category = "missing"
	}
	state := map[string]any{}
	if e.closure != "" {
		state["closure"] = map[string]any{"reason": e.closure}
	}
	js, _ := json.Marshal(state)
	if _, err := env.Store.Pool.Exec(context.Background(), `INSERT INTO episodes (id, reference, child_id, commissioner_id,
		status, category, looked_after, reported_missing_at, returned_at, opened_at, offer_deadline, offer_made_at, declines,
		state, state_version, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9::timestamptz + interval '72 hours', $10, $11, $12, 1, $9)`,
		id, ref, e.child, e.commissioner, e.status, e.category, !e.notLookedAfter, e.missing, e.returned,
		e.offerMade, e.declines, js); err != nil {
		t.Fatal(err)
	}
	return id, ref
}

func readCSV(t *testing.T, body []byte) [][]string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v: %s", err, body)
	}
	return rows
}

// dfeMissingRules checks a Missing table against the DfE's rules for it,
// independently of the export's own checks: the header, a CHILD and a DOB,
// M or A, dates dd/mm/yyyy, a start within or before the collection year,
// an end (or blank) not before the start and within the year, a start not
// before the date of birth, and no overlapping periods of one child (rule
// 574: ordered by end then start, a period may not start before the
// previous one ended, nor after one still open).
func dfeMissingRules(t *testing.T, rows [][]string, year int) {
	t.Helper()
	if strings.Join(rows[0], ",") != "CHILD,DOB,MISSING,MIS_START,MIS_END" {
		t.Fatalf("header %v", rows[0])
	}
	date := func(s string) time.Time {
		d, err := time.Parse("02/01/2006", s)
		if err != nil {
			t.Errorf("date %q is not dd/mm/yyyy", s)
		}
		return d
	}
	yearStart := time.Date(year, time.April, 1, 0, 0, 0, 0, time.UTC)
	yearEnd := time.Date(year+1, time.March, 31, 0, 0, 0, 0, time.UTC)
	open := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	type period struct {
		child, row string
		start, end time.Time
	}
	var ps []period
	for _, r := range rows[1:] {
		if r[0] == "" || r[1] == "" || (r[2] != "M" && r[2] != "A") {
			t.Errorf("row %v: CHILD, DOB and an M or A code are required", r)
		}
		dob, start, end := date(r[1]), date(r[3]), open
		if r[4] != "" {
			end = date(r[4])
			if end.Before(start) || end.Before(yearStart) || end.After(yearEnd) {
				t.Errorf("row %v: end before its start or outside the collection year", r)
			}
		}
		if start.After(yearEnd) || start.Before(dob) {
			t.Errorf("row %v: start after the year or before the date of birth", r)
		}
		ps = append(ps, period{r[0], strings.Join(r, ","), start, end})
	}
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].child != ps[j].child {
			return ps[i].child < ps[j].child
		}
		if !ps[i].end.Equal(ps[j].end) {
			return ps[i].end.Before(ps[j].end)
		}
		return ps[i].start.Before(ps[j].start)
	})
	for i := 1; i < len(ps); i++ {
		if ps[i].child == ps[i-1].child && ps[i].start.Before(ps[i-1].end) {
			t.Errorf("rule 574: %s overlaps %s", ps[i].row, ps[i-1].row)
		}
	}
}

func TestExportSSDA903Missing(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	a := env.Commissioner.ID
	b := env.AddCommissioner(t, "Bexton").ID
	mgr, mgrToken := env.AddUserIn(t, store.RoleManager, a)
	_, offToken := env.AddUserIn(t, store.RoleCommissionerOfficer, a)

	c1 := seedChild(t, env, a, "LA001", "2010-05-06")
	c2 := seedChild(t, env, a, "LA002", "2012-01-15")
	cb := seedChild(t, env, b, "LA001", "2010-05-06")
	ep := func(child, category string, from *time.Time, to string) seedEp {
		return seedEp{commissioner: a, child: child, category: category, missing: from, returned: *at(to)}
	}
	// Collection year 2025: 1 April 2025 to 31 March 2026; dates in
	// Europe/London (BST from 30 March 2025 and 29 March 2026).
	seedEpisode(t, env, ep(c1, "missing", at("2025-03-30T22:00:00Z"), "2025-04-02T10:00:00Z"))             // spans 1 April
	seedEpisode(t, env, ep(c1, "away_from_placement", at("2025-06-10T23:30:00Z"), "2025-06-11T08:00:00Z")) // 11 June in London
	seedEpisode(t, env, ep(c1, "missing", at("2025-06-11T20:00:00Z"), "2025-06-12T09:00:00Z"))             // starts the day the last ended
	seedEpisode(t, env, ep(c1, "missing", at("2026-03-30T10:00:00Z"), "2026-04-02T10:00:00Z"))             // still missing on 31 March
	seedEpisode(t, env, ep(c2, "missing", at("2025-03-31T20:00:00Z"), "2025-03-31T23:30:00Z"))             // back on 1 April in London
	seedEpisode(t, env, ep(c2, "missing", at("2025-12-01T10:00:00Z"), "2025-12-03T10:00:00Z"))
	// Not in the return: not looked after; before the year; after it;
	// another commissioner's; a duplicate (which overlaps, yet is no period).
	notLA := ep(c2, "missing", at("2025-09-01T10:00:00Z"), "2025-09-02T10:00:00Z")
	notLA.notLookedAfter = true
	seedEpisode(t, env, notLA)
	seedEpisode(t, env, ep(c1, "missing", at("2025-02-01T10:00:00Z"), "2025-03-01T10:00:00Z"))
	seedEpisode(t, env, ep(c2, "missing", at("2026-04-01T10:00:00Z"), "2026-04-02T10:00:00Z"))
	other := ep(cb, "missing", at("2025-07-01T10:00:00Z"), "2025-07-02T10:00:00Z")
	other.commissioner = b
	seedEpisode(t, env, other)
	dup := ep(c1, "missing", at("2025-06-10T23:30:00Z"), "2025-06-11T08:00:00Z")
	dup.status, dup.closure = "closed", "duplicate"
	seedEpisode(t, env, dup)

	want := strings.Join([]string{
		"CHILD,DOB,MISSING,MIS_START,MIS_END",
		"LA001,06/05/2010,M,30/03/2025,02/04/2025",
		"LA001,06/05/2010,A,11/06/2025,11/06/2025",
		"LA001,06/05/2010,M,11/06/2025,12/06/2025",
		"LA001,06/05/2010,M,30/03/2026,",
		"LA002,15/01/2012,M,31/03/2025,01/04/2025",
		"LA002,15/01/2012,M,01/12/2025,03/12/2025",
	}, "\n") + "\n"
	for _, tok := range []string{mgrToken, offToken} {
		st, body := env.Do(t, "GET", "/v1/exports/ssda903/missing.csv?year=2025&commissioner_id="+a, tok, nil)
		if st != 200 || string(body) != want {
			t.Fatalf("export: %d\n%s\nwant\n%s", st, body, want)
		}
		dfeMissingRules(t, readCSV(t, body), 2025)
	}

	// The file's headers, and its audit row.
	req, _ := http.NewRequest("GET", env.URL+"/v1/exports/ssda903/missing.csv?year=2025", nil)
	req.Header.Set("Authorization", "Bearer "+mgrToken)
	resp, err := testenv.CheckedClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ct, cd := resp.Header.Get("Content-Type"), resp.Header.Get("Content-Disposition"); ct != "text/csv; charset=utf-8" ||
		cd != `attachment; filename="ssda903-missing-`+a+`-2025.csv"` {
		t.Errorf("Content-Type %q, Content-Disposition %q", ct, cd)
	}
	rows, err := env.Store.ListAudit(context.Background(), store.AuditFilter{UserID: mgr.ID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0].Action != "export.ssda903_missing" || rows[0].Outcome != "ok" {
		t.Errorf("no audit row export.ssda903_missing: %+v", rows)
	}

	// Bad parameters name the field.
	for q, field := range map[string]string{
		"year=2025&commissioner_id=nope": "commissioner_id", "year=25": "year", "year=1999": "year", "": "year",
	} {
		st, body := env.Do(t, "GET", "/v1/exports/ssda903/missing.csv?"+q, mgrToken, nil)
		wantError(t, st, body, 400, "invalid_request", field)
	}
	st, body := env.Do(t, "GET", "/v1/exports/ssda903/missing.csv?year=2025&commissioner_id="+b, mgrToken, nil)
	wantError(t, st, body, 404, "not_found", "commissioner_id")
}

func TestExportSSDA903RefusesWhatTheReturnWouldReject(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	a := env.Commissioner.ID
	_, tok := env.AddUserIn(t, store.RoleAdmin, "")
	child := seedChild(t, env, a, "LA009", "2011-02-03")
	ep := func(child, from, to string) seedEp {
		return seedEp{commissioner: a, child: child, missing: at(from), returned: *at(to)}
	}
	first, firstRef := seedEpisode(t, env, ep(child, "2025-05-01T10:00:00Z", "2025-05-04T10:00:00Z"))
	second, secondRef := seedEpisode(t, env, ep(child, "2025-05-03T10:00:00Z", "2025-05-05T10:00:00Z"))
	seedEpisode(t, env, ep(child, "2025-05-05T12:00:00Z", "2025-05-06T10:00:00Z")) // the day the second ended: allowed
	noDOB, _ := seedEpisode(t, env, ep(seedChild(t, env, a, "LA010", ""), "2025-07-01T10:00:00Z", "2025-07-02T10:00:00Z"))
	beforeBirth, _ := seedEpisode(t, env, ep(seedChild(t, env, a, "LA011", "2025-08-01"), "2025-07-01T10:00:00Z", "2025-07-02T10:00:00Z"))
	noID, _ := seedEpisode(t, env, ep(seedChild(t, env, a, "", "2012-01-01"), "2025-07-01T10:00:00Z", "2025-07-02T10:00:00Z"))
	other := seedChild(t, env, a, "LA012", "2012-01-01")
	endFirst, _ := seedEpisode(t, env, ep(other, "2025-07-03T10:00:00Z", "2025-07-02T10:00:00Z"))
	noStart := ep(other, "2025-09-01T10:00:00Z", "2025-09-02T10:00:00Z")
	noStart.missing = nil
	noStartID, _ := seedEpisode(t, env, noStart)
	noCode := ep(other, "2025-10-01T10:00:00Z", "2025-10-02T10:00:00Z")
	noCode.category = "unknown"
	noCodeID, _ := seedEpisode(t, env, noCode)

	st, body := env.Do(t, "GET", "/v1/exports/ssda903/missing.csv?year=2025&commissioner_id="+a, tok, nil)
	wantError(t, st, body, 409, "conflict", "episodes")
	var got struct {
		Episodes []struct {
			EpisodeID string `json:"episode_id"`
			Reference string `json:"reference"`
			Rule      string `json:"rule"`
		} `json:"episodes"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, e := range got.Episodes {
		found = append(found, e.EpisodeID+" "+e.Rule)
		if e.EpisodeID == first && e.Reference != firstRef || e.EpisodeID == second && e.Reference != secondRef {
			t.Errorf("reference of %s: %q", e.EpisodeID, e.Reference)
		}
	}
	wantFound := []string{
		first + " overlapping_periods", second + " overlapping_periods", noDOB + " date_of_birth_missing",
		beforeBirth + " start_before_date_of_birth", noID + " child_id_missing",
		endFirst + " end_before_start", noStartID + " start_missing", noCodeID + " code_invalid",
	}
	if strings.Join(sortedIDs(found), "\n") != strings.Join(sortedIDs(wantFound), "\n") {
		t.Errorf("episodes to fix:\n%s\nwant\n%s", strings.Join(sortedIDs(found), "\n"), strings.Join(sortedIDs(wantFound), "\n"))
	}
}

func TestExportAnnexAList8(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	a := env.Commissioner.ID
	b := env.AddCommissioner(t, "Bexton").ID
	_, tok := env.AddUserIn(t, store.RoleCommissionerOfficer, a)
	child := func(la string) string { return seedChild(t, env, a, la, "2010-01-01") }
	k1, k2, k3, k4, k5, k6 := child("LA101"), child("LA102"), child("LA103"), child("LA104"), child("LA105"), child("LA106")
	ep := func(child, category, status, from string, offered bool, declines int) seedEp {
		e := seedEp{commissioner: a, child: child, category: category, status: status, missing: at(from),
			returned: at(from).Add(6 * time.Hour), declines: declines}
		if offered {
			e.offerMade = at(from)
		}
		return e
	}
	// The 12 months up to 30 June 2026: episodes that started (in London)
	// from 1 July 2025 to 30 June 2026.
	seedEpisode(t, env, ep(k1, "missing", "completed", "2025-08-01T10:00:00Z", true, 0))
	seedEpisode(t, env, ep(k1, "away_from_placement", "completed", "2025-09-01T10:00:00Z", true, 0))
	seedEpisode(t, env, ep(k1, "missing", "declined", "2026-05-01T10:00:00Z", true, 1))  // the last: offered, declined
	seedEpisode(t, env, ep(k1, "missing", "completed", "2025-06-30T22:30:00Z", true, 0)) // 30 June 2025 in London: before
	dup := ep(k1, "missing", "closed", "2026-06-10T10:00:00Z", false, 0)
	dup.closure = "duplicate"
	seedEpisode(t, env, dup)
	seedEpisode(t, env, ep(k2, "missing", "awaiting_contact", "2026-06-01T10:00:00Z", false, 0))
	seedEpisode(t, env, ep(k2, "missing", "awaiting_contact", "2026-06-30T23:30:00Z", false, 0)) // 1 July in London: after
	seedEpisode(t, env, ep(k3, "missing", "closed", "2026-02-01T10:00:00Z", false, 0))
	seedEpisode(t, env, ep(k4, "away_from_placement", "completed", "2026-03-01T10:00:00Z", true, 0))
	seedEpisode(t, env, ep(k5, "missing", "interview_scheduled", "2026-04-01T10:00:00Z", true, 0))
	seedEpisode(t, env, ep(k6, "missing", "reoffer_pending", "2026-01-10T10:00:00Z", true, 1))
	// Accepted, then closed when the child moved away: the accepted offer stays.
	moved := ep(child("LA109"), "missing", "closed", "2026-02-10T10:00:00Z", true, 0)
	moved.closure = "moved_out_of_area"
	movedID, _ := seedEpisode(t, env, moved)
	if _, err := env.Store.Pool.Exec(context.Background(), `INSERT INTO contact_attempts
		(episode_id, seq, method, outcome, attempted_at, recorded_at) VALUES ($1, 1, 'phone', 'reached_offered', $2, $2)`,
		movedID, at("2026-02-10T18:00:00Z")); err != nil {
		t.Fatal(err)
	}
	notLA := ep(child("LA107"), "missing", "completed", "2026-01-10T10:00:00Z", true, 0)
	notLA.notLookedAfter = true
	seedEpisode(t, env, notLA)
	other := ep(seedChild(t, env, b, "LA108", "2010-01-01"), "missing", "completed", "2026-01-10T10:00:00Z", true, 0)
	other.commissioner = b
	seedEpisode(t, env, other)

	want := strings.Join([]string{
		"Child ID,Missing episodes in the last 12 months,Absent episodes in the last 12 months," +
			"Offered a return interview after the last missing episode,Accepted the return interview after the last missing episode",
		"LA101,2,1,Yes,No",
		"LA102,1,0,Unknown,Unknown",
		"LA103,1,0,No,Unknown",
		"LA104,0,1,,",
		"LA105,1,0,Yes,Yes",
		"LA106,1,0,Yes,No",
		"LA109,1,0,Yes,Yes",
	}, "\n") + "\n"
	st, body := env.Do(t, "GET", "/v1/exports/annex-a-list8.csv?as_of=2026-06-30", tok, nil)
	if st != 200 || string(body) != want {
		t.Fatalf("export: %d\n%s\nwant\n%s", st, body, want)
	}
	for _, q := range []string{"as_of=2026-13-01", "as_of=", "as_of=" + time.Now().AddDate(0, 0, 2).Format(time.DateOnly)} {
		st, body := env.Do(t, "GET", "/v1/exports/annex-a-list8.csv?"+q, tok, nil)
		wantError(t, st, body, 400, "invalid_request", "as_of")
	}
	st, body = env.Do(t, "GET", "/v1/exports/annex-a-list8.csv?as_of=2026-06-30&commissioner_id="+b, tok, nil)
	wantError(t, st, body, 404, "not_found", "commissioner_id")
}
