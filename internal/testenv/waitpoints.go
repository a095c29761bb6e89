package testenv

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"

	"homeward/episode"
	"homeward/store"
	"homeward/workflows"
)

// Wait points: where an episode rests between outcomes, asleep in its
// workflow for days or weeks, while new code is deployed. One path of
// outcomes takes an episode through every one of them, so a test can stop
// an episode at any of them (to record its history, or to resume it under
// other code) and drive it on to completion from there.

// WaitPointPolicy is the policy the wait points are reached under: the
// default one, with a manager approving each return report, so that no
// timer fires while a test waits and the report waits for its approval.
func WaitPointPolicy() *episode.Policy {
	p := episode.DefaultPolicy()
	p.ReportApproval = true
	return &p
}

// Crew is who records the outcomes of the path.
type Crew struct {
	Coordinator, Interviewer, Manager, Officer string // tokens
	InterviewerID                              string
}

// NewCrew adds the users of one Env's commissioner that the path needs.
func (e *Env) NewCrew(t testing.TB) *Crew {
	t.Helper()
	c := &Crew{}
	_, c.Coordinator = e.AddUser(t, store.RoleCoordinator)
	iv, tok := e.AddUser(t, store.RoleInterviewer)
	c.Interviewer, c.InterviewerID = tok, iv.ID
	_, c.Manager = e.AddUser(t, store.RoleManager)
	_, c.Officer = e.AddUserIn(t, store.RoleCommissionerOfficer, e.Commissioner.ID)
	return c
}

// Step is one outcome of the path; WaitPoint names where the episode
// rests once it is recorded.
type Step struct {
	WaitPoint string
	Record    func(t *testing.T, e *Env, c *Crew, episodeID string)
}

// OpenedWaitPoint is where an episode rests once opened: nobody assigned.
const OpenedWaitPoint = "awaiting-assignment"

// OpenEpisode opens an episode of a child who returned an hour ago, with
// nobody assigned (the offer deadline is days away). Each is a new child.
func (e *Env) OpenEpisode(t testing.TB, c *Crew) string {
	t.Helper()
	returned := time.Now().UTC().Add(-time.Hour)
	body := e.must(t, 201, "POST", "/v1/episodes", c.Coordinator, map[string]any{
		"child":               map[string]any{"first_name": "Wren", "last_name": "Example", "date_of_birth": "2012-03-04"},
		"new_child":           true,
		"reported_missing_at": returned.Add(-20 * time.Hour).Format(time.RFC3339),
		"returned_at":         returned.Format(time.RFC3339),
		"police_reference":    "PR-0001",
		"risk_grade":          "medium",
		"category":            "missing",
		"looked_after":        true,
		"contact":             map[string]any{"child_mobile": "07700 900123", "address": "1 Example Road"},
	})
	return body["id"].(string)
}

