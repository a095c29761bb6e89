package episode

import (
	"fmt"
	"strings"
	"time"
)

// State is the whole process state of one episode. The workflow owns it;
// PostgreSQL holds a projection of it.
type State struct {
	EpisodeID           string         `json:"episode_id"`
	Reference           string         `json:"reference"`
	Status              Status         `json:"status"`
	OpenedAt            time.Time      `json:"opened_at"`
	OpenedBy            string         `json:"opened_by"`
	ReturnedAt          time.Time      `json:"returned_at"`
	OfferDeadline       time.Time      `json:"offer_deadline"`
	OfferMadeAt         *time.Time     `json:"offer_made_at,omitempty"`
	OfferWithinDeadline *bool          `json:"offer_within_deadline,omitempty"`
	Offers              int            `json:"offers"`
	Declines            int            `json:"declines"`
	AssignedInterviewer string         `json:"assigned_interviewer,omitempty"`
	Contact             ContactDetails `json:"contact"` // what the contact plan can use
	// ContactAttempts, Timeline and Interview.History hold the entries not
	// yet written to the case records; the counts and LastAttemptAt keep
	// what the rules need of those already written (see ForgetSaved).
	ContactAttempts []ContactAttempt `json:"contact_attempts"`
	AttemptCount    int              `json:"attempt_count"`
	LastAttemptAt   *time.Time       `json:"last_attempt_at,omitempty"`
	FailedAttempts  int              `json:"failed_attempts"` // consecutive, since the child was last reached
	UnusableMethods []Method         `json:"unusable_methods,omitempty"`
	NextContact     *NextContact     `json:"next_contact,omitempty"`
	Interview       *Interview       `json:"interview,omitempty"`
	Agreement       *Agreement       `json:"agreement,omitempty"`
	FollowUp        *FollowUp        `json:"follow_up,omitempty"`
	Closure         *Closure         `json:"closure,omitempty"`
	ActionPlan      *ActionPlan      `json:"action_plan,omitempty"`
	Report          *ReturnReport    `json:"report,omitempty"`
	LetterGivenAt   *time.Time       `json:"letter_given_at,omitempty"`
	// CarersAccounts holds the accounts not yet written to the case
	// records; CarersAccountCount counts them all.
	CarersAccounts     []CarersAccountEntry `json:"carers_accounts,omitempty"`
	CarersAccountCount int                  `json:"carers_account_count,omitempty"`
	EndedAt            *time.Time           `json:"ended_at,omitempty"`
	Escalations        []Escalation         `json:"escalations"`
	Timeline           []TimelineEntry      `json:"timeline"`
	TimelineCount      int                  `json:"timeline_count"`
	Policy             Policy               `json:"policy"`
	// Version grows with every change, so a projection never goes backwards.
	Version int `json:"version"`

	// CommissionerID is the commissioner the episode belongs to, fixed when
	// it opens; it decides who may see it. Empty only for episodes opened
	// before commissioners existed.
	CommissionerID string `json:"commissioner_id,omitempty"`

	// ReceivedAt is when the referral reached Homeward (the API's receipt),
	// which may be earlier than OpenedAt when no worker ran for a while.
	// Zero for episodes opened before it was recorded: OpenedAt stands in.
	ReceivedAt time.Time `json:"received_at,omitempty"`

	// WorkerGenderPreference is the worker gender the child asked for, as
	// the referral gave it ("" for none).
	WorkerGenderPreference string `json:"worker_gender_preference,omitempty"`
	// AssignmentOverride is the latest assignment made against it.
	AssignmentOverride *AssignmentOverride `json:"assignment_override,omitempty"`
}

// Reference is the short, non-identifying reference staff and emails use.
func Reference(episodeID string) string {
	id := strings.ReplaceAll(episodeID, "-", "")
	if len(id) > 8 {
		id = id[:8]
	}
	return "HW-" + strings.ToUpper(id)
}

// OfferDeadline is the absolute instant by which the offer must be made:
// measured from the return, not from when the referral arrived.
func OfferDeadline(returnedAt time.Time, p Policy) time.Time {
	return returnedAt.UTC().Add(p.OfferWindow)
}

