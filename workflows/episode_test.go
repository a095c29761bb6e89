package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"homeward/activities"
	"homeward/episode"
	"homeward/store"
)

// recorder stands in for the activities in workflow unit tests: it keeps
// what the workflow asked for, at the test environment's time. The real
// activities are tested against PostgreSQL and SMTP elsewhere.
type recorder struct {
	env             *testsuite.TestWorkflowEnvironment
	mu              sync.Mutex
	escalations     []sentEscalation
	reminders       []activities.SendReminderInput
	actionReminders []sentActionReminder
	saves           []activities.SaveEpisodeInput
	notes           []activities.NoteEpisodeInput
	reports         []producedReport
	reportsSent     []activities.SendReturnReportInput
	relayDownOnce   bool      // the first report email fails
	relayDownUntil  time.Time // escalation emails fail before then
}

func (r *recorder) NoteEpisodeForChild(_ context.Context, in activities.NoteEpisodeInput) (activities.NoteEpisodeResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, in)
	return activities.NoteEpisodeResult{ChildID: "child-1"}, nil
}

type sentActionReminder struct {
	activities.SendActionReminderInput
	At time.Time
}

func (r *recorder) SendActionReminder(_ context.Context, in activities.SendActionReminderInput) (activities.SendReminderResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.actionReminders = append(r.actionReminders, sentActionReminder{in, r.env.Now().UTC()})
	return activities.SendReminderResult{SentAt: r.env.Now().UTC(), Recipients: 1}, nil
}

type sentEscalation struct {
	Action int
	Kind   episode.EscalationKind
	At     time.Time
	Reason string
	DueAt  time.Time
}

func (r *recorder) SaveEpisode(_ context.Context, in activities.SaveEpisodeInput) (activities.SaveEpisodeResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.saves = append(r.saves, in)
	return activities.SaveEpisodeResult{Applied: true}, nil
}

func (r *recorder) SendEscalation(_ context.Context, in activities.SendEscalationInput) (activities.SendEscalationResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.env.Now().UTC()
	if now.Before(r.relayDownUntil) {
		return activities.SendEscalationResult{}, errors.New("dial tcp 127.0.0.1:25: connect: connection refused")
	}
	r.escalations = append(r.escalations, sentEscalation{Action: in.Escalation.Action, Kind: in.Escalation.Kind, At: now, Reason: in.Escalation.Reason, DueAt: in.Escalation.DueAt})
	return activities.SendEscalationResult{SentAt: now, Recipients: 2}, nil
}

func (r *recorder) SendReminder(_ context.Context, in activities.SendReminderInput) (activities.SendReminderResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reminders = append(r.reminders, in)
	return activities.SendReminderResult{SentAt: r.env.Now().UTC(), Recipients: 1}, nil
}

func (r *recorder) kinds() []episode.EscalationKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []episode.EscalationKind
	for _, e := range r.escalations {
		out = append(out, e.Kind)
	}
	return out
}

func (r *recorder) escalation(t *testing.T, kind episode.EscalationKind) sentEscalation {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.escalations {
		if e.Kind == kind {
			return e
		}
	}
	t.Fatalf("no %s escalation was sent; sent: %v", kind, r.escalations)
	return sentEscalation{}
}

// final is the episode as the case records hold it: the last snapshot,
// with the entries of its growing lists from every save (each save hands
// over only those the records do not hold yet), as the store keeps them.
func (r *recorder) final(t *testing.T) episode.State {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.saves) == 0 {
		t.Fatal("the episode was never saved")
	}
	s := r.saves[len(r.saves)-1].State
	var attempts []episode.ContactAttempt
	var timeline []episode.TimelineEntry
	var history []episode.InterviewEntry
	for _, sv := range r.saves {
		for _, a := range sv.State.ContactAttempts {
			if a.Seq > len(attempts) {
				attempts = append(attempts, a)
			}
		}
		for _, e := range sv.State.Timeline {
			if e.Seq > len(timeline) {
				timeline = append(timeline, e)
			}
		}
		if iv := sv.State.Interview; iv != nil {
			for _, e := range iv.History {
				if e.Seq > len(history) {
					history = append(history, e)
				}
			}
		}
	}
	s.ContactAttempts, s.Timeline = attempts, timeline
	if s.Interview != nil {
		iv := *s.Interview
		iv.History = history
		s.Interview = &iv
	}
	return s
}

