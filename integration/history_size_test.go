package integration

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"google.golang.org/protobuf/proto"

	"homeward/episode"
	"homeward/internal/testenv"
	"homeward/workflows"
)

// Temporal terminates a workflow whose history passes 51,200 events or
// 50 MB; an episode must stay far below, however many outcomes it gets.
const (
	historyEventLimit = 51_200
	historyByteLimit  = 50 << 20
)

// One episode through 2,000 outcomes on a real Temporal server: it
// continues as new as it grows, every run's history stays under a tenth of
// the limits, and nothing is lost on the way.
func TestTwoThousandOutcomesStayBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("drives 2,000 updates through a real server")
	}
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	now := time.Now().UTC().Truncate(time.Second)
	id := tm.assigned(t, now.Add(-2*time.Hour))
	wid := workflows.WorkflowID(id)

	const outcomes = 2000
	ctx := context.Background()
	start := time.Now()
	base := now.Add(-time.Hour)
	for i := 0; i < outcomes; i++ {
		ev := episode.Event{Type: episode.EventContactAttempt, Actor: tm.InterviewerID, ActorRole: episode.RoleInterviewer,
			RecordedAt: time.Now().UTC(), Attempt: &episode.AttemptInput{Method: episode.MethodPhone, Outcome: episode.OutcomeNoAnswer,
				AttemptedAt: base.Add(time.Duration(i) * time.Millisecond), Notes: "no answer, voicemail full"}}
		ans, err := workflows.RecordOutcome(ctx, env.Temporal, id, uuid.NewString(), workflows.OutcomeInput{Event: ev, RequestHash: "h"})
		if err != nil {
			t.Fatalf("outcome %d: %v%s", i, err, taskFailures(t, env, wid))
		}
		if ans.Episode.ContactAttempts != i+1 {
			t.Fatalf("outcome %d answered with %d attempts", i, ans.Episode.ContactAttempts)
		}
	}
	t.Logf("%d outcomes in %s", outcomes, time.Since(start).Round(time.Millisecond))
	tm.must(t, 200, "POST", "/v1/episodes/"+id+"/closure", tm.Coordinator, map[string]any{"reason": "duplicate"})
	_ = closedHistory(t, env, wid)

	runs := runsOf(t, env, wid)
	if len(runs) < 2 {
		t.Errorf("the episode never continued as new (%d run)", len(runs))
	}
	for i, r := range runs {
		t.Logf("run %d: %d events, %d bytes", i+1, r.events, r.bytes)
		if r.events > historyEventLimit/10 || r.bytes > historyByteLimit/10 {
			t.Errorf("run %d: %d events, %d bytes: over a tenth of Temporal's limits", i+1, r.events, r.bytes)
		}
	}
	var attempts int
	if err := env.Store.Pool.QueryRow(ctx, "SELECT count(*) FROM contact_attempts WHERE episode_id = $1", id).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if attempts != outcomes {
		t.Errorf("the records hold %d attempts, want %d", attempts, outcomes)
	}
}

type runSize struct{ events, bytes int }

// runsOf measures every run of a workflow, newest first, following each
// run back to the one it continued.
func runsOf(t *testing.T, env *testenv.Env, workflowID string) []runSize {
	t.Helper()
	var out []runSize
	runID := ""
	for {
		it := env.Temporal.GetWorkflowHistory(context.Background(), workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		var r runSize
		previous := ""
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				t.Fatal(err)
			}
			if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				previous = a.GetContinuedExecutionRunId()
			}
			r.events++
			r.bytes += proto.Size(ev)
		}
		out = append(out, r)
		if previous == "" {
			return out
		}
		runID = previous
	}
}

// taskFailures describes the failed workflow tasks of the current run, for
// a failure message.
func taskFailures(t *testing.T, env *testenv.Env, workflowID string) string {
	it := env.Temporal.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	out := ""
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return out
		}
		if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
			out += "\nworkflow task failed: " + a.GetCause().String() + ": " + a.GetFailure().GetMessage()
		}
	}
	return out
}