// EpisodePath takes an opened episode through every other wait point to
// completion; the last step completes it.
func EpisodePath() []Step {
	now := func() string { return time.Now().UTC().Format(time.RFC3339) }
	attempt := func(outcome string) func(*testing.T, *Env, *Crew, string) {
		return func(t *testing.T, e *Env, c *Crew, id string) {
			e.outcome(t, c.Interviewer, id, "contact-attempts", map[string]any{"method": "phone", "outcome": outcome, "attempted_at": now()})
		}
	}
	return []Step{
		{"awaiting-first-contact", func(t *testing.T, e *Env, c *Crew, id string) {
			e.outcome(t, c.Coordinator, id, "assignment", map[string]any{"interviewer_id": c.InterviewerID})
		}},
		{"awaiting-contact-retry", attempt("no_answer")},
		{"reoffer-pending", attempt("reached_declined")},
		{"offer-accepted", attempt("reached_offered")},
		{"interview-scheduled", func(t *testing.T, e *Env, c *Crew, id string) {
			e.outcome(t, c.Interviewer, id, "interview", map[string]any{"outcome": "scheduled",
				"scheduled_for": time.Now().UTC().Add(24 * time.Hour).Format(time.RFC3339)})
		}},
		{"interview-held", func(t *testing.T, e *Env, c *Crew, id string) {
			e.outcome(t, c.Interviewer, id, "interview", map[string]any{"outcome": "held", "held_at": now(),
				"record": map[string]any{"push_factors": []string{"arguments at home"}}})
		}},
		{"action-plan-open", func(t *testing.T, e *Env, c *Crew, id string) {
			e.outcome(t, c.Interviewer, id, "action-plan", map[string]any{"actions": []any{map[string]any{
				"what": "meeting", "owner": "school", "due_at": time.Now().UTC().Add(5 * 24 * time.Hour).Format(time.RFC3339)}}})
		}},
		{"report-awaiting-approval", func(t *testing.T, e *Env, c *Crew, id string) {
			e.outcome(t, c.Interviewer, id, "agreement", map[string]any{"confidentiality_explained": true})
			e.until(t, id, "produces the report", func(r *episode.ReturnReport) bool { return r != nil && r.ProducedAt != nil })
		}},
		{"report-awaiting-acknowledgement", func(t *testing.T, e *Env, c *Crew, id string) {
			e.outcome(t, c.Manager, id, "report/approval", nil)
			e.until(t, id, "sends the report", func(r *episode.ReturnReport) bool { return r != nil && r.SentAt != nil })
		}},
		{"follow-up-due", func(t *testing.T, e *Env, c *Crew, id string) {
			e.outcome(t, c.Officer, id, "report/acknowledgement", nil)
		}},
		{"follow-up-action-not-done", func(t *testing.T, e *Env, c *Crew, id string) {
			e.outcome(t, c.Interviewer, id, "follow-up", map[string]any{"completed_at": now(), "outcome": "partly",
				"action_reviews": []any{map[string]any{"action": 1, "outcome": "not_done", "reason": "school closed"}}})
		}},
		{"completed", func(t *testing.T, e *Env, c *Crew, id string) {
			e.outcome(t, c.Interviewer, id, "follow-up", map[string]any{"completed_at": now(), "outcome": "settled",
				"action_reviews": []any{map[string]any{"action": 1, "outcome": "done"}}})
		}},
	}
}

func (e *Env) outcome(t testing.TB, token, episodeID, what string, body any) {
	t.Helper()
	e.must(t, 200, "POST", "/v1/episodes/"+episodeID+"/"+what, token, body)
}

// until waits for the episode's workflow to say its report stands as cond
// wants: the report is produced and sent after the outcome is answered.
func (e *Env) until(t *testing.T, episodeID, what string, cond func(*episode.ReturnReport) bool) {
	t.Helper()
	Eventually(t, 30*time.Second, "episode "+episodeID+" "+what, func() bool {
		v, err := e.Temporal.QueryWorkflow(context.Background(), workflows.WorkflowID(episodeID), "", workflows.QueryState)
		var st episode.State
		return err == nil && v.Get(&st) == nil && cond(st.Report)
	})
}

func (e *Env) must(t testing.TB, want int, method, path, token string, body any) map[string]any {
	t.Helper()
	st, resp := e.Do(t, method, path, token, body)
	if st != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, st, resp, want)
	}
	var out map[string]any
	if err := json.Unmarshal(resp, &out); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return out
}

// Settle waits until the episode's workflow rests: no workflow task and no
// activity (a save, a report, an email) in flight, twice in a row, so what
// one finished has not started another.
func (e *Env) Settle(t *testing.T, workflowID string) {
	t.Helper()
	calm := 0
	Eventually(t, 30*time.Second, workflowID+" rests at its wait point", func() bool {
		d, err := e.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
		if err != nil || d.PendingWorkflowTask != nil || len(d.PendingActivities) > 0 {
			calm = 0
			return false
		}
		calm++
		return calm >= 2
	})
}

// History is the workflow's history as it stands.
func (e *Env) History(t testing.TB, workflowID string) *historypb.History {
	t.Helper()
	it := e.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	return hist
}
