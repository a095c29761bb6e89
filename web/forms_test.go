package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"homeward/internal/testenv"
	"homeward/store"
	"homeward/web"
)

// TestInterviewerForms drives an episode from the first contact attempt
// to completion through the interviewer's forms, on the real server.
func TestInterviewerForms(t *testing.T) {
	s := start(t)
	env := s.env
	com := env.AddCommissioner(t, "Forms commissioner")
	_, coordToken := env.AddUserIn(t, store.RoleCoordinator, com.ID)
	iv, ivToken := env.AddUserIn(t, store.RoleInterviewer, com.ID)
	const child = "Wilhelmina"
	id, ref := openAssigned(t, s, coordToken, iv.ID, child)
	b := s.signIn(t, iv)
	var seen []page // every page the interviewer saw, for the privacy check
	get := func(path string) page { p := b.get(path); seen = append(seen, p); return p }
	post := func(path string, v url.Values) page { p := b.post(path, v); seen = append(seen, p); return p }
	episodePage := "/episodes/" + id

	testenv.Eventually(t, 20*time.Second, "my episodes lists the episode", func() bool {
		return strings.Contains(get("/mine").Body, ref)
	})

	// A failed attempt first; then a held interview is refused: no offer yet.
	v := withForm(t, url.Values{"method": {"phone"}, "outcome": {"no_answer"}, "back": {"mine"}}, get("/mine").Body)
	if p := post(episodePage+"/contact-attempts", v); p.Status != http.StatusSeeOther {
		t.Fatalf("failed attempt: %d; %s", p.Status, p.Body)
	}
	form := get(episodePage + "/interview")
	if form.Status != 200 {
		t.Fatalf("interview form: %d; %s", form.Status, form.Body)
	}
	if !strings.Contains(form.Body, `name="record.what_happened" maxlength="4000"`) || !strings.Contains(form.Body, `name="venue" value="" maxlength="200"`) {
		t.Errorf("the interview form lacks the API's limits as maxlength:\n%s", form.Body)
	}
	p := post(episodePage+"/interview", withForm(t, heldInterviewForm(), form.Body))
	if p.Status != http.StatusConflict || !strings.Contains(p.Body, "has not been offered and accepted yet") {
		t.Fatalf("interview before the offer: %d, want 409 saying why:\n%s", p.Status, p.Body)
	}
	for _, kept := range []string{"Met at the library after school.", `id="f-record-safeguarding-concern-yes" name="record.safeguarding_concern" value="yes" checked`, `value="Bus station"`} {
		if !strings.Contains(p.Body, kept) {
			t.Errorf("the refused interview form lost %q", kept)
		}
	}

	// The offer; the episode page then offers the interview forms.
	v = withForm(t, url.Values{"method": {"phone"}, "outcome": {"reached_offered"}}, get(episodePage).Body)
	if p = post(episodePage+"/contact-attempts", v); p.Status != http.StatusSeeOther || p.location() != episodePage+"?recorded=1" {
		t.Fatalf("offer: %d to %q; %s", p.Status, p.location(), p.Body)
	}
	testenv.Eventually(t, 20*time.Second, "the episode page offers the interview", func() bool {
		return strings.Contains(get(episodePage).Body, `href="`+episodePage+`/interview"`)
	})

	// The interview is arranged, then held.
	form = get(episodePage + "/interview/arrangement")
	v = withForm(t, url.Values{"outcome": {"scheduled"}, "scheduled_for": {inLondon(2 * time.Hour)}, "venue": {"Cafe on the high street"}}, form.Body)
	if p = post(episodePage+"/interview/arrangement", v); p.Status != http.StatusSeeOther {
		t.Fatalf("arranging the interview: %d; %s", p.Status, p.Body)
	}
	testenv.Eventually(t, 20*time.Second, "the interview is scheduled", func() bool {
		return apiEpisode(t, s, ivToken, id).Status == "interview_scheduled"
	})

	// The interview held, with a safeguarding concern, sent twice as a
	// double click sends it: it records once.
	form = get(episodePage + "/interview")
	v = withForm(t, heldInterviewForm(), form.Body)
	first, second := post(episodePage+"/interview", v), post(episodePage+"/interview", v)
	for _, p := range []page{first, second} {
		if p.Status != http.StatusSeeOther || p.location() != episodePage+"?recorded=interview" {
			t.Fatalf("held interview: %d to %q, want 303 to the episode both times:\n%s", p.Status, p.location(), p.Body)
		}
	}
	testenv.Eventually(t, 20*time.Second, "the episode page shows the risk indicators", func() bool {
		return strings.Contains(get(episodePage).Body, "<dt>Any sign of sexual exploitation or trafficking?</dt><dd>Yes</dd>")
	})
	if p = get(first.location()); !strings.Contains(p.Body, "The interview is recorded.") {
		t.Errorf("no notice after recording the interview:\n%s", p.Body)
	}

	// The follow-up is refused before the agreement, keeping what was typed.
	v = withForm(t, url.Values{"outcome": {"Settled back at home."}, "actions_taken": {"Called school"}}, get(episodePage+"/follow-up").Body)
	v.Set("completed_at", hidden2(t, get(episodePage+"/follow-up").Body, "completed_at"))
	if p = post(episodePage+"/follow-up", v); p.Status != http.StatusConflict ||
		!strings.Contains(p.Body, "record the agreement before the follow-up") || !strings.Contains(p.Body, "Settled back at home.</textarea>") {
		t.Fatalf("follow-up before the agreement: %d, want 409 saying why and keeping the text:\n%s", p.Status, p.Body)
	}

	// The agreement: each refusal's reason beside its field.
	form = get(episodePage + "/agreement")
	if !strings.Contains(form.Body, "A safeguarding concern is always shared") {
		t.Errorf("the agreement form lacks the reminder:\n%s", form.Body)
	}
	v = withForm(t, url.Values{"confidentiality_explained": {"true"}, "shared_with": {"school"}}, form.Body)
	if p = post(episodePage+"/agreement", v); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="f-what-school-error"`) {
		t.Fatalf("sharing with school without saying what: %d, want 400 beside it:\n%s", p.Status, p.Body)
	}
	v = withForm(t, url.Values{"confidentiality_explained": {"true"}, "shared_with": {"school"}, "what.school": {"Attendance"}}, p.Body)
	if p = post(episodePage+"/agreement", v); p.Status != http.StatusBadRequest ||
		!strings.Contains(p.Body, `id="f-shared-with-error"`) || !strings.Contains(p.Body, "always shared: include the social worker or the police") {
		t.Fatalf("a safeguarding concern not shared: %d, want 400 beside the parties:\n%s", p.Status, p.Body)
	}
	v = withForm(t, url.Values{"confidentiality_explained": {"true"}, "child_told_before_sharing": {"true"},
		"shared_with": {"social_worker", "school"}, "what.social_worker": {"The safeguarding concern"}, "what.school": {"Attendance"}}, p.Body)
	if p = post(episodePage+"/agreement", v); p.Status != http.StatusSeeOther {
		t.Fatalf("agreement: %d; %s", p.Status, p.Body)
	}

	// An action plan, which the follow-up must review.
	testenv.Eventually(t, 20*time.Second, "the follow-up is offered", func() bool {
		return strings.Contains(get(episodePage).Body, `href="`+episodePage+`/follow-up"`)
	})
	form = get(episodePage + "/action-plan")
	v = withForm(t, url.Values{"actions[0].what": {"Mentoring sessions"}, "actions[0].owner": {"Youth service"},
		"actions[0].due_at": {inLondon(time.Hour)}}, form.Body)
	if p = post(episodePage+"/action-plan", v); p.Status != http.StatusSeeOther {
		t.Fatalf("action plan: %d; %s", p.Status, p.Body)
	}

	// The follow-up reviews the action and completes the episode.
	testenv.Eventually(t, 20*time.Second, "the follow-up form shows the action", func() bool {
		return strings.Contains(get(episodePage+"/follow-up").Body, "Mentoring sessions")
	})
	form = get(episodePage + "/follow-up")
	if hidden(t, form.Body, "review_action") != "1" {
		t.Fatalf("the follow-up form does not carry action 1 to review:\n%s", form.Body)
	}
	v = withForm(t, url.Values{"outcome": {"Settled back at home."}, "actions_taken": {"Called school\n\nSaw the social worker"},
		"completed_at": {hidden2(t, form.Body, "completed_at")}, "review_action": {"1"}}, form.Body)
	if p = post(episodePage+"/follow-up", v); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="f-review-1-outcome-error"`) {
		t.Fatalf("follow-up not saying what became of the action: %d, want 400 beside it:\n%s", p.Status, p.Body)
	}
	v = withForm(t, v, p.Body)
	v.Set("review.1.outcome", "done")
	if p = post(episodePage+"/follow-up", v); p.Status != http.StatusSeeOther {
		t.Fatalf("follow-up: %d; %s", p.Status, p.Body)
	}

	var e store.EpisodeDetail
	testenv.Eventually(t, 20*time.Second, "the API has the episode completed", func() bool {
		e = apiEpisode(t, s, ivToken, id)
		return e.Status == "completed"
	})
	rec := e.Interview.Record
	if !rec.SafeguardingConcern || rec.RiskIndicators.SexualExploitationOrTrafficking != "yes" || rec.RiskIndicators.GoneMissingBefore != "no" ||
		len(rec.Places) != 1 || rec.Places[0].Name != "Bus station" || len(rec.PushFactors) != 2 {
		t.Errorf("the interview as the API has it: %+v", rec)
	}
	if e.ActionPlan == nil || e.ActionPlan.Actions[0].Status != "done" {
		t.Errorf("action plan %+v, want its action done", e.ActionPlan)
	}
	if len(e.Agreement.SharedWith) != 2 || len(e.FollowUp.ActionsTaken) != 2 {
		t.Errorf("agreement %+v, follow-up %+v", e.Agreement, e.FollowUp)
	}
	held := 0
	for _, te := range e.Timeline {
		if te.Type == "interview_held" {
			held++
		}
	}
	if held != 1 {
		t.Errorf("the interview was recorded %d times, want once", held)
	}

	for _, p := range seen {
		if got := p.Header.Get("Content-Security-Policy"); got != web.CSP {
			t.Errorf("CSP %q on a page of the forms", got)
		}
		if bad := inline.FindString(p.Body); bad != "" {
			t.Errorf("inline script or style %q in a page of the forms", bad)
		}
		if n := strings.Count(p.Body, "<h1"); p.Status != http.StatusSeeOther && n != 1 {
			t.Errorf("%d <h1> on a page titled %q", n, titleOf(p.Body))
		}
		unlabelled(t, p.Body)
		if strings.Contains(p.location(), child) || strings.Contains(titleOf(p.Body), child) {
			t.Errorf("the child's name in a URL %q or title %q", p.location(), titleOf(p.Body))
		}
		for _, m := range formAction.FindAllStringSubmatch(p.Body, -1) {
			if strings.Contains(m[1], child) {
				t.Errorf("the child's name in the form action %q", m[1])
			}
		}
	}
}

