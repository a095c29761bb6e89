package episode

import (
	"testing"
	"time"
)

func sharedEvent(actor string, takeOver bool, heldAt time.Time) Event {
	return Event{Type: EventSharedInterview, Actor: actor, ActorRole: RoleInterviewer, RecordedAt: heldAt.Add(time.Minute),
		Shared: &SharedInterview{Primary: "p", PrimaryReference: "HW-PRIMARY", HeldAt: heldAt, Record: &InterviewRecord{}, TakeOver: takeOver}}
}

// A shared interview: only the assigned interviewer, unless they take it
// over; it meets the duty when it was held; never twice.
func TestSharedInterview(t *testing.T) {
	t0 := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC)
	s := New("e", Referral{ReturnedAt: t0, Contact: ContactDetails{Address: "1 Road"}}, DefaultPolicy(), "c", t0)
	s.Apply(Event{Type: EventAssignment, Actor: "c", Assignment: &Assignment{InterviewerID: "iv-2"}}, t0)
	heldAt := t0.Add(5 * time.Hour)

	if p := s.Check(sharedEvent("iv-1", false, heldAt)); p == nil || p.Field != FieldAssignedInterviewer {
		t.Fatalf("another interviewer's episode without take-over: %v", p)
	}
	if p := s.Check(sharedEvent("iv-1", true, t0.Add(-time.Hour))); p == nil || p.Field != "held_at" {
		t.Fatalf("held before the return: %v", p)
	}
	ev := sharedEvent("iv-1", true, heldAt)
	if p := s.Check(ev); p != nil {
		t.Fatalf("take-over refused: %v", p)
	}
	s.Apply(ev, heldAt.Add(time.Minute))
	if s.AssignedInterviewer != "iv-1" || s.Status != StatusInterviewHeld || s.OfferMadeAt == nil || !s.OfferMadeAt.Equal(heldAt) ||
		s.OfferWithinDeadline == nil || !*s.OfferWithinDeadline || s.Interview.SharedFrom != "HW-PRIMARY" || s.NextContact != nil {
		t.Fatalf("after the shared interview: %+v", s.Summary())
	}
	if p := s.Check(sharedEvent("iv-1", false, heldAt)); p == nil || !p.Conflict {
		t.Fatalf("a second shared interview: %v", p)
	}
}
