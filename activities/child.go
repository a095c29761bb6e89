package activities

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/sdk/client"

	"homeward/store"
)

// NoteEpisodeForChild tells the child's record that an episode was opened,
// starting the record if it is not running. The child is the one the case
// records give the episode (so it runs after the episode's first save).
// Telling it twice changes nothing: the record counts an episode once.
func (a *Activities) NoteEpisodeForChild(ctx context.Context, in NoteEpisodeInput) (NoteEpisodeResult, error) {
	if a.Temporal == nil {
		return NoteEpisodeResult{}, errors.New("the activities have no Temporal client")
	}
	childID, err := a.Store.EpisodeChild(ctx, in.Opened.EpisodeID)
	if err != nil {
		return NoteEpisodeResult{}, fmt.Errorf("finding the child of episode %s: %w", in.Opened.EpisodeID, err)
	}
	if childID == "" {
		return NoteEpisodeResult{}, fmt.Errorf("episode %s has no child in the records yet: %w", in.Opened.EpisodeID, store.ErrNotFound)
	}
	_, err = a.Temporal.SignalWithStartWorkflow(ctx, ChildRecordID(childID), SignalEpisodeOpened, in.Opened,
		client.StartWorkflowOptions{ID: ChildRecordID(childID), TaskQueue: a.TaskQueue},
		ChildRecordWorkflow, ChildRecordInput{ChildID: childID})
	if err != nil {
		return NoteEpisodeResult{}, fmt.Errorf("telling the record of child %s: %w", childID, err)
	}
	return NoteEpisodeResult{ChildID: childID}, nil
}
