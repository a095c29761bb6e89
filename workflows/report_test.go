package workflows

import (
	"context"
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
