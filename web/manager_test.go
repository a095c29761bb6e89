package web_test

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"homeward/internal/testenv"
	"homeward/store"
	"homeward/web"
)

// TestManagerPages drives the managers' and admins' pages, the return
// report and the way back after sign-in, against the real server.
func TestManagerPages(t *testing.T) {
	s := start(t)
	env := s.env

	t.Run("a manager acknowledges a safeguarding escalation with a note, once", func(t *testing.T) {
		com := env.AddCommissioner(t, "Acknowledging commissioner")
		mgr, _ := env.AddUserIn(t, store.RoleManager, com.ID)
		id, ref := heldInterview(t, s, com.ID, true)
		b := s.signIn(t, mgr)
		var p page
		testenv.Eventually(t, 20*time.Second, "the safeguarding escalation listed", func() bool {
			p = b.get("/escalations")
			return strings.Contains(p.Body, "Safeguarding concern: <a href=\"/episodes/"+id+"\">Episode "+ref+"</a>")
		})
		x := regexp.MustCompile(`action="/escalations/([0-9]+)/acknowledgement"`).FindStringSubmatch(p.Body)
		if x == nil {
			t.Fatalf("no acknowledgement form:\n%s", p.Body)
		}
		action := "/escalations/" + x[1] + "/acknowledgement"
		if r := b.post(action, withForm(t, url.Values{"note": {"  "}}, p.Body)); r.Status != http.StatusBadRequest ||
			!strings.Contains(r.Body, `id="note-`+x[1]+`-error"`) || !strings.Contains(r.Body, "is required") {
			t.Fatalf("an empty note: %d, want 400 with the reason beside the note:\n%s", r.Status, r.Body)
		}
		const note = "Priya is calling the placement this afternoon"
		v := withForm(t, url.Values{"note": {note}}, b.get("/escalations").Body)
		for i := 0; i < 2; i++ { // a double submit
			if r := b.post(action, v); r.Status != http.StatusSeeOther || r.location() != "/escalations?acknowledged_one=1" {
				t.Fatalf("acknowledgement %d: %d to %q; %s", i+1, r.Status, r.location(), r.Body)
			}
		}
		want := "By <strong>" + mgr.Name + "</strong>"
		p = b.get("/escalations?acknowledged=true")
		if n := strings.Count(p.Body, note); n != 1 || !strings.Contains(p.Body, want) {
			t.Fatalf("acknowledged escalations show the note %d times (want 1) and the name %v:\n%s", n, strings.Contains(p.Body, want), p.Body)
		}
		if p = b.get("/escalations?acknowledged=false"); strings.Contains(p.Body, note) {
			t.Errorf("the acknowledged escalation is listed as not acknowledged")
		}
		if p = b.get("/episodes/" + id); !strings.Contains(p.Body, want) || !strings.Contains(p.Body, note) {
			t.Fatalf("the episode page lacks who acknowledged and the note:\n%s", p.Body)
		}
		var acks int
		if err := env.Store.Pool.QueryRow(t.Context(), `SELECT count(*) FROM escalation_acknowledgements a
			JOIN escalations x ON x.id = a.escalation_id WHERE x.episode_id = $1`, id).Scan(&acks); err != nil {
			t.Fatal(err)
		}
		if acks != 1 {
			t.Fatalf("%d acknowledgements recorded, want 1", acks)
		}
	})

	t.Run("a commissioner's manager sees only their commissioner's escalations, overview and audit", func(t *testing.T) {
		a, bc := env.AddCommissioner(t, "Scoped A"), env.AddCommissioner(t, "Scoped B")
		aCoord, ta := env.AddUserIn(t, store.RoleCoordinator, a.ID)
		bCoord, tb := env.AddUserIn(t, store.RoleCoordinator, bc.ID)
		aMgr, _ := env.AddUserIn(t, store.RoleManager, a.ID)
		refA := openReturned(t, s, ta, 60*time.Hour) // the deadline warning escalates at once
		refB := openReturned(t, s, tb, 60*time.Hour)
		openReturned(t, s, tb, 60*time.Hour)
		idA, idB := episodeIDByRef(t, s, ta, refA), episodeIDByRef(t, s, tb, refB)
		b := s.signIn(t, aMgr)
		var p page
		testenv.Eventually(t, 20*time.Second, "A's escalation listed", func() bool {
			p = b.get("/escalations")
			return strings.Contains(p.Body, refA)
		})
		if strings.Contains(p.Body, refB) {
			t.Errorf("A's manager sees B's escalation %s", refB)
		}
		p = b.get("/overview?commissioner=" + bc.ID)
		if p.Status != 200 || strings.Contains(p.Body, `name="commissioner"`) {
			t.Fatalf("A's manager's overview: %d, with a commissioner selector:\n%s", p.Status, p.Body)
		}
		if row := chartRow(p.Body, "chart-open", "Awaiting contact"); row != "1" {
			t.Errorf("A's manager's open episodes awaiting contact: %q, want A's 1 (B has 2)", row)
		}
		p = b.get("/audit")
		if p.Status != 200 || !strings.Contains(p.Body, aCoord.Name) || !strings.Contains(p.Body, idA) {
			t.Fatalf("A's manager's audit lacks A's coordinator or episode:\n%s", p.Body)
		}
		for _, other := range []string{bCoord.Name, bCoord.ID, idB} {
			if strings.Contains(p.Body, other) {
				t.Errorf("A's manager's audit shows B's %s", other)
			}
		}
		if p = b.get("/audit?user_id=" + bCoord.ID); strings.Contains(p.Body, idB) {
			t.Errorf("A's manager reads B's coordinator's trail by asking for it")
		}
	})

	t.Run("the overview's charts carry the month's figures", func(t *testing.T) {
		com := env.AddCommissioner(t, "Overview commissioner")
		_, coord := env.AddUserIn(t, store.RoleCoordinator, com.ID)
		iv, ivTok := env.AddUserIn(t, store.RoleInterviewer, com.ID)
		pMgr, _ := env.AddUserIn(t, store.RoleManager, "")
		// Two referred after their deadline (two breaches), one offered in time.
		openReturned(t, s, coord, 73*time.Hour)
		openReturned(t, s, coord, 73*time.Hour)
		id := episodeIDByRef(t, s, coord, openFor(t, s, coord, iv.ID, 2*time.Hour))
		offer(t, s, ivTok, id)
		b := s.signIn(t, pMgr)
		week := thisWeek()
		var p page
		testenv.Eventually(t, 30*time.Second, "the figures on the overview", func() bool {
			p = b.get("/overview?commissioner=" + com.ID)
			return chartRow(p.Body, "chart-breaches", "Referred after the deadline") == "2" &&
				chartRow(p.Body, "chart-open", "Offer accepted") == "1" &&
				chartRow(p.Body, "chart-offers", week) != "0%"
		})
		want := map[[2]string]string{
			{"chart-opened", week}:                            "3",
			{"chart-offers", week}:                            "33.3%",
			{"chart-breaches", "Referred after the deadline"}: "2",
			{"chart-breaches", "No contact attempted"}:        "0",
			{"chart-open", "Awaiting contact"}:                "2",
			{"chart-open", "Offer accepted"}:                  "1",
			{"chart-open", "Interview held"}:                  "0",
		}
		for k, v := range want {
			if got := chartRow(p.Body, k[0], k[1]); got != v {
				t.Errorf("%s %q: %q, want %q", k[0], k[1], got, v)
			}
		}
		// The largest bar is full width (480 - 170 - 60), the others in proportion.
		if !regexp.MustCompile(`data-label="` + week + `" data-value="3">\s*<text[^>]*>[^<]*</text>\s*<rect class="chart-bar" x="170" y="\d+" width="250"`).MatchString(p.Body) {
			t.Errorf("the opened-per-week bar of this week is not full width:\n%s", p.Body)
		}
		for _, alt := range []string{`role="img"`, `<title id="chart-open-t">`, `<desc id="chart-open-d">`, "Awaiting contact: 2;",
			`<th scope="row">Awaiting contact</th><td>2</td>`, `href="/static/charts.css"`} {
			if !strings.Contains(p.Body, alt) {
				t.Errorf("overview lacks %s", alt)
			}
		}
		if bad := inline.FindString(p.Body); bad != "" {
			t.Errorf("overview has inline script or style %q", bad)
		}
	})

	t.Run("the audit trail's filters", func(t *testing.T) {
		com := env.AddCommissioner(t, "Audit commissioner")
		coord, token := env.AddUserIn(t, store.RoleCoordinator, com.ID)
		other, otherTok := env.AddUserIn(t, store.RoleCoordinator, com.ID)
		admin, _ := env.AddUserIn(t, store.RoleAdmin, "")
		id1 := episodeIDByRef(t, s, token, openReturned(t, s, token, time.Hour))
		id2 := episodeIDByRef(t, s, otherTok, openReturned(t, s, otherTok, time.Hour))
		b := s.signIn(t, admin)
		p := b.get("/audit?episode_id=" + id1)
		if p.Status != 200 || !strings.Contains(p.Body, `href="/episodes/`+id1+`"`) || strings.Contains(p.Body, id2) {
			t.Fatalf("audit of episode 1: %d; want its rows only:\n%s", p.Status, p.Body)
		}
		p = b.get("/audit?user_id=" + other.ID)
		if !strings.Contains(p.Body, id2) || strings.Contains(p.Body, id1) || strings.Contains(p.Body, "<td>"+coord.Name) {
			t.Fatalf("audit of the other coordinator: want their episode only:\n%s", p.Body)
		}
		p = b.get("/audit?episode_id=nope")
		if !strings.Contains(p.Body, `id="f-episode-id-error"`) || !strings.Contains(p.Body, "must be a uuid") || !strings.Contains(p.Body, `value="nope"`) {
			t.Fatalf("a malformed episode id: want the API's reason beside the field:\n%s", p.Body)
		}
		// More entries than a page holds: the pager links on and back.
		for range 26 {
			s.episodeCount(t, otherTok)
		}
		p = b.get("/audit?user_id=" + other.ID)
		next := regexp.MustCompile(`<a href="([^"]+)">Next page</a>`).FindStringSubmatch(p.Body)
		if next == nil || !strings.Contains(p.Body, "<span>Page 1</span>") || strings.Contains(p.Body, "Previous page") {
			t.Fatalf("audit of more entries than a page: want page 1 with a link to the next only:\n%s", p.Body)
		}
		p = b.get(html.UnescapeString(next[1]))
		if !strings.Contains(p.Body, "<span>Page 2</span>") || !strings.Contains(p.Body, "Previous page") || strings.Contains(p.Body, "Next page") {
			t.Fatalf("audit page 2: want a link back and none on:\n%s", p.Body)
		}
		london, _ := time.LoadLocation("Europe/London")
		later := time.Now().In(london).Add(2 * time.Hour).Format("2006-01-02T15:04")
		if p = b.get("/audit?from=" + url.QueryEscape(later)); !strings.Contains(p.Body, "No entries match.") {
			t.Fatalf("audit from two hours ahead: want no entries:\n%s", p.Body)
		}
	})

	t.Run("the return report for its commissioner's officer, not another's", func(t *testing.T) {
		a, bc := env.AddCommissioner(t, "Report A"), env.AddCommissioner(t, "Report B")
		offA, _ := env.AddUserIn(t, store.RoleCommissionerOfficer, a.ID)
		offB, _ := env.AddUserIn(t, store.RoleCommissionerOfficer, bc.ID)
		id, ref := heldInterview(t, s, a.ID, false)
		ba, bb := s.signIn(t, offA), s.signIn(t, offB)
		if p := ba.get("/"); p.Status != 200 || !strings.Contains(p.Body, "<h1>Return reports</h1>") || strings.Contains(p.Body, ref) {
			t.Fatalf("an officer's home: %d:\n%s", p.Status, p.Body)
		}
		var p page
		testenv.Eventually(t, 30*time.Second, "the report produced", func() bool {
			p = ba.get("/episodes/" + id + "/report")
			return p.Status == 200
		})
		if !strings.HasPrefix(p.Body, "%PDF") || p.Header.Get("Content-Type") != "application/pdf" ||
			!strings.Contains(p.Header.Get("Content-Disposition"), ref) {
			t.Fatalf("report: %s %s, want the PDF", p.Header.Get("Content-Type"), p.Header.Get("Content-Disposition"))
		}
		if p = ba.get("/episodes/" + id + "/report?format=html"); p.Status != 200 || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") || !strings.Contains(p.Body, ref) {
			t.Fatalf("HTML report: %d %s", p.Status, p.Header.Get("Content-Type"))
		}
		if p = bb.get("/episodes/" + id + "/report"); p.Status != http.StatusNotFound || strings.HasPrefix(p.Body, "%PDF") {
			t.Fatalf("another commissioner's officer: %d, want 404", p.Status)
		}
	})

	t.Run("after sign-in, back to the page asked for, never to another site", func(t *testing.T) {
		u, _ := env.AddUser(t, store.RoleManager)
		b := s.browser(t)
		p := b.get("/escalations?acknowledged=false")
		if p.Status != http.StatusSeeOther || p.location() != "/" {
			t.Fatalf("no session: %d to %q", p.Status, p.location())
		}
		if p = useLink(t, s, b, u); p.location() != "/escalations?acknowledged=false" {
			t.Fatalf("after sign-in: to %q, want the page asked for", p.location())
		}
		if p = useLink(t, s, b, u); p.location() != web.HomeOf(u) {
			t.Fatalf("the next sign-in: to %q, want home: the page asked for is forgotten", p.location())
		}
		// A page of another role, remembered on a shared browser: home instead of a refusal.
		iv, _ := env.AddUser(t, store.RoleInterviewer)
		for _, theirs := range []string{"/escalations", "/audit?user_id=x", "/episodes/" + uuid.NewString() + "/interview"} {
			b := s.browser(t)
			b.setCookie("homeward_next", url.QueryEscape(theirs))
			who := iv
			if strings.HasPrefix(theirs, "/episodes/") {
				who = u
			}
			if p := useLink(t, s, b, who); p.location() != web.HomeOf(who) {
				t.Errorf("%s remembered, a %s signed in: to %q, want their home", theirs, who.Role, p.location())
			}
		}
		b.setCookie("homeward_next", url.QueryEscape("/mine"))
		if p := useLink(t, s, b, iv); p.location() != "/mine" {
			t.Errorf("an interviewer's own page remembered: to %q, want it", p.location())
		}
		for _, bad := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "/sign-out", "javascript:alert(1)"} {
			b := s.browser(t)
			b.setCookie("homeward_next", url.QueryEscape(bad))
			if p := useLink(t, s, b, u); p.location() != web.HomeOf(u) {
				t.Errorf("next %q kept: sign-in went to %q", bad, p.location())
			}
			if p := b.get("/?next=" + url.QueryEscape(bad)); p.location() != web.HomeOf(u) {
				t.Errorf("signed in, /?next=%q went to %q", bad, p.location())
			}
		}
		if p := s.browser(t).get("/favicon.ico"); p.Status != 200 || p.Header.Get("Content-Type") != "image/x-icon" {
			t.Errorf("favicon: %d %s", p.Status, p.Header.Get("Content-Type"))
		}
	})
}

