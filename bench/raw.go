package main

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// The raw side: an episode-shaped workflow on the Temporal SDK alone, with
// nothing of Homeward's: a 72-hour offer deadline raced against contact
// attempts sent as updates.

const (
	rawTaskQueue  = "bench-raw"
	rawUpdateName = "contact_attempt"
)

// rawEpisode waits for the 72-hour offer deadline or for an accepted offer,
// answering each contact attempt with the number recorded so far.
func rawEpisode(ctx workflow.Context) (int, error) {
	attempts, offered := 0, false
	if err := workflow.SetUpdateHandler(ctx, rawUpdateName, func(ctx workflow.Context, outcome string) (int, error) {
		attempts++
		offered = outcome == "reached_offered"
		return attempts, nil
	}); err != nil {
		return 0, err
	}
	if _, err := workflow.AwaitWithTimeout(ctx, 72*time.Hour, func() bool { return offered }); err != nil {
		return 0, err
	}
	return attempts, nil
}

// startRawWorker runs the raw workflow's own worker in this process.
func startRawWorker(c client.Client) (stop func(), err error) {
	w := sdkworker.New(c, rawTaskQueue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(rawEpisode, workflow.RegisterOptions{Name: "RawEpisode"})
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("starting the raw worker: %w", err)
	}
	return w.Stop, nil
}

// rawStart starts episode i's workflow.
func rawStart(ctx context.Context, c client.Client, run string, i int) (string, error) {
	id := fmt.Sprintf("raw-%s-%d", run, i)
	_, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: rawTaskQueue}, "RawEpisode")
	return id, err
}

// rawUpdate sends one contact attempt and waits for the workflow's answer.
func rawUpdate(ctx context.Context, c client.Client, id string) error {
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: id, UpdateName: rawUpdateName, Args: []any{"no_answer"},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return err
	}
	var n int
	return h.Get(ctx, &n)
}