// New opens an episode at now.
func New(id string, r Referral, p Policy, openedBy string, now time.Time) *State {
	now = now.UTC()
	s := &State{
		EpisodeID:              id,
		Reference:              Reference(id),
		Status:                 StatusAwaitingContact,
		OpenedAt:               now,
		OpenedBy:               openedBy,
		ReturnedAt:             r.ReturnedAt.UTC(),
		OfferDeadline:          OfferDeadline(r.ReturnedAt, p),
		Contact:                r.Contact,
		WorkerGenderPreference: strings.TrimSpace(r.Preferences.WorkerGender),
		ContactAttempts:        []ContactAttempt{},
		Escalations:            []Escalation{},
		Timeline:               []TimelineEntry{},
		Policy:                 p,
	}
	s.note(now, "opened", fmt.Sprintf("Episode opened; offer deadline %s", s.OfferDeadline.Format(time.RFC3339)), openedBy)
	if m := s.nextMethod(""); m != "" {
		s.NextContact = &NextContact{Method: m, DueAt: now, Purpose: "first_contact"}
	}
	return s
}

func (s *State) touch() { s.Version++ }

func (s *State) note(at time.Time, typ, summary, actor string) {
	s.TimelineCount++
	s.Timeline = append(s.Timeline, TimelineEntry{Seq: s.TimelineCount, At: at.UTC(), Type: typ, Summary: summary, Actor: actor})
	s.touch()
}

// Problem is why an event cannot be applied. Conflict means the input is
// well formed but the episode is not in a state that accepts it.
type Problem struct {
	Conflict bool
	Field    string
	Reason   string
}

func (p *Problem) Error() string { return p.Field + ": " + p.Reason }

func conflict(field, format string, a ...any) *Problem {
	return &Problem{Conflict: true, Field: field, Reason: fmt.Sprintf(format, a...)}
}

func invalid(field, format string, a ...any) *Problem {
	return &Problem{Field: field, Reason: fmt.Sprintf(format, a...)}
}

// Check tells whether ev can be applied now: the event on its own
// (Validate), who sent it, and the event against the episode. It is the
// validator of every outcome the episode receives.
func (s *State) Check(ev Event) *Problem {
	if ps := ev.Validate(); len(ps) > 0 {
		return ps[0]
	}
	if !s.Status.Open() {
		return conflict("status", "the episode is %s and accepts no more outcomes", s.Status)
	}
	takingOver := ev.Type == EventSharedInterview && ev.Shared != nil && ev.Shared.TakeOver
	if ev.ActorRole == RoleInterviewer && ev.Type != EventAssignment && !takingOver && s.AssignedInterviewer != ev.Actor {
		return conflict(FieldAssignedInterviewer, "the episode is not assigned to you")
	}
	if ev.Type == EventAssignment {
		if p := WorkerGenderProblem(s.WorkerGenderPreference, *ev.Assignment); p != nil {
			return p
		}
	}
	if takingOver && s.AssignedInterviewer != ev.Actor {
		taker := Assignment{InterviewerID: ev.Actor, InterviewerGender: ev.Shared.TakerGender}
		if WorkerGenderProblem(s.WorkerGenderPreference, taker) != nil {
			return conflict("take_over", "the child asked for a %s worker in episode %s: leave take_over out, or ask a coordinator to assign it",
				s.WorkerGenderPreference, s.Reference)
		}
	}
	return s.CheckSignalled(ev)
}

// CheckSignalled checks ev against the episode only. Outcomes that arrived
// as signals (before outcomes were updates) were validated by the API of
// their day and are checked with this alone, so that they replay as they
// ran.
func (s *State) CheckSignalled(ev Event) *Problem {
	if !s.Status.Open() {
		return conflict("status", "the episode is %s and accepts no more outcomes", s.Status)
	}
	switch ev.Type {
	case EventAssignment:
		if ev.Assignment == nil || ev.Assignment.InterviewerID == "" {
			return invalid("interviewer_id", "is required")
		}
		return nil
	case EventClosure:
		if ev.Closure == nil {
			return invalid("reason", "is required")
		}
		return nil
	case EventContactAttempt:
		return s.checkAttempt(ev.Attempt)
	case EventInterview:
		return s.checkInterview(ev.Interview)
	case EventAgreement:
		return s.checkAgreement(ev.Agreement)
	case EventFollowUp:
		return s.checkFollowUp(ev.FollowUp)
	case EventActionPlan:
		return s.checkActionPlan(ev.ActionPlan)
	case EventSharedInterview:
		return s.checkShared(ev.Shared)
	case EventCarersAccount:
		return s.checkCarersAccount(ev.Carers)
	case EventReportAcknowledgement:
		return s.checkReportAcknowledgement()
	case EventReportApproval:
		return s.checkReportApproval()
	case EventLetterGiven:
		return s.checkLetterGiven()
	}
	return invalid("type", "unknown event type %q", ev.Type)
}

