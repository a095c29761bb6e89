// Package integration drives Homeward end to end through its HTTP API, with
// a real Temporal server, PostgreSQL and SMTP server in the test process.
package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"homeward/episode"
	"homeward/internal/pglocal"
	"homeward/internal/testenv"
	"homeward/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pglocal.StopTestClusters()
	os.Exit(code)
}

// team is the people of one test and the service they use.
type team struct {
	env *testenv.Env
	testenv.Team
}

func newTeam(t *testing.T, env *testenv.Env) *team {
	return &team{env: env, Team: env.AddTeam(t)}
}

func referral(returnedAt time.Time) map[string]any { return testenv.Referral(returnedAt) }

// must sends a request and fails the test unless the status is want.
func (tm *team) must(t *testing.T, want int, method, path, token string, body any, headers ...string) map[string]any {
	t.Helper()
	status, raw := tm.env.Do(t, method, path, token, body, headers...)
	if status != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, status, want, raw)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return out
}

func (tm *team) open(t *testing.T, returnedAt time.Time) string {
	t.Helper()
	body := tm.must(t, 201, "POST", "/v1/episodes", tm.Coordinator, referral(returnedAt))
	return body["id"].(string)
}

// waitFor polls the episode until cond holds, and returns it.
func (tm *team) waitFor(t *testing.T, id, what string, cond func(ep map[string]any) bool) map[string]any {
	t.Helper()
	return tm.waitUpTo(t, 20*time.Second, id, what, cond)
}

// waitUpTo is waitFor with its own patience.
func (tm *team) waitUpTo(t *testing.T, limit time.Duration, id, what string, cond func(ep map[string]any) bool) map[string]any {
	t.Helper()
	var ep map[string]any
	testenv.Eventually(t, limit, "episode "+what, func() bool {
		status, raw := tm.env.Do(t, "GET", "/v1/episodes/"+id, tm.Coordinator, nil)
		if status != 200 {
			return false
		}
		ep = nil
		_ = json.Unmarshal(raw, &ep)
		return ep != nil && cond(ep)
	})
	return ep
}

