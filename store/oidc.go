package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
)

// OIDCIdentity is a staff member as an OpenID Connect issuer vouches for
// them in a verified token.
type OIDCIdentity struct {
	Issuer  string
	Subject string
	Name    string
	Email   string
	Role    Role
	// Commissioner, when not nil, is the commissioner the issuer places the
	// user with: the id of one, or "" for the provider. It is set on every
	// sign-in, so the token is the source of truth. Nil leaves an existing
	// user's commissioner as it is (a new user works for the provider).
	Commissioner *string
}

// UserByOIDC finds the user, active or not, signed in as subject of issuer.
func (s *Store) UserByOIDC(ctx context.Context, issuer, subject string) (User, error) {
	if issuer == "" || subject == "" {
		return User{}, ErrNotFound
	}
	rows, err := s.Pool.Query(ctx,
		"SELECT "+userColumns+" FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2", issuer, subject)
	if err != nil {
		return User{}, wrap("user by oidc", err)
	}
	u, err := collectUser(rows)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, wrap("user by oidc", err)
	}
	return u, err
}

// UpsertOIDCUser creates the user signed in as id.Subject of id.Issuer, or
// brings its name, email and role up to date, and its commissioner when
// id.Commissioner is not nil, in one statement. It never changes whether
// the user is active. ErrConflict when another user has the email,
// ErrInvalid when id.Commissioner names no commissioner.
func (s *Store) UpsertOIDCUser(ctx context.Context, id OIDCIdentity) (User, error) {
	id.Name, id.Email = strings.TrimSpace(id.Name), strings.TrimSpace(id.Email)
	switch {
	case id.Issuer == "" || id.Subject == "":
		return User{}, fmt.Errorf("store: oidc user: %w: issuer and subject are required", ErrInvalid)
	case id.Name == "":
		return User{}, fmt.Errorf("store: oidc user: %w: name is required", ErrInvalid)
	case id.Email == "":
		return User{}, fmt.Errorf("store: oidc user: %w: email is required", ErrInvalid)
	case !id.Role.Valid():
		return User{}, fmt.Errorf("store: oidc user: %w: unknown role", ErrInvalid)
	}
	setCommissioner := id.Commissioner != nil
	var cid *string // NULL: the provider
	if setCommissioner && *id.Commissioner != "" {
		c, ok := parseID(*id.Commissioner)
		if !ok {
			return User{}, fmt.Errorf("store: oidc user: %w: commissioner id is not a uuid", ErrInvalid)
		}
		cid = &c
	}
	rows, err := s.Pool.Query(ctx,
		`INSERT INTO users (id, name, email, role, oidc_issuer, oidc_subject, commissioner_id)
		 VALUES ($1, $2, $3, $4, $5, $6, $7)
		 ON CONFLICT (oidc_issuer, oidc_subject) DO UPDATE
		    SET name = EXCLUDED.name, email = EXCLUDED.email, role = EXCLUDED.role,
		        commissioner_id = CASE WHEN $8::boolean THEN EXCLUDED.commissioner_id ELSE users.commissioner_id END
		 RETURNING `+userColumns,
		uuid.NewString(), id.Name, id.Email, string(id.Role), id.Issuer, id.Subject, cid, setCommissioner)
	if err != nil {
		return User{}, wrap("oidc user", err)
	}
	u, err := collectUser(rows)
	if err != nil {
		if _, ok := isUniqueViolation(err); ok {
			return User{}, fmt.Errorf("store: oidc user: %w: a user with this email already exists", ErrConflict)
		}
		var pg *pgconn.PgError
		if errors.As(err, &pg) && pg.Code == "23503" {
			return User{}, fmt.Errorf("store: oidc user: %w: no such commissioner", ErrInvalid)
		}
		return User{}, wrap("oidc user", err)
	}
	return u, nil
}