// answers are the episode's answers to outcomes, from every save.
func (r *recorder) answers() []store.OutcomeAnswer {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []store.OutcomeAnswer
	for _, sv := range r.saves {
		out = append(out, sv.Answers...)
	}
	return out
}

type harness struct {
	t     *testing.T
	env   *testsuite.TestWorkflowEnvironment
	rec   *recorder
	start time.Time
	// What the episode answered to each update, by update id.
	mu       sync.Mutex
	results  map[string]store.OutcomeAnswer
	refusals map[string]error
	sent     int
}

func newHarness(t *testing.T, start time.Time) *harness {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.SetStartTime(start)
	rec := &recorder{env: env}
	env.RegisterWorkflowWithOptions(Episode, workflow.RegisterOptions{Name: "Episode"})
	env.RegisterActivityWithOptions(rec.SaveEpisode, activity.RegisterOptions{Name: "SaveEpisode"})
	env.RegisterActivityWithOptions(rec.SendEscalation, activity.RegisterOptions{Name: "SendEscalation"})
	env.RegisterActivityWithOptions(rec.SendReminder, activity.RegisterOptions{Name: "SendReminder"})
	env.RegisterActivityWithOptions(rec.NoteEpisodeForChild, activity.RegisterOptions{Name: "NoteEpisodeForChild"})
	env.RegisterActivityWithOptions(rec.SendActionReminder, activity.RegisterOptions{Name: "SendActionReminder"})
	env.RegisterActivityWithOptions(rec.ProduceReturnReport, activity.RegisterOptions{Name: "ProduceReturnReport"})
	env.RegisterActivityWithOptions(rec.SendReturnReport, activity.RegisterOptions{Name: "SendReturnReport"})
	return &harness{t: t, env: env, rec: rec, start: start,
		results: map[string]store.OutcomeAnswer{}, refusals: map[string]error{}}
}

// at sends ev as an update once the workflow has run for d, and returns
// the update's id.
func (h *harness) at(d time.Duration, ev episode.Event) string {
	h.mu.Lock()
	h.sent++
	id := fmt.Sprintf("update-%d", h.sent)
	h.mu.Unlock()
	h.env.RegisterDelayedCallback(func() { h.update(id, ev) }, d)
	return id
}

// update sends ev as update id now.
func (h *harness) update(id string, ev episode.Event) {
	if ev.RecordedAt.IsZero() {
		ev.RecordedAt = h.env.Now().UTC()
	}
	if ev.Actor == "" {
		ev.Actor = "interviewer-1"
	}
	h.env.UpdateWorkflow(UpdateOutcome, id, &testsuite.TestUpdateCallback{
		OnAccept: func() {},
		OnReject: func(err error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.refusals[id] = err
		},
		OnComplete: func(v any, err error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			if err != nil {
				h.refusals[id] = err
				return
			}
			h.results[id] = v.(store.OutcomeAnswer)
		},
	}, OutcomeInput{Event: ev, RequestHash: "hash-" + id})
}

// signalAt sends ev as a signal, as outcomes were sent before they were
// updates, once the workflow has run for d.
func (h *harness) signalAt(d time.Duration, ev episode.Event) {
	h.env.RegisterDelayedCallback(func() {
		if ev.RecordedAt.IsZero() {
			ev.RecordedAt = h.env.Now().UTC()
		}
		h.env.SignalWorkflow(SignalEvent, ev)
	}, d)
}