// useLink signs u in in b with a new one-time link and returns the answer.
func useLink(t *testing.T, s *site, b *browser, u store.User) page {
	t.Helper()
	token := hidden(t, b.get(s.link(t, u)).Body, "token")
	p := b.post("/sign-in/link", url.Values{"token": {token}})
	if p.Status != http.StatusSeeOther {
		t.Fatalf("sign in: %d; %s", p.Status, p.Body)
	}
	return p
}

// chartRow is the value shown on the bar labelled label of the chart id.
func chartRow(html, id, label string) string {
	i := strings.Index(html, `<svg class="chart" id="`+id+`"`)
	if i < 0 {
		return ""
	}
	svg := html[i:]
	svg = svg[:strings.Index(svg, "</svg>")]
	m := regexp.MustCompile(`data-label="` + regexp.QuoteMeta(label) + `" data-value="([^"]*)"`).FindStringSubmatch(svg)
	if m == nil {
		return ""
	}
	return m[1]
}

// thisWeek is the label of this week's bar: its Monday, or the 1st when
// the week began last month.
func thisWeek() string {
	london, _ := time.LoadLocation("Europe/London")
	now := time.Now().In(london)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, london)
	monday := day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	if monday.Month() != now.Month() {
		monday = time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, london)
	}
	return "Week from " + monday.Format("2 Jan")
}