func (s *State) checkAttempt(a *AttemptInput) *Problem {
	if a == nil {
		return invalid("method", "is required")
	}
	switch s.Status {
	case StatusAwaitingContact, StatusUnableToContact, StatusReofferPending:
	default:
		return conflict("outcome", "the interview has already been offered and accepted (status %s); record the interview instead", s.Status)
	}
	if a.AttemptedAt.Before(s.ReturnedAt) {
		return invalid("attempted_at", "is before the child returned (%s)", s.ReturnedAt.Format(time.RFC3339))
	}
	if last := s.LastAttemptAt; last != nil && a.AttemptedAt.Before(*last) {
		return invalid("attempted_at", "is before the previous contact attempt (%s)", last.Format(time.RFC3339))
	}
	return nil
}

func (s *State) checkInterview(u *InterviewUpdate) *Problem {
	if u == nil {
		return invalid("outcome", "is required")
	}
	switch u.Outcome {
	case InterviewScheduled:
		if s.Status != StatusOfferAccepted && s.Status != StatusInterviewScheduled {
			return s.notOffered()
		}
	case InterviewRescheduled, InterviewDidNotAttend:
		if s.Status != StatusInterviewScheduled {
			return conflict("outcome", "no interview is scheduled (status %s)", s.Status)
		}
	case InterviewHeld:
		if s.Status != StatusOfferAccepted && s.Status != StatusInterviewScheduled {
			if s.Status == StatusInterviewHeld || s.Status == StatusFollowUpDue {
				return conflict("outcome", "the interview has already been held")
			}
			return s.notOffered()
		}
		if u.HeldAt == nil {
			return invalid("held_at", "is required when the interview was held")
		}
		if u.HeldAt.Before(s.ReturnedAt) {
			return invalid("held_at", "is before the child returned (%s)", s.ReturnedAt.Format(time.RFC3339))
		}
		if u.Record == nil {
			return invalid("record", "is required when the interview was held")
		}
	default:
		return invalid("outcome", "must be one of scheduled, rescheduled, did_not_attend, held")
	}
	if (u.Outcome == InterviewScheduled || u.Outcome == InterviewRescheduled) && u.ScheduledFor == nil {
		return invalid("scheduled_for", "is required when the interview is scheduled")
	}
	return nil
}

func (s *State) notOffered() *Problem {
	return conflict("outcome", "the interview has not been offered and accepted yet (status %s); record a contact attempt with outcome reached_offered first", s.Status)
}

func (s *State) checkAgreement(a *Agreement) *Problem {
	if a == nil {
		return invalid("shared_with", "is required")
	}
	switch s.Status {
	case StatusInterviewHeld:
	case StatusFollowUpDue:
		return conflict("agreement", "the agreement has already been recorded")
	default:
		return conflict("agreement", "an agreement can only be recorded after a held interview (status %s)", s.Status)
	}
	if s.Interview != nil && s.Interview.Record != nil && s.Interview.Record.SafeguardingConcern {
		shared := false
		for _, sh := range a.SharedWith {
			if sh.Party == PartySocialWorker || sh.Party == PartyPolice {
				shared = true
			}
		}
		if !shared {
			return invalid("shared_with", "a safeguarding concern was recorded and is always shared: include the social worker or the police")
		}
	}
	return nil
}

func (s *State) checkFollowUp(f *FollowUpRecord) *Problem {
	if f == nil {
		return invalid("completed_at", "is required")
	}
	switch s.Status {
	case StatusFollowUpDue:
	case StatusInterviewHeld:
		return conflict("follow_up", "record the agreement before the follow-up")
	default:
		return conflict("follow_up", "a follow-up can only be recorded after the interview and agreement (status %s)", s.Status)
	}
	if s.Interview != nil && s.Interview.HeldAt != nil && f.CompletedAt.Before(*s.Interview.HeldAt) {
		return invalid("completed_at", "is before the interview was held (%s)", s.Interview.HeldAt.Format(time.RFC3339))
	}
	return s.checkReviews(f.ActionReviews)
}

