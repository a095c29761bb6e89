package main

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/client"

	"homeward/config"
	"homeward/workflows"
)

// ensureRetentionSchedule creates or updates the retention purge schedule
// (workflows.RetentionScheduleID) to match the configuration. Every worker
// start does it; workers starting together converge on the same schedule.
func ensureRetentionSchedule(ctx context.Context, cfg config.Config, tc client.Client, log *slog.Logger) error {
	r := cfg.Retention
	if err := workflows.EnsureRetentionSchedule(ctx, tc, workflows.RetentionSchedule{
		Cron:      r.Schedule,
		TimeZone:  cfg.TimeZone,
		TaskQueue: cfg.TaskQueue,
		Enabled:   r.Enabled,
		Policy:    r.Policy,
		BatchSize: r.BatchSize,
	}); err != nil {
		return err
	}
	if r.Enabled {
		log.Info("Retention purge scheduled", "schedule_id", workflows.RetentionScheduleID, "cron", r.Schedule, "time_zone", cfg.TimeZone)
	} else {
		log.Warn("Retention purge is off (HOMEWARD_RETENTION_PURGE=off): its schedule is paused", "schedule_id", workflows.RetentionScheduleID)
	}
	return nil
}
