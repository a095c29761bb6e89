package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// Histories recorded from real runs (`make record-histories`) must replay
// against the current code: a change that would break episodes in flight
// fails here and belongs behind workflow.GetVersion.
func TestReplayRecordedHistories(t *testing.T) {
	files, err := filepath.Glob("testdata/histories/*.json")
	if err != nil {
		t.Fatal(err)
	}
	// Three from when outcomes were signals, four since they are updates
	// (one with an action plan and carers' account), three since episodes
	// tell the child's record of themselves.
	if len(files) < 10 {
		t.Fatalf("found %d recorded histories in testdata/histories, want at least 10", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflowWithOptions(Episode, workflow.RegisterOptions{Name: "Episode"})
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replaying %s: %v", f, err)
			}
		})
	}
}
