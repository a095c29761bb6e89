package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// WebSession is a member of staff signed in to the web interface. The
// cookie's value is never kept, only its hash.
type WebSession struct {
	User       User
	CSRFToken  string
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// CreateWebSession records a new session for userID, known by idHash.
func (s *Store) CreateWebSession(ctx context.Context, idHash []byte, userID, csrfToken string, now time.Time) error {
	uid, ok := parseID(userID)
	if !ok || len(idHash) == 0 || csrfToken == "" {
		return fmt.Errorf("store: create web session: %w: user, id and csrf token are required", ErrInvalid)
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO web_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at)
		VALUES ($1, $2, $3, $4, $4)`, idHash, uid, csrfToken, now)
	return wrap("create web session", err)
}

// TouchWebSession finds the live session known by idHash and marks it seen
// at now. A session is live when not ended, seen within idle and created
// within max; its user must be active. Otherwise ErrNotFound.
func (s *Store) TouchWebSession(ctx context.Context, idHash []byte, now time.Time, idle, max time.Duration) (WebSession, error) {
	if len(idHash) == 0 {
		return WebSession{}, ErrNotFound
	}
	var ws WebSession
	var userID string
	err := s.Pool.QueryRow(ctx, `UPDATE web_sessions w SET last_seen_at = $2
		FROM users u
		WHERE w.id_hash = $1 AND u.id = w.user_id AND u.active AND w.ended_at IS NULL
		  AND w.last_seen_at > $2::timestamptz - make_interval(secs => $3::float8) AND w.created_at > $2::timestamptz - make_interval(secs => $4::float8)
		RETURNING w.user_id::text, w.csrf_token, w.created_at, w.last_seen_at`,
		idHash, now, idle.Seconds(), max.Seconds()).Scan(&userID, &ws.CSRFToken, &ws.CreatedAt, &ws.LastSeenAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return WebSession{}, ErrNotFound
	}
	if err != nil {
		return WebSession{}, wrap("touch web session", err)
	}
	if ws.User, err = s.UserByID(ctx, userID); err != nil {
		return WebSession{}, wrap("touch web session", err)
	}
	return ws, nil
}

// EndWebSession ends the session known by idHash (signing out); ending one
// that is already over is not an error.
func (s *Store) EndWebSession(ctx context.Context, idHash []byte, now time.Time) error {
	_, err := s.Pool.Exec(ctx, "UPDATE web_sessions SET ended_at = $2 WHERE id_hash = $1 AND ended_at IS NULL", idHash, now)
	return wrap("end web session", err)
}

// CreateSignInLink records a one-time sign-in link for userID, known by
// tokenHash, usable until expiresAt.
func (s *Store) CreateSignInLink(ctx context.Context, tokenHash []byte, userID string, now, expiresAt time.Time) error {
	uid, ok := parseID(userID)
	if !ok || len(tokenHash) == 0 {
		return fmt.Errorf("store: create sign-in link: %w: user and token are required", ErrInvalid)
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO sign_in_links (token_hash, user_id, created_at, expires_at)
		VALUES ($1, $2, $3, $4)`, tokenHash, uid, now, expiresAt)
	return wrap("create sign-in link", err)
}

// UseSignInLink marks the link known by tokenHash used and returns its
// user. A link already used, expired, unknown or of an inactive user is
// ErrNotFound: it signs in once only.
func (s *Store) UseSignInLink(ctx context.Context, tokenHash []byte, now time.Time) (User, error) {
	if len(tokenHash) == 0 {
		return User{}, ErrNotFound
	}
	var userID string
	err := s.Pool.QueryRow(ctx, `UPDATE sign_in_links l SET used_at = $2
		FROM users u
		WHERE l.token_hash = $1 AND u.id = l.user_id AND u.active AND l.used_at IS NULL AND l.expires_at > $2
		RETURNING l.user_id::text`, tokenHash, now).Scan(&userID)
	if errors.Is(err, pgx.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, wrap("use sign-in link", err)
	}
	return s.UserByID(ctx, userID)
}

// ActiveUserByEmail finds the active user with email, compared
// case-insensitively.
func (s *Store) ActiveUserByEmail(ctx context.Context, email string) (User, error) {
	rows, err := s.Pool.Query(ctx, "SELECT "+userColumns+" FROM users WHERE lower(email) = lower($1) AND active",
		strings.TrimSpace(email))
	if err != nil {
		return User{}, wrap("user by email", err)
	}
	u, err := collectUser(rows)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, wrap("user by email", err)
	}
	return u, err
}
