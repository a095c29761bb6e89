package integration

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"homeward/episode"
	"homeward/internal/testenv"
	"homeward/payloadcrypt"
	"homeward/store"
	"homeward/workflows"
)

var record = flag.Bool("record", false, "write the recorded histories to workflows/testdata/histories for the replay test")

// historiesDir is where the replay test in package workflows reads them.
const historiesDir = "../workflows/testdata/histories"

// generation prefixes the files recorded by this version of the workflow.
// Histories of earlier versions stay beside them and keep replaying: after
// a versioned change (workflow.GetVersion), give the next generation a new
// prefix rather than recording over the old files. The unprefixed files are
// from before outcomes were updates (they arrived as signals), updates-*
// from before episodes told the child's record of themselves, child-record-*
// from before episodes produced return reports.
const generation = "return-report-"

// TestRecordHistories runs episodes on a real Temporal server, replays each
// fresh history against the current code, and with -record keeps them for
// the replay test, which guards every later change to the workflow.
func TestRecordHistories(t *testing.T) {
	scenarios := []struct {
		name   string
		policy *episode.Policy
		run    func(t *testing.T, tm *team) string
	}{
		{"whole-episode", nil, wholeEpisode},
		{"breach-then-closure", nil, breachThenClosure},
		{"reminder-decline-reoffer-safeguarding-overdue", fastPolicy(), fastEpisode},
		{"carers-account-action-plan-overdue-follow-ups", actionPolicy(), actionPlanEpisode},
		{"report-overdue-approval-unacknowledged-letter", reportPolicy(), reportEpisode},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			// Recorded histories must replay without keys: record in plaintext.
			env := testenv.Start(t, testenv.Options{Policy: sc.policy, PlaintextPayloads: *record})
			tm := newTeam(t, env)
			// The report goes to an officer before the episode ends.
			env.AddUserIn(t, store.RoleCommissionerOfficer, env.Commissioner.ID)
			id := sc.run(t, tm)
			hist := closedHistory(t, env, workflows.WorkflowID(id))
			keepHistory(t, env, hist, sc.name)
		})
	}
}

// keepHistory replays a fresh history against the current code and, with
// -record, writes it for the replay test under this generation's prefix.
func keepHistory(t *testing.T, env *testenv.Env, hist *historypb.History, name string) {
	t.Helper()
	var opts sdkworker.WorkflowReplayerOptions
	if env.KeyRing != nil {
		opts.DataConverter, opts.FailureConverter = payloadcrypt.Converters(env.KeyRing)
	}
	replayer, err := sdkworker.NewWorkflowReplayerWithOptions(opts)
	if err != nil {
		t.Fatal(err)
	}
	replayer.RegisterWorkflowWithOptions(workflows.Episode, workflow.RegisterOptions{Name: "Episode"})
	if err := replayer.ReplayWorkflowHistory(nil, hist); err != nil {
		t.Fatalf("a fresh history does not replay: %v", err)
	}
	if !*record {
		return
	}
	data, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(historiesDir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(historiesDir, generation+name+".json")
	if err := os.WriteFile(file, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events to %s", len(hist.Events), file)
}

// TestRecordInFlightHistories stops one episode at every wait point (see
// testenv.EpisodePath) and keeps its history as it stands there: the
// history of an episode asleep in flight when new code is deployed, which
// the versioning drill resumes under changed code. Every wait point of
// the path has its history; the completed episode has its own above.
func TestRecordInFlightHistories(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: testenv.WaitPointPolicy(), PlaintextPayloads: *record})
	crew := env.NewCrew(t)
	id := env.OpenEpisode(t, crew)
	wid := workflows.WorkflowID(id)
	keep := func(waitPoint string) {
		t.Run(waitPoint, func(t *testing.T) {
			env.Settle(t, wid)
			keepHistory(t, env, env.History(t, wid), "at-"+waitPoint)
		})
	}
	keep(testenv.OpenedWaitPoint)
	path := testenv.EpisodePath()
	for _, step := range path[:len(path)-1] {
		step.Record(t, env, crew, id)
		keep(step.WaitPoint)
	}
}