func (h *harness) result(id string) (store.OutcomeAnswer, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err, ok := h.refusals[id]; ok {
		return store.OutcomeAnswer{}, err
	}
	res, ok := h.results[id]
	if !ok {
		h.t.Fatalf("update %s was never answered", id)
	}
	return res, nil
}

// attempt records a contact attempt made at the moment it is sent.
func (h *harness) attempt(d time.Duration, m episode.Method, o episode.AttemptOutcome) {
	h.at(d, episode.Event{Type: episode.EventContactAttempt, Actor: "interviewer-1",
		Attempt: &episode.AttemptInput{Method: m, Outcome: o, AttemptedAt: h.start.Add(d)}})
}

func (h *harness) close(d time.Duration) {
	h.at(d, episode.Event{Type: episode.EventClosure, Actor: "coordinator-1", Closure: &episode.ClosureRequest{Reason: episode.ClosureOpenedInError}})
}

func (h *harness) run(in EpisodeInput) episode.State {
	h.t.Helper()
	h.env.ExecuteWorkflow(Episode, in)
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("workflow failed: %v", err)
	}
	return h.rec.final(h.t)
}

var fullContact = episode.ContactDetails{ChildPhone: "01632 960000", ChildMobile: "07700 900000", Address: "1 Example Street"}

func input(returnedAt time.Time, contact episode.ContactDetails) EpisodeInput {
	return EpisodeInput{
		EpisodeID: "3f0c1d2e-0000-4000-8000-000000000001",
		Referral: episode.Referral{
			Child:             episode.Child{FirstName: "Test"},
			ReportedMissingAt: returnedAt.Add(-24 * time.Hour),
			ReturnedAt:        returnedAt,
			RiskGrade:         episode.RiskMedium,
			Category:          episode.CategoryMissing,
			Contact:           contact,
		},
		Policy:   episode.DefaultPolicy(),
		OpenedBy: "coordinator-1",
	}
}

var t0 = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)

func held(at time.Time, safeguarding bool) *episode.InterviewUpdate {
	return &episode.InterviewUpdate{Outcome: episode.InterviewHeld, HeldAt: &at, Venue: "school",
		Record: &episode.InterviewRecord{PushFactors: []string{"conflict at home"}, SafeguardingConcern: safeguarding,
			RiskIndicators: episode.RiskIndicators{GoneMissingBefore: episode.AnswerYes}}}
}

func agreement() *episode.Agreement {
	return &episode.Agreement{ConfidentialityExplained: true, ChildToldBeforeSharing: true,
		SharedWith: []episode.Sharing{{Party: episode.PartySocialWorker, What: "the return report"}}}
}

func TestOfferInTimeThenWholeEpisode(t *testing.T) {
	h := newHarness(t, t0)
	// Returned 10 hours before the referral reached the team.
	in := input(t0.Add(-10*time.Hour), fullContact)
	h.attempt(2*time.Hour, episode.MethodPhone, episode.OutcomeReachedOffered)
	h.at(3*time.Hour, episode.Event{Type: episode.EventInterview, Interview: &episode.InterviewUpdate{Outcome: episode.InterviewScheduled, ScheduledFor: ptr(t0.Add(30 * time.Hour)), Venue: "cafe"}})
	h.at(31*time.Hour, episode.Event{Type: episode.EventInterview, Interview: held(t0.Add(30*time.Hour), false)})
	h.at(32*time.Hour, episode.Event{Type: episode.EventAgreement, Agreement: agreement()})
	h.at(5*24*time.Hour, episode.Event{Type: episode.EventFollowUp, FollowUp: &episode.FollowUpRecord{CompletedAt: t0.Add(5 * 24 * time.Hour), ActionsTaken: []string{"CAMHS referral accepted"}, Outcome: "settled at home"}})
	s := h.run(in)

	if s.Status != episode.StatusCompleted {
		t.Fatalf("status = %s, want completed", s.Status)
	}
	if want := t0.Add(62 * time.Hour); !s.OfferDeadline.Equal(want) {
		t.Errorf("offer deadline = %s, want %s (72h from return, not from referral)", s.OfferDeadline, want)
	}
	if s.OfferMadeAt == nil || !s.OfferMadeAt.Equal(t0.Add(2*time.Hour)) || s.OfferWithinDeadline == nil || !*s.OfferWithinDeadline {
		t.Errorf("offer = %v within %v, want made at +2h within the deadline", s.OfferMadeAt, s.OfferWithinDeadline)
	}
	if got := h.rec.kinds(); len(got) != 0 {
		t.Errorf("escalations = %v, want none", got)
	}
	if s.FollowUp == nil || !s.FollowUp.DueAt.Equal(t0.Add(30*time.Hour+7*24*time.Hour)) || s.FollowUp.CompletedAt == nil {
		t.Errorf("follow-up = %+v, want due a week after the interview and completed", s.FollowUp)
	}
	if s.Agreement == nil || len(s.Agreement.SharedWith) != 1 {
		t.Errorf("agreement = %+v", s.Agreement)
	}
}

