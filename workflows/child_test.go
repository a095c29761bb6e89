package workflows

import (
	"fmt"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"homeward/activities"
	"homeward/episode"
)

// childHarness runs a child's record with the recorder's activities.
func childHarness(t *testing.T) (*testsuite.TestWorkflowEnvironment, *recorder) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(t0)
	rec := &recorder{env: env}
	env.RegisterWorkflowWithOptions(ChildRecord, workflow.RegisterOptions{Name: activities.ChildRecordWorkflow})
	env.RegisterActivityWithOptions(rec.SendEscalation, activity.RegisterOptions{Name: "SendEscalation"})
	return env, rec
}

func opened(env *testsuite.TestWorkflowEnvironment, d time.Duration, n int) {
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(activities.SignalEpisodeOpened, activities.EpisodeOpened{
			EpisodeID: fmt.Sprintf("episode-%d", n), Reference: fmt.Sprintf("HW-%08d", n),
			OpenedAt: env.Now().UTC(), RepeatEpisodes: 3, RepeatWindow: 30 * 24 * time.Hour,
		})
	}, d)
}

// Three episodes in 30 days call one strategy meeting; a fourth in the
// same window does not; three more, each counted once, call the next.
func TestRepeatMissingOncePerWindow(t *testing.T) {
	env, rec := childHarness(t)
	day := 24 * time.Hour
	for i, at := range []time.Duration{0, 10 * day, 20 * day, 25 * day, 40 * day, 50 * day, 55 * day} {
		opened(env, at+time.Minute, i+1)
	}
	// The same episode told twice counts once.
	opened(env, 20*day+2*time.Minute, 3)
	env.ExecuteWorkflow(ChildRecord, activities.ChildRecordInput{ChildID: "c1"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var at []time.Duration
	for _, e := range rec.escalations {
		if e.Kind != episode.EscalationRepeatMissing {
			t.Errorf("unexpected escalation %s", e.Kind)
		}
		at = append(at, e.At.Sub(t0).Round(day))
	}
	// Episodes 1-3 fire at day 20; 4 (day 25) shares their window; 4, 5
	// and 6 (days 25, 40, 50) are three uncounted within 30 days: day 50.
	want := []time.Duration{20 * day, 50 * day}
	if fmt.Sprint(at) != fmt.Sprint(want) {
		t.Errorf("repeat_missing raised at %v, want %v", at, want)
	}
	if len(rec.escalations) > 0 && rec.escalations[0].Reason != "3 episodes opened within 30 days" {
		t.Errorf("reason %q", rec.escalations[0].Reason)
	}
}

// Two episodes more than a window apart never call one.
func TestRepeatMissingNeedsTheWindow(t *testing.T) {
	env, rec := childHarness(t)
	day := 24 * time.Hour
	for i, at := range []time.Duration{0, 20 * day, 40 * day} {
		opened(env, at+time.Minute, i+1)
	}
	env.ExecuteWorkflow(ChildRecord, activities.ChildRecordInput{ChildID: "c1"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if got := rec.kinds(); len(got) != 0 {
		t.Errorf("escalations %v for episodes 40 days apart", got)
	}
}

// The episode tells the child's record of itself once, after its first
// save, with its own strategy-meeting rule.
func TestEpisodeTellsTheChildsRecordOnce(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	in.Policy.RepeatEpisodes, in.Policy.RepeatWindow = 4, 90*24*time.Hour
	h.close(time.Hour)
	h.run(in)
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	if len(h.rec.notes) != 1 {
		t.Fatalf("the child's record was told %d times, want once", len(h.rec.notes))
	}
	o := h.rec.notes[0].Opened
	if o.EpisodeID != in.EpisodeID || !o.OpenedAt.Equal(t0) || o.RepeatEpisodes != 4 || o.RepeatWindow != 90*24*time.Hour {
		t.Errorf("told %+v", o)
	}
}
