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

// ReportSource is what the case records hold for a return report.
type ReportSource struct {
	Reference      string
	CommissionerID string
	HeldAt         *time.Time
	Record         *episode.InterviewRecord
	Agreement      *episode.Agreement
	ActionPlan     *ActionPlanView
}

// ReturnReportSource reads, for the worker and through the store's login,
// the records a return report is built from. ErrNotFound when the episode
// is not in the records yet.
func (s *Store) ReturnReportSource(ctx context.Context, episodeID string) (ReportSource, error) {
	id, ok := parseID(episodeID)
	if !ok {
		return ReportSource{}, ErrNotFound
	}
	var src ReportSource
	err := pgx.BeginTxFunc(ctx, s.Pool, readOnly, func(tx pgx.Tx) error {
		var cid *string
		var stateJSON []byte
		err := tx.QueryRow(ctx, `SELECT reference, commissioner_id::text, state FROM episodes WHERE id = $1`, id).
			Scan(&src.Reference, &cid, &stateJSON)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return wrap("return report source", err)
		}
		if cid != nil {
			src.CommissionerID = *cid
		}
		var st episode.State
		if err := json.Unmarshal(stateJSON, &st); err != nil {
			return fmt.Errorf("store: return report source: decode snapshot: %w", err)
		}
		if iv := st.Interview; iv != nil {
			src.HeldAt, src.Record = utcPtr(iv.HeldAt), iv.Record
		}
		if src.Agreement, err = queryAgreement(ctx, tx, id); err != nil {
			return err
		}
		src.ActionPlan, err = queryActionPlan(ctx, tx, id)
		return err
	})
	return src, err
}

// ReturnReport is one stored version of an episode's return report.
type ReturnReport struct {
	EpisodeID      string
	Reference      string
	Version        int
	PDF            []byte
	HTML           string
	ProducedAt     time.Time
	ApprovedBy     *string
	ApprovedAt     *time.Time
	SentAt         *time.Time
	AcknowledgedBy *string
	AcknowledgedAt *time.Time
}

// SaveReturnReport stores a produced report; producing the same version
// again (an activity retried) replaces it.
func (s *Store) SaveReturnReport(ctx context.Context, r ReturnReport) error {
	id, ok := parseID(r.EpisodeID)
	if !ok {
		return ErrNotFound
	}
	_, err := s.Pool.Exec(ctx, `INSERT INTO return_reports (episode_id, version, pdf, html, produced_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (episode_id, version) DO UPDATE SET pdf = EXCLUDED.pdf, html = EXCLUDED.html, produced_at = EXCLUDED.produced_at`,
		id, r.Version, r.PDF, r.HTML, r.ProducedAt.UTC())
	return wrap("save return report", err)
}

const returnReportSQL = `SELECT r.episode_id::text, e.reference, r.version, r.pdf, r.html, r.produced_at,
	r.approved_by, r.approved_at, r.sent_at, r.acknowledged_by, r.acknowledged_at
FROM return_reports r JOIN episodes e ON e.id = r.episode_id
WHERE r.episode_id = $1 %s
ORDER BY r.version DESC LIMIT 1`

// ReturnReportFor returns the newest report of an episode as caller may
// read it. The provider's staff read it under row-level security like
// every case record. A commissioner's officers see no case rows, so their
// read goes through the store's own login, scoped in SQL to the episodes
// of their commissioner. ErrNotFound when there is none they may read.
func (s *Store) ReturnReportFor(ctx context.Context, caller Caller, episodeID string) (ReturnReport, error) {
	id, ok := parseID(episodeID)
	if !ok {
		return ReturnReport{}, ErrNotFound
	}
	var r ReturnReport
	read := func(q pgx.Tx, sql string, args ...any) error {
		err := q.QueryRow(ctx, sql, args...).Scan(&r.EpisodeID, &r.Reference, &r.Version, &r.PDF, &r.HTML, &r.ProducedAt,
			&r.ApprovedBy, &r.ApprovedAt, &r.SentAt, &r.AcknowledgedBy, &r.AcknowledgedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		return wrap("get return report", err)
	}
	var err error
	if caller.Role == RoleCommissionerOfficer {
		cid, ok := parseID(caller.CommissionerID)
		if !ok {
			return ReturnReport{}, ErrNotFound
		}
		err = pgx.BeginTxFunc(ctx, s.Pool, readOnly, func(tx pgx.Tx) error {
			// An officer reads a report once it was sent to them (after
			// approval where the policy asks for it), not before.
			return read(tx, fmt.Sprintf(returnReportSQL, "AND e.commissioner_id = $2 AND r.sent_at IS NOT NULL"), id, cid)
		})
	} else {
		err = s.asCaller(ctx, caller, readOnly, "get return report", func(tx pgx.Tx) error {
			return read(tx, fmt.Sprintf(returnReportSQL, ""), id)
		})
	}
	if err != nil {
		return ReturnReport{}, err
	}
	r.ProducedAt = r.ProducedAt.UTC()
	return r, nil
}

// MarkReturnReportSent records when the newest report was sent.
func (s *Store) MarkReturnReportSent(ctx context.Context, episodeID string, at time.Time) error {
	id, ok := parseID(episodeID)
	if !ok {
		return ErrNotFound
	}
	_, err := s.Pool.Exec(ctx, `UPDATE return_reports SET sent_at = COALESCE(sent_at, $2)
		WHERE episode_id = $1 AND version = (SELECT max(version) FROM return_reports WHERE episode_id = $1)`, id, at.UTC())
	return wrap("mark return report sent", err)
}

// ApproveReturnReport records who approved the newest report, once.
func (s *Store) ApproveReturnReport(ctx context.Context, episodeID, userID string, at time.Time) error {
	id, ok := parseID(episodeID)
	if !ok {
		return ErrNotFound
	}
	_, err := s.Pool.Exec(ctx, `UPDATE return_reports SET approved_by = $2, approved_at = $3
		WHERE episode_id = $1 AND approved_at IS NULL
		  AND version = (SELECT max(version) FROM return_reports WHERE episode_id = $1)`, id, userID, at.UTC())
	return wrap("approve return report", err)
}

// AcknowledgeReturnReport records who acknowledged the newest report, once.
func (s *Store) AcknowledgeReturnReport(ctx context.Context, episodeID, userID string, at time.Time) error {
	id, ok := parseID(episodeID)
	if !ok {
		return ErrNotFound
	}
	_, err := s.Pool.Exec(ctx, `UPDATE return_reports SET acknowledged_by = $2, acknowledged_at = $3
		WHERE episode_id = $1 AND acknowledged_at IS NULL
		  AND version = (SELECT max(version) FROM return_reports WHERE episode_id = $1)`, id, userID, at.UTC())
	return wrap("acknowledge return report", err)
}
