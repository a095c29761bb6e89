package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"homeward/activities"
	"homeward/episode"
)

// startProjector keeps the case records in step with the state. It runs
// beside the main loop so a slow database never holds up a deadline, and
// it writes only the newest version, however many changes came meanwhile.
// A bounded run hands over only what the records do not hold yet and then
// forgets it, so neither the activity input nor the state grows with the
// episode's length.
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
			mark, answered := w.state.Mark(), len(w.pending)
			if w.bounded {
				in.Answers = append(in.Answers, w.pending...)
			}
			if err := workflow.ExecuteActivity(actx, a.SaveEpisode, in).Get(actx, nil); err != nil {
				// Only cancellation ends the retries; try again with the newest state.
				workflow.GetLogger(ctx).Error("Saving the episode failed", "episode", w.state.EpisodeID, "error", err)
				continue
			}
			w.saved = in.State.Version
			if w.bounded {
				w.state.ForgetSaved(mark)
				w.keepAnswered(answered)
			}
		}
	})
}

// keepAnswered moves the first n pending answers, now in the records, to
// the few kept for retries.
func (w *episodeWorkflow) keepAnswered(n int) {
	w.recent = append(w.recent, w.pending[:n]...)
	if extra := len(w.recent) - recentAnswers; extra > 0 {
		w.recent = append(w.recent[:0:0], w.recent[extra:]...)
	}
	w.pending = append(w.pending[:0:0], w.pending[n:]...)
}

// escalationOptions: an escalation is retried for as long as it takes, so a
// relay down for days delays it but never loses it. The activity makes sure
// each recipient gets it once. The backoff is capped at escalationRetryCap.
func escalationOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: escalationRetryCap},
	})
}

// escalationRetryCap: a safeguarding escalation must go within a minute of
// the relay coming back. Trying every 30 seconds while it is down is cheap
// (one refused connection per owed email), and a relay that is down is the
// failure to expect. The retry policy is not part of what replay compares,
// so running episodes take the new cap with no version marker.
const escalationRetryCap = 30 * time.Second

// reminderOptions: a reminder is worth sending for a day; after that the
// contact attempt is long overdue and the escalations take over.
func reminderOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout:    2 * time.Minute,
		ScheduleToCloseTimeout: 24 * time.Hour,
		RetryPolicy:            &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
	})
}

// escalationPause is how long a bounded run waits before it sends an
// escalation again whose activity gave up (its retries are unlimited, so
// this is a backstop: a retry policy changed by an operator, say).
const escalationPause = 30 * time.Minute

func (w *episodeWorkflow) sendEscalation(ctx workflow.Context, e episode.Escalation) {
	w.sending++
	in := activities.SendEscalationInput{EpisodeID: w.state.EpisodeID, Reference: w.state.Reference, Escalation: e,
		CommissionerID: w.state.CommissionerID}
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.sending-- }()
		// Runs from before bounded runs gave up, as they did then.
		res, sent, gaveUp := deliverEscalation(ctx, in, func(err error) bool { return !w.bounded || temporal.IsCanceledError(err) })
		switch {
		case sent:
			w.state.MarkEscalationSent(e.Kind, e.Action, res.SentAt, res.Recipients, workflow.Now(ctx))
		case gaveUp:
			w.state.MarkEscalationFailed(e.Kind, e.Action, workflow.Now(ctx))
		}
	})
}

// deliverEscalation sends in until it is sent, sending again
// escalationPause after an activity that gave up, unless giveUp says to
// stop there. sent and gaveUp are both false when the workflow is
// cancelled while it waits.
func deliverEscalation(ctx workflow.Context, in activities.SendEscalationInput, giveUp func(error) bool) (res activities.SendEscalationResult, sent, gaveUp bool) {
	for {
		err := workflow.ExecuteActivity(escalationOptions(ctx), a.SendEscalation, in).Get(ctx, &res)
		if err == nil {
			return res, true, false
		}
		workflow.GetLogger(ctx).Error("Escalation not sent yet", "episode", in.EpisodeID, "kind", in.Escalation.Kind, "error", err)
		if giveUp(err) {
			return res, false, true
		}
		if err := workflow.Sleep(ctx, escalationPause); err != nil {
			return res, false, false
		}
	}
}

