package integration

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"homeward/internal/testenv"
	"homeward/store"
)

// One interview covering the open episodes of one child: each covered
// episode's duty is met when the interview was held, each shows the shared
// interview, none is closed, and a retry records nothing twice.
func TestOneInterviewCoversSeveralEpisodes(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	now := time.Now().UTC().Truncate(time.Second)
	first := tm.assigned(t, now.Add(-3*time.Hour))
	child := tm.childOf(t, first)
	again := func(assignee string) string {
		r := referral(now.Add(-2 * time.Hour))
		r["child"] = map[string]any{"id": child}
		r["assigned_interviewer_id"] = assignee
		return tm.must(t, 201, "POST", "/v1/episodes", tm.Coordinator, r)["id"].(string)
	}
	second := again(tm.InterviewerID)
	other, _ := env.AddUser(t, store.RoleInterviewer)
	third := again(other.ID)
	tm.childOf(t, second)
	tm.childOf(t, third)
	strangers := tm.assigned(t, now.Add(-time.Hour)) // another child

	p := "/v1/episodes/" + first
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, attemptBody(now.Add(-2*time.Hour), "reached_offered"))
	held := func(covers []string, takeOver bool) map[string]any {
		return map[string]any{"outcome": "held", "held_at": rfc(now.Add(-time.Hour)), "venue": "school",
			"record": map[string]any{"push_factors": []string{"conflict at home"}}, "covers": covers, "take_over": takeOver}
	}
	// Another child's episode cannot be covered.
	st, body := env.Do(t, "POST", p+"/interview", tm.Interviewer, held([]string{strangers}, false))
	wantField(t, st, body, 400, "covers[0]")

	st, answer := env.Do(t, "POST", p+"/interview", tm.Interviewer, held([]string{second, third}, true), "Idempotency-Key", "shared-1")
	if st != 200 {
		t.Fatalf("shared interview: %d %s", st, answer)
	}
	var got struct {
		Covered []struct {
			EpisodeID string `json:"episode_id"`
			Recorded  bool   `json:"recorded"`
			Status    string `json:"status"`
		} `json:"covered"`
	}
	_ = json.Unmarshal(answer, &got)
	if len(got.Covered) != 2 || !got.Covered[0].Recorded || !got.Covered[1].Recorded || got.Covered[1].Status != "interview_held" {
		t.Fatalf("covered: %s", answer)
	}
	st, retry := env.Do(t, "POST", p+"/interview", tm.Interviewer, held([]string{second, third}, true), "Idempotency-Key", "shared-1")
	if st != 200 || string(retry) != string(answer) {
		t.Fatalf("retry: %d %s, want %s", st, retry, answer)
	}

	for _, id := range []string{first, second, third} {
		ep := tm.waitFor(t, id, "shows the interview", hasStatus("interview_held"))
		if ep["offer_within_deadline"] != true {
			t.Errorf("episode %s: the duty is not met: %v", id, ep["offer_within_deadline"])
		}
		iv := ep["interview"].(map[string]any)
		if id != first && iv["shared_from"] == "" {
			t.Errorf("episode %s does not show the shared interview: %v", id, iv)
		}
		if n := len(ep["contact_attempts"].([]any)); id != first && n != 0 {
			t.Errorf("episode %s has %d attempts", id, n)
		}
	}
	if ep := tm.waitFor(t, third, "taken over", func(ep map[string]any) bool { return assigneeOf(ep) == tm.InterviewerID }); ep == nil {
		t.Fatal("not taken over")
	}
	rows, err := env.Store.ListAudit(t.Context(), store.AuditFilter{EpisodeID: third, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	audited := false
	for _, r := range rows {
		audited = audited || r.Action == "episode.shared_interview" && r.Outcome == "accepted, taken over"
	}
	if !audited {
		t.Errorf("the take-over of %s is not in the audit trail", third)
	}
}

// Taking a covered episode over is an assignment: it is checked against the
// child's preferred worker gender like every other. The interview can
// still be shared without taking the episode over.
func TestTakeOverRespectsTheChildsWorkerGender(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	now := time.Now().UTC().Truncate(time.Second)
	first := tm.assigned(t, now.Add(-3*time.Hour)) // the child asks for a female worker
	child := tm.childOf(t, first)
	other, _ := env.AddUser(t, store.RoleInterviewer)
	r := referral(now.Add(-2 * time.Hour))
	r["child"] = map[string]any{"id": child}
	r["assigned_interviewer_id"] = other.ID
	second := tm.must(t, 201, "POST", "/v1/episodes", tm.Coordinator, r)["id"].(string)
	tm.childOf(t, second)
	if err := env.Store.SetUserGender(t.Context(), tm.InterviewerID, "male"); err != nil {
		t.Fatal(err)
	}

	p := "/v1/episodes/" + first
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, attemptBody(now.Add(-2*time.Hour), "reached_offered"))
	held := func(takeOver bool) map[string]any {
		return map[string]any{"outcome": "held", "held_at": rfc(now.Add(-time.Hour)),
			"record": map[string]any{"push_factors": []string{"conflict at home"}}, "covers": []string{second}, "take_over": takeOver}
	}
	var got struct {
		Covered []struct {
			Recorded bool   `json:"recorded"`
			Field    string `json:"field"`
			Reason   string `json:"reason"`
		} `json:"covered"`
	}
	st, answer := env.Do(t, "POST", p+"/interview", tm.Interviewer, held(true))
	if err := json.Unmarshal(answer, &got); st != 200 || err != nil || len(got.Covered) != 1 {
		t.Fatalf("shared interview: %d %s", st, answer)
	}
	if c := got.Covered[0]; c.Recorded || !strings.Contains(c.Reason, "female") {
		t.Fatalf("take-over against the child's preference: %+v; want refused, naming the preference", c)
	}
	ep := tm.must(t, 200, "GET", "/v1/episodes/"+second, tm.Coordinator, nil)
	if assigneeOf(ep) != other.ID || ep["status"] == "interview_held" {
		t.Errorf("episode %v taken over against the child's preference", ep["status"])
	}
}