// Apply records ev, which Check has accepted, at now.
func (s *State) Apply(ev Event, now time.Time) {
	now = now.UTC()
	switch ev.Type {
	case EventAssignment:
		a := ev.Assignment
		s.AssignedInterviewer = a.InterviewerID
		if a.OverrideReason == "" {
			s.note(now, "assigned", "Interviewer assigned", ev.Actor)
			break
		}
		s.AssignmentOverride = &AssignmentOverride{InterviewerID: a.InterviewerID, Reason: a.OverrideReason, By: ev.Actor, At: now}
		s.note(now, "assigned", "Interviewer assigned against the child's preferred worker gender; the reason is recorded", ev.Actor)
	case EventClosure:
		s.Status = StatusClosed
		s.NextContact = nil
		s.Closure = &Closure{Reason: ev.Closure.Reason, Details: ev.Closure.Details, ClosedAt: now, ClosedBy: ev.Actor}
		s.EndedAt = &now
		s.note(now, "closed", "Closed early: "+strings.ReplaceAll(string(ev.Closure.Reason), "_", " "), ev.Actor)
	case EventContactAttempt:
		s.applyAttempt(*ev.Attempt, ev.Actor, now)
	case EventInterview:
		s.applyInterview(*ev.Interview, ev.Actor, now)
	case EventAgreement:
		a := *ev.Agreement
		a.RecordedBy, a.RecordedAt = ev.Actor, now
		s.Agreement = &a
		s.Status = StatusFollowUpDue
		s.note(now, "agreement", "Agreement recorded", ev.Actor)
	case EventFollowUp:
		f := ev.FollowUp
		completed := f.CompletedAt.UTC()
		s.FollowUp.CompletedAt = &completed
		s.FollowUp.ActionsTaken = f.ActionsTaken
		s.FollowUp.Outcome = f.Outcome
		s.FollowUp.RecordedBy = ev.Actor
		if !s.applyReviews(f.ActionReviews, completed) {
			// Actions not done keep the episode open for another follow-up.
			s.note(now, "follow_up", fmt.Sprintf("Follow-up recorded; %d actions not done, episode stays open", s.openActions()), ev.Actor)
			return
		}
		s.Status = StatusCompleted
		s.EndedAt = &now
		s.note(now, "follow_up", "Follow-up recorded; episode completed", ev.Actor)
	case EventActionPlan:
		s.applyActionPlan(*ev.ActionPlan, ev.Actor, now)
	case EventSharedInterview:
		s.applyShared(*ev.Shared, ev.Actor, now)
	case EventCarersAccount:
		s.applyCarersAccount(*ev.Carers, ev.Actor, now)
	case EventReportAcknowledgement:
		s.applyReportAcknowledgement(ev.Actor, now)
	case EventReportApproval:
		s.applyReportApproval(ev.Actor, now)
	case EventLetterGiven:
		s.applyLetterGiven(ev.Actor, now)
	}
}

