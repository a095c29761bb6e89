package workflows_test

import (
	"context"
	"errors"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"homeward/activities"
	"homeward/internal/pglocal"
	"homeward/internal/testenv"
	"homeward/store"
	"homeward/workflows"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pglocal.StopTestClusters()
	os.Exit(code)
}

func retentionEnv(t *testing.T, purge func(context.Context, activities.PurgeExpiredInput) (activities.PurgeExpiredResult, error)) *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterWorkflowWithOptions(workflows.RetentionPurge, workflow.RegisterOptions{Name: workflows.RetentionPurgeWorkflow})
	env.RegisterActivityWithOptions(purge, activity.RegisterOptions{Name: "PurgeExpired"})
	return env
}

func TestRetentionPurgeWorkflowRetriesAndReports(t *testing.T) {
	var calls atomic.Int32
	var got activities.PurgeExpiredInput
	env := retentionEnv(t, func(ctx context.Context, in activities.PurgeExpiredInput) (activities.PurgeExpiredResult, error) {
		got = in
		if calls.Add(1) == 1 {
			return activities.PurgeExpiredResult{}, errors.New("database restarting")
		}
		return activities.PurgeExpiredResult{PurgeCounts: store.PurgeCounts{EpisodesPurged: 3, NotesAnonymised: 2}}, nil
	})
	policy := store.DefaultRetentionPolicy()
	env.ExecuteWorkflow(workflows.RetentionPurgeWorkflow, workflows.RetentionPurgeInput{Policy: policy, BatchSize: 50})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var res activities.PurgeExpiredResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || res.EpisodesPurged != 3 || res.NotesAnonymised != 2 {
		t.Errorf("calls %d, result %+v; want a retry and the second attempt's counts", calls.Load(), res)
	}
	if got.Policy != policy || got.BatchSize != 50 {
		t.Errorf("activity input %+v", got)
	}
}

func TestRetentionPurgeWorkflowSwitchedOff(t *testing.T) {
	var calls atomic.Int32
	env := retentionEnv(t, func(context.Context, activities.PurgeExpiredInput) (activities.PurgeExpiredResult, error) {
		calls.Add(1)
		return activities.PurgeExpiredResult{}, nil
	})
	env.ExecuteWorkflow(workflows.RetentionPurgeWorkflow, workflows.RetentionPurgeInput{Policy: store.DefaultRetentionPolicy(), Disabled: true})
	if env.GetWorkflowError() != nil || calls.Load() != 0 {
		t.Errorf("error %v, %d purges; want none when switched off", env.GetWorkflowError(), calls.Load())
	}
}

func TestRetentionPurgeWorkflowInvalidPolicyIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	env := retentionEnv(t, func(context.Context, activities.PurgeExpiredInput) (activities.PurgeExpiredResult, error) {
		calls.Add(1)
		return activities.PurgeExpiredResult{}, temporal.NewNonRetryableApplicationError("the retention policy is not valid", "InvalidRetentionPolicy", nil)
	})
	env.ExecuteWorkflow(workflows.RetentionPurgeWorkflow, workflows.RetentionPurgeInput{})
	if env.GetWorkflowError() == nil || calls.Load() != 1 {
		t.Errorf("error %v, %d attempts; want one failed attempt", env.GetWorkflowError(), calls.Load())
	}
}

