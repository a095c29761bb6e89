package workflows

import (
	"context"
	"errors"
	"fmt"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"homeward/activities"
	"homeward/store"
)

const (
	// RetentionPurgeWorkflow is the registered name of RetentionPurge.
	RetentionPurgeWorkflow = "RetentionPurge"
	// RetentionScheduleID is the fixed id of the schedule that runs it.
	RetentionScheduleID = "homeward-retention-purge"
	// RetentionWorkflowID is the id of the workflows the schedule starts
	// (Temporal appends the scheduled time). It says nothing about a child.
	RetentionWorkflowID = "retention-purge"
	// DefaultRetentionCron is daily at 02:30, in the schedule's time zone.
	DefaultRetentionCron = "30 2 * * *"
)

// RetentionPurgeInput is what the schedule starts RetentionPurge with.
type RetentionPurgeInput struct {
	Policy    store.RetentionPolicy `json:"policy"`
	BatchSize int                   `json:"batch_size"`
	// Disabled (HOMEWARD_RETENTION_PURGE=off) makes a run do nothing, even
	// one triggered by hand on the paused schedule.
	Disabled bool `json:"disabled,omitempty"`
}

// RetentionPurge removes or anonymises the case records past retention by
// running the PurgeExpired activity, which works in batches and is
// idempotent. Histories of closed workflows are not touched here: Temporal
// deletes them when the namespace's retention period has passed.
func RetentionPurge(ctx workflow.Context, in RetentionPurgeInput) (activities.PurgeExpiredResult, error) {
	logger := workflow.GetLogger(ctx)
	if in.Disabled {
		logger.Info("Retention purge is switched off (HOMEWARD_RETENTION_PURGE=off)")
		return activities.PurgeExpiredResult{}, nil
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		// Every batch heartbeats; a worker that died is noticed quickly.
		HeartbeatTimeout: 2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:        30 * time.Second,
			BackoffCoefficient:     2,
			MaximumInterval:        10 * time.Minute,
			MaximumAttempts:        5,
			NonRetryableErrorTypes: []string{"InvalidRetentionPolicy"},
		},
	})
	var res activities.PurgeExpiredResult
	if err := workflow.ExecuteActivity(ctx, a.PurgeExpired, activities.PurgeExpiredInput{
		Policy: in.Policy, BatchSize: in.BatchSize,
	}).Get(ctx, &res); err != nil {
		return activities.PurgeExpiredResult{}, err
	}
	logger.Info("Retention purge done", "episodes_purged", res.EpisodesPurged, "children_removed", res.ChildrenRemoved,
		"notes_anonymised", res.NotesAnonymised, "deliveries_removed", res.DeliveriesRemoved,
		"people_of_concern_removed", res.PeopleRemoved)
	return res, nil
}

// RetentionSchedule is how the purge is scheduled.
type RetentionSchedule struct {
	// Cron is a five-field cron expression, default DefaultRetentionCron.
	Cron string
	// TimeZone the cron expression is read in, default Europe/London (so
	// 02:30 stays 02:30 across the clock changes).
	TimeZone  string
	TaskQueue string
	// Enabled false pauses the schedule and makes its runs do nothing.
	Enabled   bool
	Policy    store.RetentionPolicy
	BatchSize int
}

// EnsureRetentionSchedule creates the retention purge schedule, or updates
// its spec, action and state when it exists already, so every worker start
// leaves it matching the configuration. A run still going when the next is
// due makes the next one skip.
func EnsureRetentionSchedule(ctx context.Context, c client.Client, s RetentionSchedule) error {
	if s.Cron == "" {
		s.Cron = DefaultRetentionCron
	}
	if s.TimeZone == "" {
		s.TimeZone = "Europe/London"
	}
	if s.TaskQueue == "" {
		s.TaskQueue = TaskQueue
	}
	spec := client.ScheduleSpec{CronExpressions: []string{s.Cron}, TimeZoneName: s.TimeZone}
	action := &client.ScheduleWorkflowAction{
		ID:        RetentionWorkflowID,
		Workflow:  RetentionPurgeWorkflow,
		Args:      []any{RetentionPurgeInput{Policy: s.Policy, BatchSize: s.BatchSize, Disabled: !s.Enabled}},
		TaskQueue: s.TaskQueue,
		// A run that cannot finish in a day gives way to the next.
		WorkflowRunTimeout: 23 * time.Hour,
	}
	note := "retention purge: on"
	if !s.Enabled {
		note = "retention purge: off (HOMEWARD_RETENTION_PURGE=off)"
	}
	sc := c.ScheduleClient()
	handle, err := sc.Create(ctx, client.ScheduleOptions{
		ID:      RetentionScheduleID,
		Spec:    spec,
		Action:  action,
		Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		Paused:  !s.Enabled,
		Note:    note,
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, temporal.ErrScheduleAlreadyRunning):
		handle = sc.GetHandle(ctx, RetentionScheduleID)
	default:
		return fmt.Errorf("creating the retention schedule: %w", err)
	}
	if err := handle.Update(ctx, client.ScheduleUpdateOptions{
		DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
			sched := in.Description.Schedule
			sched.Spec = &spec
			sched.Action = action
			if sched.Policy == nil {
				sched.Policy = &client.SchedulePolicies{}
			}
			sched.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
			// The update carries the state too: the server may apply it
			// after the pause or unpause below.
			if sched.State == nil {
				sched.State = &client.ScheduleState{}
			}
			sched.State.Paused = !s.Enabled
			sched.State.Note = note
			return &client.ScheduleUpdate{Schedule: &sched}, nil
		},
	}); err != nil {
		return fmt.Errorf("updating the retention schedule: %w", err)
	}
	if s.Enabled {
		err = handle.Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
	} else {
		err = handle.Pause(ctx, client.SchedulePauseOptions{Note: note})
	}
	if err != nil {
		return fmt.Errorf("setting the retention schedule's state: %w", err)
	}
	return nil
}
