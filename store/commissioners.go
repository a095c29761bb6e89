package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Commissioner is a local authority the provider runs interviews for.
type Commissioner struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// CreateCommissioner adds a commissioner. ErrConflict when one with the
// same name (compared case-insensitively) exists.
func (s *Store) CreateCommissioner(ctx context.Context, name string) (Commissioner, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Commissioner{}, fmt.Errorf("store: create commissioner: %w: name is required", ErrInvalid)
	}
	var c Commissioner
	err := s.Pool.QueryRow(ctx,
		"INSERT INTO commissioners (id, name) VALUES ($1, $2) RETURNING id::text, name, created_at",
		uuid.NewString(), name).Scan(&c.ID, &c.Name, &c.CreatedAt)
	if _, ok := isUniqueViolation(err); ok {
		return Commissioner{}, fmt.Errorf("store: create commissioner: %w: a commissioner with this name exists", ErrConflict)
	}
	if err != nil {
		return Commissioner{}, wrap("create commissioner", err)
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return c, nil
}

// CommissionerByName finds a commissioner by name, case-insensitively.
func (s *Store) CommissionerByName(ctx context.Context, name string) (Commissioner, error) {
	var c Commissioner
	err := s.Pool.QueryRow(ctx,
		"SELECT id::text, name, created_at FROM commissioners WHERE lower(name) = lower($1)",
		strings.TrimSpace(name)).Scan(&c.ID, &c.Name, &c.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return Commissioner{}, ErrNotFound
	}
	if err != nil {
		return Commissioner{}, wrap("commissioner by name", err)
	}
	c.CreatedAt = c.CreatedAt.UTC()
	return c, nil
}

// EnsureCommissioner finds the commissioner named name, creating it when
// there is none.
func (s *Store) EnsureCommissioner(ctx context.Context, name string) (Commissioner, error) {
	for range 2 {
		c, err := s.CommissionerByName(ctx, name)
		if !errors.Is(err, ErrNotFound) {
			return c, err
		}
		c, err = s.CreateCommissioner(ctx, name)
		if !errors.Is(err, ErrConflict) {
			return c, err
		}
		// Created by someone else meanwhile: find it.
	}
	return s.CommissionerByName(ctx, name)
}

// CommissionerExists reports whether id names a commissioner. A malformed
// id is simply not one.
func (s *Store) CommissionerExists(ctx context.Context, id string) (bool, error) {
	cid, ok := parseID(id)
	if !ok {
		return false, nil
	}
	var exists bool
	if err := s.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM commissioners WHERE id = $1)", cid).Scan(&exists); err != nil {
		return false, wrap("commissioner exists", err)
	}
	return exists, nil
}

// SetUserCommissioner moves a user to a commissioner, or to the provider
// when commissionerID is empty. ErrNotFound when there is no such user,
// ErrInvalid when there is no such commissioner.
func (s *Store) SetUserCommissioner(ctx context.Context, userID, commissionerID string) error {
	uid, ok := parseID(userID)
	if !ok {
		return ErrNotFound
	}
	var cid *string
	if commissionerID != "" {
		c, ok := parseID(commissionerID)
		if !ok {
			return fmt.Errorf("store: set user commissioner: %w: commissioner id is not a uuid", ErrInvalid)
		}
		cid = &c
	}
	tag, err := s.Pool.Exec(ctx, "UPDATE users SET commissioner_id = $2 WHERE id = $1", uid, cid)
	if err != nil {
		var pg *pgconn.PgError
		if errors.As(err, &pg) && pg.Code == "23503" {
			return fmt.Errorf("store: set user commissioner: %w: no such commissioner", ErrInvalid)
		}
		return wrap("set user commissioner", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// ActiveUsersFor lists the active users with role who work on the episodes
// of commissionerID: the provider's and that commissioner's, ordered by
// email. An empty commissionerID (an episode that has none) lists the
// provider's only.
func (s *Store) ActiveUsersFor(ctx context.Context, role Role, commissionerID string) ([]User, error) {
	cid := nullableID(commissionerID)
	rows, err := s.Pool.Query(ctx,
		"SELECT "+userColumns+` FROM users WHERE active AND role = $1
		 AND (commissioner_id IS NULL OR commissioner_id = $2) ORDER BY lower(email), id`,
		string(role), cid)
	if err != nil {
		return nil, wrap("active users for commissioner", err)
	}
	return collectUsers(rows, "active users for commissioner")
}

// EpisodeCommissioner is the commissioner the records give the episode:
// "" when the episode is not recorded or has none. It reads as the table
// owner, for the activities; it must not answer a person's request.
func (s *Store) EpisodeCommissioner(ctx context.Context, episodeID string) (string, error) {
	id, ok := parseID(episodeID)
	if !ok {
		return "", nil
	}
	var cid *string
	err := s.Pool.QueryRow(ctx, "SELECT commissioner_id::text FROM episodes WHERE id = $1", id).Scan(&cid)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && cid == nil) {
		return "", nil
	}
	if err != nil {
		return "", wrap("episode commissioner", err)
	}
	return *cid, nil
}

// EpisodeRecorded reports whether the records hold the episode at all,
// whoever may see it. The API uses it only to tell "not written yet" (ask
// the workflow) from "not yours" (404); it never answers with it.
func (s *Store) EpisodeRecorded(ctx context.Context, episodeID string) (bool, error) {
	id, ok := parseID(episodeID)
	if !ok {
		return false, nil
	}
	var exists bool
	if err := s.Pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM episodes WHERE id = $1)", id).Scan(&exists); err != nil {
		return false, wrap("episode recorded", err)
	}
	return exists, nil
}

// EpisodeVisible reports whether caller may see the recorded episode, as
// row-level security decides.
func (s *Store) EpisodeVisible(ctx context.Context, caller Caller, episodeID string) (bool, error) {
	id, ok := parseID(episodeID)
	if !ok {
		return false, nil
	}
	var visible bool
	err := s.asCaller(ctx, caller, readOnly, "episode visible", func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM episodes WHERE id = $1)", id).Scan(&visible)
	})
	if err != nil {
		return false, err
	}
	return visible, nil
}

// Commissioners lists every commissioner by name.
func (s *Store) Commissioners(ctx context.Context) ([]Commissioner, error) {
	rows, err := s.Pool.Query(ctx, "SELECT id::text, name, created_at FROM commissioners ORDER BY lower(name), id")
	if err != nil {
		return nil, wrap("commissioners", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Commissioner, error) {
		var c Commissioner
		err := r.Scan(&c.ID, &c.Name, &c.CreatedAt)
		return c, err
	})
	return out, wrap("commissioners", err)
}
