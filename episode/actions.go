package episode

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The action plan is what the providers agree with the child after a held
// interview (the SMART "Better Safe Than Sorry" plan): who does what by
// when. Each open action's due date is a timer of the episode: the owner
// is reminded when it falls due and managers are told once it is still
// open after the policy's action grace. The follow-up reviews every
// action; the episode completes only when each is done or carried
// forward with a reason.

// ActionPlanInput is the plan as the interviewer records it.
type ActionPlanInput struct {
	Actions []ActionInput `json:"actions"`
}

// ActionInput is one action: what, who owns it, and by when.
type ActionInput struct {
	What  string `json:"what"`
	Owner string `json:"owner"` // an agency or a person
	// OwnerEmail is reminded when the action falls due; without it the
	// assigned interviewer is.
	OwnerEmail string    `json:"owner_email,omitempty"`
	DueAt      time.Time `json:"due_at"`
}

// ActionStatus is where one action stands.
type ActionStatus string

const (
	ActionOpen           ActionStatus = "open"
	ActionDone           ActionStatus = "done"
	ActionNotDone        ActionStatus = "not_done"
	ActionCarriedForward ActionStatus = "carried_forward"
)

// ActionReviewOutcomes are what a follow-up may say of an action.
var ActionReviewOutcomes = []ActionStatus{ActionDone, ActionNotDone, ActionCarriedForward}

// Settled reports whether the action no longer holds the episode open.
func (a ActionStatus) Settled() bool { return a == ActionDone || a == ActionCarriedForward }

// Action is one recorded action; Seq counts from 1 within the plan.
type Action struct {
	Seq        int          `json:"seq"`
	What       string       `json:"what"`
	Owner      string       `json:"owner"`
	OwnerEmail string       `json:"owner_email,omitempty"`
	DueAt      time.Time    `json:"due_at"`
	Status     ActionStatus `json:"status"`
	// Reason says why it was not done or was carried forward.
	Reason string `json:"reason,omitempty"`
	// CarriedForwardTo is the action's new date when carried forward.
	CarriedForwardTo *time.Time `json:"carried_forward_to,omitempty"`
	ReviewedAt       *time.Time `json:"reviewed_at,omitempty"`
	ReminderSent     bool       `json:"reminder_sent"`
}

// ActionPlan is the recorded plan.
type ActionPlan struct {
	Actions    []Action  `json:"actions"`
	RecordedBy string    `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at"`
}

// ActionReview is what the follow-up found of one action.
type ActionReview struct {
	Action           int          `json:"action"`
	Outcome          ActionStatus `json:"outcome"`
	Reason           string       `json:"reason,omitempty"`
	CarriedForwardTo *time.Time   `json:"carried_forward_to,omitempty"`
}

// CarersAccount is what parents or carers said of the time the child was
// away, recorded when the child declines or cannot be reached so that it
// is not lost.
type CarersAccount struct {
	GivenBy       string    `json:"given_by"`
	Relationship  string    `json:"relationship,omitempty"`
	GivenAt       time.Time `json:"given_at"`
	WhereChildWas string    `json:"where_child_was,omitempty"`
	WhoWith       string    `json:"who_with,omitempty"`
	Notes         string    `json:"notes,omitempty"`
}

// CarersAccountEntry is one recorded account; Seq counts from 1.
type CarersAccountEntry struct {
	Seq        int           `json:"seq"`
	Account    CarersAccount `json:"account"`
	RecordedBy string        `json:"recorded_by"`
	RecordedAt time.Time     `json:"recorded_at"`
}

func validateActionPlan(ps *Problems, p *ActionPlanInput) {
	if p == nil || len(p.Actions) == 0 {
		ps.add("actions", "is required: at least one action")
		return
	}
	if len(p.Actions) > MaxItems {
		ps.add("actions", "must have at most %d items", MaxItems)
		return
	}
	for i, a := range p.Actions {
		f := "actions[" + strconv.Itoa(i) + "]"
		if ps.required(f+".what", a.What) {
			ps.text(f+".what", a.What, MaxItemText)
		}
		if ps.required(f+".owner", a.Owner) {
			ps.text(f+".owner", a.Owner, MaxShortText)
		}
		ps.text(f+".owner_email", a.OwnerEmail, MaxShortText)
		if a.OwnerEmail != "" && !plainAddress(a.OwnerEmail) {
			ps.add(f+".owner_email", "must be an email address such as name@example.org")
		}
		if a.DueAt.IsZero() {
			ps.add(f+".due_at", "is required")
		}
	}
}

// plainAddress accepts a bare address: one @, no spaces, no display name.
func plainAddress(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t\r\n<>,;\"") &&
		!strings.Contains(domain, "@") && strings.Contains(domain, ".")
}