func (s *State) applyAttempt(in AttemptInput, actor string, now time.Time) {
	at := in.AttemptedAt.UTC()
	s.AttemptCount++
	s.LastAttemptAt = &at
	s.ContactAttempts = append(s.ContactAttempts, ContactAttempt{
		Seq: s.AttemptCount, Method: in.Method, Outcome: in.Outcome,
		AttemptedAt: at, Notes: in.Notes, RecordedBy: actor, RecordedAt: now,
	})
	s.note(now, "contact_attempt", fmt.Sprintf("Contact attempt %d by %s: %s", s.AttemptCount, in.Method, strings.ReplaceAll(string(in.Outcome), "_", " ")), actor)

	if in.Outcome.Reached() {
		s.FailedAttempts = 0
		s.Offers++
		if s.OfferMadeAt == nil {
			s.OfferMadeAt = &at
			within := !at.After(s.OfferDeadline)
			s.OfferWithinDeadline = &within
			s.note(now, "offer_made", fmt.Sprintf("Interview offered (within deadline: %t)", within), actor)
		}
		if in.Outcome == OutcomeReachedOffered {
			s.Status = StatusOfferAccepted
			s.NextContact = nil
			return
		}
		s.Declines++
		if s.Declines > s.Policy.ReofferCount {
			s.Status = StatusDeclined
			s.NextContact = nil
			s.EndedAt = &now
			s.note(now, "declined", fmt.Sprintf("Child declined %d offers; episode ended as declined", s.Declines), actor)
			return
		}
		s.Status = StatusReofferPending
		// The method that reached the child is the best one to offer again by.
		s.NextContact = &NextContact{Method: in.Method, DueAt: at.Add(s.Policy.ReofferInterval), Purpose: "reoffer"}
		return
	}

	s.FailedAttempts++
	if in.Outcome == OutcomeWrongDetails && !s.unusable(in.Method) {
		s.UnusableMethods = append(s.UnusableMethods, in.Method)
	}
	next := s.nextMethod(in.Method)
	if s.FailedAttempts >= s.Policy.MaxContactAttempts || next == "" {
		s.NextContact = nil
		if s.OfferMadeAt == nil {
			s.Status = StatusUnableToContact
		} else {
			// The offer was made and declined; the child cannot be reached to offer again.
			s.Status = StatusDeclined
			s.EndedAt = &now
			s.note(now, "declined", "Child declined and could not be reached to offer again; episode ended as declined", actor)
		}
		return
	}
	purpose := "retry"
	if s.Status == StatusReofferPending {
		purpose = "reoffer"
	}
	s.NextContact = &NextContact{Method: next, DueAt: at.Add(s.Policy.ContactSpacing), Purpose: purpose}
}

func (s *State) unusable(m Method) bool {
	for _, u := range s.UnusableMethods {
		if u == m {
			return true
		}
	}
	return false
}

// nextMethod picks the method after last in the rotation that the child has
// details for and that has not proved wrong; it repeats last only when no
// other method is left.
func (s *State) nextMethod(last Method) Method {
	start := 0
	for i, m := range Methods {
		if m == last {
			start = i + 1
		}
	}
	for i := 0; i < len(Methods); i++ {
		m := Methods[(start+i)%len(Methods)]
		if m != last && s.Contact.Has(m) && !s.unusable(m) {
			return m
		}
	}
	if last != "" && s.Contact.Has(last) && !s.unusable(last) {
		return last
	}
	return ""
}

func (s *State) applyInterview(u InterviewUpdate, actor string, now time.Time) {
	if s.Interview == nil {
		s.Interview = &Interview{}
	}
	iv := s.Interview
	iv.Entries++
	iv.History = append(iv.History, InterviewEntry{Seq: iv.Entries, Update: u, RecordedBy: actor, RecordedAt: now})
	if u.Venue != "" {
		iv.Venue = u.Venue
	}
	switch u.Outcome {
	case InterviewScheduled, InterviewRescheduled:
		if iv.Status == InterviewScheduled {
			iv.Reschedules++
		}
		when := u.ScheduledFor.UTC()
		iv.Status, iv.ScheduledFor = InterviewScheduled, &when
		s.Status = StatusInterviewScheduled
		s.note(now, "interview_scheduled", "Interview scheduled for "+when.Format(time.RFC3339), actor)
	case InterviewDidNotAttend:
		iv.Status = InterviewDidNotAttend
		iv.Missed++
		s.Status = StatusOfferAccepted
		s.note(now, "interview_missed", "Child did not attend the interview; to be rescheduled", actor)
	case InterviewHeld:
		held := u.HeldAt.UTC()
		iv.Status, iv.HeldAt, iv.Record = InterviewHeld, &held, u.Record
		iv.Covers = u.Covers
		s.Status = StatusInterviewHeld
		due := held.Add(s.Policy.FollowUpDelay)
		s.FollowUp = &FollowUp{DueAt: due, OverdueAt: due.Add(s.Policy.FollowUpGrace)}
		s.note(now, "interview_held", "Interview held; follow-up due "+due.Format(time.RFC3339), actor)
	}
}

// Reject records that an event could not be applied, so nothing the API
// accepted disappears without trace.
func (s *State) Reject(ev Event, p *Problem, now time.Time) {
	s.note(now, "rejected", fmt.Sprintf("%s not applied: %s", strings.ReplaceAll(string(ev.Type), "_", " "), p.Reason), ev.Actor)
}

