package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"homeward/episode"
)

// DeliveryTry is one recipient an undelivered email was tried on and why
// it did not reach them. Address is shown to the managers who must mend
// it; logs name the recipient only.
type DeliveryTry struct {
	Recipient string `json:"recipient"`
	Address   string `json:"address"`
	Reason    string `json:"reason"`
}

// UndeliveredEmail is an email that nobody has received yet: every
// recipient and every fallback was refused or could not be reached. The
// worker keeps retrying it.
type UndeliveredEmail struct {
	MessageKey     string `json:"-"`
	EpisodeID      string `json:"episode_id"`
	Reference      string `json:"reference"`
	CommissionerID string `json:"-"`
	// Email is what the email is about: escalation, contact_reminder,
	// action_reminder, return_report or report_undelivered.
	Email          string                 `json:"email"`
	EscalationKind episode.EscalationKind `json:"escalation_kind,omitempty"`
	Action         int                    `json:"action,omitempty"`
	Tried          []DeliveryTry          `json:"tried"`
	Since          time.Time              `json:"since"`
	LastTriedAt    time.Time              `json:"last_tried_at"`
}

// Undelivered is what an escalation's list shows of an email nobody has
// received yet.
type Undelivered struct {
	Since       time.Time     `json:"since"`
	LastTriedAt time.Time     `json:"last_tried_at"`
	Tried       []DeliveryTry `json:"tried"`
}

// RecordUndelivered records that nobody has received the email yet, with
// the latest round of tries; isNew is true the first time.
func (s *Store) RecordUndelivered(ctx context.Context, u UndeliveredEmail) (isNew bool, err error) {
	id, ok := parseID(u.EpisodeID)
	if !ok || u.MessageKey == "" || u.Email == "" {
		return false, fmt.Errorf("store: record undelivered email: %w: episode, key and email are required", ErrInvalid)
	}
	tried, err := json.Marshal(nonNilTries(u.Tried))
	if err != nil {
		return false, fmt.Errorf("store: record undelivered email: %w", err)
	}
	err = s.Pool.QueryRow(ctx,
		`INSERT INTO undelivered_emails (message_key, episode_id, reference, commissioner_id, email, escalation_kind, action_seq, tried, since, last_tried_at)
		 VALUES ($1, $2, $3, COALESCE($4::uuid, (SELECT commissioner_id FROM episodes WHERE id = $2)), $5, $6, $7, $8, $9, $9)
		 ON CONFLICT (message_key) DO UPDATE SET tried = EXCLUDED.tried, last_tried_at = EXCLUDED.last_tried_at
		 RETURNING xmax = 0`,
		u.MessageKey, id, u.Reference, nullableID(u.CommissionerID), u.Email, string(u.EscalationKind), u.Action,
		tried, u.LastTriedAt.UTC()).Scan(&isNew)
	return isNew, wrap("record undelivered email", err)
}

// ClearUndelivered records that someone received the email with key.
func (s *Store) ClearUndelivered(ctx context.Context, messageKey string) error {
	_, err := s.Pool.Exec(ctx, `DELETE FROM undelivered_emails WHERE message_key = $1`, messageKey)
	return wrap("clear undelivered email", err)
}

// RecordRefusal records that the relay refused recipient for good for the
// email with key, so that its retries skip them.
func (s *Store) RecordRefusal(ctx context.Context, messageKey, episodeID, recipient, reason string, at time.Time) error {
	_, err := s.Pool.Exec(ctx,
		`INSERT INTO email_refusals (message_key, recipient, episode_id, reason, refused_at)
		 VALUES ($1, lower($2), $3, $4, $5) ON CONFLICT (message_key, recipient) DO NOTHING`,
		messageKey, recipient, nullableID(episodeID), reason, at.UTC())
	return wrap("record refusal", err)
}

// RefusedFor lists the recipients (lower case) the relay refused for good
// for the email with key, each with the reason.
func (s *Store) RefusedFor(ctx context.Context, messageKey string) (map[string]string, error) {
	rows, err := s.Pool.Query(ctx, `SELECT recipient, reason FROM email_refusals WHERE message_key = $1`, messageKey)
	if err != nil {
		return nil, wrap("refused for", err)
	}
	out := map[string]string{}
	var addr, reason string
	_, err = pgx.ForEachRow(rows, []any{&addr, &reason}, func() error {
		out[strings.ToLower(addr)] = reason
		return nil
	})
	return out, wrap("refused for", err)
}

// ListUndelivered lists the emails nobody has received that caller may
// see, oldest first.
func (s *Store) ListUndelivered(ctx context.Context, caller Caller) ([]UndeliveredEmail, error) {
	out := []UndeliveredEmail{}
	err := s.asCaller(ctx, caller, readOnly, "list undelivered emails", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT u.episode_id::text, COALESCE(NULLIF(u.reference, ''), e.reference, ''), u.email,
				u.escalation_kind, u.action_seq, u.tried, u.since, u.last_tried_at
			FROM undelivered_emails u LEFT JOIN episodes e ON e.id = u.episode_id
			ORDER BY u.since, u.message_key LIMIT 200`)
		if err != nil {
			return wrap("list undelivered emails", err)
		}
		var u UndeliveredEmail
		_, err = pgx.ForEachRow(rows, []any{&u.EpisodeID, &u.Reference, &u.Email, &u.EscalationKind, &u.Action, &u.Tried, &u.Since, &u.LastTriedAt}, func() error {
			u.Since, u.LastTriedAt, u.Tried = u.Since.UTC(), u.LastTriedAt.UTC(), nonNilTries(u.Tried)
			out = append(out, u)
			u.Tried = nil
			return nil
		})
		return wrap("list undelivered emails", err)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// The escalations lists join the undelivered email of each escalation.
const (
	undeliveredJoin = `LEFT JOIN undelivered_emails ux ON ux.episode_id = x.episode_id AND ux.email = 'escalation'
		AND ux.escalation_kind = x.kind AND ux.action_seq = x.action_seq`
	undeliveredColumns = `ux.since, ux.last_tried_at, ux.tried`
)

// undeliveredCols scans undeliveredColumns.
type undeliveredCols struct {
	since, last *time.Time
	tried       []DeliveryTry
}

func (c *undeliveredCols) dest() []any { return []any{&c.since, &c.last, &c.tried} }

func (c *undeliveredCols) value() *Undelivered {
	defer func() { c.since, c.last, c.tried = nil, nil, nil }()
	if c.since == nil || c.last == nil {
		return nil
	}
	return &Undelivered{Since: c.since.UTC(), LastTriedAt: c.last.UTC(), Tried: nonNilTries(c.tried)}
}

func nonNilTries(t []DeliveryTry) []DeliveryTry {
	if t == nil {
		return []DeliveryTry{}
	}
	return t
}
