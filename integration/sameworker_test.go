package integration

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"homeward/internal/testenv"
	"homeward/store"
)

// interviewerWith adds an interviewer who recorded gender ("" for none).
func interviewerWith(t *testing.T, env *testenv.Env, gender string) (store.User, string) {
	t.Helper()
	u, tok := env.AddUser(t, store.RoleInterviewer)
	if gender != "" {
		if err := env.Store.SetUserGender(context.Background(), u.ID, gender); err != nil {
			t.Fatal(err)
		}
	}
	return u, tok
}

func assigneeOf(ep map[string]any) string {
	a, _ := ep["assigned_interviewer"].(map[string]any)
	if a == nil {
		return ""
	}
	return a["id"].(string)
}

// A child's next episode goes to the interviewer who last held an
// interview with them; when that worker can no longer take it, it waits
// and the coordinator's list says so.
func TestNextEpisodeGoesToTheChildsWorker(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	now := time.Now().UTC().Truncate(time.Second)
	worker, workerTok := interviewerWith(t, env, "")

	ref := referral(now.Add(-2 * time.Hour))
	ref["assigned_interviewer_id"] = worker.ID
	first := tm.must(t, 201, "POST", "/v1/episodes", tm.Coordinator, ref)["id"].(string)
	p := "/v1/episodes/" + first
	tm.must(t, 200, "POST", p+"/contact-attempts", workerTok, attemptBody(now.Add(-time.Hour), "reached_offered"))
	tm.must(t, 200, "POST", p+"/interview", workerTok, map[string]any{"outcome": "held", "held_at": rfc(now.Add(-30 * time.Minute)),
		"record": map[string]any{"push_factors": []string{"conflict at home"}}})
	child := tm.childOf(t, first)
	testenv.Eventually(t, 20*time.Second, "the interviewer becomes the child's worker", func() bool {
		st, body := env.Do(t, "GET", "/v1/children/"+child, tm.Coordinator, nil)
		return st == 200 && strings.Contains(string(body), `"worker":{"id":"`+worker.ID)
	})

	again := func() string {
		r := referral(now.Add(-time.Hour))
		r["child"] = map[string]any{"id": child}
		return tm.must(t, 201, "POST", "/v1/episodes", tm.Coordinator, r)["id"].(string)
	}
	second := again()
	ep := tm.waitFor(t, second, "is recorded", func(ep map[string]any) bool { return ep["pending"] != true && ep["child"] != nil })
	if got := assigneeOf(ep); got != worker.ID {
		t.Errorf("second episode assigned to %q, want the child's worker %s", got, worker.ID)
	}

	if err := env.Store.SetUserActive(context.Background(), worker.ID, false); err != nil {
		t.Fatal(err)
	}
	third := again()
	ep = tm.waitFor(t, third, "is recorded", func(ep map[string]any) bool { return ep["pending"] != true && ep["child"] != nil })
	if got := assigneeOf(ep); got != "" {
		t.Errorf("third episode assigned to %q, want none: the worker is not active", got)
	}
	list := tm.must(t, 200, "GET", "/v1/episodes?limit=200", tm.Coordinator, nil)
	flagged := map[string]bool{}
	for _, e := range list["episodes"].([]any) {
		e := e.(map[string]any)
		flagged[e["id"].(string)] = e["previous_worker_unavailable"] == true
	}
	if !flagged[third] || flagged[second] || flagged[first] {
		t.Errorf("previous worker unavailable: %v, want the third episode only", flagged)
	}
}

// An interviewer who does not match the child's preferred worker gender is
// refused with 409 unless the coordinator gives a reason, which is kept.
func TestWorkerGenderPreference(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	now := time.Now().UTC().Truncate(time.Second)
	woman, _ := interviewerWith(t, env, "female")
	man, _ := interviewerWith(t, env, "male")
	unrecorded, _ := interviewerWith(t, env, "")

	ref := referral(now.Add(-time.Hour))
	ref["preferences"] = map[string]any{"worker_gender": "female"}
	ref["assigned_interviewer_id"] = man.ID
	st, body := env.Do(t, "POST", "/v1/episodes", tm.Coordinator, ref)
	wantField(t, st, body, 409, "assigned_interviewer_id")
	ref["assignment_override_reason"] = "an urgent case; a female worker takes over tomorrow"
	ref["new_child"] = true
	tm.must(t, 201, "POST", "/v1/episodes", tm.Coordinator, ref)
	delete(ref, "assignment_override_reason")

	delete(ref, "assigned_interviewer_id")
	id := tm.must(t, 201, "POST", "/v1/episodes", tm.Coordinator, ref)["id"].(string)
	p := "/v1/episodes/" + id
	st, body = env.Do(t, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": man.ID})
	wantField(t, st, body, 409, "interviewer_id")
	// A match, and an interviewer who recorded no gender (it is optional).
	tm.must(t, 200, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": woman.ID})
	tm.must(t, 200, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": unrecorded.ID})
	tm.must(t, 200, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": man.ID,
		"override_reason": "the only worker who speaks the child's first language"})
	ep := tm.waitFor(t, id, "records the override", func(ep map[string]any) bool { return assigneeOf(ep) == man.ID })
	tl, _ := json.Marshal(ep["timeline"])
	if !strings.Contains(string(tl), "against the child's preferred worker gender") {
		t.Errorf("the override is not in the timeline: %s", tl)
	}
	var kept string
	if err := env.Store.Pool.QueryRow(context.Background(),
		"SELECT state->'assignment_override'->>'reason' FROM episodes WHERE id = $1", id).Scan(&kept); err != nil {
		t.Fatal(err)
	}
	if kept != "the only worker who speaks the child's first language" {
		t.Errorf("override reason kept as %q", kept)
	}
}
