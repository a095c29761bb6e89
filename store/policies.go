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

// PolicyVersion is one version of a commissioner's policy.
type PolicyVersion struct {
	CommissionerID string
	Version        int
	Policy         episode.Policy
	ChangedBy      string
	ChangedAt      time.Time
}

// CommissionerPolicy is the commissioner's newest policy. ErrNotFound when
// it has none of its own (the configured defaults apply) or no such
// commissioner exists: CommissionerExists tells the two apart.
func (s *Store) CommissionerPolicy(ctx context.Context, commissionerID string) (PolicyVersion, error) {
	cid, ok := parseID(commissionerID)
	if !ok {
		return PolicyVersion{}, ErrNotFound
	}
	return scanPolicy(s.Pool.QueryRow(ctx, `SELECT commissioner_id::text, version, policy, changed_by::text, changed_at
		FROM policy_versions WHERE commissioner_id = $1 ORDER BY version DESC LIMIT 1`, cid), "commissioner policy")
}

// SetCommissionerPolicy makes p the commissioner's policy, as a new version
// changed by userID, unless it is its policy already (a retried change
// makes no new version). ErrNotFound when there is no such commissioner.
// The caller validates p.
func (s *Store) SetCommissionerPolicy(ctx context.Context, commissionerID string, p episode.Policy, userID, requestID string, at time.Time) (PolicyVersion, error) {
	cid, ok := parseID(commissionerID)
	if !ok {
		return PolicyVersion{}, ErrNotFound
	}
	uid, ok := parseID(userID)
	if !ok {
		return PolicyVersion{}, fmt.Errorf("store: set commissioner policy: %w: user id is not a uuid", ErrInvalid)
	}
	js, err := json.Marshal(p)
	if err != nil {
		return PolicyVersion{}, fmt.Errorf("store: set commissioner policy: encode: %w", err)
	}
	var out PolicyVersion
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// Changes to one commissioner's policy take turns.
		var found string
		err := tx.QueryRow(ctx, "SELECT id::text FROM commissioners WHERE id = $1 FOR UPDATE", cid).Scan(&found)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return wrap("set commissioner policy: lock commissioner", err)
		}
		current, err := scanPolicy(tx.QueryRow(ctx, `SELECT commissioner_id::text, version, policy, changed_by::text, changed_at
			FROM policy_versions WHERE commissioner_id = $1 ORDER BY version DESC LIMIT 1`, cid), "set commissioner policy: current")
		switch {
		case err == nil && current.Policy.Equal(p):
			out = current
			return nil
		case err != nil && !errors.Is(err, ErrNotFound):
			return err
		}
		out, err = scanPolicy(tx.QueryRow(ctx, `INSERT INTO policy_versions (commissioner_id, version, policy, changed_by, changed_at, request_id)
			VALUES ($1, $2, $3, $4, $5, $6)
			RETURNING commissioner_id::text, version, policy, changed_by::text, changed_at`,
			cid, current.Version+1, js, uid, at.UTC(), requestID), "set commissioner policy")
		return err
	})
	return out, err
}

func scanPolicy(row pgx.Row, op string) (PolicyVersion, error) {
	var v PolicyVersion
	var js []byte
	err := row.Scan(&v.CommissionerID, &v.Version, &js, &v.ChangedBy, &v.ChangedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return PolicyVersion{}, ErrNotFound
	}
	if err != nil {
		return PolicyVersion{}, wrap(op, err)
	}
	if err := json.Unmarshal(js, &v.Policy); err != nil {
		return PolicyVersion{}, fmt.Errorf("store: %s: decode policy: %w", op, err)
	}
	v.ChangedAt = v.ChangedAt.UTC()
	return v, nil
}

// EscalationAddresses are the addresses beyond the managers that the
// episode's escalations go to: those of the policy it opened under.
// recorded is false while the records do not hold the episode yet.
func (s *Store) EscalationAddresses(ctx context.Context, episodeID string) (addrs []string, recorded bool, err error) {
	id, ok := parseID(episodeID)
	if !ok {
		return nil, false, nil
	}
	var js []byte
	err = s.Pool.QueryRow(ctx, "SELECT state->'policy'->'escalation_addresses' FROM episodes WHERE id = $1", id).Scan(&js)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, wrap("escalation addresses", err)
	}
	if js != nil {
		if err := json.Unmarshal(js, &addrs); err != nil {
			return nil, true, fmt.Errorf("store: escalation addresses: decode: %w", err)
		}
	}
	return addrs, true, nil
}