var (
	control = regexp.MustCompile(`<(input|select|textarea)\s([^>]*)>`)
	idAttr  = regexp.MustCompile(`\sid="([^"]+)"`)
	// wrappedInLabel: the text before a control ends with a label's start.
	wrappedInLabel = regexp.MustCompile(`<label[^>]*>\s*$`)
)

// unlabelled fails t for each control of html with no label of its own,
// and for each id used twice.
func unlabelled(t *testing.T, html string) {
	t.Helper()
	ids := map[string]int{}
	for _, m := range idAttr.FindAllStringSubmatch(html, -1) {
		if ids[m[1]]++; ids[m[1]] == 2 {
			t.Errorf("id %q twice in a page titled %q", m[1], titleOf(html))
		}
	}
	for _, at := range control.FindAllStringSubmatchIndex(html, -1) {
		m := []string{html[at[0]:at[1]], html[at[2]:at[3]], html[at[4]:at[5]]}
		if strings.Contains(m[2], `type="hidden"`) || wrappedInLabel.MatchString(html[:at[0]]) {
			continue
		}
		id := idAttr.FindStringSubmatch(" " + m[2])
		if id == nil || !strings.Contains(html, `for="`+id[1]+`"`) {
			t.Errorf("a %s with no label in a page titled %q: %s", m[1], titleOf(html), m[0])
		}
	}
}

