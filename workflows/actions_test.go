package workflows

import (
	"testing"
	"time"

	"homeward/episode"
)

// heldWithPlan drives an episode to a held interview at +30h, an action
// plan at +31h and the agreement at +32h; the plan's actions fall due at
// the given offsets from t0.
func heldWithPlan(h *harness, actions ...episode.ActionInput) {
	h.attempt(2*time.Hour, episode.MethodPhone, episode.OutcomeReachedOffered)
	h.at(30*time.Hour, episode.Event{Type: episode.EventInterview, Interview: held(t0.Add(29*time.Hour), false)})
	h.at(31*time.Hour, episode.Event{Type: episode.EventActionPlan, ActionPlan: &episode.ActionPlanInput{Actions: actions}})
	h.at(32*time.Hour, episode.Event{Type: episode.EventAgreement, Agreement: agreement()})
}

const day = 24 * time.Hour

func followUp(at time.Duration, reviews ...episode.ActionReview) episode.Event {
	return episode.Event{Type: episode.EventFollowUp, FollowUp: &episode.FollowUpRecord{
		CompletedAt: t0.Add(at), Outcome: "reviewed", ActionReviews: reviews}}
}

// At its due date each action's owner is reminded (by the plan's address,
// else the interviewer); an action still open a grace after its due date
// escalates once, and one done before then does not. An action not done
// keeps the episode open.
func TestActionDueRemindsThenOverdueEscalatesOnce(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	in.AssignedInterviewer = "interviewer-1"
	heldWithPlan(h,
		episode.ActionInput{What: "school meeting", Owner: "School", OwnerEmail: "safeguarding@school.example", DueAt: t0.Add(5 * day)},
		episode.ActionInput{What: "CAMHS referral", Owner: "Interviewer", DueAt: t0.Add(6 * day)})
	notDone := h.at(6*day+12*time.Hour, followUp(6*day+12*time.Hour,
		episode.ActionReview{Action: 1, Outcome: episode.ActionNotDone, Reason: "school closed"},
		episode.ActionReview{Action: 2, Outcome: episode.ActionDone}))
	h.close(12 * day)
	s := h.run(in)

	if ans, err := h.result(notDone); err != nil || ans.Episode.Status != episode.StatusFollowUpDue || ans.Episode.OpenActions != 1 {
		t.Errorf("follow-up with an action not done answered %+v, %v; want it recorded with the episode open and 1 open action", ans.Episode, err)
	}
	rs := h.rec.actionReminders
	if len(rs) != 2 {
		t.Fatalf("action reminders = %+v, want one per action", rs)
	}
	if r := rs[0]; r.Action != 1 || !r.At.Equal(t0.Add(5*day)) || r.OwnerEmail != "safeguarding@school.example" {
		t.Errorf("first reminder = %+v, want action 1 at its due date to the owner's address", r)
	}
	if r := rs[1]; r.Action != 2 || !r.At.Equal(t0.Add(6*day)) || r.OwnerEmail != "" || r.InterviewerID != "interviewer-1" {
		t.Errorf("second reminder = %+v, want action 2 at its due date to the interviewer", r)
	}
	var overdue []sentEscalation
	for _, e := range h.rec.escalations {
		if e.Kind == episode.EscalationActionOverdue {
			overdue = append(overdue, e)
		}
	}
	if len(overdue) != 1 || overdue[0].Action != 1 || !overdue[0].At.Equal(t0.Add(5*day+in.Policy.ActionGrace)) {
		t.Errorf("action_overdue escalations = %+v, want one, for action 1, at its due date plus the grace", overdue)
	}
	if s.ActionPlan == nil || s.ActionPlan.Actions[0].Status != episode.ActionNotDone || s.ActionPlan.Actions[1].Status != episode.ActionDone {
		t.Errorf("plan = %+v", s.ActionPlan)
	}
}

