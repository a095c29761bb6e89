package store

import (
	"context"

	"github.com/jackc/pgx/v5"

	"homeward/episode"
)

// StatusCount is how many episodes are in one status.
type StatusCount struct {
	Status episode.Status `json:"status"`
	Count  int            `json:"episodes"`
}

// OpenEpisodesByStatus counts the open episodes of commissionerID that
// caller may see (row-level security decides), by status, each open
// status listed even when none is in it, in the order of episode.Statuses.
func (s *Store) OpenEpisodesByStatus(ctx context.Context, caller Caller, commissionerID string) ([]StatusCount, error) {
	counts := map[episode.Status]int{}
	id, ok := parseID(commissionerID)
	if ok {
		err := s.asCaller(ctx, caller, readOnly, "open episodes by status", func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, `SELECT status, count(*) FROM episodes
				WHERE commissioner_id = $1 AND status <> ALL($2::text[]) GROUP BY status`, id, closedStatuses())
			if err != nil {
				return wrap("open episodes by status", err)
			}
			var st string
			var n int
			_, err = pgx.ForEachRow(rows, []any{&st, &n}, func() error {
				counts[episode.Status(st)] = n
				return nil
			})
			return wrap("open episodes by status", err)
		})
		if err != nil {
			return nil, err
		}
	}
	out := []StatusCount{}
	for _, st := range episode.Statuses {
		if st.Open() {
			out = append(out, StatusCount{Status: st, Count: counts[st]})
		}
	}
	return out, nil
}
