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
	"homeward/store"
)

const (
	// TaskQueue is where episode workflows and their activities run.
	TaskQueue = "homeward-episodes"
	// UpdateOutcome records one outcome (assignment, contact attempt,
	// interview, agreement, follow-up, closure). Its validator is the
	// episode's own rules; its result is the episode as it now stands.
	UpdateOutcome = "record-outcome"
	// SignalEvent carried outcomes before they were updates. Episodes opened
	// then may still receive one from an API of that time, so it is still
	// received, in order, and checked by the episode.
	SignalEvent = "episode-event"
	// QueryState returns the episode's current state.
	QueryState = "episode-state"

	// changeOutcomeUpdates names the change that made outcomes updates: runs
	// from then on project only what changed and continue as new, runs
	// started before it keep running as they did.
	changeOutcomeUpdates  = "outcome-updates"
	versionOutcomeUpdates = 1
	// changeChildRecord names the change that tells the child's record of
	// every episode opened (for the strategy-meeting trigger).
	changeChildRecord  = "child-record"
	versionChildRecord = 1
	// changeReturnReport names the change that produces the return report
	// once the agreement is recorded. Runs started before it produce none.
	changeReturnReport  = "return-report"
	versionReturnReport = 1
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
	// AssignmentOverride is why they were assigned against the child's
	// preferred worker gender, if they were.
	AssignmentOverride string `json:"assignment_override,omitempty"`
	// CommissionerID is the commissioner the episode belongs to.
	CommissionerID string `json:"commissioner_id,omitempty"`
	// ReceivedAt is when the API received the referral: a breach is blamed
	// on late notification only when this was already past the deadline.
	ReceivedAt time.Time `json:"received_at,omitempty"`
	// Continued is set when the episode continues as new.
	Continued *Continued `json:"continued,omitempty"`
}

// Continued is what one run of an episode hands to the next. The state
// holds what the records may not have yet; the next run saves it (saving
// again what a save in flight may already have written changes nothing).
type Continued struct {
	State episode.State `json:"state"`
	// Saved is the state version the case records were known to hold.
	Saved int `json:"saved"`
	// Referral is set while the records have never been written.
	Referral *episode.Referral `json:"referral,omitempty"`
	// Pending answers may not be in the records yet.
	Pending []store.OutcomeAnswer `json:"pending,omitempty"`
	// Answers are the latest answers the records hold, so that a retry
	// that reaches the new run gets the first answer.
	Answers []store.OutcomeAnswer `json:"answers,omitempty"`
	// Reminders were being emailed when the run ended.
	Reminders []activities.SendReminderInput `json:"reminders,omitempty"`
	// ChildNoted is set once the child's record knows of the episode.
	ChildNoted bool `json:"child_noted,omitempty"`
	// ActionReminders were being emailed to actions' owners.
	ActionReminders []activities.SendActionReminderInput `json:"action_reminders,omitempty"`
}

// OutcomeInput is one outcome sent as an update. Its update id is the
// caller's idempotency key (scoped to them) or a random one.
type OutcomeInput struct {
	Event episode.Event `json:"event"`
	// RequestHash identifies the request, so the API can tell a retry from
	// another request that reused its key.
	RequestHash string `json:"request_hash,omitempty"`
}

// EpisodeResult is how the episode ended.
type EpisodeResult struct {
	Status episode.Status `json:"status"`
}

// a is only used to name activity methods; the worker holds the real one.
var a *activities.Activities

// Continue-as-new thresholds, far below Temporal's limits (51,200 events,
// 50 MB), in case the server does not suggest it first.
const (
	continueAfterEvents = 2000
	continueAfterBytes  = 2 << 20
	// recentAnswers is how many answers a run keeps for retries once the
	// case records hold them.
	recentAnswers = 100
)

// episodeWorkflow holds the serialisable state and what is in flight.
type episodeWorkflow struct {
	state    *episode.State
	referral episode.Referral
	// bounded is true for runs that project only what changed and continue
	// as new (every run since outcomes became updates).
	bounded bool
	inbox   []episode.Event // signalled outcomes not processed yet
	changed int             // counts outcomes, so the main loop wakes
	saved   int             // the state version last written to the case records
	sending int             // escalations and reminders in flight
	// pending answers are not in the case records yet; recent ones are.
	pending, recent []store.OutcomeAnswer
	reminders       []activities.SendReminderInput // being emailed
	childNoted      bool                           // the child's record knows of the episode
	actionReminders []activities.SendActionReminderInput
	// reports is true for runs that produce the return report.
	reports bool
}

// Episode is the workflow of one missing episode, from referral to exit.
func Episode(ctx workflow.Context, in EpisodeInput) (EpisodeResult, error) {
	w, err := startEpisode(ctx, in)
	if err != nil {
		return EpisodeResult{}, err
	}
	return w.run(ctx)
}