func TestWarningThenBreach(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	h.close(5 * 24 * time.Hour)
	s := h.run(in)

	warn := h.rec.escalation(t, episode.EscalationDeadlineWarning)
	if want := t0.Add(48 * time.Hour); !warn.At.Equal(want) {
		t.Errorf("warning sent at %s, want %s (24h before the deadline)", warn.At, want)
	}
	breach := h.rec.escalation(t, episode.EscalationDeadlineBreached)
	if want := t0.Add(72 * time.Hour); !breach.At.Equal(want) || !breach.DueAt.Equal(want) {
		t.Errorf("breach sent at %s due %s, want both %s", breach.At, breach.DueAt, want)
	}
	if breach.Reason != "no_contact_attempted" {
		t.Errorf("breach reason = %q", breach.Reason)
	}
	if got := h.rec.kinds(); len(got) != 2 {
		t.Errorf("escalations = %v, want exactly the warning and the breach", got)
	}
	for _, e := range s.Escalations {
		if e.SentAt == nil || e.Recipients != 2 {
			t.Errorf("escalation %s not recorded as sent: %+v", e.Kind, e)
		}
	}
}

func TestOpenedPastDeadlineEscalatesAtOnce(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0.Add(-80*time.Hour), fullContact)
	h.close(time.Hour)
	h.run(in)

	breach := h.rec.escalation(t, episode.EscalationDeadlineBreached)
	if !breach.At.Equal(t0) {
		t.Errorf("breach sent at %s, want at once (%s)", breach.At, t0)
	}
	if breach.Reason != "late_notification" {
		t.Errorf("breach reason = %q, want late_notification", breach.Reason)
	}
	if got := h.rec.kinds(); len(got) != 1 {
		t.Errorf("escalations = %v, want only the breach (no warning after the fact)", got)
	}
}

func TestOpenedInsideWarningWindowWarnsAtOnce(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0.Add(-60*time.Hour), fullContact)
	h.attempt(time.Hour, episode.MethodPhone, episode.OutcomeReachedOffered)
	h.close(2 * time.Hour)
	h.run(in)
	if w := h.rec.escalation(t, episode.EscalationDeadlineWarning); !w.At.Equal(t0) {
		t.Errorf("warning at %s, want at once", w.At)
	}
	if got := h.rec.kinds(); len(got) != 1 {
		t.Errorf("escalations = %v, want only the warning: the offer came before the deadline", got)
	}
}

