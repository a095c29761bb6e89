package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// ChildExists reports whether the records know a child with id that
// caller may see (through an episode they may see). A malformed id is
// simply not a known child: false and no error.
func (s *Store) ChildExists(ctx context.Context, caller Caller, id string) (bool, error) {
	uid, ok := parseID(id)
	if !ok {
		return false, nil
	}
	var exists bool
	err := s.asCaller(ctx, caller, readOnly, "child exists", func(tx pgx.Tx) error {
		return wrap("child exists", tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM children WHERE id = $1)", uid).Scan(&exists))
	})
	if err != nil {
		return false, err
	}
	return exists, nil
}