// openReturned opens an episode of the coordinator's commissioner whose
// child returned ago, and returns its reference.
func openReturned(t *testing.T, s *site, token string, ago time.Duration) string {
	t.Helper()
	return openFor(t, s, token, "", ago)
}

func openFor(t *testing.T, s *site, token, interviewer string, ago time.Duration) string {
	t.Helper()
	now := time.Now().UTC()
	body := map[string]any{
		"child":               map[string]any{"first_name": "Managerchild"},
		"reported_missing_at": now.Add(-ago - 12*time.Hour).Format(time.RFC3339),
		"returned_at":         now.Add(-ago).Format(time.RFC3339),
		"risk_grade":          "high", "category": "missing",
		"contact": map[string]any{"child_mobile": "07700 900003"},
	}
	if interviewer != "" {
		body["assigned_interviewer_id"] = interviewer
	}
	st, resp := s.env.Do(t, "POST", "/v1/episodes", token, body)
	if st != 201 {
		t.Fatalf("open episode: %d %s", st, resp)
	}
	ref := regexp.MustCompile(`"reference":"(HW-[^"]+)"`).FindStringSubmatch(string(resp))
	if ref == nil {
		t.Fatalf("no reference in %s", resp)
	}
	return ref[1]
}

func offer(t *testing.T, s *site, ivToken, id string) {
	t.Helper()
	st, body := s.env.Do(t, "POST", "/v1/episodes/"+id+"/contact-attempts", ivToken, map[string]any{
		"method": "text", "outcome": "reached_offered", "attempted_at": time.Now().UTC().Format(time.RFC3339)})
	if st != 200 {
		t.Fatalf("offer: %d %s", st, body)
	}
}

