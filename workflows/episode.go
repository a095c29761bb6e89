// Package workflows runs every missing episode as a durable Temporal
// workflow: the offer deadline, the contact plan, the interview, the
// agreement, the follow-up and the escalations.
package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"homeward/activities"
	"homeward/episode"
)

const (
	// TaskQueue is where episode workflows and their activities run.
	TaskQueue = "homeward-episodes"
	// SignalEvent carries every recorded outcome, in one ordered stream.
	SignalEvent = "episode-event"
	// QueryState returns the episode's current state.
	QueryState = "episode-state"
)

// WorkflowID is deterministic and carries nothing about the child.
func WorkflowID(episodeID string) string { return "episode-" + episodeID }

// EpisodeInput starts an episode. The policy in force is fixed here.
type EpisodeInput struct {
	EpisodeID string           `json:"episode_id"`
	Referral  episode.Referral `json:"referral"`
	Policy    episode.Policy   `json:"policy"`
	OpenedBy  string           `json:"opened_by"`
	// AssignedInterviewer may be given when the episode is opened.
	AssignedInterviewer string `json:"assigned_interviewer,omitempty"`
	// CommissionerID is the commissioner the episode belongs to.
	CommissionerID string `json:"commissioner_id,omitempty"`
}

// EpisodeResult is how the episode ended.
type EpisodeResult struct {
	Status episode.Status `json:"status"`
}

// a is only used to name activity methods; the worker holds the real one.
var a *activities.Activities

// episodeWorkflow holds the serialisable state and what signals delivered
// but the main loop has not processed yet.
type episodeWorkflow struct {
	state    *episode.State
	referral episode.Referral
	inbox    []episode.Event
	saved    int // the state version last written to the case records
	sending  int // escalations and reminders in flight
}

// Episode is the workflow of one missing episode, from referral to exit.
func Episode(ctx workflow.Context, in EpisodeInput) (EpisodeResult, error) {
	w := &episodeWorkflow{referral: in.Referral}
	w.state = episode.New(in.EpisodeID, in.Referral, in.Policy, in.OpenedBy, workflow.Now(ctx))
	w.state.CommissionerID = in.CommissionerID
	if in.AssignedInterviewer != "" {
		w.state.Apply(episode.Event{Type: episode.EventAssignment, Actor: in.OpenedBy,
			Assignment: &episode.Assignment{InterviewerID: in.AssignedInterviewer}}, workflow.Now(ctx))
	}
	if err := w.setup(ctx); err != nil {
		return EpisodeResult{}, err
	}
	w.startProjector(ctx)
	return w.run(ctx)
}

// setup registers the handlers; they only record what arrived.
func (w *episodeWorkflow) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (episode.State, error) {
		return *w.state, nil
	}); err != nil {
		return err
	}
	ch := workflow.GetSignalChannel(ctx, SignalEvent)
	workflow.Go(ctx, func(ctx workflow.Context) {
		for {
			var ev episode.Event
			ch.Receive(ctx, &ev)
			w.inbox = append(w.inbox, ev)
		}
	})
	return nil
}

func (w *episodeWorkflow) run(ctx workflow.Context) (EpisodeResult, error) {
	logger := workflow.GetLogger(ctx)
	s := w.state
	for s.Status.Open() {
		now := workflow.Now(ctx)
		for _, e := range s.Due(now) {
			w.sendEscalation(ctx, e)
		}
		if nc := s.DueReminder(now); nc != nil {
			w.sendReminder(ctx, *nc)
		}
		hasEvents := func() bool { return len(w.inbox) > 0 }
		if wake := s.NextWake(now); wake.IsZero() {
			if err := workflow.Await(ctx, hasEvents); err != nil {
				return EpisodeResult{}, err
			}
		} else if _, err := workflow.AwaitWithTimeout(ctx, wake.Sub(now), hasEvents); err != nil {
			return EpisodeResult{}, err
		}
		w.processInbox(ctx)
	}
	logger.Info("Episode ended", "episode", s.EpisodeID, "status", s.Status)

	// Escalations already raised are still delivered; outcomes that arrive
	// while the records catch up are answered in the timeline, not dropped.
	for {
		if err := workflow.Await(ctx, func() bool {
			return len(w.inbox) > 0 || (w.sending == 0 && w.saved == s.Version)
		}); err != nil {
			return EpisodeResult{}, err
		}
		if len(w.inbox) == 0 {
			break
		}
		w.processInbox(ctx)
	}
	return EpisodeResult{Status: s.Status}, nil
}