func TestContactRotationNeverRepeatsAndSkipsMissingDetails(t *testing.T) {
	h := newHarness(t, t0)
	// No mobile: text is impossible, so the rotation is phone, letter, visit.
	in := input(t0, episode.ContactDetails{ChildPhone: "01632 960000", Address: "1 Example Street"})
	in.Policy.MaxContactAttempts = 10
	var plans []episode.NextContact
	for i, m := range []episode.Method{episode.MethodPhone, episode.MethodLetter, episode.MethodVisit, episode.MethodPhone} {
		d := time.Duration(i+1) * time.Hour
		h.attempt(d, m, episode.OutcomeNoAnswer)
		h.env.RegisterDelayedCallback(func() {
			v, err := h.env.QueryWorkflow(QueryState)
			if err != nil {
				t.Errorf("query: %v", err)
				return
			}
			var s episode.State
			if err := v.Get(&s); err != nil {
				t.Errorf("decoding state: %v", err)
				return
			}
			plans = append(plans, *s.NextContact)
		}, d+time.Minute)
	}
	h.close(10 * time.Hour)
	s := h.run(in)

	want := []episode.Method{episode.MethodLetter, episode.MethodVisit, episode.MethodPhone, episode.MethodLetter}
	if len(plans) != len(want) {
		t.Fatalf("saw %d plans, want %d", len(plans), len(want))
	}
	for i, p := range plans {
		if p.Method != want[i] {
			t.Errorf("after attempt %d next method = %s, want %s", i+1, p.Method, want[i])
		}
		if wantDue := t0.Add(time.Duration(i+1)*time.Hour + in.Policy.ContactSpacing); !p.DueAt.Equal(wantDue) {
			t.Errorf("after attempt %d next due %s, want %s", i+1, p.DueAt, wantDue)
		}
	}
	if len(s.ContactAttempts) != 4 || s.FailedAttempts != 4 {
		t.Errorf("attempts = %d failed = %d", len(s.ContactAttempts), s.FailedAttempts)
	}
}

func TestWrongDetailsDropsTheMethod(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, episode.ContactDetails{ChildMobile: "07700 900000", Address: "1 Example Street"})
	in.Policy.MaxContactAttempts = 10
	h.attempt(time.Hour, episode.MethodPhone, episode.OutcomeWrongDetails) // the mobile number is wrong
	h.attempt(2*time.Hour, episode.MethodText, episode.OutcomeNoReply)
	h.attempt(3*time.Hour, episode.MethodLetter, episode.OutcomeNoReply)
	h.attempt(4*time.Hour, episode.MethodVisit, episode.OutcomeNoAnswer)
	var next episode.Method
	h.env.RegisterDelayedCallback(func() {
		v, _ := h.env.QueryWorkflow(QueryState)
		var s episode.State
		if err := v.Get(&s); err == nil && s.NextContact != nil {
			next = s.NextContact.Method
		}
	}, 4*time.Hour+time.Minute)
	h.close(5 * time.Hour)
	h.run(in)
	// Phone proved wrong, so after the visit the rotation goes on to text.
	if next != episode.MethodText {
		t.Errorf("next method after visit = %q, want text (phone details are wrong)", next)
	}
}

func TestAttemptsExhaustedEscalatesUnableToContact(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	in.Policy.MaxContactAttempts = 3
	h.attempt(1*time.Hour, episode.MethodPhone, episode.OutcomeNoAnswer)
	h.attempt(6*time.Hour, episode.MethodText, episode.OutcomeNoReply)
	h.attempt(11*time.Hour, episode.MethodLetter, episode.OutcomeNoReply)
	h.close(100 * time.Hour)
	s := h.run(in)

	e := h.rec.escalation(t, episode.EscalationUnableToContact)
	if !e.At.Equal(t0.Add(11 * time.Hour)) {
		t.Errorf("unable to contact sent at %s, want when the last attempt failed", e.At)
	}
	count := 0
	for _, k := range h.rec.kinds() {
		if k == episode.EscalationUnableToContact {
			count++
		}
	}
	if count != 1 {
		t.Errorf("unable-to-contact sent %d times, want once", count)
	}
	if s.Closure == nil {
		t.Errorf("episode should have been closed by the coordinator")
	}
}

