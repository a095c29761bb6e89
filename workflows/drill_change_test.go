package workflows

import (
	"go.temporal.io/sdk/workflow"

	"homeward/activities"
	"homeward/episode"
)

// The versioning drill's deliberate change to the episode logic, made as
// a real change would be: a new episode reminds whoever must make the
// offer (the interviewer, or the coordinators while nobody is assigned) of
// the offer deadline as soon as it opens. It exists only in tests.
const (
	changeDeadlineReminder  = "offer-deadline-reminder"
	versionDeadlineReminder = 1
	// DeadlineReminderPurpose marks the new reminder among the contact reminders.
	DeadlineReminderPurpose = "offer_deadline"
	// DeadlineReminderChange is the change id, as its marker records it.
	DeadlineReminderChange = changeDeadlineReminder
)

// EpisodeWithDeadlineReminder is the episode with the change behind
// workflow.GetVersion: runs that began before it replay as they ran.
func EpisodeWithDeadlineReminder(ctx workflow.Context, in EpisodeInput) (EpisodeResult, error) {
	w, err := startEpisode(ctx, in)
	if err != nil {
		return EpisodeResult{}, err
	}
	if workflow.GetVersion(ctx, changeDeadlineReminder, workflow.DefaultVersion, versionDeadlineReminder) >= versionDeadlineReminder {
		w.remindOfDeadline(ctx, in)
	}
	return w.run(ctx)
}

// EpisodeWithUnversionedDeadlineReminder is the same change made without
// workflow.GetVersion, as it must not be.
func EpisodeWithUnversionedDeadlineReminder(ctx workflow.Context, in EpisodeInput) (EpisodeResult, error) {
	w, err := startEpisode(ctx, in)
	if err != nil {
		return EpisodeResult{}, err
	}
	w.remindOfDeadline(ctx, in)
	return w.run(ctx)
}

// remindOfDeadline sends the reminder when the episode opens (not again
// when it continues as new).
func (w *episodeWorkflow) remindOfDeadline(ctx workflow.Context, in EpisodeInput) {
	if in.Continued != nil || w.state.OfferMadeAt != nil {
		return
	}
	w.sendReminderInput(ctx, activities.SendReminderInput{
		EpisodeID: w.state.EpisodeID, Reference: w.state.Reference, InterviewerID: w.state.AssignedInterviewer,
		Attempt: w.state.AttemptCount + 1, CommissionerID: w.state.CommissionerID,
		Contact: episode.NextContact{Method: episode.MethodPhone, DueAt: w.state.OfferDeadline, Purpose: DeadlineReminderPurpose},
	})
}
