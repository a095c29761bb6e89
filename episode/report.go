package episode

import (
	"fmt"
	"time"
)

// EventReportAcknowledgement records that the commissioner acknowledged the
// episode's return report.
const EventReportAcknowledgement EventType = "report_acknowledgement"

// EventReportApproval records that a manager approved the return report,
// where the commissioner's policy asks for it; it is then sent.
const EventReportApproval EventType = "report_approval"

// Escalations of the return report.
const (
	// EscalationReportOverdue: the report was not sent within the policy's
	// time after the interview.
	EscalationReportOverdue EscalationKind = "report_overdue"
	// EscalationReportUnacknowledged: the commissioner did not acknowledge
	// the report within the policy's time after it was sent.
	EscalationReportUnacknowledged EscalationKind = "report_unacknowledged"
)

// Default times of the return report.
const (
	DefaultReportDue               = 72 * time.Hour
	DefaultReportAcknowledgeWithin = 5 * 24 * time.Hour
)

// ReportAcknowledgement is the acknowledgement's payload: nothing but who
// and when, which the event carries.
type ReportAcknowledgement struct{}

// EventLetterGiven records that the interviewer gave or sent the child
// their letter.
const EventLetterGiven EventType = "letter_given"

// LetterGiven is its payload: nothing but who and when.
type LetterGiven struct{}

func (s *State) checkLetterGiven() *Problem {
	switch {
	case s.Interview == nil || s.Interview.HeldAt == nil:
		return conflict("letter", "no interview has been held, so there is no letter")
	case s.LetterGivenAt != nil:
		return conflict("letter", "the letter has already been marked given")
	}
	return nil
}

func (s *State) applyLetterGiven(actor string, now time.Time) {
	s.LetterGivenAt = &now
	s.note(now, "letter_given", "Letter given to the child", actor)
}

// ReportApproval is the approval's payload: nothing but who and when.
type ReportApproval struct{}

// ReturnReport is where the episode's return report stands. It exists only
// on episodes whose workflow produces reports (set when the agreement is
// recorded), so episodes from before reports never escalate for one.
type ReturnReport struct {
	// DueBy is when it must have been sent: the interview plus ReportDue.
	DueBy          time.Time  `json:"due_by"`
	ProducedAt     *time.Time `json:"produced_at,omitempty"`
	SentAt         *time.Time `json:"sent_at,omitempty"`
	Recipients     int        `json:"recipients,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	ApprovedAt     *time.Time `json:"approved_at,omitempty"`
	ApprovedBy     string     `json:"approved_by,omitempty"`
}

// ReportReady reports whether the produced report may be sent: approved,
// or the policy asks for no approval.
func (s *State) ReportReady() bool {
	r := s.Report
	return r != nil && r.ProducedAt != nil && (!s.Policy.ReportApproval || r.ApprovedAt != nil)
}

func (s *State) checkReportApproval() *Problem {
	switch r := s.Report; {
	case !s.Policy.ReportApproval:
		return conflict("report", "the commissioner's policy asks for no approval of return reports")
	case r == nil || r.ProducedAt == nil:
		return conflict("report", "the return report has not been produced yet")
	case r.ApprovedAt != nil:
		return conflict("report", "the return report has already been approved")
	}
	return nil
}

func (s *State) applyReportApproval(actor string, now time.Time) {
	s.Report.ApprovedAt, s.Report.ApprovedBy = &now, actor
	s.note(now, "report_approved", "Return report approved", actor)
}

// ReportTimes are the policy's times for the report, defaults for zero.
func (p Policy) ReportTimes() (due, acknowledgeWithin time.Duration) {
	due, acknowledgeWithin = p.ReportDue, p.ReportAcknowledgeWithin
	if due <= 0 {
		due = DefaultReportDue
	}
	if acknowledgeWithin <= 0 {
		acknowledgeWithin = DefaultReportAcknowledgeWithin
	}
	return due, acknowledgeWithin
}

// TrackReport starts tracking the return report of a held interview.
func (s *State) TrackReport(now time.Time) {
	if s.Report != nil || s.Interview == nil || s.Interview.HeldAt == nil {
		return
	}
	due, _ := s.Policy.ReportTimes()
	s.Report = &ReturnReport{DueBy: s.Interview.HeldAt.Add(due).UTC()}
	s.touch()
}

// MarkReportProduced records that the report was produced and stored.
func (s *State) MarkReportProduced(at, now time.Time) {
	if r := s.Report; r != nil && r.ProducedAt == nil {
		at = at.UTC()
		r.ProducedAt = &at
		s.note(now, "report", "Return report produced", "")
	}
}

// MarkReportSent records that the commissioner's officers were emailed.
func (s *State) MarkReportSent(at time.Time, recipients int, now time.Time) {
	if r := s.Report; r != nil && r.SentAt == nil {
		at = at.UTC()
		r.SentAt, r.Recipients = &at, recipients
		s.note(now, "report_sent", fmt.Sprintf("Return report sent to %d commissioner officers", recipients), "")
	}
}

func (s *State) checkReportAcknowledgement() *Problem {
	switch r := s.Report; {
	case r == nil || r.SentAt == nil:
		return conflict("report", "the return report has not been sent yet")
	case r.AcknowledgedAt != nil:
		return conflict("report", "the return report has already been acknowledged")
	}
	return nil
}

func (s *State) applyReportAcknowledgement(actor string, now time.Time) {
	s.Report.AcknowledgedAt, s.Report.AcknowledgedBy = &now, actor
	s.note(now, "report_acknowledged", "Return report acknowledged", actor)
}

// dueReport raises the report's escalations, once each.
func (s *State) dueReport(now time.Time, raise func(EscalationKind, time.Time, string)) {
	r := s.Report
	if r == nil {
		return
	}
	if r.SentAt == nil && !now.Before(r.DueBy) && !s.HasEscalation(EscalationReportOverdue) {
		raise(EscalationReportOverdue, r.DueBy, "return report not sent")
	}
	if at, ok := s.reportAcknowledgeBy(); ok && !now.Before(at) && !s.HasEscalation(EscalationReportUnacknowledged) {
		raise(EscalationReportUnacknowledged, at, "return report not acknowledged")
	}
}

// reportAcknowledgeBy is when the sent report must be acknowledged by.
func (s *State) reportAcknowledgeBy() (time.Time, bool) {
	r := s.Report
	if r == nil || r.SentAt == nil || r.AcknowledgedAt != nil {
		return time.Time{}, false
	}
	_, within := s.Policy.ReportTimes()
	return r.SentAt.Add(within), true
}

// reportWakes are the instants the report's escalations fall due.
func (s *State) reportWakes(consider func(time.Time)) {
	r := s.Report
	if r == nil {
		return
	}
	if r.SentAt == nil && !s.HasEscalation(EscalationReportOverdue) {
		consider(r.DueBy)
	}
	if at, ok := s.reportAcknowledgeBy(); ok && !s.HasEscalation(EscalationReportUnacknowledged) {
		consider(at)
	}
}