func (w *episodeWorkflow) processInbox(ctx workflow.Context) {
	for len(w.inbox) > 0 {
		ev := w.inbox[0]
		w.inbox = w.inbox[1:]
		now := workflow.Now(ctx)
		if p := w.state.Check(ev); p != nil {
			workflow.GetLogger(ctx).Warn("Outcome rejected", "episode", w.state.EpisodeID, "type", ev.Type, "field", p.Field)
			w.state.Reject(ev, p, now)
			continue
		}
		w.state.Apply(ev, now)
	}
}

// startProjector keeps the case records in step with the state. It runs
// beside the main loop so a slow database never holds up a deadline, and
// it writes only the newest version, however many changes came meanwhile.
func (w *episodeWorkflow) startProjector(ctx workflow.Context) {
	workflow.Go(ctx, func(ctx workflow.Context) {
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			// The records must catch up eventually, however long the database is away.
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute},
		})
		for {
			if err := workflow.Await(ctx, func() bool { return w.state.Version > w.saved }); err != nil {
				return
			}
			in := activities.SaveEpisodeInput{State: *w.state}
			if w.saved == 0 {
				in.Referral = &w.referral
			}
			if err := workflow.ExecuteActivity(actx, a.SaveEpisode, in).Get(actx, nil); err != nil {
				// Only cancellation ends the retries; try again with the newest state.
				workflow.GetLogger(ctx).Error("Saving the episode failed", "episode", w.state.EpisodeID, "error", err)
				continue
			}
			w.saved = in.State.Version
		}
	})
}

// mailOptions: an email is retried for a day, with backoff up to five
// minutes, so a relay outage delays it but does not lose it. The activity
// itself makes sure each recipient gets it once.
func mailOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
}

func (w *episodeWorkflow) sendEscalation(ctx workflow.Context, e episode.Escalation) {
	w.sending++
	in := activities.SendEscalationInput{EpisodeID: w.state.EpisodeID, Reference: w.state.Reference, Escalation: e,
		CommissionerID: w.state.CommissionerID}
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.sending-- }()
		var res activities.SendEscalationResult
		err := workflow.ExecuteActivity(mailOptions(ctx), a.SendEscalation, in).Get(ctx, &res)
		if err != nil {
			workflow.GetLogger(ctx).Error("Escalation not sent", "episode", in.EpisodeID, "kind", e.Kind, "error", err)
			w.state.MarkEscalationFailed(e.Kind, workflow.Now(ctx))
			return
		}
		w.state.MarkEscalationSent(e.Kind, res.SentAt, res.Recipients, workflow.Now(ctx))
	})
}

func (w *episodeWorkflow) sendReminder(ctx workflow.Context, nc episode.NextContact) {
	w.sending++
	in := activities.SendReminderInput{
		EpisodeID: w.state.EpisodeID, Reference: w.state.Reference,
		InterviewerID: w.state.AssignedInterviewer, Attempt: len(w.state.ContactAttempts) + 1, Contact: nc,
		CommissionerID: w.state.CommissionerID,
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.sending-- }()
		if err := workflow.ExecuteActivity(mailOptions(ctx), a.SendReminder, in).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("Reminder not sent", "episode", in.EpisodeID, "attempt", in.Attempt, "error", err)
		}
	})
}