var formAction = regexp.MustCompile(`<(?:form|a)\s[^>]*(?:action|href)="([^"]*)"`)

// heldInterview is the interview form as an interviewer fills it.
func heldInterviewForm() url.Values {
	v := url.Values{
		"venue":                                   {"Cafe on the high street"},
		"record.push_factors":                     {"Arguments at home\nTrouble at school"},
		"record.pull_factors":                     {"Older friends"},
		"record.where_child_was":                  {"Met at the library after school."},
		"record.who_with":                         {"Two older boys"},
		"record.what_happened":                    {"Stayed out overnight."},
		"record.harm_disclosed":                   {"no"},
		"record.safeguarding_concern":             {"yes"},
		"record.safeguarding_details":             {"Asked to carry a parcel."},
		"record.follow_up_support":                {"Weekly check-in"},
		"record.referrals_made":                   {"Youth service"},
		"record.places[0].type":                   {"station"},
		"record.places[0].name":                   {"Bus station"},
		"record.places[0].postcode_district":      {"LS1"},
		"record.people_of_concern[0].description": {"Older boy called J"},
	}
	answers := map[string]string{"gone_missing_before": "no", "often_away_without_authorisation": "unknown",
		"sexual_exploitation_or_trafficking": "yes", "hurt_or_harmed_while_away": "no",
		"criminal_exploitation_or_drugs": "yes", "contact_with_people_posing_risk": "yes"}
	for k, a := range answers {
		v.Set("record.risk_indicators."+k, a)
	}
	london, _ := time.LoadLocation("Europe/London")
	v.Set("held_at", time.Now().In(london).Add(-time.Minute).Format("2006-01-02T15:04"))
	return v
}