func validateReviews(ps *Problems, rs []ActionReview) {
	if len(rs) > MaxItems {
		ps.add("action_reviews", "must have at most %d items", MaxItems)
		return
	}
	seen := map[int]bool{}
	for i, r := range rs {
		f := "action_reviews[" + strconv.Itoa(i) + "]"
		switch {
		case r.Action < 1:
			ps.add(f+".action", "must be the number of an action of the plan (from 1)")
		case seen[r.Action]:
			ps.add(f+".action", "reviews action %d a second time", r.Action)
		}
		seen[r.Action] = true
		oneOf(ps, f+".outcome", r.Outcome, ActionReviewOutcomes)
		if r.Outcome == ActionNotDone || r.Outcome == ActionCarriedForward {
			ps.required(f+".reason", r.Reason)
		}
		ps.text(f+".reason", r.Reason, MaxItemText)
		if r.Outcome == ActionCarriedForward && r.CarriedForwardTo == nil {
			ps.add(f+".carried_forward_to", "is required when the action is carried forward")
		}
		if r.Outcome != ActionCarriedForward && r.CarriedForwardTo != nil {
			ps.add(f+".carried_forward_to", "is only for an action carried forward")
		}
	}
}

func validateCarersAccount(ps *Problems, a *CarersAccount, received time.Time) {
	if a == nil {
		ps.add("given_by", "is required")
		return
	}
	if ps.required("given_by", a.GivenBy) {
		ps.text("given_by", a.GivenBy, MaxShortText)
	}
	ps.text("relationship", a.Relationship, MaxShortText)
	ps.instant("given_at", a.GivenAt, received)
	ps.text("where_child_was", a.WhereChildWas, MaxText)
	ps.text("who_with", a.WhoWith, MaxText)
	ps.text("notes", a.Notes, MaxText)
	if strings.TrimSpace(a.WhereChildWas+a.WhoWith+a.Notes) == "" {
		ps.add("where_child_was", "is required unless who_with or notes say what the carers told")
	}
}

// checkActionPlan: a plan follows a held interview and may be recorded,
// once, until the follow-up completes the episode (before or after the
// agreement).
func (s *State) checkActionPlan(p *ActionPlanInput) *Problem {
	if p == nil {
		return invalid("actions", "is required")
	}
	switch s.Status {
	case StatusInterviewHeld, StatusFollowUpDue:
	default:
		return conflict("action_plan", "an action plan can only be recorded after a held interview (status %s)", s.Status)
	}
	if s.ActionPlan != nil {
		return conflict("action_plan", "the action plan has already been recorded")
	}
	held := *s.Interview.HeldAt
	for i, a := range p.Actions {
		if !a.DueAt.After(held) {
			return invalid(fmt.Sprintf("actions[%d].due_at", i), "must be after the interview was held (%s)", held.Format(time.RFC3339))
		}
	}
	return nil
}

// checkReviews: a follow-up reviews every action the plan still holds
// open, and no other; one not done needs a reason (Validate), one carried
// forward a later date.
func (s *State) checkReviews(rs []ActionReview) *Problem {
	if s.ActionPlan == nil {
		if len(rs) > 0 {
			return conflict("action_reviews", "no action plan was recorded")
		}
		return nil
	}
	reviewed := map[int]bool{}
	for i, r := range rs {
		f := fmt.Sprintf("action_reviews[%d]", i)
		a := s.action(r.Action)
		switch {
		case a == nil:
			return invalid(f+".action", "the plan has no action %d (it has %d)", r.Action, len(s.ActionPlan.Actions))
		case a.Status.Settled():
			return conflict(f+".action", "action %d was already reviewed as %s", r.Action, strings.ReplaceAll(string(a.Status), "_", " "))
		case r.CarriedForwardTo != nil && !r.CarriedForwardTo.After(a.DueAt):
			return invalid(f+".carried_forward_to", "must be after the action's due date (%s)", a.DueAt.Format(time.RFC3339))
		}
		reviewed[r.Action] = true
	}
	for _, a := range s.ActionPlan.Actions {
		if !a.Status.Settled() && !reviewed[a.Seq] {
			return invalid("action_reviews", "action %d is not reviewed: say whether it was done, not done (with a reason) or carried forward (with a new date and a reason)", a.Seq)
		}
	}
	return nil
}

// checkCarersAccount: carers' accounts are for the time before the child
// has been interviewed (not reached yet, unable to contact, an offer
// declined, the interview not yet held). A final decline ends the
// episode, so an account is recorded before it.
func (s *State) checkCarersAccount(a *CarersAccount) *Problem {
	if a == nil {
		return invalid("given_by", "is required")
	}
	switch s.Status {
	case StatusAwaitingContact, StatusUnableToContact, StatusReofferPending, StatusOfferAccepted, StatusInterviewScheduled:
	default:
		return conflict("carers_account", "a carers' account is recorded before the interview is held (status %s)", s.Status)
	}
	if s.CarersAccountCount >= MaxItems {
		return conflict("carers_account", "the episode already has %d carers' accounts, the most it keeps", MaxItems)
	}
	if a.GivenAt.Before(s.ReturnedAt) {
		return invalid("given_at", "is before the child returned (%s)", s.ReturnedAt.Format(time.RFC3339))
	}
	return nil
}

