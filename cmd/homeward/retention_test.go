package main

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"

	"homeward/config"
	"homeward/workflows"
)

// The worker start creates the schedule from the configuration, and the
// kill switch pauses it.
func TestWorkerStartSchedulesTheRetentionPurge(t *testing.T) {
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	tc := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	load := func(env map[string]string) config.Config {
		t.Helper()
		cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	handle := tc.ScheduleClient().GetHandle(ctx, workflows.RetentionScheduleID)
	waitFor := func(what string, cond func(*client.ScheduleDescription) bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			d, err := handle.Describe(ctx)
			if err == nil && cond(d) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %+v, %v", what, d, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	if err := ensureRetentionSchedule(ctx, load(map[string]string{"HOMEWARD_TASK_QUEUE": "q1"}), tc, log); err != nil {
		t.Fatalf("ensureRetentionSchedule: %v", err)
	}
	waitFor("scheduled daily, running", func(d *client.ScheduleDescription) bool {
		a, _ := d.Schedule.Action.(*client.ScheduleWorkflowAction)
		return !d.Schedule.State.Paused && a != nil && a.TaskQueue == "q1" && d.Schedule.Spec.TimeZoneName == "Europe/London"
	})

	off := load(map[string]string{"HOMEWARD_TASK_QUEUE": "q2", "HOMEWARD_RETENTION_PURGE": "off"})
	if err := ensureRetentionSchedule(ctx, off, tc, log); err != nil {
		t.Fatalf("ensureRetentionSchedule off: %v", err)
	}
	waitFor("switched off: paused, updated in place", func(d *client.ScheduleDescription) bool {
		a, _ := d.Schedule.Action.(*client.ScheduleWorkflowAction)
		return d.Schedule.State.Paused && a != nil && a.TaskQueue == "q2"
	})
}
