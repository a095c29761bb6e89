package workflows_test

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"homeward/activities"
	"homeward/episode"
	"homeward/internal/testenv"
	"homeward/worker"
	"homeward/workflows"
)

// The versioning drill: episodes sleep for weeks while code is deployed.
// A deliberate change to the episode logic (a reminder of the offer
// deadline when an episode opens, workflows.EpisodeWithDeadlineReminder)
// made behind workflow.GetVersion must let every episode in flight replay
// and finish as it began, while new episodes take the change; made
// without it, episodes in flight break.

type episodeFunc = func(workflow.Context, workflows.EpisodeInput) (workflows.EpisodeResult, error)

// waitPoints are where an episode rests between outcomes, in the order
// testenv.EpisodePath reaches them; the last step completes the episode.
func waitPoints() []string {
	points := []string{testenv.OpenedWaitPoint}
	path := testenv.EpisodePath()
	for _, s := range path[:len(path)-1] {
		points = append(points, s.WaitPoint)
	}
	return points
}

func recordedHistories(t *testing.T) []string {
	files, err := filepath.Glob("testdata/histories/*.json")
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func replay(fn episodeFunc, file string) error {
	r := sdkworker.NewWorkflowReplayer()
	r.RegisterWorkflowWithOptions(fn, workflow.RegisterOptions{Name: "Episode"})
	// Quiet: a history that does not replay logs the workflow's panic.
	quiet := sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	return r.ReplayWorkflowHistoryFromJSONFile(quiet, file)
}

// Every wait point has the history of an episode asleep there (recorded
// by make record-histories), and every recorded history, in flight or
// finished, of this generation or an earlier one, replays under the
// changed code.
func TestVersionedChangeReplaysEveryHistory(t *testing.T) {
	files := recordedHistories(t)
	for _, wp := range waitPoints() {
		if m, _ := filepath.Glob("testdata/histories/*-at-" + wp + ".json"); len(m) == 0 {
			t.Errorf("no recorded history of an episode asleep at %s: run make record-histories", wp)
		}
	}
	for _, f := range files {
		if err := replay(workflows.EpisodeWithDeadlineReminder, f); err != nil {
			t.Errorf("%s does not replay under the versioned change: %v", filepath.Base(f), err)
		}
	}
}

// The same change without workflow.GetVersion breaks the episodes in
// flight: the history of an episode asleep at any wait point no longer
// replays (the reminder's activity is not in it).
func TestUnversionedChangeBreaksReplay(t *testing.T) {
	broken := 0
	for _, f := range recordedHistories(t) {
		err := replay(workflows.EpisodeWithUnversionedDeadlineReminder, f)
		if err != nil {
			broken++
		} else if strings.Contains(f, "-at-") {
			t.Errorf("%s replays under the change made without workflow.GetVersion", filepath.Base(f))
		}
	}
	if broken == 0 {
		t.Fatal("every recorded history replays under the change made without workflow.GetVersion")
	}
	t.Logf("%d recorded histories fail replay under the unversioned change", broken)
}

// Episodes asleep at every wait point under today's code are resumed by a
// worker running the changed code and driven to completion: each completes
// as it began (no deadline reminder), while an episode opened under the
// changed code takes the change.
func TestVersionedChangeFinishesEpisodesInFlight(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Policy: testenv.WaitPointPolicy(), NoWorker: true, PlaintextPayloads: true})
	crew := env.NewCrew(t)
	path := testenv.EpisodePath()

	// inFlight[k] rests at waitPoints()[k], k outcomes along the path.
	stopOld := env.StartWorker(t)
	inFlight := make([]string, len(path))
	for k := range inFlight {
		inFlight[k] = env.OpenEpisode(t, crew)
		for _, s := range path[:k] {
			s.Record(t, env, crew, inFlight[k])
		}
	}
	for _, id := range inFlight {
		env.Settle(t, workflows.WorkflowID(id))
	}
	stopOld()

	startWorkerWith(t, env, workflows.EpisodeWithDeadlineReminder)
	for k, id := range inFlight {
		for _, s := range path[k:] {
			s.Record(t, env, crew, id)
		}
	}
	fresh := env.OpenEpisode(t, crew)
	for _, s := range path {
		s.Record(t, env, crew, fresh)
	}

	for k, id := range inFlight {
		hist := completed(t, env, id)
		if n := deadlineReminders(t, hist); n != 0 || versionMarked(t, hist, workflows.DeadlineReminderChange) {
			t.Errorf("episode resumed at %s took the change: %d deadline reminders", waitPoints()[k], n)
		}
	}
	hist := completed(t, env, fresh)
	if n := deadlineReminders(t, hist); n != 1 || !versionMarked(t, hist, workflows.DeadlineReminderChange) {
		t.Errorf("an episode opened under the changed code sent %d deadline reminders, want 1", n)
	}
}

// startWorkerWith starts a worker registered as in production, but with
// fn as the episode workflow.
func startWorkerWith(t *testing.T, env *testenv.Env, fn episodeFunc) {
	w := sdkworker.New(env.Temporal, env.TaskQueue, sdkworker.Options{})
	worker.Register(episodeAs{w, fn}, env.Activities)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// episodeAs registers fn in place of the episode workflow.
type episodeAs struct {
	sdkworker.Worker
	fn episodeFunc
}

func (r episodeAs) RegisterWorkflowWithOptions(w interface{}, o workflow.RegisterOptions) {
	if o.Name == "Episode" {
		w = r.fn
	}
	r.Worker.RegisterWorkflowWithOptions(w, o)
}

// completed waits for the episode's workflow to end and checks it ended
// completed; it returns the history.
func completed(t *testing.T, env *testenv.Env, episodeID string) *historypb.History {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var res workflows.EpisodeResult
	if err := env.Temporal.GetWorkflow(ctx, workflows.WorkflowID(episodeID), "").Get(ctx, &res); err != nil {
		t.Fatalf("episode %s: %v", episodeID, err)
	}
	if res.Status != episode.StatusCompleted {
		t.Errorf("episode %s ended %s, want completed", episodeID, res.Status)
	}
	return env.History(t, workflows.WorkflowID(episodeID))
}

// deadlineReminders counts the offer deadline reminders the history sent.
func deadlineReminders(t *testing.T, hist *historypb.History) int {
	n := 0
	for _, ev := range hist.Events {
		a := ev.GetActivityTaskScheduledEventAttributes()
		if ev.EventType != enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED || a.ActivityType.Name != "SendReminder" {
			continue
		}
		var in activities.SendReminderInput
		if err := converter.GetDefaultDataConverter().FromPayloads(a.Input, &in); err != nil {
			t.Fatal(err)
		}
		if in.Contact.Purpose == workflows.DeadlineReminderPurpose {
			n++
		}
	}
	return n
}

// versionMarked reports whether the history records a version of change.
func versionMarked(t *testing.T, hist *historypb.History, change string) bool {
	for _, ev := range hist.Events {
		m := ev.GetMarkerRecordedEventAttributes()
		if m == nil || m.MarkerName != "Version" {
			continue
		}
		var id string
		if err := converter.GetDefaultDataConverter().FromPayloads(m.Details["change-id"], &id); err != nil {
			t.Fatal(err)
		}
		if id == change {
			return true
		}
	}
	return false
}