// startEpisode opens or resumes the episode and starts everything that runs
// beside the main loop. A change to the episode's logic goes between it and
// run, behind workflow.GetVersion (see the versioning drill).
func startEpisode(ctx workflow.Context, in EpisodeInput) (*episodeWorkflow, error) {
	w := &episodeWorkflow{referral: in.Referral}
	w.bounded = workflow.GetVersion(ctx, changeOutcomeUpdates, workflow.DefaultVersion, versionOutcomeUpdates) >= versionOutcomeUpdates
	tellChild := workflow.GetVersion(ctx, changeChildRecord, workflow.DefaultVersion, versionChildRecord) >= versionChildRecord
	w.reports = workflow.GetVersion(ctx, changeReturnReport, workflow.DefaultVersion, versionReturnReport) >= versionReturnReport
	if c := in.Continued; c != nil {
		st := c.State
		w.state, w.saved, w.pending, w.recent, w.childNoted = &st, c.Saved, c.Pending, c.Answers, c.ChildNoted
		if c.Referral != nil {
			w.referral = *c.Referral
		}
	} else {
		w.open(ctx, in)
	}
	if err := w.setup(ctx); err != nil {
		return nil, err
	}
	w.startProjector(ctx)
	if c := in.Continued; c != nil {
		w.resume(ctx, c)
	}
	if tellChild && !w.childNoted {
		w.tellChildRecord(ctx)
	}
	return w, nil
}

func (w *episodeWorkflow) open(ctx workflow.Context, in EpisodeInput) {
	w.state = episode.New(in.EpisodeID, in.Referral, in.Policy, in.OpenedBy, workflow.Now(ctx))
	w.state.CommissionerID = in.CommissionerID
	w.state.ReceivedAt = in.ReceivedAt.UTC()
	if in.AssignedInterviewer != "" {
		w.state.Apply(episode.Event{Type: episode.EventAssignment, Actor: in.OpenedBy,
			Assignment: &episode.Assignment{InterviewerID: in.AssignedInterviewer, OverrideReason: in.AssignmentOverride}}, workflow.Now(ctx))
	}
}

// resume sends again what the previous run was still sending: each
// recipient is emailed once however often a send is repeated.
func (w *episodeWorkflow) resume(ctx workflow.Context, c *Continued) {
	for _, e := range w.state.Escalations {
		if e.SentAt == nil && !e.Failed {
			w.sendEscalation(ctx, e)
		}
	}
	for _, r := range c.Reminders {
		w.sendReminderInput(ctx, r)
	}
	for _, r := range c.ActionReminders {
		w.sendActionReminderInput(ctx, r)
	}
	w.resumeReport(ctx)
}