func (s *State) action(seq int) *Action {
	if s.ActionPlan == nil || seq < 1 || seq > len(s.ActionPlan.Actions) {
		return nil
	}
	return &s.ActionPlan.Actions[seq-1]
}

func (s *State) applyActionPlan(p ActionPlanInput, actor string, now time.Time) {
	plan := &ActionPlan{Actions: make([]Action, 0, len(p.Actions)), RecordedBy: actor, RecordedAt: now}
	for i, a := range p.Actions {
		plan.Actions = append(plan.Actions, Action{Seq: i + 1, What: a.What, Owner: a.Owner, OwnerEmail: a.OwnerEmail,
			DueAt: a.DueAt.UTC(), Status: ActionOpen})
	}
	s.ActionPlan = plan
	s.note(now, "action_plan", fmt.Sprintf("Action plan recorded: %d actions", len(plan.Actions)), actor)
}

// applyReviews records the follow-up's review of each action and tells
// whether every action is now settled.
func (s *State) applyReviews(rs []ActionReview, at time.Time) bool {
	if s.ActionPlan == nil {
		return true
	}
	for _, r := range rs {
		a := s.action(r.Action)
		a.Status, a.Reason, a.ReviewedAt = r.Outcome, r.Reason, &at
		if r.CarriedForwardTo != nil {
			to := r.CarriedForwardTo.UTC()
			a.CarriedForwardTo = &to
		}
	}
	return s.openActions() == 0
}

func (s *State) openActions() int {
	n := 0
	if s.ActionPlan != nil {
		for _, a := range s.ActionPlan.Actions {
			if !a.Status.Settled() {
				n++
			}
		}
	}
	return n
}

func (s *State) applyCarersAccount(a CarersAccount, actor string, now time.Time) {
	a.GivenAt = a.GivenAt.UTC()
	s.CarersAccountCount++
	s.CarersAccounts = append(s.CarersAccounts, CarersAccountEntry{Seq: s.CarersAccountCount, Account: a, RecordedBy: actor, RecordedAt: now})
	s.note(now, "carers_account", "Carers' account recorded", actor)
}

// actionGrace is the policy's; episodes opened before it existed have
// none and get the default.
func (s *State) actionGrace() time.Duration {
	if s.Policy.ActionGrace > 0 {
		return s.Policy.ActionGrace
	}
	return DefaultPolicy().ActionGrace
}

// DueActionReminders returns the actions whose due date has come and whose
// owner has not been reminded, and marks them reminded.
func (s *State) DueActionReminders(now time.Time) []Action {
	if !s.Status.Open() || s.ActionPlan == nil {
		return nil
	}
	var due []Action
	for i := range s.ActionPlan.Actions {
		a := &s.ActionPlan.Actions[i]
		if a.Status.Settled() || a.ReminderSent || now.Before(a.DueAt) {
			continue
		}
		a.ReminderSent = true
		s.note(now, "action_reminder", fmt.Sprintf("Reminder: action %d was due %s", a.Seq, a.DueAt.Format(time.RFC3339)), "")
		due = append(due, *a)
	}
	return due
}

// dueActions raises action_overdue for each action still open a grace
// period after its due date, once per action.
func (s *State) dueActions(now time.Time, raise func(kind EscalationKind, action int, dueAt time.Time, reason string)) {
	if s.ActionPlan == nil {
		return
	}
	for _, a := range s.ActionPlan.Actions {
		if !a.Status.Settled() && !now.Before(a.DueAt.Add(s.actionGrace())) && s.escalationFor(EscalationActionOverdue, a.Seq) == nil {
			raise(EscalationActionOverdue, a.Seq, a.DueAt, fmt.Sprintf("action %d still open %s after it was due", a.Seq, remaining(s.actionGrace())))
		}
	}
}

// actionWakes gives NextWake each open action's reminder and escalation.
func (s *State) actionWakes(consider func(time.Time)) {
	if s.ActionPlan == nil {
		return
	}
	for _, a := range s.ActionPlan.Actions {
		if a.Status.Settled() {
			continue
		}
		if !a.ReminderSent {
			consider(a.DueAt)
		}
		if s.escalationFor(EscalationActionOverdue, a.Seq) == nil {
			consider(a.DueAt.Add(s.actionGrace()))
		}
	}
}