// inLondon is now+d as a datetime-local input has it.
func inLondon(d time.Duration) string {
	london, _ := time.LoadLocation("Europe/London")
	return time.Now().Add(d).In(london).Format("2006-01-02T15:04")
}

var inputValue = regexp.MustCompile(`name="([a-z_.]+)" value="([^"]*)"`)

// hidden2 is the value of the input called name (any type).
func hidden2(t *testing.T, html, name string) string {
	t.Helper()
	for _, m := range inputValue.FindAllStringSubmatch(html, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	t.Fatalf("no input %s in the page:\n%s", name, html)
	return ""
}

// openAssigned opens an episode for child assigned to the interviewer and
// returns its id and reference.
func openAssigned(t *testing.T, s *site, token, interviewerID, child string) (string, string) {
	t.Helper()
	now := time.Now().UTC()
	st, body := s.env.Do(t, "POST", "/v1/episodes", token, map[string]any{
		"child":               map[string]any{"first_name": child},
		"reported_missing_at": now.Add(-30 * time.Hour).Format(time.RFC3339),
		"returned_at":         now.Add(-6 * time.Hour).Format(time.RFC3339),
		"risk_grade":          "high", "category": "missing",
		"contact":                 map[string]any{"child_mobile": "07700 900003"},
		"assigned_interviewer_id": interviewerID,
	})
	if st != 201 {
		t.Fatalf("open episode: %d %s", st, body)
	}
	var e struct{ ID, Reference string }
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	return e.ID, e.Reference
}

// apiEpisode is the episode as the API answers it to token's user.
func apiEpisode(t *testing.T, s *site, token, id string) store.EpisodeDetail {
	t.Helper()
	st, body := s.env.Do(t, "GET", "/v1/episodes/"+id, token, nil)
	if st != 200 {
		t.Fatalf("GET episode: %d %s", st, body)
	}
	var e store.EpisodeDetail
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatal(err)
	}
	return e
}