func TestReminderWhenAttemptNotRecorded(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	in.AssignedInterviewer = "interviewer-1"
	h.attempt(30*time.Minute, episode.MethodPhone, episode.OutcomeNoAnswer)
	// The text is due at +4h30m; nobody records it. A later assignment must
	// not repeat the reminder.
	h.at(8*time.Hour, episode.Event{Type: episode.EventAssignment, Actor: "coordinator-1", Assignment: &episode.Assignment{InterviewerID: "interviewer-1"}})
	h.close(12 * time.Hour)
	h.run(in)

	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	if len(h.rec.reminders) != 1 {
		t.Fatalf("reminders = %+v, want one", h.rec.reminders)
	}
	r := h.rec.reminders[0]
	if r.Contact.Method != episode.MethodText || r.Attempt != 2 || r.InterviewerID != "interviewer-1" {
		t.Errorf("reminder = %+v, want attempt 2 by text to the assigned interviewer", r)
	}
}

func TestDeclinedThenReoffered(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	h.attempt(time.Hour, episode.MethodText, episode.OutcomeReachedDeclined)
	var between episode.State
	h.env.RegisterDelayedCallback(func() {
		v, _ := h.env.QueryWorkflow(QueryState)
		_ = v.Get(&between)
	}, 2*time.Hour)
	h.attempt(time.Hour+72*time.Hour, episode.MethodText, episode.OutcomeReachedOffered)
	h.close(80 * time.Hour)
	s := h.run(in)

	if between.Status != episode.StatusReofferPending || between.NextContact == nil ||
		!between.NextContact.DueAt.Equal(t0.Add(time.Hour+in.Policy.ReofferInterval)) || between.NextContact.Purpose != "reoffer" {
		t.Errorf("after decline: status %s next %+v, want a re-offer due after the interval", between.Status, between.NextContact)
	}
	if s.OfferMadeAt == nil || !s.OfferMadeAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("offer made at %v: the duty is met by the first (declined) offer", s.OfferMadeAt)
	}
	if s.Offers != 2 || s.Declines != 1 {
		t.Errorf("offers %d declines %d", s.Offers, s.Declines)
	}
	if got := h.rec.kinds(); len(got) != 0 {
		t.Errorf("escalations = %v: a declined offer meets the duty", got)
	}
}

func TestDeclinedEveryOfferEndsDeclined(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	in.Policy.ReofferCount = 2
	for i := 0; i < 3; i++ {
		h.attempt(time.Duration(i)*80*time.Hour+time.Hour, episode.MethodPhone, episode.OutcomeReachedDeclined)
	}
	s := h.run(in)
	if s.Status != episode.StatusDeclined || s.Declines != 3 || s.EndedAt == nil {
		t.Errorf("status %s declines %d ended %v, want declined after 3 declines", s.Status, s.Declines, s.EndedAt)
	}
}

func TestInterviewRescheduled(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	h.attempt(time.Hour, episode.MethodPhone, episode.OutcomeReachedOffered)
	h.at(2*time.Hour, episode.Event{Type: episode.EventInterview, Interview: &episode.InterviewUpdate{Outcome: episode.InterviewScheduled, ScheduledFor: ptr(t0.Add(24 * time.Hour))}})
	h.at(3*time.Hour, episode.Event{Type: episode.EventInterview, Interview: &episode.InterviewUpdate{Outcome: episode.InterviewRescheduled, ScheduledFor: ptr(t0.Add(48 * time.Hour))}})
	h.at(49*time.Hour, episode.Event{Type: episode.EventInterview, Interview: &episode.InterviewUpdate{Outcome: episode.InterviewDidNotAttend}})
	h.at(50*time.Hour, episode.Event{Type: episode.EventInterview, Interview: &episode.InterviewUpdate{Outcome: episode.InterviewScheduled, ScheduledFor: ptr(t0.Add(70 * time.Hour))}})
	h.at(71*time.Hour, episode.Event{Type: episode.EventInterview, Interview: held(t0.Add(70*time.Hour), false)})
	h.close(72 * time.Hour)
	s := h.run(in)

	iv := s.Interview
	if iv == nil || iv.Status != episode.InterviewHeld || iv.Reschedules != 1 || iv.Missed != 1 || len(iv.History) != 5 {
		t.Fatalf("interview = %+v", iv)
	}
}

