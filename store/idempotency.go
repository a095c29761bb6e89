package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"homeward/episode"
)

// OutcomeAnswer is an episode's answer to one recorded outcome: the
// result of its update, kept so that a retry gets the same answer.
type OutcomeAnswer struct {
	UpdateID    string            `json:"update_id"`
	EpisodeID   string            `json:"episode_id"`
	RequestHash string            `json:"request_hash"`
	Recorded    episode.EventType `json:"recorded"`
	Episode     episode.Summary   `json:"episode"`
}

// saveAnswers writes answers in the projection's transaction; an answer
// written before is kept as it was.
func saveAnswers(ctx context.Context, tx pgx.Tx, episodeID string, answers []OutcomeAnswer) error {
	if len(answers) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, a := range answers {
		body, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("store: save answers: encode: %w", err)
		}
		b.Queue(`INSERT INTO outcome_answers (update_id, episode_id, request_hash, answer)
			VALUES ($1, $2, $3, $4) ON CONFLICT (update_id) DO NOTHING`, a.UpdateID, episodeID, a.RequestHash, body)
	}
	return wrap("save answers", tx.SendBatch(ctx, b).Close())
}

// OutcomeAnswer returns the answer kept for updateID; ErrNotFound when
// there is none. The update id is derived from the caller, so only the
// caller who recorded it can name it.
func (s *Store) OutcomeAnswer(ctx context.Context, updateID string) (OutcomeAnswer, error) {
	var body []byte
	err := s.Pool.QueryRow(ctx, "SELECT answer FROM outcome_answers WHERE update_id = $1", updateID).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return OutcomeAnswer{}, ErrNotFound
	}
	if err != nil {
		return OutcomeAnswer{}, wrap("outcome answer", err)
	}
	var a OutcomeAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return OutcomeAnswer{}, fmt.Errorf("store: outcome answer: decode: %w", err)
	}
	return a, nil
}

// ReferralKey is a referral opened with an Idempotency-Key.
type ReferralKey struct {
	EpisodeID   string
	RequestHash string
	Answer      json.RawMessage // the body of the first answer
	Started     bool            // the episode's workflow was started
}

// ReserveReferralKey reserves keyID for a new episode, or returns the
// reservation made before (existed true), whatever request made it.
func (s *Store) ReserveReferralKey(ctx context.Context, keyID string, k ReferralKey) (ReferralKey, bool, error) {
	tag, err := s.Pool.Exec(ctx, `INSERT INTO referral_keys (key_id, episode_id, request_hash, answer)
		VALUES ($1, $2, $3, $4) ON CONFLICT (key_id) DO NOTHING`, keyID, k.EpisodeID, k.RequestHash, []byte(k.Answer))
	if err != nil {
		return ReferralKey{}, false, wrap("reserve referral key", err)
	}
	if tag.RowsAffected() == 1 {
		return k, false, nil
	}
	var got ReferralKey
	var started *time.Time
	var answer []byte
	err = s.Pool.QueryRow(ctx, `SELECT episode_id::text, request_hash, answer, started_at FROM referral_keys WHERE key_id = $1`, keyID).
		Scan(&got.EpisodeID, &got.RequestHash, &answer, &started)
	if err != nil {
		return ReferralKey{}, false, wrap("reserve referral key: read", err)
	}
	got.Answer, got.Started = answer, started != nil
	return got, true, nil
}

// MarkReferralStarted records that the episode of keyID was started.
func (s *Store) MarkReferralStarted(ctx context.Context, keyID string) error {
	_, err := s.Pool.Exec(ctx, `UPDATE referral_keys SET started_at = COALESCE(started_at, now()) WHERE key_id = $1`, keyID)
	return wrap("mark referral started", err)
}

// ReferralKeyReserved reports whether keyID was reserved before: the
// referral is a retry and gets the first answer.
func (s *Store) ReferralKeyReserved(ctx context.Context, keyID string) (bool, error) {
	var reserved bool
	err := s.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM referral_keys WHERE key_id = $1)`, keyID).Scan(&reserved)
	return reserved, wrap("referral key reserved", err)
}
