package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"homeward/activities"
	"homeward/episode"
)

type producedReport struct {
	activities.ProduceReturnReportInput
	At time.Time
	// Saved is the newest state version the records held when it ran.
	Saved int
	// AgreementSaved is whether the records held the agreement.
	AgreementSaved bool
}

func (r *recorder) ProduceReturnReport(_ context.Context, in activities.ProduceReturnReportInput) (activities.ProduceReturnReportResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := producedReport{ProduceReturnReportInput: in, At: r.env.Now().UTC()}
	if n := len(r.saves); n > 0 {
		p.Saved = r.saves[n-1].State.Version
		p.AgreementSaved = r.saves[n-1].State.Agreement != nil
	}
	r.reports = append(r.reports, p)
	return activities.ProduceReturnReportResult{ProducedAt: r.env.Now().UTC()}, nil
}

func TestReturnReportProducedOnceAfterTheAgreementIsSaved(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0.Add(-10*time.Hour), fullContact)
	h.attempt(2*time.Hour, episode.MethodPhone, episode.OutcomeReachedOffered)
	h.at(31*time.Hour, episode.Event{Type: episode.EventInterview, Interview: held(t0.Add(30*time.Hour), false)})
	h.at(32*time.Hour, episode.Event{Type: episode.EventAgreement, Agreement: agreement()})
	h.at(5*24*time.Hour, episode.Event{Type: episode.EventFollowUp, FollowUp: &episode.FollowUpRecord{CompletedAt: t0.Add(5 * 24 * time.Hour), ActionsTaken: []string{"checked in"}, Outcome: "settled"}})
	h.run(in)

	if len(h.rec.reports) != 1 {
		t.Fatalf("reports produced = %d, want 1", len(h.rec.reports))
	}
	p := h.rec.reports[0]
	if !p.AgreementSaved {
		t.Errorf("report produced before the records held the agreement (saved version %d)", p.Saved)
	}
	if p.EpisodeID != in.EpisodeID || p.Version != 1 || p.At.Before(t0.Add(32*time.Hour)) {
		t.Errorf("report = %+v, want version 1 of %s after the agreement", p, in.EpisodeID)
	}
}

func TestNoReturnReportWithoutAnAgreement(t *testing.T) {
	h := newHarness(t, t0)
	h.attempt(2*time.Hour, episode.MethodPhone, episode.OutcomeReachedOffered)
	h.at(31*time.Hour, episode.Event{Type: episode.EventInterview, Interview: held(t0.Add(30*time.Hour), false)})
	h.close(40 * time.Hour)
	h.run(input(t0.Add(-10*time.Hour), fullContact))
	if len(h.rec.reports) != 0 {
		t.Fatalf("reports produced = %d, want none without an agreement", len(h.rec.reports))
	}
}

func (r *recorder) SendReturnReport(_ context.Context, in activities.SendReturnReportInput) (activities.SendReturnReportResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.relayDownOnce {
		r.relayDownOnce = false
		return activities.SendReturnReportResult{}, errors.New("relay down")
	}
	r.reportsSent = append(r.reportsSent, in)
	return activities.SendReturnReportResult{SentAt: r.env.Now().UTC(), Recipients: 2}, nil
}

// heldAndAgreed: the interview is held at +30h and the agreement recorded
// at +32h.
func heldAndAgreed(h *harness) {
	h.attempt(2*time.Hour, episode.MethodPhone, episode.OutcomeReachedOffered)
	h.at(31*time.Hour, episode.Event{Type: episode.EventInterview, Interview: held(t0.Add(30*time.Hour), false)})
	h.at(32*time.Hour, episode.Event{Type: episode.EventAgreement, Agreement: agreement()})
}

func TestReturnReportSentThenUnacknowledgedEscalatesOnce(t *testing.T) {
	h := newHarness(t, t0)
	// The relay is down at first: the report goes out later, and the
	// episode must then wait for its acknowledgement.
	h.rec.relayDownOnce = true
	heldAndAgreed(h)
	h.close(20 * 24 * time.Hour)
	s := h.run(input(t0.Add(-10*time.Hour), fullContact))

	if len(h.rec.reportsSent) != 1 {
		t.Fatalf("report sent %d times, want once", len(h.rec.reportsSent))
	}
	if s.Report == nil || s.Report.SentAt == nil || s.Report.Recipients != 2 {
		t.Fatalf("report = %+v, want sent to 2", s.Report)
	}
	e := h.rec.escalation(t, episode.EscalationReportUnacknowledged)
	if want := s.Report.SentAt.Add(episode.DefaultReportAcknowledgeWithin); !e.At.Equal(want) {
		t.Errorf("report_unacknowledged at %s, want %s (5 days after it was sent)", e.At, want)
	}
	if n := count(h.rec.kinds(), episode.EscalationReportUnacknowledged); n != 1 {
		t.Errorf("report_unacknowledged raised %d times, want once", n)
	}
	if n := count(h.rec.kinds(), episode.EscalationReportOverdue); n != 0 {
		t.Errorf("report_overdue raised for a report sent in time")
	}
}