func TestSafeguardingConcernEscalatesAtOnce(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	h.attempt(time.Hour, episode.MethodPhone, episode.OutcomeReachedOffered)
	h.at(5*time.Hour, episode.Event{Type: episode.EventInterview, Interview: held(t0.Add(4*time.Hour), true)})
	// An agreement that does not share the concern is refused by the episode.
	refused := h.at(6*time.Hour, episode.Event{Type: episode.EventAgreement, Agreement: &episode.Agreement{ConfidentialityExplained: true,
		SharedWith: []episode.Sharing{{Party: episode.PartySchool, What: "attendance"}}}})
	h.close(7 * time.Hour)
	s := h.run(in)

	e := h.rec.escalation(t, episode.EscalationSafeguardingConcern)
	if !e.At.Equal(t0.Add(5 * time.Hour)) {
		t.Errorf("safeguarding escalation at %s, want the moment it was recorded", e.At)
	}
	if s.Agreement != nil {
		t.Errorf("an agreement that withholds a safeguarding concern was applied")
	}
	_, err := h.result(refused)
	field, reason := problemOf(t, err, ErrInvalid)
	if field != "shared_with" || !strings.Contains(reason, "safeguarding") {
		t.Errorf("refusal names %s: %s, want shared_with and the safeguarding rule", field, reason)
	}
}

// problemOf checks err is the episode's refusal of type typ and returns
// the field and reason it names.
func problemOf(t *testing.T, err error, typ string) (field, reason string) {
	t.Helper()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != typ {
		t.Fatalf("error = %v, want the episode's %s refusal", err, typ)
	}
	if err := appErr.Details(&field, &reason); err != nil {
		t.Fatalf("refusal details: %v", err)
	}
	return field, reason
}

func TestFollowUpOverdue(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	heldAt := t0.Add(10 * time.Hour)
	h.attempt(time.Hour, episode.MethodPhone, episode.OutcomeReachedOffered)
	h.at(11*time.Hour, episode.Event{Type: episode.EventInterview, Interview: held(heldAt, false)})
	h.at(12*time.Hour, episode.Event{Type: episode.EventAgreement, Agreement: agreement()})
	h.at(20*24*time.Hour, episode.Event{Type: episode.EventFollowUp, FollowUp: &episode.FollowUpRecord{CompletedAt: t0.Add(20 * 24 * time.Hour), Outcome: "late but done"}})
	s := h.run(in)

	e := h.rec.escalation(t, episode.EscalationFollowUpOverdue)
	if want := heldAt.Add(7*24*time.Hour + in.Policy.FollowUpGrace); !e.At.Equal(want) {
		t.Errorf("overdue escalation at %s, want %s (a week plus grace)", e.At, want)
	}
	if s.Status != episode.StatusCompleted {
		t.Errorf("status %s", s.Status)
	}
}

func TestEarlyClosureStopsEveryTimer(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	// The closure and an outcome arrive together: the outcome is refused.
	h.env.RegisterDelayedCallback(func() {
		// Signals: outcomes as an API of the time before updates sent them.
		h.env.SignalWorkflow(SignalEvent, episode.Event{Type: episode.EventClosure, Actor: "coordinator-1", RecordedAt: h.env.Now(),
			Closure: &episode.ClosureRequest{Reason: episode.ClosureOpenedInError}})
		h.env.SignalWorkflow(SignalEvent, episode.Event{Type: episode.EventAssignment, Actor: "coordinator-1", RecordedAt: h.env.Now(),
			Assignment: &episode.Assignment{InterviewerID: "interviewer-2"}})
	}, 10*time.Minute)
	s := h.run(in)
	if s.AssignedInterviewer != "" {
		t.Errorf("an outcome after closure was applied: assigned %q", s.AssignedInterviewer)
	}
	if last := s.Timeline[len(s.Timeline)-1]; last.Type != "rejected" {
		t.Errorf("last timeline entry = %+v, want the refused outcome", last)
	}

	if got := h.rec.kinds(); len(got) != 0 {
		t.Errorf("escalations after closure: %v", got)
	}
	if len(h.rec.reminders) != 0 {
		t.Errorf("reminders after closure: %v", h.rec.reminders)
	}
	if s.Status != episode.StatusClosed || s.Closure == nil || s.Closure.Reason != episode.ClosureOpenedInError {
		t.Errorf("closure = %+v status %s", s.Closure, s.Status)
	}
	if d := h.env.Now().Sub(t0); d > time.Hour {
		t.Errorf("workflow ran on for %s after closure: a timer was left running", d)
	}
}