// The follow-up must review every open action: one left out, or not done
// without a reason, is refused naming the field; done and carried forward
// (with a date and a reason) complete the episode.
func TestFollowUpRefusedWhileActionUnreviewed(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	heldWithPlan(h,
		episode.ActionInput{What: "school meeting", Owner: "School", DueAt: t0.Add(5 * day)},
		episode.ActionInput{What: "youth club place", Owner: "Youth service", DueAt: t0.Add(6 * day)})
	later := t0.Add(20 * day)
	unreviewed := h.at(7*day, followUp(7*day, episode.ActionReview{Action: 1, Outcome: episode.ActionDone}))
	noReason := h.at(7*day+time.Minute, followUp(7*day,
		episode.ActionReview{Action: 1, Outcome: episode.ActionDone}, episode.ActionReview{Action: 2, Outcome: episode.ActionNotDone}))
	unknown := h.at(7*day+2*time.Minute, followUp(7*day, episode.ActionReview{Action: 3, Outcome: episode.ActionDone}))
	done := h.at(7*day+3*time.Minute, followUp(7*day, episode.ActionReview{Action: 1, Outcome: episode.ActionDone},
		episode.ActionReview{Action: 2, Outcome: episode.ActionCarriedForward, Reason: "waiting list", CarriedForwardTo: &later}))
	s := h.run(in)

	for id, want := range map[string]string{unreviewed: "action_reviews", noReason: "action_reviews[1].reason", unknown: "action_reviews[0].action"} {
		_, err := h.result(id)
		if field, _ := problemOf(t, err, ErrInvalid); field != want {
			t.Errorf("follow-up %s refused on %q, want %q", id, field, want)
		}
	}
	if _, err := h.result(done); err != nil {
		t.Fatalf("complete review refused: %v", err)
	}
	if s.Status != episode.StatusCompleted {
		t.Errorf("status = %s, want completed", s.Status)
	}
	a := s.ActionPlan.Actions[1]
	if a.Status != episode.ActionCarriedForward || a.CarriedForwardTo == nil || !a.CarriedForwardTo.Equal(later) || a.Reason != "waiting list" {
		t.Errorf("carried-forward action = %+v", a)
	}
}

// The plan follows a held interview; a carers' account comes before it.
func TestActionPlanAndCarersAccountFollowTheInterview(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0, fullContact)
	plan := episode.Event{Type: episode.EventActionPlan, ActionPlan: &episode.ActionPlanInput{Actions: []episode.ActionInput{
		{What: "school meeting", Owner: "School", DueAt: t0.Add(5 * day)}}}}
	carers := func(at time.Duration) episode.Event {
		return episode.Event{Type: episode.EventCarersAccount, Carers: &episode.CarersAccount{
			GivenBy: "Mother", GivenAt: t0.Add(at), WhereChildWas: "a friend's flat"}}
	}
	early := h.at(time.Hour, plan)
	account := h.at(time.Hour, carers(time.Hour))
	h.attempt(2*time.Hour, episode.MethodPhone, episode.OutcomeReachedOffered)
	h.at(30*time.Hour, episode.Event{Type: episode.EventInterview, Interview: held(t0.Add(29*time.Hour), false)})
	lateAccount := h.at(31*time.Hour, carers(31*time.Hour))
	dueBefore := plan
	dueBefore.ActionPlan = &episode.ActionPlanInput{Actions: []episode.ActionInput{{What: "x", Owner: "y", DueAt: t0.Add(28 * time.Hour)}}}
	before := h.at(31*time.Hour, dueBefore)
	first := h.at(32*time.Hour, plan)
	second := h.at(33*time.Hour, plan)
	h.close(40 * time.Hour)
	s := h.run(in)

	for id, want := range map[string]string{early: "action_plan", lateAccount: "carers_account", second: "action_plan"} {
		_, err := h.result(id)
		if field, _ := problemOf(t, err, ErrConflict); field != want {
			t.Errorf("update %s refused on %q, want a conflict on %q", id, field, want)
		}
	}
	_, err := h.result(before)
	if field, _ := problemOf(t, err, ErrInvalid); field != "actions[0].due_at" {
		t.Errorf("plan due before the interview refused on %q", field)
	}
	for _, id := range []string{account, first} {
		if _, err := h.result(id); err != nil {
			t.Errorf("update %s refused: %v", id, err)
		}
	}
	if s.CarersAccountCount != 1 || s.ActionPlan == nil {
		t.Errorf("carers' accounts %d, plan %+v", s.CarersAccountCount, s.ActionPlan)
	}
}
