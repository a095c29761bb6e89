package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// AppRole is the PostgreSQL role every read of case data on behalf of a
// person runs as. It owns no table, so row-level security applies to it;
// the login Homeward connects with must be a member of it (migration 0002
// grants that when it may; otherwise: GRANT homeward_app TO <login>).
const AppRole = "homeward_app"

// Caller is the person a read is made for. PostgreSQL's row-level security
// decides what they see from it: a commissioner's users see only that
// commissioner's episodes, interviewers only the episodes assigned to them.
type Caller struct {
	UserID string
	Role   Role
	// CommissionerID is empty for the provider's staff.
	CommissionerID string
}

// CallerFor is the caller that user is.
func CallerFor(u User) Caller {
	return Caller{UserID: u.ID, Role: u.Role, CommissionerID: u.CommissionerID}
}

// Provider reports whether the caller works for the provider (every
// commissioner) rather than for one commissioner.
func (c Caller) Provider() bool { return c.CommissionerID == "" }

// Sees reports, in Go, what the row-level security policies decide in
// PostgreSQL: whether the caller may see an episode of commissionerID
// assigned to assignee. The API uses it for episodes whose records are not
// written yet; everything else is decided by PostgreSQL.
func (c Caller) Sees(commissionerID, assignee string) bool {
	if _, ok := parseID(c.UserID); !ok {
		return false
	}
	if !c.Provider() {
		cid, ok := parseID(commissionerID)
		if !ok || cid != c.CommissionerID {
			return false
		}
	}
	switch c.Role {
	case RoleCoordinator, RoleManager, RoleAdmin:
		return true
	case RoleInterviewer:
		a, ok := parseID(assignee)
		return ok && a == c.UserID
	}
	return false
}

// validate canonicalises the caller's ids.
func (c Caller) validate() (Caller, error) {
	uid, ok := parseID(c.UserID)
	if !ok {
		return Caller{}, fmt.Errorf("store: %w: the caller's user id is not a uuid", ErrInvalid)
	}
	if !c.Role.Valid() {
		return Caller{}, fmt.Errorf("store: %w: the caller's role is unknown", ErrInvalid)
	}
	out := Caller{UserID: uid, Role: c.Role}
	if c.CommissionerID != "" {
		cid, ok := parseID(c.CommissionerID)
		if !ok {
			return Caller{}, fmt.Errorf("store: %w: the caller's commissioner id is not a uuid", ErrInvalid)
		}
		out.CommissionerID = cid
	}
	return out, nil
}

// asCaller runs fn in a transaction that acts as AppRole for caller, so
// that PostgreSQL's row-level security filters every row fn reads.
func (s *Store) asCaller(ctx context.Context, caller Caller, opts pgx.TxOptions, op string, fn func(tx pgx.Tx) error) error {
	c, err := caller.validate()
	if err != nil {
		return err
	}
	return pgx.BeginTxFunc(ctx, s.Pool, opts, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+AppRole); err != nil {
			return wrap(op+": act as the application role", err)
		}
		if _, err := tx.Exec(ctx, `SELECT set_config('homeward.user_id', $1, true),
			set_config('homeward.commissioner_id', $2, true), set_config('homeward.role', $3, true)`,
			c.UserID, c.CommissionerID, string(c.Role)); err != nil {
			return wrap(op+": set the caller", err)
		}
		return fn(tx)
	})
}

// readOnly is the transaction every scoped read uses.
var readOnly = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