// heldInterview opens an episode of commissioner com, offers and holds
// its interview (with a safeguarding concern if asked) and records the
// agreement to share with the social worker, and returns its id and
// reference.
func heldInterview(t *testing.T, s *site, com string, safeguarding bool) (id, ref string) {
	t.Helper()
	_, coord := s.env.AddUserIn(t, store.RoleCoordinator, com)
	iv, ivTok := s.env.AddUserIn(t, store.RoleInterviewer, com)
	ref = openFor(t, s, coord, iv.ID, time.Hour)
	id = episodeIDByRef(t, s, coord, ref)
	offer(t, s, ivTok, id)
	now := time.Now().UTC()
	steps := []struct {
		path string
		body map[string]any
	}{
		{"/interview", map[string]any{"outcome": "held", "held_at": now.Add(-time.Minute).Format(time.RFC3339),
			"record": map[string]any{"push_factors": []string{"rows at home"}, "safeguarding_concern": safeguarding}}},
		{"/agreement", map[string]any{"confidentiality_explained": true, "child_told_before_sharing": true,
			"shared_with": []any{map[string]any{"party": "social_worker", "what": "the return report"}}}},
	}
	for _, st := range steps {
		if code, body := s.env.Do(t, "POST", "/v1/episodes/"+id+st.path, ivTok, st.body); code != 200 {
			t.Fatalf("POST %s: %d %s", st.path, code, body)
		}
	}
	return id, ref
}
