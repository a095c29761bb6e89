package workflows

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"homeward/store"
)

// RecordOutcome sends one outcome to the episode as update updateID and
// waits for the episode's answer, until ctx is done. A workflow task that
// failed because the episode was continuing as new (or another passing
// fault the server reports as "not ready") is retried under the same
// update id, which Temporal applies at most once.
func RecordOutcome(ctx context.Context, c client.Client, episodeID, updateID string, in OutcomeInput) (store.OutcomeAnswer, error) {
	pause := 20 * time.Millisecond
	for {
		ans, err := recordOutcomeOnce(ctx, c, episodeID, updateID, in)
		var notReady *serviceerror.WorkflowNotReady
		if err == nil || !errors.As(err, &notReady) {
			return ans, err
		}
		select {
		case <-ctx.Done():
			return ans, err
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

func recordOutcomeOnce(ctx context.Context, c client.Client, episodeID, updateID string, in OutcomeInput) (store.OutcomeAnswer, error) {
	handle, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		UpdateID:     updateID,
		WorkflowID:   WorkflowID(episodeID),
		UpdateName:   UpdateOutcome,
		Args:         []any{in},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err != nil {
		return store.OutcomeAnswer{}, err
	}
	var ans store.OutcomeAnswer
	err = handle.Get(ctx, &ans)
	return ans, err
}
