package store_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"homeward/episode"
	"homeward/store"
)

// The report counts an offer accepted and the first interview held from
// what SaveEpisode keeps on the episode, also once a later snapshot no
// longer lists the attempt (a snapshot holds only what is not saved yet).
func TestKPIsFromSavedEpisodes(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxT(t)
	c, err := s.CreateCommissioner(ctx, "KPI council")
	if err != nil {
		t.Fatal(err)
	}
	ivr := mustUser(t, s, "Ivan", "ivan@example.org", store.RoleInterviewer)
	ref := referral(t0.Add(-time.Hour)) // returned 21:00 UTC on 29 March 2025
	st := episode.New(uuid.NewString(), ref, episode.DefaultPolicy(), ivr.ID, t0)
	st.CommissionerID = c.ID
	apply(t, st, assign(ivr.ID, ivr.ID, t0), t0)
	offerAt := t0.Add(5 * time.Hour)
	apply(t, st, attempt(ivr.ID, episode.MethodPhone, episode.OutcomeReachedOffered, offerAt), offerAt)
	save(t, s, snapshot(t, st), &ref)

	st.ContactAttempts = nil // saved: the next snapshot leaves it out
	held := t0.Add(25 * time.Hour)
	apply(t, st, interview(ivr.ID, episode.InterviewUpdate{Outcome: episode.InterviewScheduled, ScheduledFor: &held}, offerAt), offerAt)
	apply(t, st, interview(ivr.ID, episode.InterviewUpdate{Outcome: episode.InterviewHeld, HeldAt: &held,
		Record: &episode.InterviewRecord{PushFactors: []string{"conflict at home"}}}, held), held)
	save(t, s, snapshot(t, st), nil)

	// The report, due 72 hours after the interview (in April, London time),
	// sent the next day and acknowledged: kept on the episode from the state.
	due, sent, acked := held.Add(72*time.Hour), held.Add(24*time.Hour), held.Add(48*time.Hour)
	st.Report = &episode.ReturnReport{DueBy: due, ProducedAt: &sent, SentAt: &sent, AcknowledgedAt: &acked}
	st.Version++
	save(t, s, snapshot(t, st), nil)

	var accepted bool
	var firstHeld *time.Time
	if err := s.Pool.QueryRow(ctx, `SELECT offer_accepted, first_held_at FROM episodes WHERE id = $1`, st.EpisodeID).
		Scan(&accepted, &firstHeld); err != nil {
		t.Fatal(err)
	}
	if !accepted || firstHeld == nil || !firstHeld.Equal(held) {
		t.Errorf("kept on the episode: offer accepted %v, first held %v; want true, %s", accepted, firstHeld, held)
	}

	periods, err := s.KPIs(ctx, store.KPIQuery{CommissionerID: c.ID,
		From: time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 4, 30, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	total := periods[len(periods)-1]
	if total.Episodes != 1 || total.Accepted != 1 || total.InterviewsHeld != 1 ||
		total.ReturnToInterviewMedian == nil || *total.ReturnToInterviewMedian != 26 ||
		total.ReturnToOfferMedian == nil || *total.ReturnToOfferMedian != 6 {
		t.Errorf("total = %+v", total)
	}
	if april := periods[1]; april.Period != "2025-04" || april.ReportsDue != 1 || april.ReportsSentOnTime != 1 || april.ReportsAcknowledged != 1 {
		t.Errorf("April's reports: %+v, want 1 due, 1 sent on time, 1 acknowledged", april)
	}
}