// HasEscalation reports whether kind was already raised.
func (s *State) HasEscalation(kind EscalationKind) bool {
	for _, e := range s.Escalations {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

// escalationFor finds the escalation of kind for action (0 for the kinds
// raised once per episode).
func (s *State) escalationFor(kind EscalationKind, action int) *Escalation {
	for i := range s.Escalations {
		if s.Escalations[i].Kind == kind && s.Escalations[i].Action == action {
			return &s.Escalations[i]
		}
	}
	return nil
}

// Due returns the escalations that are due at now and not yet raised, and
// raises them. Each kind is raised at most once per episode (an overdue
// action once per action).
func (s *State) Due(now time.Time) []Escalation {
	now = now.UTC()
	var due []Escalation
	raiseFor := func(kind EscalationKind, action int, dueAt time.Time, reason string) {
		e := Escalation{Kind: kind, Action: action, Reason: reason, DueAt: dueAt, TriggeredAt: now}
		s.Escalations = append(s.Escalations, e)
		s.note(now, "escalation", "Escalated to managers: "+escalationName(kind, action), "")
		due = append(due, e)
	}
	raise := func(kind EscalationKind, dueAt time.Time, reason string) { raiseFor(kind, 0, dueAt, reason) }
	if !s.Status.Open() {
		return nil
	}
	if s.OfferMadeAt == nil && !s.HasEscalation(EscalationDeadlineBreached) {
		if !now.Before(s.OfferDeadline) {
			raise(EscalationDeadlineBreached, s.OfferDeadline, s.breachReason())
		} else if !s.HasEscalation(EscalationDeadlineWarning) && !now.Before(s.warningAt()) {
			raise(EscalationDeadlineWarning, s.OfferDeadline, "no offer made with "+remaining(s.OfferDeadline.Sub(now))+" left")
		}
	}
	if s.Status == StatusUnableToContact && !s.HasEscalation(EscalationUnableToContact) {
		raise(EscalationUnableToContact, s.OfferDeadline, fmt.Sprintf("%d contact attempts without reaching the child", s.FailedAttempts))
	}
	if iv := s.Interview; iv != nil && iv.Record != nil && iv.Record.SafeguardingConcern && !s.HasEscalation(EscalationSafeguardingConcern) {
		raise(EscalationSafeguardingConcern, *iv.HeldAt, "safeguarding concern disclosed at interview")
	}
	if f := s.FollowUp; f != nil && f.CompletedAt == nil && !now.Before(f.OverdueAt) && !s.HasEscalation(EscalationFollowUpOverdue) {
		raise(EscalationFollowUpOverdue, f.DueAt, "follow-up not recorded")
	}
	s.dueActions(now, raiseFor)
	s.dueReport(now, raise)
	return due
}

// escalationName is the escalation as the timeline says it.
func escalationName(kind EscalationKind, action int) string {
	name := strings.ReplaceAll(string(kind), "_", " ")
	if action > 0 {
		name += fmt.Sprintf(" (action %d)", action)
	}
	return name
}

// receivedAt is when the referral reached Homeward.
func (s *State) receivedAt() time.Time {
	if s.ReceivedAt.IsZero() {
		return s.OpenedAt
	}
	return s.ReceivedAt
}

func (s *State) warningAt() time.Time { return s.OfferDeadline.Add(-s.Policy.DeadlineWarningLead) }

// breachReason gives the reason commissioners report breaches by.
func (s *State) breachReason() string {
	switch {
	case !s.receivedAt().Before(s.OfferDeadline):
		return "late_notification"
	case s.AttemptCount == 0:
		return "no_contact_attempted"
	default:
		return "no_contact"
	}
}

// DueReminder returns the contact plan whose reminder is due at now and
// marks it sent, or nil.
func (s *State) DueReminder(now time.Time) *NextContact {
	nc := s.NextContact
	if !s.Status.Open() || nc == nil || nc.ReminderSent || now.Before(nc.DueAt.Add(s.Policy.ContactReminderDelay)) {
		return nil
	}
	nc.ReminderSent = true
	s.note(now, "reminder", fmt.Sprintf("Reminder: %s contact attempt was due %s", nc.Method, nc.DueAt.Format(time.RFC3339)), "")
	copy := *nc
	return &copy
}

// NextWake is the next instant at which something becomes due, or the zero
// time when nothing will without a new event.
func (s *State) NextWake(now time.Time) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if !s.Status.Open() {
		return next
	}
	if s.OfferMadeAt == nil && !s.HasEscalation(EscalationDeadlineBreached) {
		if !s.HasEscalation(EscalationDeadlineWarning) {
			consider(s.warningAt())
		}
		consider(s.OfferDeadline)
	}
	if nc := s.NextContact; nc != nil && !nc.ReminderSent {
		consider(nc.DueAt.Add(s.Policy.ContactReminderDelay))
	}
	if f := s.FollowUp; f != nil && f.CompletedAt == nil && !s.HasEscalation(EscalationFollowUpOverdue) {
		consider(f.OverdueAt)
	}
	s.actionWakes(consider)
	s.reportWakes(consider)
	return next
}

// MarkEscalationSent records the outcome of sending an escalation (of
// action, for an overdue action; 0 otherwise).
func (s *State) MarkEscalationSent(kind EscalationKind, action int, sentAt time.Time, recipients int, now time.Time) {
	if e := s.escalationFor(kind, action); e != nil {
		at := sentAt.UTC()
		e.SentAt, e.Recipients = &at, recipients
		s.note(now, "escalation_sent", fmt.Sprintf("Escalation %s emailed to %d managers", escalationName(kind, action), recipients), "")
	}
}

// MarkEscalationFailed records that an escalation email could not be sent.
func (s *State) MarkEscalationFailed(kind EscalationKind, action int, now time.Time) {
	if e := s.escalationFor(kind, action); e != nil {
		e.Failed = true
		s.note(now, "escalation_failed", "Escalation "+escalationName(kind, action)+" could not be emailed", "")
	}
}

// remaining says how long is left in whole hours and minutes, as a person
// would say it.
func remaining(d time.Duration) string {
	if d < time.Minute {
		return "less than a minute"
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}

// WorkerGenderProblem refuses an assignment of an interviewer whose
// recorded gender is not the one the child asked for, unless the
// coordinator gives a reason. Recording a gender is optional: an
// interviewer who recorded none is not refused.
func WorkerGenderProblem(preferred string, a Assignment) *Problem {
	gender := strings.TrimSpace(a.InterviewerGender)
	if preferred == "" || gender == "" || strings.TrimSpace(a.OverrideReason) != "" || strings.EqualFold(gender, preferred) {
		return nil
	}
	return conflict("interviewer_id", "the child asked for a %s worker: choose another interviewer, or give override_reason", preferred)
}

// checkShared accepts a shared interview while this episode's own
// interview has not been held and the episode is open.
func (s *State) checkShared(sh *SharedInterview) *Problem {
	if sh == nil {
		return invalid("primary_episode_id", "is required")
	}
	switch s.Status {
	case StatusInterviewHeld, StatusFollowUpDue:
		return conflict("covers", "the interview of episode %s was already held", s.Reference)
	}
	if sh.HeldAt.Before(s.ReturnedAt) {
		return invalid("held_at", "is before the child returned in episode %s (%s)", s.Reference, s.ReturnedAt.Format(time.RFC3339))
	}
	return nil
}

// applyShared records the interview held on another episode of the child:
// the offer counts as made when it was held (if it was not made before),
// and the episode goes on to its own agreement and follow-up.
func (s *State) applyShared(sh SharedInterview, actor string, now time.Time) {
	if s.AssignedInterviewer != actor && sh.TakeOver {
		s.AssignedInterviewer = actor
		s.note(now, "assigned", "Taken over by the interviewer who held the shared interview", actor)
	}
	held := sh.HeldAt.UTC()
	if s.OfferMadeAt == nil {
		s.Offers++
		s.OfferMadeAt = &held
		within := !held.After(s.OfferDeadline)
		s.OfferWithinDeadline = &within
		s.note(now, "offer_made", fmt.Sprintf("Interview offered and held with episode %s (within deadline: %t)", sh.PrimaryReference, within), actor)
	}
	s.NextContact = nil
	s.applyInterview(InterviewUpdate{Outcome: InterviewHeld, HeldAt: &held, Venue: sh.Venue, Record: sh.Record}, actor, now)
	s.Interview.SharedFrom = sh.PrimaryReference
}
