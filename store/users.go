package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Role is what a user may do.
type Role string

const (
	RoleCoordinator Role = "coordinator"
	RoleInterviewer Role = "interviewer"
	RoleManager     Role = "manager"
	RoleAdmin       Role = "admin"
	// RoleCommissionerOfficer reads one commissioner's reports, KPIs and
	// exports, and acknowledges reports; it records nothing else and sees
	// no case records.
	RoleCommissionerOfficer Role = "commissioner_officer"
)

// Roles lists every role.
var Roles = []Role{RoleCoordinator, RoleInterviewer, RoleManager, RoleAdmin, RoleCommissionerOfficer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// User is a member of staff. The token hash never leaves the store.
type User struct {
	ID        string    `json:"id" db:"id"`
	Name      string    `json:"name" db:"name"`
	Email     string    `json:"email" db:"email"`
	Role      Role      `json:"role" db:"role"`
	Active    bool      `json:"active" db:"active"`
	CreatedAt time.Time `json:"created_at" db:"created_at"`
	// CommissionerID is the commissioner the user works for; empty for the
	// provider's own staff, who work for every commissioner.
	CommissionerID string `json:"commissioner_id,omitempty" db:"commissioner_id"`
	// Gender is what the user recorded, if anything; a child's stated
	// preference for a worker of one gender is checked against it.
	Gender string `json:"gender,omitempty" db:"gender"`
}

const userColumns = "id::text AS id, name, email, role, active, created_at, COALESCE(commissioner_id::text, '') AS commissioner_id, gender"

func collectUser(rows pgx.Rows) (User, error) {
	u, err := pgx.CollectOneRow(rows, pgx.RowToStructByName[User])
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return User{}, ErrNotFound
		}
		return User{}, err
	}
	u.CreatedAt = u.CreatedAt.UTC()
	return u, nil
}

// CreateUser adds an active user with a new uuid. It returns ErrConflict
// when another user has the same email (compared case-insensitively) or the
// same token hash.
func (s *Store) CreateUser(ctx context.Context, name, email string, role Role, tokenHash []byte) (User, error) {
	name, email = strings.TrimSpace(name), strings.TrimSpace(email)
	switch {
	case name == "":
		return User{}, fmt.Errorf("store: create user: %w: name is required", ErrInvalid)
	case email == "":
		return User{}, fmt.Errorf("store: create user: %w: email is required", ErrInvalid)
	case !role.Valid():
		return User{}, fmt.Errorf("store: create user: %w: unknown role", ErrInvalid)
	case len(tokenHash) == 0:
		return User{}, fmt.Errorf("store: create user: %w: token hash is required", ErrInvalid)
	}
	rows, err := s.Pool.Query(ctx,
		`INSERT INTO users (id, name, email, role, token_hash) VALUES ($1, $2, $3, $4, $5)
		 RETURNING `+userColumns,
		uuid.NewString(), name, email, string(role), tokenHash)
	if err != nil {
		return User{}, wrap("create user", err)
	}
	u, err := collectUser(rows)
	if err != nil {
		if constraint, ok := isUniqueViolation(err); ok {
			if constraint == "users_token_hash_key" {
				return User{}, fmt.Errorf("store: create user: %w: token already in use", ErrConflict)
			}
			return User{}, fmt.Errorf("store: create user: %w: a user with this email already exists", ErrConflict)
		}
		return User{}, wrap("create user", err)
	}
	return u, nil
}

// UserByTokenHash finds the active user whose token hashes to hash.
func (s *Store) UserByTokenHash(ctx context.Context, hash []byte) (User, error) {
	if len(hash) == 0 {
		return User{}, ErrNotFound
	}
	rows, err := s.Pool.Query(ctx, "SELECT "+userColumns+" FROM users WHERE token_hash = $1 AND active", hash)
	if err != nil {
		return User{}, wrap("user by token", err)
	}
	u, err := collectUser(rows)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, wrap("user by token", err)
	}
	return u, err
}

// UserByID finds a user, active or not. A malformed id is ErrNotFound.
func (s *Store) UserByID(ctx context.Context, id string) (User, error) {
	uid, ok := parseID(id)
	if !ok {
		return User{}, ErrNotFound
	}
	rows, err := s.Pool.Query(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", uid)
	if err != nil {
		return User{}, wrap("user by id", err)
	}
	u, err := collectUser(rows)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, wrap("user by id", err)
	}
	return u, err
}

// ActiveUsers lists the active users with role, ordered by email. An empty
// role lists every active user.
func (s *Store) ActiveUsers(ctx context.Context, role Role) ([]User, error) {
	rows, err := s.Pool.Query(ctx,
		"SELECT "+userColumns+" FROM users WHERE active AND ($1 = '' OR role = $1) ORDER BY lower(email), id",
		string(role))
	if err != nil {
		return nil, wrap("active users", err)
	}
	return collectUsers(rows, "active users")
}

// SetUserGender records the user's gender ("" for none). ErrNotFound when
// there is no such user.
func (s *Store) SetUserGender(ctx context.Context, id, gender string) error {
	uid, ok := parseID(id)
	if !ok {
		return ErrNotFound
	}
	tag, err := s.Pool.Exec(ctx, "UPDATE users SET gender = $2 WHERE id = $1", uid, gender)
	if err != nil {
		return wrap("set user gender", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// SetUserActive activates or deactivates a user. ErrNotFound when there is
// no such user.
func (s *Store) SetUserActive(ctx context.Context, id string, active bool) error {
	uid, ok := parseID(id)
	if !ok {
		return ErrNotFound
	}
	tag, err := s.Pool.Exec(ctx, "UPDATE users SET active = $2 WHERE id = $1", uid, active)
	if err != nil {
		return wrap("set user active", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// collectUsers reads user rows, instants in UTC, never a nil slice.
func collectUsers(rows pgx.Rows, op string) ([]User, error) {
	users, err := pgx.CollectRows(rows, pgx.RowToStructByName[User])
	if err != nil {
		return nil, wrap(op, err)
	}
	for i := range users {
		users[i].CreatedAt = users[i].CreatedAt.UTC()
	}
	if users == nil {
		users = []User{}
	}
	return users, nil
}