// closedHistory waits for the workflow to finish and returns its history.
func closedHistory(t *testing.T, env *testenv.Env, workflowID string) *historypb.History {
	t.Helper()
	ctx := context.Background()
	testenv.Eventually(t, 30*time.Second, "workflow "+workflowID+" closes", func() bool {
		d, err := env.Temporal.DescribeWorkflowExecution(ctx, workflowID, "")
		return err == nil && d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
	it := env.Temporal.GetWorkflowHistory(ctx, workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
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

func breachThenClosure(t *testing.T, tm *team) string {
	id := tm.open(t, time.Now().UTC().Add(-72*time.Hour+2*time.Second))
	tm.env.SMTP.WaitFor(t, 4, 30*time.Second)
	tm.must(t, 200, "POST", "/v1/episodes/"+id+"/closure", tm.Coordinator, map[string]any{"reason": "duplicate"})
	return id
}

// fastPolicy shrinks every interval to seconds so that the real server
// fires each kind of timer within one test.
func fastPolicy() *episode.Policy {
	return &episode.Policy{
		OfferWindow: time.Hour, DeadlineWarningLead: time.Minute,
		ContactSpacing: time.Second, ContactReminderDelay: time.Second, MaxContactAttempts: 5,
		ReofferInterval: time.Second, ReofferCount: 1,
		FollowUpDelay: time.Second, FollowUpGrace: time.Second,
	}
}

func fastEpisode(t *testing.T, tm *team) string {
	id := tm.open(t, time.Now().UTC().Add(-time.Minute))
	p := "/v1/episodes/" + id
	tm.must(t, 200, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": tm.InterviewerID})
	// No attempt recorded: the reminder fires after a second.
	tm.env.SMTP.WaitFor(t, 1, 30*time.Second)
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, map[string]any{"method": "phone", "outcome": "reached_declined", "attempted_at": rfc(time.Now())})
	tm.waitFor(t, id, "waits to offer again", hasStatus(episode.StatusReofferPending))
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, map[string]any{"method": "phone", "outcome": "reached_offered", "attempted_at": rfc(time.Now())})
	tm.must(t, 200, "POST", p+"/interview", tm.Interviewer, map[string]any{"outcome": "scheduled", "scheduled_for": rfc(time.Now().Add(time.Hour))})
	tm.must(t, 200, "POST", p+"/interview", tm.Interviewer, map[string]any{"outcome": "held", "held_at": rfc(time.Now()),
		"record": map[string]any{"safeguarding_concern": true, "risk_indicators": map[string]any{"criminal_exploitation_or_drugs": "yes"}}})
	tm.must(t, 200, "POST", p+"/agreement", tm.Interviewer, map[string]any{"confidentiality_explained": true,
		"shared_with": []any{map[string]any{"party": "social_worker", "what": "the concern"}}})
	// Follow-up due after a second, overdue after two: managers are told.
	tm.waitFor(t, id, "escalates the overdue follow-up", func(ep map[string]any) bool {
		for _, e := range ep["escalations"].([]any) {
			if e.(map[string]any)["kind"] == "follow_up_overdue" {
				return true
			}
		}
		return false
	})
	tm.must(t, 200, "POST", p+"/follow-up", tm.Interviewer, map[string]any{"completed_at": rfc(time.Now()), "outcome": "support in place"})
	tm.waitFor(t, id, "completes", hasStatus(episode.StatusCompleted))
	return id
}

func actionPolicy() *episode.Policy {
	p := fastPolicy()
	p.ActionGrace = time.Second
	return p
}

// actionPlanEpisode: a carers' account before the interview, an action plan
// whose actions remind their owners and escalate, a follow-up that leaves
// one action not done (the episode stays open), and a second follow-up
// that carries it forward and completes the episode.
func actionPlanEpisode(t *testing.T, tm *team) string {
	id := tm.open(t, time.Now().UTC().Add(-time.Minute))
	p := "/v1/episodes/" + id
	tm.must(t, 200, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": tm.InterviewerID})
	tm.must(t, 200, "POST", p+"/carers-account", tm.Interviewer, map[string]any{"given_by": "carer", "given_at": rfc(time.Now()), "where_child_was": "in town"})
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, map[string]any{"method": "phone", "outcome": "reached_offered", "attempted_at": rfc(time.Now())})
	held := time.Now()
	tm.must(t, 200, "POST", p+"/interview", tm.Interviewer, map[string]any{"outcome": "held", "held_at": rfc(held), "record": map[string]any{}})
	tm.must(t, 200, "POST", p+"/action-plan", tm.Interviewer, map[string]any{"actions": []any{
		map[string]any{"what": "meeting", "owner": "school", "owner_email": "owner@school.example", "due_at": rfc(held.Add(2 * time.Second))},
		map[string]any{"what": "referral", "owner": "interviewer", "due_at": rfc(held.Add(3 * time.Second))},
	}})
	tm.must(t, 200, "POST", p+"/agreement", tm.Interviewer, map[string]any{"confidentiality_explained": true})
	tm.waitFor(t, id, "escalates both overdue actions", func(ep map[string]any) bool {
		n := 0
		for _, e := range ep["escalations"].([]any) {
			if e.(map[string]any)["kind"] == "action_overdue" {
				n++
			}
		}
		return n == 2
	})
	tm.must(t, 200, "POST", p+"/follow-up", tm.Interviewer, map[string]any{"completed_at": rfc(time.Now()), "outcome": "partly",
		"action_reviews": []any{
			map[string]any{"action": 1, "outcome": "not_done", "reason": "school closed"},
			map[string]any{"action": 2, "outcome": "done"},
		}})
	tm.must(t, 200, "POST", p+"/follow-up", tm.Interviewer, map[string]any{"completed_at": rfc(time.Now()), "outcome": "settled",
		"action_reviews": []any{
			map[string]any{"action": 1, "outcome": "carried_forward", "reason": "after half term", "carried_forward_to": rfc(held.Add(24 * time.Hour))},
		}})
	tm.waitFor(t, id, "completes", hasStatus(episode.StatusCompleted))
	return id
}

// reportPolicy: a manager approves each report; it is due 2 seconds after
// the interview and must be acknowledged 2 seconds after it is sent.
func reportPolicy() *episode.Policy {
	p := fastPolicy()
	p.FollowUpDelay, p.FollowUpGrace = time.Hour, time.Hour
	p.ReportApproval, p.ReportDue, p.ReportAcknowledgeWithin = true, 2*time.Second, 2*time.Second
	return p
}

// reportEpisode: the report is produced after the agreement, escalates as
// overdue while it waits for approval, is approved and sent to the
// commissioner's officer, escalates as unacknowledged, is acknowledged;
// the child's letter is given and the follow-up completes the episode.
func reportEpisode(t *testing.T, tm *team) string {
	_, officer := tm.env.AddUserIn(t, store.RoleCommissionerOfficer, tm.env.Commissioner.ID)
	id := tm.open(t, time.Now().UTC().Add(-time.Minute))
	p := "/v1/episodes/" + id
	tm.must(t, 200, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": tm.InterviewerID})
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, map[string]any{"method": "phone", "outcome": "reached_offered", "attempted_at": rfc(time.Now())})
	tm.must(t, 200, "POST", p+"/interview", tm.Interviewer, map[string]any{"outcome": "held", "held_at": rfc(time.Now()),
		"record": map[string]any{"push_factors": []string{"arguments at home"}, "referrals_made": []string{"youth service"}}})
	tm.must(t, 200, "POST", p+"/agreement", tm.Interviewer, map[string]any{"confidentiality_explained": true,
		"shared_with": []any{map[string]any{"party": "social_worker", "what": "the return report"}}})
	escalated := func(kind string) func(map[string]any) bool {
		return func(ep map[string]any) bool { return strings.Contains(fmt.Sprint(ep["escalations"]), kind) }
	}
	tm.waitFor(t, id, "escalates the report overdue", escalated("report_overdue"))
	tm.must(t, 200, "POST", p+"/report/approval", tm.Manager, nil)
	tm.waitFor(t, id, "escalates the report unacknowledged", escalated("report_unacknowledged"))
	tm.must(t, 200, "POST", p+"/report/acknowledgement", officer, nil)
	tm.must(t, 200, "POST", p+"/letter/given", tm.Interviewer, nil)
	tm.must(t, 200, "POST", p+"/follow-up", tm.Interviewer, map[string]any{"completed_at": rfc(time.Now()), "outcome": "support in place"})
	return id
}
