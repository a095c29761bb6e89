package episode

import "time"

// Summary is the episode as it stands after an outcome: what the person who
// recorded it needs to see next. It carries no personal data.
type Summary struct {
	EpisodeID           string           `json:"id"`
	Reference           string           `json:"reference"`
	Status              Status           `json:"status"`
	Version             int              `json:"version"`
	ReturnedAt          time.Time        `json:"returned_at"`
	OfferDeadline       time.Time        `json:"offer_deadline"`
	OfferMadeAt         *time.Time       `json:"offer_made_at,omitempty"`
	OfferWithinDeadline *bool            `json:"offer_within_deadline,omitempty"`
	Offers              int              `json:"offers"`
	Declines            int              `json:"declines"`
	ContactAttempts     int              `json:"contact_attempts"`
	AssignedInterviewer string           `json:"assigned_interviewer_id,omitempty"`
	NextContact         *NextContact     `json:"next_contact,omitempty"`
	Interview           *InterviewStatus `json:"interview,omitempty"`
	FollowUp            *FollowUpStatus  `json:"follow_up,omitempty"`
	// OpenActions counts the plan's actions not yet done or carried forward.
	OpenActions int              `json:"open_actions,omitempty"`
	EndedAt     *time.Time       `json:"ended_at,omitempty"`
	Escalations []EscalationKind `json:"escalations"`
}

// InterviewStatus is where the interview stands.
type InterviewStatus struct {
	Status       InterviewOutcome `json:"status"`
	ScheduledFor *time.Time       `json:"scheduled_for,omitempty"`
	HeldAt       *time.Time       `json:"held_at,omitempty"`
}

// FollowUpStatus is when the follow-up is due and whether it was done.
type FollowUpStatus struct {
	DueAt       time.Time  `json:"due_at"`
	OverdueAt   time.Time  `json:"overdue_at"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
}

// Summary returns the episode as it now stands.
func (s *State) Summary() Summary {
	out := Summary{
		EpisodeID: s.EpisodeID, Reference: s.Reference, Status: s.Status, Version: s.Version,
		ReturnedAt: s.ReturnedAt, OfferDeadline: s.OfferDeadline,
		OfferMadeAt: s.OfferMadeAt, OfferWithinDeadline: s.OfferWithinDeadline,
		Offers: s.Offers, Declines: s.Declines, ContactAttempts: s.AttemptCount,
		AssignedInterviewer: s.AssignedInterviewer, EndedAt: s.EndedAt,
		Escalations: make([]EscalationKind, 0, len(s.Escalations)),
	}
	if nc := s.NextContact; nc != nil {
		c := *nc
		out.NextContact = &c
	}
	if iv := s.Interview; iv != nil {
		out.Interview = &InterviewStatus{Status: iv.Status, ScheduledFor: iv.ScheduledFor, HeldAt: iv.HeldAt}
	}
	if f := s.FollowUp; f != nil {
		out.FollowUp = &FollowUpStatus{DueAt: f.DueAt, OverdueAt: f.OverdueAt, CompletedAt: f.CompletedAt}
	}
	for _, e := range s.Escalations {
		out.Escalations = append(out.Escalations, e.Kind)
	}
	out.OpenActions = s.openActions()
	return out
}

// SavedMark is how far the case records have the episode's growing lists:
// the last contact attempt, interview update and timeline entry written.
type SavedMark struct {
	Attempts  int `json:"attempts"`
	Interview int `json:"interview"`
	Timeline  int `json:"timeline"`
	Carers    int `json:"carers,omitempty"`
}

// Mark is the mark of everything in the state now.
func (s *State) Mark() SavedMark {
	m := SavedMark{Attempts: s.AttemptCount, Timeline: s.TimelineCount, Carers: s.CarersAccountCount}
	if s.Interview != nil {
		m.Interview = s.Interview.Entries
	}
	return m
}

// ForgetSaved drops the entries up to m, which the case records now hold,
// so the state stays the same size however long the episode runs.
func (s *State) ForgetSaved(m SavedMark) {
	s.ContactAttempts = dropSaved(s.ContactAttempts, m.Attempts, func(a ContactAttempt) int { return a.Seq })
	s.Timeline = dropSaved(s.Timeline, m.Timeline, func(t TimelineEntry) int { return t.Seq })
	if len(s.CarersAccounts) > 0 {
		s.CarersAccounts = dropSaved(s.CarersAccounts, m.Carers, func(e CarersAccountEntry) int { return e.Seq })
	}
	if iv := s.Interview; iv != nil {
		iv.History = dropSaved(iv.History, m.Interview, func(e InterviewEntry) int { return e.Seq })
	}
}

func dropSaved[T any](entries []T, upTo int, seq func(T) int) []T {
	i := 0
	for i < len(entries) && seq(entries[i]) <= upTo {
		i++
	}
	// A new slice, so the dropped entries are not kept alive behind it.
	return append(make([]T, 0, len(entries)-i), entries[i:]...)
}
