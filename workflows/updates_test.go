package workflows

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"homeward/activities"
	"homeward/episode"
)

func closure() episode.Event {
	return episode.Event{Type: episode.EventClosure, Actor: "coordinator-1", Closure: &episode.ClosureRequest{Reason: episode.ClosureDuplicate}}
}

func attemptAt(at time.Time, o episode.AttemptOutcome) episode.Event {
	return episode.Event{Type: episode.EventContactAttempt, Actor: "interviewer-1",
		Attempt: &episode.AttemptInput{Method: episode.MethodPhone, Outcome: o, AttemptedAt: at}}
}

// The update answers with the episode as it now stands.
func TestOutcomeAnswersWithTheEpisode(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	in.AssignedInterviewer = "interviewer-1"
	noAnswer := h.at(time.Hour, attemptAt(t0.Add(time.Hour), episode.OutcomeNoAnswer))
	offered := h.at(2*time.Hour, attemptAt(t0.Add(2*time.Hour), episode.OutcomeReachedOffered))
	late := h.at(3*time.Hour, attemptAt(t0.Add(3*time.Hour), episode.OutcomeNoAnswer))
	h.close(4 * time.Hour)
	h.run(in)

	first, err := h.result(noAnswer)
	if err != nil {
		t.Fatalf("first attempt refused: %v", err)
	}
	if first.Episode.Status != episode.StatusAwaitingContact || first.Episode.NextContact == nil ||
		first.Episode.NextContact.Method != episode.MethodText || !first.Episode.NextContact.DueAt.Equal(t0.Add(5*time.Hour)) {
		t.Errorf("after no answer: %+v next %+v, want awaiting contact, text at +5h", first.Episode, first.Episode.NextContact)
	}
	if first.RequestHash != "hash-"+noAnswer || first.Recorded != episode.EventContactAttempt || first.UpdateID != noAnswer {
		t.Errorf("answer does not name its request: %+v", first)
	}
	second, err := h.result(offered)
	if err != nil {
		t.Fatalf("offer refused: %v", err)
	}
	if second.Episode.Status != episode.StatusOfferAccepted || second.Episode.OfferMadeAt == nil || second.Episode.ContactAttempts != 2 {
		t.Errorf("after the offer: %+v", second.Episode)
	}
	_, err = h.result(late)
	if field, _ := problemOf(t, err, ErrConflict); field != "outcome" {
		t.Errorf("attempt after acceptance refused on %s, want outcome", field)
	}
	if got := len(h.rec.answers()); got != 3 {
		t.Errorf("the records got %d answers, want the 3 outcomes recorded (two attempts, the closure)", got)
	}
}

// Of two outcomes sent together, the episode applies what its rules allow
// and refuses the rest; nothing refused is answered as recorded.
func TestClosureRacingOutcomes(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	in.AssignedInterviewer = "interviewer-1"
	h.env.RegisterDelayedCallback(func() {
		h.update("close-1", closure())
		h.update("close-2", closure())
		h.update("attempt", attemptAt(t0.Add(time.Hour), episode.OutcomeNoAnswer))
	}, time.Hour)
	s := h.run(in)

	if _, err := h.result("close-1"); err != nil {
		t.Fatalf("first closure refused: %v", err)
	}
	for _, id := range []string{"close-2", "attempt"} {
		_, err := h.result(id)
		if field, _ := problemOf(t, err, ErrConflict); field != "status" {
			t.Errorf("%s refused on %s, want status", id, field)
		}
	}
	if s.AttemptCount != 0 || len(s.ContactAttempts) != 0 {
		t.Errorf("a refused attempt was recorded: %+v", s.ContactAttempts)
	}
	for _, l := range s.Timeline {
		if l.Type == "rejected" {
			t.Errorf("a refused update left a timeline entry: %+v", l)
		}
	}
}

// A safeguarding concern is escalated even when a closure is processed in
// the same workflow task.
func TestSafeguardingConcernSurvivesClosureInSameTask(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	in.AssignedInterviewer = "interviewer-1"
	h.attempt(time.Hour, episode.MethodPhone, episode.OutcomeReachedOffered)
	h.env.RegisterDelayedCallback(func() {
		h.update("held", episode.Event{Type: episode.EventInterview, Interview: held(t0.Add(4*time.Hour), true)})
		// The closure from an API of the time before updates, as a signal:
		// the main loop applies it before it looks at what is due.
		ev := closure()
		ev.RecordedAt = h.env.Now()
		h.env.SignalWorkflow(SignalEvent, ev)
	}, 5*time.Hour)
	s := h.run(in)
	ans, err := h.result("held")
	if err != nil {
		t.Fatalf("interview refused: %v", err)
	}
	// Raised in the step that recorded the interview, before anything
	// else can run: the answer already lists it.
	if !slices.Contains(ans.Episode.Escalations, episode.EscalationSafeguardingConcern) {
		t.Errorf("the answer to the interview does not list the escalation: %v", ans.Episode.Escalations)
	}
	e := h.rec.escalation(t, episode.EscalationSafeguardingConcern)
	if !e.At.Equal(t0.Add(5 * time.Hour)) {
		t.Errorf("safeguarding escalation sent at %s, want at once", e.At)
	}
	if s.Status != episode.StatusClosed {
		t.Errorf("status %s", s.Status)
	}
}

// An interviewer records only on an episode assigned to them.
func TestOnlyTheAssignedInterviewerRecords(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	in.AssignedInterviewer = "interviewer-1"
	other := attemptAt(t0.Add(time.Hour), episode.OutcomeNoAnswer)
	other.Actor, other.ActorRole = "interviewer-2", episode.RoleInterviewer
	mine := other
	mine.Actor = "interviewer-1"
	refused := h.at(time.Hour, other)
	accepted := h.at(time.Hour+time.Minute, mine)
	h.close(2 * time.Hour)
	h.run(in)
	_, err := h.result(refused)
	if field, _ := problemOf(t, err, ErrNotAssigned); field != "assigned_interviewer" {
		t.Errorf("refused on %s, want assigned_interviewer", field)
	}
	if _, err := h.result(accepted); err != nil {
		t.Errorf("the assigned interviewer was refused: %v", err)
	}
}