// The statutory 72 hours are elapsed hours, also across the clock changes.
func TestDeadlineAcrossClockChanges(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name         string
		returned     time.Time
		wantDeadline time.Time // wall clock in London
	}{
		// Clocks go back at 02:00 BST on Sunday 25 October 2026.
		{"october", time.Date(2026, 10, 24, 12, 0, 0, 0, london), time.Date(2026, 10, 27, 11, 0, 0, 0, london)},
		// Clocks go forward at 01:00 GMT on Sunday 29 March 2026.
		{"march", time.Date(2026, 3, 28, 12, 0, 0, 0, london), time.Date(2026, 3, 31, 13, 0, 0, 0, london)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.returned)
			in := input(c.returned, fullContact)
			h.close(100 * time.Hour)
			s := h.run(in)
			if !s.OfferDeadline.Equal(c.wantDeadline) || s.OfferDeadline.Location() != time.UTC {
				t.Errorf("deadline = %s, want %s in UTC", s.OfferDeadline, c.wantDeadline.UTC())
			}
			if got := s.OfferDeadline.Sub(c.returned); got != 72*time.Hour {
				t.Errorf("deadline is %s after return, want 72h elapsed", got)
			}
			b := h.rec.escalation(t, episode.EscalationDeadlineBreached)
			if !b.At.Equal(c.wantDeadline) {
				t.Errorf("breach at %s, want %s", b.At.In(london), c.wantDeadline)
			}
		})
	}
}

func TestPolicyIsFixedAtStart(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	in.Policy.OfferWindow = 48 * time.Hour
	in.Policy.DeadlineWarningLead = 12 * time.Hour
	h.close(60 * time.Hour)
	s := h.run(in)
	if !s.OfferDeadline.Equal(t0.Add(48*time.Hour)) || s.Policy.OfferWindow != 48*time.Hour {
		t.Errorf("deadline %s policy %+v, want the episode's own policy", s.OfferDeadline, s.Policy)
	}
	if w := h.rec.escalation(t, episode.EscalationDeadlineWarning); !w.At.Equal(t0.Add(36 * time.Hour)) {
		t.Errorf("warning at %s", w.At)
	}
}

func TestRecordsKeepUp(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	h.attempt(time.Hour, episode.MethodPhone, episode.OutcomeNoAnswer)
	h.close(2 * time.Hour)
	s := h.run(in)
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	if h.rec.saves[0].Referral == nil {
		t.Errorf("the first save did not carry the referral")
	}
	for i := 1; i < len(h.rec.saves); i++ {
		if h.rec.saves[i].Referral != nil {
			t.Errorf("save %d repeated the referral", i)
		}
		if h.rec.saves[i].State.Version <= h.rec.saves[i-1].State.Version {
			t.Errorf("save %d went backwards: %d after %d", i, h.rec.saves[i].State.Version, h.rec.saves[i-1].State.Version)
		}
	}
	if s.Version != h.rec.saves[len(h.rec.saves)-1].State.Version {
		t.Errorf("the last state was not saved")
	}
}

func ptr[T any](v T) *T { return &v }