func TestReturnReportAcknowledgedDoesNotEscalate(t *testing.T) {
	h := newHarness(t, t0)
	heldAndAgreed(h)
	h.at(3*24*time.Hour, episode.Event{Type: episode.EventReportAcknowledgement, Actor: "officer-1", ReportAck: &episode.ReportAcknowledgement{}})
	h.close(20 * 24 * time.Hour)
	s := h.run(input(t0.Add(-10*time.Hour), fullContact))
	if s.Report == nil || s.Report.AcknowledgedAt == nil || s.Report.AcknowledgedBy != "officer-1" {
		t.Fatalf("report = %+v, want acknowledged by officer-1", s.Report)
	}
	if n := count(h.rec.kinds(), episode.EscalationReportUnacknowledged); n != 0 {
		t.Errorf("report_unacknowledged raised for an acknowledged report")
	}
}

func TestReturnReportAwaitingApprovalOverdueEscalatesOnce(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0.Add(-10*time.Hour), fullContact)
	in.Policy.ReportApproval = true
	heldAndAgreed(h)
	h.close(20 * 24 * time.Hour)
	s := h.run(in)
	if len(h.rec.reportsSent) != 0 {
		t.Fatalf("report sent before a manager approved it")
	}
	e := h.rec.escalation(t, episode.EscalationReportOverdue)
	if want := t0.Add(30*time.Hour + episode.DefaultReportDue); !e.At.Equal(want) {
		t.Errorf("report_overdue at %s, want %s (72 hours after the interview)", e.At, want)
	}
	if n := count(h.rec.kinds(), episode.EscalationReportOverdue); n != 1 {
		t.Errorf("report_overdue raised %d times, want once", n)
	}
	if s.Report == nil || s.Report.ProducedAt == nil {
		t.Errorf("report = %+v, want produced", s.Report)
	}
}

func count(kinds []episode.EscalationKind, k episode.EscalationKind) int {
	n := 0
	for _, x := range kinds {
		if x == k {
			n++
		}
	}
	return n
}

func TestReturnReportSentOnceAManagerApproves(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0.Add(-10*time.Hour), fullContact)
	in.Policy.ReportApproval = true
	heldAndAgreed(h)
	approval := episode.Event{Type: episode.EventReportApproval, Actor: "manager-1", ActorRole: "manager", Approval: &episode.ReportApproval{}}
	h.at(40*time.Hour, approval)
	again := h.at(41*time.Hour, approval)
	h.close(20 * 24 * time.Hour)
	s := h.run(in)
	if len(h.rec.reportsSent) != 1 {
		t.Fatalf("report sent %d times, want once after the approval", len(h.rec.reportsSent))
	}
	if s.Report == nil || s.Report.ApprovedBy != "manager-1" || s.Report.SentAt == nil || s.Report.SentAt.Before(t0.Add(40*time.Hour)) {
		t.Errorf("report = %+v, want approved by manager-1 and sent after it", s.Report)
	}
	if _, err := h.result(again); err == nil {
		t.Errorf("a second approval was accepted")
	}
	if n := count(h.rec.kinds(), episode.EscalationReportOverdue); n != 0 {
		t.Errorf("report_overdue raised for a report approved and sent in time")
	}
}

// TestReturnReportApprovedLateStillAwaitsAcknowledgement: approved after it
// escalated as overdue, the report is sent, and the episode then waits for
// its acknowledgement.
func TestReturnReportApprovedLateStillAwaitsAcknowledgement(t *testing.T) {
	h := newHarness(t, t0)
	in := input(t0.Add(-10*time.Hour), fullContact)
	in.Policy.ReportApproval = true
	heldAndAgreed(h)
	h.at(5*24*time.Hour, episode.Event{Type: episode.EventReportApproval, Actor: "manager-1", ActorRole: "manager", Approval: &episode.ReportApproval{}})
	h.close(20 * 24 * time.Hour)
	s := h.run(in)
	h.rec.escalation(t, episode.EscalationReportOverdue)
	if s.Report == nil || s.Report.SentAt == nil {
		t.Fatalf("report = %+v, want sent after the approval", s.Report)
	}
	e := h.rec.escalation(t, episode.EscalationReportUnacknowledged)
	if want := s.Report.SentAt.Add(episode.DefaultReportAcknowledgeWithin); !e.At.Equal(want) {
		t.Errorf("report_unacknowledged at %s, want %s", e.At, want)
	}
}