// Field rules are the episode's: the validator refuses what Validate does.
func TestValidatorRefusesOversizedFields(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	ev := attemptAt(t0.Add(time.Hour), episode.OutcomeNoAnswer)
	ev.Attempt.Notes = string(make([]byte, episode.MaxText+1))
	refused := h.at(time.Hour, ev)
	h.close(2 * time.Hour)
	h.run(in)
	_, err := h.result(refused)
	if field, _ := problemOf(t, err, ErrInvalid); field != "notes" {
		t.Errorf("refused on %s, want notes", field)
	}
}

// A retry of an update (same id) that reaches the next run after the
// episode continued as new gets the first answer and is not applied twice.
func TestContinueAsNewKeepsStateAndAnswers(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	in.AssignedInterviewer = "interviewer-1"
	first := h.at(time.Hour, attemptAt(t0.Add(time.Hour), episode.OutcomeReachedDeclined))
	h.env.RegisterDelayedCallback(func() { h.env.SetContinueAsNewSuggested(true) }, 2*time.Hour)
	h.env.ExecuteWorkflow(Episode, in)
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow ended with %v, want continue-as-new", err)
	}
	answer, err := h.result(first)
	if err != nil {
		t.Fatal(err)
	}
	var next EpisodeInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	c := next.Continued
	if c == nil || c.State.Declines != 1 || c.State.Status != episode.StatusReofferPending || c.Saved != c.State.Version {
		t.Fatalf("carried %+v, want the declined episode, saved", c)
	}
	if len(c.State.Timeline) != 0 || len(c.State.ContactAttempts) != 0 {
		t.Errorf("the carried state kept entries the records hold: %d timeline, %d attempts", len(c.State.Timeline), len(c.State.ContactAttempts))
	}

	// The next run: the same update again, then a real second decline.
	h2 := newHarness(t, h.env.Now())
	h2.sent = 100 // its own update ids differ from the first run's
	h2.env.RegisterDelayedCallback(func() {
		h2.update(first, attemptAt(t0.Add(time.Hour), episode.OutcomeReachedDeclined))
	}, time.Minute)
	h2.close(time.Hour)
	h2.env.ExecuteWorkflow(Episode, next)
	if err := h2.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	again, err := h2.result(first)
	if err != nil {
		t.Fatalf("retry refused: %v", err)
	}
	if again.Episode.Version != answer.Episode.Version || again.Episode.Declines != 1 {
		t.Errorf("retry answered %+v, want the first answer %+v", again.Episode, answer.Episode)
	}
	if s := h2.rec.final(t); s.Declines != 1 || s.AttemptCount != 1 {
		t.Errorf("after the retry: %d declines, %d attempts, want the decline once", s.Declines, s.AttemptCount)
	}
}

// flakyRelay fails every escalation until the relay is back.
type flakyRelay struct {
	*recorder
	backAt   time.Time
	attempts int
}

func (f *flakyRelay) SendEscalation(ctx context.Context, in activities.SendEscalationInput) (activities.SendEscalationResult, error) {
	f.mu.Lock()
	f.attempts++
	down := f.env.Now().Before(f.backAt)
	f.mu.Unlock()
	if down {
		return activities.SendEscalationResult{}, errors.New("relay refused the connection")
	}
	return f.recorder.SendEscalation(ctx, in)
}

// A relay down for three days delays an escalation; it is not given up.
func TestEscalationOutlastsRelayOutage(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	relay := &flakyRelay{recorder: h.rec, backAt: t0.Add(73*time.Hour + 72*time.Hour)}
	h.env.RegisterActivityWithOptions(relay.SendEscalation, activity.RegisterOptions{Name: "SendEscalation"})
	h.close(10 * 24 * time.Hour)
	s := h.run(in)
	b := h.rec.escalation(t, episode.EscalationDeadlineBreached)
	if b.At.Before(relay.backAt) || b.At.After(relay.backAt.Add(31*time.Minute)) {
		t.Errorf("breach sent at %s, want within the capped backoff after the relay came back at %s", b.At, relay.backAt)
	}
	count := 0
	for _, k := range h.rec.kinds() {
		if k == episode.EscalationDeadlineBreached {
			count++
		}
	}
	if count != 1 {
		t.Errorf("breach sent %d times", count)
	}
	for _, e := range s.Escalations {
		if e.Failed {
			t.Errorf("escalation %s given up", e.Kind)
		}
	}
	t.Logf("relay tried %d times over three days", relay.attempts)
}

// A breach is blamed on late notification only when the referral itself
// arrived after the deadline, not when the worker picked it up late.
func TestBreachReasonFollowsReceipt(t *testing.T) {
	cases := []struct {
		name     string
		received time.Duration // after the return
		want     string
	}{
		{"received in time, worker late", time.Hour, "no_contact_attempted"},
		{"received after the deadline", 80 * time.Hour, "late_notification"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			opened := t0.Add(90 * time.Hour) // no worker ran until well past the deadline
			h := newHarness(t, opened)
			in := input(t0, fullContact)
			in.ReceivedAt = t0.Add(c.received)
			h.close(time.Hour)
			h.run(in)
			if got := h.rec.escalation(t, episode.EscalationDeadlineBreached).Reason; got != c.want {
				t.Errorf("breach reason %q, want %q", got, c.want)
			}
		})
	}
}
