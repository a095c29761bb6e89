package store

import (
	"context"
	"time"
)

// Statutory exports read with the store's own login, not as the caller:
// a commissioner officer sees no case records under row-level security,
// yet may export its commissioner's returns. Each query is scoped to one
// commissioner in its WHERE clause instead; the API decides which
// commissioner the caller may ask for.

// exportedEpisodes are the looked-after episodes of commissioner $1 that
// count as missing periods: an episode closed as opened in error or as a
// duplicate records no period of its own. Its calendar dates are in
// Europe/London, as the DfE return and the commissioner read them.
const exportedEpisodes = `
	SELECT e.id, e.reference, e.child_id, e.category, e.status, e.declines, e.offer_made_at,
	       (e.reported_missing_at AT TIME ZONE 'Europe/London')::date AS start_date,
	       (e.returned_at AT TIME ZONE 'Europe/London')::date AS end_date,
	       COALESCE(e.reported_missing_at, e.returned_at) AS started_at
	FROM episodes e
	WHERE e.commissioner_id = $1 AND e.looked_after
	  AND COALESCE(e.state->'closure'->>'reason', '') NOT IN ('opened_in_error', 'duplicate')`

// MissingPeriod is one episode as a row of the SSDA903 Missing table.
// Dates are calendar dates (midnight UTC).
type MissingPeriod struct {
	EpisodeID             string
	Reference             string
	ChildID               string // "" when the episode has no child record
	LocalAuthorityChildID string
	DateOfBirth           *time.Time
	Category              string
	Start                 *time.Time // the reported-missing date; nil when not recorded
	End                   time.Time  // the return date (returned_at is always recorded)
}

// MissingPeriods lists the looked-after episodes of commissionerID whose
// period overlaps from..to (calendar dates, inclusive), by child and start.
func (s *Store) MissingPeriods(ctx context.Context, commissionerID string, from, to time.Time) ([]MissingPeriod, error) {
	cid, ok := parseID(commissionerID)
	if !ok {
		return nil, nil
	}
	rows, err := s.Pool.Query(ctx, `WITH x AS (`+exportedEpisodes+`)
		SELECT x.id::text, x.reference, COALESCE(c.id::text, ''), COALESCE(c.local_authority_child_id, ''),
		       c.date_of_birth, x.category, x.start_date, x.end_date
		FROM x LEFT JOIN children c ON c.id = x.child_id
		WHERE x.end_date >= $2::date AND COALESCE(x.start_date, x.end_date) <= $3::date
		ORDER BY 4, 3, x.started_at, x.id`, cid, from.Format(time.DateOnly), to.Format(time.DateOnly))
	if err != nil {
		return nil, wrap("missing periods", err)
	}
	defer rows.Close()
	var out []MissingPeriod
	for rows.Next() {
		var p MissingPeriod
		if err := rows.Scan(&p.EpisodeID, &p.Reference, &p.ChildID, &p.LocalAuthorityChildID,
			&p.DateOfBirth, &p.Category, &p.Start, &p.End); err != nil {
			return nil, wrap("missing periods", err)
		}
		out = append(out, p)
	}
	return out, wrap("missing periods", rows.Err())
}

// LastMissing is what happened after a child's last missing episode.
type LastMissing struct {
	EpisodeID string
	Offered   bool // an offer was made (offer_made_at)
	Ended     bool // the episode is completed, declined or closed
	Accepted  bool // the offer was accepted or an interview held
	Declined  bool // an offer was declined
}

// List8Child is one looked-after child's line of Ofsted's Annex A List 8.
type List8Child struct {
	ChildID               string
	LocalAuthorityChildID string
	Missing               int
	Absent                int
	Last                  *LastMissing // nil when no missing episode in the window
}

// AnnexAList8 lists, per looked-after child of commissionerID with an
// episode starting on a date after from and up to to (calendar dates), the
// missing and absent episodes and what followed the last missing one.
func (s *Store) AnnexAList8(ctx context.Context, commissionerID string, from, to time.Time) ([]List8Child, error) {
	cid, ok := parseID(commissionerID)
	if !ok {
		return nil, nil
	}
	rows, err := s.Pool.Query(ctx, `WITH x AS (`+exportedEpisodes+`), w AS (
		SELECT * FROM x
		WHERE x.child_id IS NOT NULL
		  AND (x.started_at AT TIME ZONE 'Europe/London')::date > $2::date
		  AND (x.started_at AT TIME ZONE 'Europe/London')::date <= $3::date
	), k AS (
		SELECT child_id, count(*) FILTER (WHERE category = 'missing') AS missing,
		       count(*) FILTER (WHERE category = 'away_from_placement') AS absent
		FROM w GROUP BY child_id
	)
	SELECT k.child_id::text, c.local_authority_child_id, k.missing, k.absent,
	       l.id::text, COALESCE(l.offer_made_at IS NOT NULL, false),
	       COALESCE(l.status IN ('completed', 'declined', 'closed'), false),
	       COALESCE(l.status IN ('offer_accepted', 'interview_scheduled', 'interview_held', 'follow_up_due', 'completed')
	         OR EXISTS (SELECT 1 FROM contact_attempts a WHERE a.episode_id = l.id AND a.outcome = 'reached_offered')
	         OR EXISTS (SELECT 1 FROM interviews i WHERE i.episode_id = l.id AND i.outcome = 'held'), false),
	       COALESCE(l.declines > 0, false)
	FROM k JOIN children c ON c.id = k.child_id
	LEFT JOIN LATERAL (
		SELECT * FROM w WHERE w.child_id = k.child_id AND w.category = 'missing'
		ORDER BY w.started_at DESC, w.id DESC LIMIT 1
	) l ON true
	ORDER BY 2, 1`, cid, from.Format(time.DateOnly), to.Format(time.DateOnly))
	if err != nil {
		return nil, wrap("annex a list 8", err)
	}
	defer rows.Close()
	var out []List8Child
	for rows.Next() {
		var (
			ch   List8Child
			last LastMissing
			id   *string
		)
		if err := rows.Scan(&ch.ChildID, &ch.LocalAuthorityChildID, &ch.Missing, &ch.Absent,
			&id, &last.Offered, &last.Ended, &last.Accepted, &last.Declined); err != nil {
			return nil, wrap("annex a list 8", err)
		}
		if id != nil {
			last.EpisodeID = *id
			ch.Last = &last
		}
		out = append(out, ch)
	}
	return out, wrap("annex a list 8", rows.Err())
}