// setup registers the query, the outcome update and the legacy signal.
func (w *episodeWorkflow) setup(ctx workflow.Context) error {
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (episode.State, error) {
		return *w.state, nil
	}); err != nil {
		return err
	}
	if err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateOutcome, w.recordOutcome,
		workflow.UpdateHandlerOptions{Validator: w.validateOutcome}); err != nil {
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

// validateOutcome is the episode's own rules. A refused outcome leaves no
// trace in the history; the caller gets the field and the reason.
func (w *episodeWorkflow) validateOutcome(ctx workflow.Context, in OutcomeInput) error {
	if _, ok := w.answer(workflow.GetCurrentUpdateInfo(ctx).ID); ok {
		return nil // a retry: it gets the first answer
	}
	if p := w.state.Check(in.Event); p != nil {
		return ProblemError(p)
	}
	return nil
}

// recordOutcome applies the outcome and raises at once what it makes due
// (a safeguarding concern above all), so a closure right after cannot
// stop the escalation.
func (w *episodeWorkflow) recordOutcome(ctx workflow.Context, in OutcomeInput) (store.OutcomeAnswer, error) {
	id := workflow.GetCurrentUpdateInfo(ctx).ID
	if ans, ok := w.answer(id); ok {
		return ans, nil
	}
	now := workflow.Now(ctx)
	w.state.Apply(in.Event, now)
	w.raiseDue(ctx, now)
	if w.reports && in.Event.Type == episode.EventAgreement {
		w.state.TrackReport(now)
		w.produceReport(ctx)
	}
	if in.Event.Type == episode.EventReportApproval {
		w.sendReport(ctx) // only runs that produce reports accept an approval
	}
	w.changed++
	ans := store.OutcomeAnswer{UpdateID: id, EpisodeID: w.state.EpisodeID, RequestHash: in.RequestHash,
		Recorded: in.Event.Type, Episode: w.state.Summary()}
	w.pending = append(w.pending, ans)
	return ans, nil
}

func (w *episodeWorkflow) answer(updateID string) (store.OutcomeAnswer, bool) {
	for _, list := range [][]store.OutcomeAnswer{w.pending, w.recent} {
		for _, a := range list {
			if a.UpdateID == updateID {
				return a, true
			}
		}
	}
	return store.OutcomeAnswer{}, false
}

// Problem error types: the API answers 409 for a conflict, 400 for an
// invalid outcome, and for an interviewer's outcome on an episode no longer
// theirs what it answers for any episode the caller may not see.
const (
	ErrConflict    = "episode.conflict"
	ErrInvalid     = "episode.invalid"
	ErrNotAssigned = "episode.not_assigned"
)

// ProblemError is a refused outcome as a Temporal error carrying the
// field and the reason.
func ProblemError(p *episode.Problem) error {
	typ := ErrInvalid
	switch {
	case p.Conflict && p.Field == episode.FieldAssignedInterviewer:
		typ = ErrNotAssigned
	case p.Conflict:
		typ = ErrConflict
	}
	return temporal.NewNonRetryableApplicationError(p.Reason, typ, nil, p.Field, p.Reason)
}

func (w *episodeWorkflow) run(ctx workflow.Context) (EpisodeResult, error) {
	s := w.state
	for s.Status.Open() {
		now := workflow.Now(ctx)
		w.raiseDue(ctx, now)
		if w.readyToContinue(ctx) {
			return w.continueAsNew(ctx)
		}
		seen := w.changed
		woken := func() bool { return len(w.inbox) > 0 || w.changed != seen || w.readyToContinue(ctx) }
		if wake := s.NextWake(now); wake.IsZero() {
			if err := workflow.Await(ctx, woken); err != nil {
				return EpisodeResult{}, err
			}
		} else if _, err := workflow.AwaitWithTimeout(ctx, wake.Sub(now), woken); err != nil {
			return EpisodeResult{}, err
		}
		w.processInbox(ctx)
	}
	workflow.GetLogger(ctx).Info("Episode ended", "episode", s.EpisodeID, "status", s.Status)

	// Escalations already raised are still delivered, every update is
	// answered, and signalled outcomes that arrive while the records catch
	// up are answered in the timeline, not dropped.
	for {
		if err := workflow.Await(ctx, func() bool {
			return len(w.inbox) > 0 || (w.sending == 0 && w.saved == s.Version && workflow.AllHandlersFinished(ctx))
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

// raiseDue raises the escalations and the reminders due at now. Actions'
// reminders and escalations exist only once an action plan is recorded,
// which no run before them has, so they need no version of their own.
func (w *episodeWorkflow) raiseDue(ctx workflow.Context, now time.Time) {
	for _, e := range w.state.Due(now) {
		w.sendEscalation(ctx, e)
	}
	if nc := w.state.DueReminder(now); nc != nil {
		w.sendReminder(ctx, *nc)
	}
	for _, act := range w.state.DueActionReminders(now) {
		w.sendActionReminder(ctx, act)
	}
}

// processInbox applies outcomes that arrived as signals.
func (w *episodeWorkflow) processInbox(ctx workflow.Context) {
	for len(w.inbox) > 0 {
		ev := w.inbox[0]
		w.inbox = w.inbox[1:]
		now := workflow.Now(ctx)
		if p := w.state.CheckSignalled(ev); p != nil {
			workflow.GetLogger(ctx).Warn("Outcome rejected", "episode", w.state.EpisodeID, "type", ev.Type, "field", p.Field)
			w.state.Reject(ev, p, now)
			continue
		}
		w.state.Apply(ev, now)
	}
}

// readyToContinue is true when the history has grown enough to continue
// as new and nothing would be lost by it: no update or signal is being
// handled. (Saves and emails in flight are carried over.)
func (w *episodeWorkflow) readyToContinue(ctx workflow.Context) bool {
	if !w.bounded {
		return false
	}
	info := workflow.GetInfo(ctx)
	grown := info.GetContinueAsNewSuggested() ||
		info.GetCurrentHistoryLength() >= continueAfterEvents ||
		info.GetCurrentHistorySize() >= continueAfterBytes
	return grown && len(w.inbox) == 0 && workflow.AllHandlersFinished(ctx)
}

// continueAsNew hands the episode to a new run, with what the records may
// not hold yet and the emails still being sent, which it sends again.
func (w *episodeWorkflow) continueAsNew(ctx workflow.Context) (EpisodeResult, error) {
	c := &Continued{State: *w.state, Saved: w.saved, Pending: w.pending, Answers: w.recent, Reminders: w.reminders,
		ChildNoted: w.childNoted, ActionReminders: w.actionReminders}
	if w.saved == 0 {
		c.Referral = &w.referral
	}
	workflow.GetLogger(ctx).Info("Episode continues as new", "episode", w.state.EpisodeID, "version", w.state.Version)
	return EpisodeResult{}, workflow.NewContinueAsNewError(ctx, Episode, EpisodeInput{
		EpisodeID: w.state.EpisodeID, Policy: w.state.Policy, Continued: c,
	})
}
