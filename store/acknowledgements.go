package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EscalationAcknowledgement says who is dealing with an escalation: the
// manager who acknowledged it, when, and their note for the team.
//
// It is the team's note about handling the escalation, not an outcome of
// the episode, so it lives only in PostgreSQL: the episode's workflow
// never hears of it and no projection of the workflow overwrites it.
type EscalationAcknowledgement struct {
	By   UserRef   `json:"by"`
	Note string    `json:"note"`
	At   time.Time `json:"at"`
}

// Acknowledgement is a caller's acknowledgement of an escalation. KeyID
// is their Idempotency-Key scoped to them, RequestHash the hash of what
// they sent: a retry is answered from what was kept.
type Acknowledgement struct {
	EscalationID int64
	Note         string
	At           time.Time
	KeyID        string
	RequestHash  string
}

// KeptAcknowledgement is an acknowledgement as kept.
type KeptAcknowledgement struct {
	EscalationID int64
	EscalationAcknowledgement
	KeyID       string
	RequestHash string
}

// The acknowledgement of escalation x (alias a, its author au), for the
// escalation reads.
const (
	acknowledgementJoin = `LEFT JOIN escalation_acknowledgements a ON a.escalation_id = x.id
		LEFT JOIN users au ON au.id = a.acknowledged_by`
	acknowledgementColumns = `a.acknowledged_by::text, au.name, a.note, a.acknowledged_at`
)

// ackColumns scans acknowledgementColumns.
type ackColumns struct {
	by, name, note *string
	at             *time.Time
}

func (c *ackColumns) dest() []any { return []any{&c.by, &c.name, &c.note, &c.at} }

func (c *ackColumns) value() *EscalationAcknowledgement {
	if c.by == nil || c.at == nil {
		return nil
	}
	a := &EscalationAcknowledgement{By: UserRef{ID: *c.by}, At: c.at.UTC()}
	if c.name != nil {
		a.By.Name = *c.name
	}
	if c.note != nil {
		a.Note = *c.note
	}
	return a
}

// EscalationEpisode returns the episode of escalation id; ErrNotFound when
// caller may not see the escalation.
func (s *Store) EscalationEpisode(ctx context.Context, caller Caller, id int64) (string, error) {
	var episodeID string
	err := s.asCaller(ctx, caller, readOnly, "escalation episode", func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT episode_id::text FROM escalations WHERE id = $1`, id).Scan(&episodeID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		return wrap("escalation episode", err)
	})
	return episodeID, err
}

// AcknowledgeEscalation records caller's acknowledgement of an escalation
// once, as caller, so row-level security decides whether they may: one
// INSERT. created is false when an acknowledgement was kept already, of
// this escalation or under the same key; kept is then that one.
// ErrNotFound when caller may not see the escalation, ErrForbidden when
// their role may not acknowledge.
func (s *Store) AcknowledgeEscalation(ctx context.Context, caller Caller, a Acknowledgement) (kept KeptAcknowledgement, created bool, err error) {
	if a.Note == "" || a.KeyID == "" {
		return kept, false, fmt.Errorf("store: acknowledge escalation: %w: a note and a key are required", ErrInvalid)
	}
	// Read committed: after a concurrent acknowledgement commits, the read
	// below sees it.
	err = s.asCaller(ctx, caller, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, "acknowledge escalation", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO escalation_acknowledgements
				(escalation_id, acknowledged_by, note, acknowledged_at, key_id, request_hash)
			SELECT x.id, current_setting('homeward.user_id')::uuid, $2, $3, $4, $5 FROM escalations x WHERE x.id = $1
			ON CONFLICT DO NOTHING`, a.EscalationID, a.Note, a.At.UTC(), a.KeyID, a.RequestHash)
		var pg *pgconn.PgError
		if errors.As(err, &pg) && pg.Code == "42501" {
			return ErrForbidden
		}
		if err != nil {
			return wrap("acknowledge escalation", err)
		}
		created = tag.RowsAffected() == 1
		kept, err = keptAcknowledgement(ctx, tx, a)
		return err
	})
	return kept, created, err
}

// keptAcknowledgement reads the acknowledgement kept under a's key, else
// that of a's escalation; ErrNotFound when there is neither (the caller
// does not see the escalation).
func keptAcknowledgement(ctx context.Context, tx pgx.Tx, a Acknowledgement) (KeptAcknowledgement, error) {
	var k KeptAcknowledgement
	var name *string
	err := tx.QueryRow(ctx, `SELECT a.escalation_id, a.acknowledged_by::text, au.name, a.note, a.acknowledged_at, a.key_id, a.request_hash
		FROM escalation_acknowledgements a LEFT JOIN users au ON au.id = a.acknowledged_by
		WHERE a.key_id = $2 OR a.escalation_id = $1
		ORDER BY a.key_id = $2 DESC LIMIT 1`, a.EscalationID, a.KeyID).
		Scan(&k.EscalationID, &k.By.ID, &name, &k.Note, &k.At, &k.KeyID, &k.RequestHash)
	if errors.Is(err, pgx.ErrNoRows) {
		return k, ErrNotFound
	}
	if err != nil {
		return k, wrap("acknowledge escalation: read", err)
	}
	if name != nil {
		k.By.Name = *name
	}
	k.At = k.At.UTC()
	return k, nil
}