// seedExpiredEpisode writes a completed episode of a child who turned 25
// years ago, with a contact attempt and an escalation.
func seedExpiredEpisode(t *testing.T, s *store.Store) (episodeID, childID string) {
	t.Helper()
	ctx := context.Background()
	episodeID, childID = uuid.NewString(), uuid.NewString()
	ended := time.Now().UTC().AddDate(-20, 0, 0)
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO children (id, first_name, date_of_birth) VALUES ($1, 'Zebedee', '1980-03-01')`, []any{childID}},
		{`INSERT INTO episodes (id, reference, child_id, status, returned_at, opened_at, offer_deadline, ended_at, state, state_version, updated_at)
			VALUES ($1, 'HW-TEST', $2, 'completed', $3, $3, $3, $3, '{}', 1, $3)`, []any{episodeID, childID, ended}},
		{`INSERT INTO contact_attempts (episode_id, seq, method, outcome, attempted_at, notes, recorded_at)
			VALUES ($1, 1, 'phone', 'no_answer', $2, 'Zebedee notes', $2)`, []any{episodeID, ended}},
		{`INSERT INTO escalations (episode_id, kind, due_at, triggered_at) VALUES ($1, 'deadline_breach', $2, $2)`, []any{episodeID, ended}},
	} {
		if _, err := s.Pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	return episodeID, childID
}

func rowExists(t *testing.T, s *store.Store, sql string, args ...any) bool {
	t.Helper()
	var ok bool
	if err := s.Pool.QueryRow(context.Background(), "SELECT EXISTS ("+sql+")", args...).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

// The schedule the worker start creates exists, is updated in place on the
// next start, and purges a seeded expired episode end to end when
// triggered: the real workflow, activity, store and audit trail.
func TestRetentionScheduleEndToEnd(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sched := workflows.RetentionSchedule{
		Cron: "15 3 * * *", TimeZone: "Europe/London", TaskQueue: env.TaskQueue,
		Enabled: true, Policy: store.DefaultRetentionPolicy(), BatchSize: 10,
	}
	if err := workflows.EnsureRetentionSchedule(ctx, env.Temporal, sched); err != nil {
		t.Fatalf("EnsureRetentionSchedule: %v", err)
	}
	// A second start with another time updates the same schedule.
	sched.Cron = workflows.DefaultRetentionCron
	if err := workflows.EnsureRetentionSchedule(ctx, env.Temporal, sched); err != nil {
		t.Fatalf("EnsureRetentionSchedule again: %v", err)
	}
	handle := env.Temporal.ScheduleClient().GetHandle(ctx, workflows.RetentionScheduleID)
	// The server applies updates asynchronously: wait for the second spec.
	var desc *client.ScheduleDescription
	dailyAt0230 := func(spec *client.ScheduleSpec) bool {
		if len(spec.CronExpressions) == 1 {
			return spec.CronExpressions[0] == workflows.DefaultRetentionCron
		}
		// The server may turn the expression into calendars.
		return len(spec.Calendars) == 1 && len(spec.Calendars[0].Hour) == 1 && spec.Calendars[0].Hour[0].Start == 2 &&
			len(spec.Calendars[0].Minute) == 1 && spec.Calendars[0].Minute[0].Start == 30
	}
	testenv.Eventually(t, 30*time.Second, "the schedule runs daily at 02:30", func() bool {
		d, err := handle.Describe(ctx)
		if err != nil {
			t.Fatalf("Describe: %v", err)
		}
		desc = d
		return dailyAt0230(d.Schedule.Spec)
	})
	spec := desc.Schedule.Spec
	if spec.TimeZoneName != "Europe/London" {
		t.Errorf("time zone %q", spec.TimeZoneName)
	}
	if desc.Schedule.Policy.Overlap != enumspb.SCHEDULE_OVERLAP_POLICY_SKIP {
		t.Errorf("overlap %v, want skip", desc.Schedule.Policy.Overlap)
	}
	action, ok := desc.Schedule.Action.(*client.ScheduleWorkflowAction)
	if !ok || action.TaskQueue != env.TaskQueue || desc.Schedule.State.Paused {
		t.Fatalf("action %+v, paused %v", desc.Schedule.Action, desc.Schedule.State.Paused)
	}
	if wf, _ := action.Workflow.(string); wf != workflows.RetentionPurgeWorkflow {
		t.Errorf("workflow %v", action.Workflow)
	}

	expired, child := seedExpiredEpisode(t, env.Store)
	if err := handle.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatalf("Trigger: %v", err)
	}
	testenv.Eventually(t, time.Minute, "the triggered purge removes the expired episode", func() bool {
		return !rowExists(t, env.Store, "SELECT 1 FROM episodes WHERE id = $1", expired)
	})
	if rowExists(t, env.Store, "SELECT 1 FROM contact_attempts WHERE episode_id = $1", expired) ||
		rowExists(t, env.Store, "SELECT 1 FROM escalations WHERE episode_id = $1", expired) {
		t.Error("the purged episode's rows are left")
	}
	testenv.Eventually(t, 30*time.Second, "the child with no episodes left is removed", func() bool {
		return !rowExists(t, env.Store, "SELECT 1 FROM children WHERE id = $1", child)
	})
	if !rowExists(t, env.Store, "SELECT 1 FROM audit_log WHERE action = $1 AND episode_id = $2", store.AuditActionRetentionPurge, expired) {
		t.Error("no audit entry for the purged episode")
	}

	// Switched off: the schedule is paused.
	sched.Enabled = false
	if err := workflows.EnsureRetentionSchedule(ctx, env.Temporal, sched); err != nil {
		t.Fatalf("EnsureRetentionSchedule off: %v", err)
	}
	testenv.Eventually(t, 30*time.Second, "switched off, the schedule is paused", func() bool {
		d, err := handle.Describe(ctx)
		return err == nil && d.Schedule.State.Paused
	})
}
