package store

import "context"

// ChildExists reports whether the records know a child with id. A
// malformed id is simply not a known child: false and no error.
func (s *Store) ChildExists(ctx context.Context, id string) (bool, error) {
	uid, ok := parseID(id)
	if !ok {
		return false, nil
	}
	var exists bool
	if err := s.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM children WHERE id = $1)", uid).Scan(&exists); err != nil {
		return false, wrap("child exists", err)
	}
	return exists, nil
}