func hasStatus(s episode.Status) func(map[string]any) bool {
	return func(ep map[string]any) bool { return ep["status"] == string(s) }
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// wholeEpisode runs one episode from referral to the completed follow-up
// and returns its id.
func wholeEpisode(t *testing.T, tm *team) string {
	now := time.Now().UTC().Truncate(time.Second)
	returned := now.Add(-5 * time.Hour)
	id := tm.open(t, returned)
	p := "/v1/episodes/" + id

	tm.must(t, 200, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": tm.InterviewerID})
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": rfc(now.Add(-2 * time.Hour))})
	ep := tm.waitFor(t, id, "plans the next contact by another method", func(ep map[string]any) bool {
		nc, _ := ep["next_contact"].(map[string]any)
		return nc != nil && nc["method"] == "text" && len(ep["contact_attempts"].([]any)) == 1
	})
	if ep["assigned_interviewer"] == nil {
		t.Fatalf("assignment not shown: %v", ep["assigned_interviewer"])
	}
	// An agreement before any interview is refused with a reason.
	status, raw := tm.env.Do(t, "POST", p+"/agreement", tm.Interviewer, map[string]any{"confidentiality_explained": true, "shared_with": []any{}})
	if status != 409 || !strings.Contains(string(raw), "held interview") {
		t.Fatalf("agreement before interview = %d %s, want 409 naming the held interview", status, raw)
	}
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, map[string]any{"method": "text", "outcome": "reached_offered", "attempted_at": rfc(now.Add(-time.Hour))})
	tm.must(t, 200, "POST", p+"/interview", tm.Interviewer, map[string]any{"outcome": "scheduled", "scheduled_for": rfc(now.Add(24 * time.Hour)), "venue": "school"})
	tm.must(t, 200, "POST", p+"/interview", tm.Interviewer, map[string]any{
		"outcome": "held", "held_at": rfc(now.Add(-10 * time.Minute)), "venue": "school",
		"record": map[string]any{
			"push_factors": []string{"arguments at home"}, "pull_factors": []string{"friends"},
			"risk_indicators": map[string]any{"gone_missing_before": "yes", "sexual_exploitation_or_trafficking": "no"},
			"where_child_was": "a friend's flat", "who_with": "two friends", "what_happened": "stayed over",
			"follow_up_support": []string{"school counsellor"},
		},
	})
	tm.must(t, 200, "POST", p+"/agreement", tm.Interviewer, map[string]any{
		"confidentiality_explained": true, "child_told_before_sharing": true,
		"shared_with": []any{map[string]any{"party": "social_worker", "what": "the return report"}},
	})
	tm.waitFor(t, id, "awaits its follow-up", hasStatus(episode.StatusFollowUpDue))
	tm.must(t, 200, "POST", p+"/follow-up", tm.Interviewer, map[string]any{"completed_at": rfc(time.Now()), "actions_taken": []string{"counselling started"}, "outcome": "settled"})
	return id
}

func TestWholeEpisodeThroughTheAPI(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	officer, _ := env.AddUserIn(t, store.RoleCommissionerOfficer, env.Commissioner.ID)
	id := wholeEpisode(t, tm)

	ep := tm.waitFor(t, id, "completes", hasStatus(episode.StatusCompleted))
	if ep["offer_made_at"] == nil || ep["offer_within_deadline"] != true {
		t.Errorf("offer: %v within %v", ep["offer_made_at"], ep["offer_within_deadline"])
	}
	if n := len(ep["contact_attempts"].([]any)); n != 2 {
		t.Errorf("contact attempts = %d, want 2", n)
	}
	iv, _ := ep["interview"].(map[string]any)
	if iv == nil || iv["status"] != "held" || iv["record"] == nil {
		t.Errorf("interview = %v", iv)
	}
	fu, _ := ep["follow_up"].(map[string]any)
	if fu == nil || fu["completed_at"] == nil || fu["due_at"] == nil {
		t.Errorf("follow-up = %v", fu)
	}
	if ag, _ := ep["agreement"].(map[string]any); ag == nil {
		t.Errorf("agreement missing")
	}
	if esc := ep["escalations"].([]any); len(esc) != 0 {
		t.Errorf("escalations = %v, want none", esc)
	}
	if tl := ep["timeline"].([]any); len(tl) < 8 {
		t.Errorf("timeline has %d entries", len(tl))
	}
	// The episode is over: a further outcome conflicts.
	status, raw := env.Do(t, "POST", "/v1/episodes/"+id+"/closure", tm.Coordinator, map[string]any{"reason": "duplicate"})
	if status != 409 {
		t.Errorf("closure of a completed episode = %d %s, want 409", status, raw)
	}
	// The one email: the report is ready, to the commissioner's officer.
	for _, m := range env.SMTP.Messages() {
		if m.Header.Get("X-Homeward-Report") == "" || m.To[0] != officer.Email {
			t.Errorf("email %q to %v for an episode with nothing late", m.Subject, m.To)
		}
	}
}

func TestBreachEmailArrivesOnceOverSMTP(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	// Returned almost 72 hours ago: the warning goes at once, the breach when
	// the real timer fires a few seconds later.
	returned := time.Now().UTC().Add(-72*time.Hour + 4*time.Second)
	id := tm.open(t, returned)

	msgs := env.SMTP.WaitFor(t, 4, 30*time.Second)
	time.Sleep(2 * time.Second) // anything sent twice would have arrived by now
	msgs = env.SMTP.Messages()
	perKind := map[string]map[string]int{}
	for _, m := range msgs {
		kind := m.Header.Get("X-Homeward-Escalation")
		if perKind[kind] == nil {
			perKind[kind] = map[string]int{}
		}
		perKind[kind][m.To[0]]++
		if strings.Contains(string(m.Data), "Riley") || strings.Contains(string(m.Data), "2011-04-05") {
			t.Errorf("an escalation email carries the child's personal data")
		}
		if !strings.Contains(m.Text, env.URL+"/episodes/"+id) {
			t.Errorf("email lacks the episode link:\n%s", m.Text)
		}
	}
	for _, kind := range []string{"deadline_warning", "deadline_breached"} {
		for _, mgr := range tm.Managers {
			if n := perKind[kind][mgr.Email]; n != 1 {
				t.Errorf("%s emails to %s = %d, want exactly 1", kind, mgr.Email, n)
			}
		}
	}
	if len(msgs) != 4 {
		t.Errorf("got %d emails, want 4 (two kinds, two managers)", len(msgs))
	}

	ep := tm.waitFor(t, id, "records the breach as sent", func(ep map[string]any) bool {
		for _, e := range ep["escalations"].([]any) {
			e := e.(map[string]any)
			if e["kind"] == "deadline_breached" && e["sent_at"] != nil {
				return true
			}
		}
		return false
	})
	if ep["status"] != string(episode.StatusAwaitingContact) {
		t.Errorf("status = %v", ep["status"])
	}
	list := tm.must(t, 200, "GET", "/v1/escalations?episode_id="+id, tm.Manager, nil)
	esc := list["escalations"].([]any)
	if len(esc) != 2 || esc[0].(map[string]any)["kind"] != "deadline_breached" {
		t.Errorf("escalations for managers = %v, want breach then warning, newest first", esc)
	}
	overdue := tm.must(t, 200, "GET", "/v1/episodes?overdue=true", tm.Coordinator, nil)
	if eps := overdue["episodes"].([]any); len(eps) != 1 || eps[0].(map[string]any)["id"] != id {
		t.Errorf("overdue list = %v", eps)
	}
	tm.must(t, 200, "POST", "/v1/episodes/"+id+"/closure", tm.Coordinator, map[string]any{"reason": "moved_out_of_area"})
	tm.waitFor(t, id, "closes", hasStatus(episode.StatusClosed))
}

func TestWorkerStopsMidEpisodeAndANewOneCarriesOn(t *testing.T) {
	env := testenv.Start(t, testenv.Options{QueryTimeout: 500 * time.Millisecond, OutcomeTimeout: 2 * time.Second})
	tm := newTeam(t, env)
	officer, _ := env.AddUserIn(t, store.RoleCommissionerOfficer, env.Commissioner.ID)
	now := time.Now().UTC().Truncate(time.Second)
	id := tm.open(t, now.Add(-3*time.Hour))
	p := "/v1/episodes/" + id
	// Interviewers record only the episodes assigned to them.
	tm.must(t, 200, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": tm.InterviewerID})
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, map[string]any{"method": "text", "outcome": "reached_offered", "attempted_at": rfc(now.Add(-time.Hour))})
	tm.waitFor(t, id, "records the offer", hasStatus(episode.StatusOfferAccepted))

	env.StopWorker()
	// With no worker the episode cannot answer: after a bounded wait, 503
	// saying a retry with the same key is safe.
	held := map[string]any{
		"outcome": "held", "held_at": rfc(now.Add(-5 * time.Minute)),
		"record": map[string]any{"harm_disclosed": true, "safeguarding_concern": true, "risk_indicators": map[string]any{}},
	}
	status, raw := env.Do(t, "POST", p+"/interview", tm.Interviewer, held, "Idempotency-Key", "held-1")
	if status != 503 {
		t.Fatalf("interview with no worker = %d %s, want 503", status, raw)
	}

	env.StartWorker(t)
	// The retry with the same key: recorded once, whether or not the first
	// try reached the episode.
	testenv.Eventually(t, 30*time.Second, "the retry is answered", func() bool {
		status, raw = env.Do(t, "POST", p+"/interview", tm.Interviewer, held, "Idempotency-Key", "held-1")
		return status == 200
	})
	// A save handed to the stopped worker's last poll is given again once
	// its 30-second start-to-close timeout passes: allow for that.
	tm.waitUpTo(t, 45*time.Second, id, "carries on after the new worker starts", hasStatus(episode.StatusInterviewHeld))
	msgs := env.SMTP.WaitFor(t, 2, 30*time.Second)
	for _, m := range msgs {
		if m.Header.Get("X-Homeward-Escalation") != "safeguarding_concern" {
			t.Errorf("unexpected email %q", m.Subject)
		}
	}
	tm.must(t, 200, "POST", p+"/agreement", tm.Interviewer, map[string]any{
		"confidentiality_explained": true, "shared_with": []any{map[string]any{"party": "police", "what": "the disclosure"}},
	})
	tm.must(t, 200, "POST", p+"/closure", tm.Coordinator, map[string]any{"reason": "other", "details": "moved to a specialist service"})
	ep := tm.waitFor(t, id, "closes", hasStatus(episode.StatusClosed))
	// The two safeguarding emails, and at most the report's to its officer.
	escalations := 0
	for _, m := range env.SMTP.Messages() {
		switch {
		case m.Header.Get("X-Homeward-Escalation") == "safeguarding_concern":
			escalations++
		case m.Header.Get("X-Homeward-Report") == "" || m.To[0] != officer.Email:
			t.Errorf("unexpected email %q to %v", m.Subject, m.To)
		}
	}
	if escalations != 2 {
		t.Errorf("safeguarding emails = %d, want one to each manager", escalations)
	}
	if fmt.Sprint(ep["agreement"]) == "<nil>" {
		t.Errorf("the agreement recorded after the restart is missing")
	}
}