func (w *episodeWorkflow) sendReminder(ctx workflow.Context, nc episode.NextContact) {
	w.sendReminderInput(ctx, activities.SendReminderInput{
		EpisodeID: w.state.EpisodeID, Reference: w.state.Reference,
		InterviewerID: w.state.AssignedInterviewer, Attempt: w.state.AttemptCount + 1, Contact: nc,
		CommissionerID: w.state.CommissionerID,
	})
}

func (w *episodeWorkflow) sendReminderInput(ctx workflow.Context, in activities.SendReminderInput) {
	w.sending++
	w.reminders = append(w.reminders, in)
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() {
			w.sending--
			w.forgetReminder(in)
		}()
		if err := workflow.ExecuteActivity(reminderOptions(ctx), a.SendReminder, in).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("Reminder not sent", "episode", in.EpisodeID, "attempt", in.Attempt, "error", err)
		}
	})
}

func (w *episodeWorkflow) forgetReminder(in activities.SendReminderInput) {
	for i, r := range w.reminders {
		if r.Attempt == in.Attempt && r.Contact.Purpose == in.Contact.Purpose {
			w.reminders = append(w.reminders[:i:i], w.reminders[i+1:]...)
			return
		}
	}
}

// tellChildRecord tells the child's record of the episode once the records
// name its child (after the first save), so the record can count the
// child's episodes. The episode does not end before it is told.
func (w *episodeWorkflow) tellChildRecord(ctx workflow.Context) {
	w.sending++
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { w.sending-- }()
		if err := workflow.Await(ctx, func() bool { return w.saved > 0 }); err != nil {
			return
		}
		n, window := w.state.Policy.RepeatRule()
		in := activities.NoteEpisodeInput{Opened: activities.EpisodeOpened{
			EpisodeID: w.state.EpisodeID, Reference: w.state.Reference, CommissionerID: w.state.CommissionerID,
			OpenedAt: w.state.OpenedAt, RepeatEpisodes: n, RepeatWindow: window,
		}}
		actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Second,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute},
		})
		if err := workflow.ExecuteActivity(actx, a.NoteEpisodeForChild, in).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("The child's record was not told of the episode", "episode", in.Opened.EpisodeID, "error", err)
			return
		}
		w.childNoted = true
	})
}

// sendActionReminder reminds the owner of an action that it is due. It is
// retried like a contact reminder: for a day, after which the overdue
// action's escalation takes over.
func (w *episodeWorkflow) sendActionReminder(ctx workflow.Context, act episode.Action) {
	w.sendActionReminderInput(ctx, activities.SendActionReminderInput{
		EpisodeID: w.state.EpisodeID, Reference: w.state.Reference, Action: act.Seq, DueAt: act.DueAt,
		OwnerEmail: act.OwnerEmail, InterviewerID: w.state.AssignedInterviewer, CommissionerID: w.state.CommissionerID,
	})
}

func (w *episodeWorkflow) sendActionReminderInput(ctx workflow.Context, in activities.SendActionReminderInput) {
	w.sending++
	w.actionReminders = append(w.actionReminders, in)
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() {
			w.sending--
			w.forgetActionReminder(in.Action)
		}()
		if err := workflow.ExecuteActivity(reminderOptions(ctx), a.SendActionReminder, in).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("Action reminder not sent", "episode", in.EpisodeID, "action", in.Action, "error", err)
		}
	})
}

func (w *episodeWorkflow) forgetActionReminder(action int) {
	for i, r := range w.actionReminders {
		if r.Action == action {
			w.actionReminders = append(w.actionReminders[:i:i], w.actionReminders[i+1:]...)
			return
		}
	}
}
