package store_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"homeward/internal/pglocal"
	"homeward/store"
)

// Benchmark sizes: a million episodes over three years and ten
// commissioners, about 33,000 per commissioner a year.
const (
	benchEpisodes      = 1_000_000
	benchCommissioners = 10
	benchChildren      = 300_000
)

// BenchmarkKPIs times one commissioner's KPI report for a year, month by
// month, over a million episodes seeded with COPY into a throwaway
// database. Run by hand: go test -run x -bench KPIs ./store/
func BenchmarkKPIs(b *testing.B) {
	ctx := context.Background()
	s, err := store.Open(ctx, pglocal.NewTestDatabase(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(s.Close)
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	commissioners := seedBenchKPIs(b, s)
	b.Logf("seeded %d episodes in %s", benchEpisodes, time.Since(start).Round(time.Second))

	q := store.KPIQuery{CommissionerID: commissioners[3],
		From: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)}
	var periods []*store.KPIPeriod
	for b.Loop() {
		if periods, err = s.KPIs(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	total := periods[len(periods)-1]
	if total.Episodes == 0 || total.OffersDue == 0 || total.FollowUpsDue == 0 || total.ReturnToInterviewMedian == nil {
		b.Fatalf("the report found nothing to count: %+v", total)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(float64(total.Episodes), "episodes")
}

// seedBenchKPIs copies the episodes, their children, attempts, interviews
// and breaches in, and returns the commissioners.
func seedBenchKPIs(b *testing.B, s *store.Store) []string {
	ctx := context.Background()
	exec := func(sql string) {
		if _, err := s.Pool.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	copyIn := func(table string, cols []string, rows [][]any) {
		if _, err := s.Pool.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows)); err != nil {
			b.Fatalf("copy %s: %v", table, err)
		}
	}
	var commissioners []string
	for i := range benchCommissioners {
		id := uuid.NewString()
		if _, err := s.Pool.Exec(ctx, `INSERT INTO commissioners (id, name) VALUES ($1, $2)`, id, "Council "+string(rune('A'+i))); err != nil {
			b.Fatal(err)
		}
		commissioners = append(commissioners, id)
	}
	children := make([]any, benchChildren)
	var childRows [][]any
	for i := range children {
		id := uuid.New()
		children[i] = id
		childRows = append(childRows, []any{id, commissioners[i%benchCommissioners]})
	}
	copyIn("children", []string{"id", "commissioner_id"}, childRows)

	r := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2023, 4, 1, 0, 0, 0, 0, time.UTC)
	span := 3 * 365 * 24 * time.Hour
	hours := func(max int) time.Duration { return time.Duration(r.IntN(max*60)) * time.Minute }
	const batch = 100_000
	var episodes, attempts, interviews, breaches [][]any
	flush := func() {
		copyIn("episodes", []string{"id", "reference", "child_id", "status", "looked_after", "reported_missing_at",
			"returned_at", "opened_at", "offer_deadline", "offer_made_at", "follow_up_due_at", "follow_up_completed_at",
			"state", "state_version", "updated_at", "commissioner_id", "first_held_at", "offer_accepted",
			"report_due_by", "report_sent_at", "report_acknowledged_at"}, episodes)
		copyIn("contact_attempts", []string{"episode_id", "seq", "method", "outcome", "attempted_at", "recorded_at"}, attempts)
		copyIn("interviews", []string{"episode_id", "seq", "outcome", "held_at", "recorded_at"}, interviews)
		copyIn("escalations", []string{"episode_id", "kind", "reason", "due_at", "triggered_at", "commissioner_id"}, breaches)
		episodes, attempts, interviews, breaches = nil, nil, nil, nil
	}
	for i := range benchEpisodes {
		c := i % benchCommissioners
		id := uuid.New()
		child := children[c+benchCommissioners*r.IntN(benchChildren/benchCommissioners)]
		opened := base.Add(time.Duration(r.Int64N(int64(span))))
		returned := opened.Add(-hours(12))
		reported := returned.Add(-hours(72))
		deadline := returned.Add(72 * time.Hour)
		status := "awaiting_contact"
		var offer, held, due, done, reportDue, reportSent, reportAcked *time.Time
		if r.IntN(10) < 8 {
			o := returned.Add(hours(100))
			offer, status = &o, "offer_accepted"
			attempts = append(attempts, []any{id, 1, "phone", "reached_offered", o, o})
			if r.IntN(10) < 6 {
				h := o.Add(hours(48))
				d := h.Add(7 * 24 * time.Hour)
				held, due, status = &h, &d, "interview_held"
				interviews = append(interviews, []any{id, 1, "held", h, h})
				rd, rs, ra := h.Add(72*time.Hour), h.Add(hours(96)), h.Add(hours(200))
				reportDue, reportSent = &rd, &rs
				if r.IntN(10) < 8 {
					reportAcked = &ra
				}
				if r.IntN(10) < 7 {
					x := d.Add(hours(48) - 24*time.Hour)
					done = &x
				}
			}
		}
		if offer == nil || offer.After(deadline) {
			reason := []string{"late_notification", "no_contact", "no_contact_attempted"}[r.IntN(3)]
			breaches = append(breaches, []any{id, "deadline_breached", reason, deadline, deadline, commissioners[c]})
		}
		episodes = append(episodes, []any{id, "HW-BENCH", child, status, r.IntN(10) < 3, reported, returned, opened,
			deadline, offer, due, done, "{}", int64(1), opened, commissioners[c], held, offer != nil,
			reportDue, reportSent, reportAcked})
		if len(episodes) == batch {
			flush()
		}
	}
	flush()
	exec("VACUUM ANALYZE")
	return commissioners
}
