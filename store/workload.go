package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"homeward/episode"
)

// Workload is the service's work in counts, for monitoring: nothing in it
// names an episode or a child.
type Workload struct {
	// OpenByStatus counts the open episodes by status; every open status
	// is there, with 0 when none is in it.
	OpenByStatus map[episode.Status]int
	// OffersDueSoon counts the open episodes without an offer whose offer
	// deadline falls within the next 24 hours.
	OffersDueSoon int
	// ProjectionLag is how long the most recently projected episode's
	// latest change took to reach the records; 0 with no episode.
	ProjectionLag time.Duration
}

// Workload counts the work at now. It reads every commissioner's episodes:
// it is for the service's monitoring, never for a person.
func (s *Store) Workload(ctx context.Context, now time.Time) (Workload, error) {
	w := Workload{OpenByStatus: map[episode.Status]int{}}
	for _, st := range episode.Statuses {
		if st.Open() {
			w.OpenByStatus[st] = 0
		}
	}
	err := pgx.BeginTxFunc(ctx, s.Pool, readOnly, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT status, count(*) FROM episodes WHERE status <> ALL (@closed::text[]) GROUP BY status`, pgx.NamedArgs{"closed": closedStatuses()})
		if err != nil {
			return wrap("workload: open episodes", err)
		}
		var status string
		var n int
		if _, err := pgx.ForEachRow(rows, []any{&status, &n}, func() error {
			w.OpenByStatus[episode.Status(status)] = n
			return nil
		}); err != nil {
			return wrap("workload: open episodes", err)
		}
		err = tx.QueryRow(ctx, `SELECT count(*) FROM episodes
			WHERE status <> ALL (@closed::text[]) AND offer_made_at IS NULL
				AND offer_deadline >= @now AND offer_deadline < @now + interval '24 hours'`,
			pgx.NamedArgs{"closed": closedStatuses(), "now": now.UTC()}).Scan(&w.OffersDueSoon)
		if err != nil {
			return wrap("workload: offers due", err)
		}
		var lag float64
		err = tx.QueryRow(ctx, `SELECT GREATEST(EXTRACT(EPOCH FROM projected_at - updated_at), 0)::float8
			FROM episodes ORDER BY projected_at DESC LIMIT 1`).Scan(&lag)
		switch {
		case err == nil:
			w.ProjectionLag = time.Duration(lag * float64(time.Second))
		case !errors.Is(err, pgx.ErrNoRows):
			return wrap("workload: projection lag", err)
		}
		return nil
	})
	return w, err
}
