package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RetentionPolicy says how long each kind of record is kept. The defaults
// follow what local authorities in England commonly do with children's
// social care records (and so with return interview records, which form
// part of them):
//
//   - Episode case records (the episode with its contact attempts,
//     interview updates, agreement, follow-up, timeline and escalations) are
//     kept until the child's 25th birthday, the usual retention of a child
//     in need / children's social care record; for a child who was looked
//     after in any episode, until the 75th birthday, as for the records of
//     looked-after children (which the Children's Homes and care planning
//     regulations keep for 75 years from birth). The birthday is the date in
//     the policy's time zone (Europe/London).
//   - When the date of birth is unknown the age cannot be counted, so an
//     episode is kept for CaseRecordsNoDOBYears (25) after it ended: never
//     shorter than a child's record would have been (a child is under 18
//     when it ends). For a looked-after child the difference between the
//     two ages is added (75 years after it ended, by default).
//   - A child left with no episodes (and no legal hold) is removed.
//   - Email delivery records (who was emailed which reference, when) are
//     operational data: EmailDeliveryYears (2).
//   - Contact-attempt free-text notes are the least needed: they are blanked
//     after AttemptNotesYears (2), while the facts of each attempt (method,
//     outcome, when, by whom) stay with the episode for reporting.
//
// Only ended episodes (completed, declined, closed) are ever purged or
// anonymised, and a child with an active legal hold keeps everything.
type RetentionPolicy struct {
	CaseRecordsUntilAge   int    `json:"case_records_until_age"`
	LookedAfterUntilAge   int    `json:"looked_after_until_age"`
	CaseRecordsNoDOBYears int    `json:"case_records_no_dob_years"`
	EmailDeliveryYears    int    `json:"email_delivery_years"`
	AttemptNotesYears     int    `json:"attempt_notes_years"`
	TimeZone              string `json:"time_zone"`
}

// DefaultRetentionPolicy is the policy described on RetentionPolicy.
func DefaultRetentionPolicy() RetentionPolicy {
	return RetentionPolicy{
		CaseRecordsUntilAge:   25,
		LookedAfterUntilAge:   75,
		CaseRecordsNoDOBYears: 25,
		EmailDeliveryYears:    2,
		AttemptNotesYears:     2,
		TimeZone:              "Europe/London",
	}
}

// Validate reports a policy that would purge too eagerly or not at all.
func (p RetentionPolicy) Validate() error {
	var errs []error
	if p.CaseRecordsUntilAge < 18 {
		errs = append(errs, fmt.Errorf("case records must be kept at least until the 18th birthday, not %d", p.CaseRecordsUntilAge))
	}
	if p.LookedAfterUntilAge < p.CaseRecordsUntilAge {
		errs = append(errs, fmt.Errorf("looked-after records (until %d) must be kept at least as long as other case records (until %d)", p.LookedAfterUntilAge, p.CaseRecordsUntilAge))
	}
	if p.CaseRecordsNoDOBYears < 1 {
		errs = append(errs, fmt.Errorf("case records without a date of birth must be kept at least 1 year, not %d", p.CaseRecordsNoDOBYears))
	}
	if p.EmailDeliveryYears < 1 {
		errs = append(errs, fmt.Errorf("email delivery records must be kept at least 1 year, not %d", p.EmailDeliveryYears))
	}
	if p.AttemptNotesYears < 1 {
		errs = append(errs, fmt.Errorf("contact attempt notes must be kept at least 1 year, not %d", p.AttemptNotesYears))
	}
	if _, err := time.LoadLocation(p.timeZone()); err != nil {
		errs = append(errs, fmt.Errorf("time zone %q is not known", p.TimeZone))
	}
	return errors.Join(errs...)
}

func (p RetentionPolicy) timeZone() string {
	if p.TimeZone == "" {
		return "Europe/London"
	}
	return p.TimeZone
}

// PurgeCounts is what a purge did.
type PurgeCounts struct {
	EpisodesPurged    int `json:"episodes_purged"`
	ChildrenRemoved   int `json:"children_removed"`
	NotesAnonymised   int `json:"notes_anonymised"`
	DeliveriesRemoved int `json:"deliveries_removed"`
	PeopleRemoved     int `json:"people_of_concern_removed"`
}

// Add adds o to c.
func (c *PurgeCounts) Add(o PurgeCounts) {
	c.EpisodesPurged += o.EpisodesPurged
	c.ChildrenRemoved += o.ChildrenRemoved
	c.NotesAnonymised += o.NotesAnonymised
	c.DeliveriesRemoved += o.DeliveriesRemoved
	c.PeopleRemoved += o.PeopleRemoved
}

// Zero reports whether nothing was done.
func (c PurgeCounts) Zero() bool { return c == PurgeCounts{} }

// AuditActionRetentionPurge is the audit action of everything the purge
// does.
const AuditActionRetentionPurge = "retention_purge"

// endedStatuses is the SQL list of the statuses of ended episodes.
const endedStatuses = `('completed', 'declined', 'closed')`

// activeHold is true when the child_id expression has an active legal hold.
func activeHold(childExpr string) string {
	return `EXISTS (SELECT 1 FROM legal_holds h WHERE h.child_id = ` + childExpr + ` AND h.released_at IS NULL)`
}

// PurgeExpired removes or anonymises every record past retention under p
// at now, batch rows at a time, each batch in its own transaction with its
// audit entries. It is idempotent: what is done stays done, and a second run
// finds nothing more to do. progress, when not nil, is called after every
// batch (an activity heartbeats there). It stops early when ctx ends; what
// was committed stays committed.
func (s *Store) PurgeExpired(ctx context.Context, now time.Time, p RetentionPolicy, batch int, progress func(PurgeCounts)) (PurgeCounts, error) {
	var total PurgeCounts
	if err := p.Validate(); err != nil {
		return total, fmt.Errorf("store: purge: %w: %w", ErrInvalid, err)
	}
	if batch <= 0 {
		batch = 100
	}
	steps := []func(context.Context, time.Time, RetentionPolicy, int) (PurgeCounts, int, error){
		s.purgeEpisodesBatch, s.anonymiseNotesBatch, s.purgeDeliveriesBatch,
	}
	for _, step := range steps {
		for {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			done, n, err := step(ctx, now, p, batch)
			if err != nil {
				return total, err
			}
			total.Add(done)
			if progress != nil {
				progress(total)
			}
			// A short batch is the last; one that changed nothing (its
			// candidates were taken by a hold meanwhile) must not spin.
			if n < batch || done.Zero() {
				break
			}
		}
	}
	return total, nil
}

// expiredEpisodesSQL finds ended episodes past retention whose child has no
// active hold, oldest first. A child counts as looked after when any of its
// episodes says so. Without a date of birth, a looked-after child's episode
// keeps the looked-after extension: CaseRecordsNoDOBYears plus
// (LookedAfterUntilAge - CaseRecordsUntilAge) years after it ended (75 by
// default).
var expiredEpisodesSQL = `
SELECT e.id, e.child_id
FROM episodes e
LEFT JOIN children c ON c.id = e.child_id
CROSS JOIN LATERAL (SELECT e.looked_after OR EXISTS (
    SELECT 1 FROM episodes o WHERE o.child_id = e.child_id AND o.looked_after) AS looked_after) la
WHERE e.status IN ` + endedStatuses + `
  AND e.ended_at IS NOT NULL
  AND NOT ` + activeHold("e.child_id") + `
  AND CASE
    WHEN c.date_of_birth IS NOT NULL THEN
      c.date_of_birth + make_interval(years => CASE WHEN la.looked_after
        THEN @looked_after_age::int ELSE @age::int END) <= @today::date
    ELSE e.ended_at + make_interval(years => CASE WHEN la.looked_after
        THEN @no_dob_years::int + @looked_after_age::int - @age::int ELSE @no_dob_years::int END) <= @now
  END
ORDER BY e.ended_at, e.id
LIMIT @limit`

// purgeEpisodesBatch deletes up to limit expired episodes with all their
// rows, their escalations and email delivery records, then their children
// left with no episode, in one transaction with one audit entry per episode
// and per child. It returns how many candidates it found.
func (s *Store) purgeEpisodesBatch(ctx context.Context, now time.Time, p RetentionPolicy, limit int) (PurgeCounts, int, error) {
	loc, err := time.LoadLocation(p.timeZone())
	if err != nil {
		return PurgeCounts{}, 0, fmt.Errorf("store: purge: %w: unknown time zone", ErrInvalid)
	}
	var counts PurgeCounts
	found := 0
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, expiredEpisodesSQL, pgx.NamedArgs{
			"looked_after_age": p.LookedAfterUntilAge,
			"age":              p.CaseRecordsUntilAge,
			"no_dob_years":     p.CaseRecordsNoDOBYears,
			"today":            now.In(loc).Format(time.DateOnly),
			"now":              now.UTC(),
			"limit":            limit,
		})
		if err != nil {
			return wrap("purge: find expired episodes", err)
		}
		var ids, childIDs []string
		seenChild := map[string]bool{}
		for rows.Next() {
			var id string
			var child *string
			if err := rows.Scan(&id, &child); err != nil {
				rows.Close()
				return wrap("purge: find expired episodes", err)
			}
			ids = append(ids, id)
			if child != nil && !seenChild[*child] {
				seenChild[*child] = true
				childIDs = append(childIDs, *child)
			}
		}
		if err := rows.Err(); err != nil {
			return wrap("purge: find expired episodes", err)
		}
		found = len(ids)
		if found == 0 {
			return nil
		}
		// Lock the children: placing a hold (which references the child)
		// waits for this transaction, and one placed before it is seen by
		// the DELETE below, which re-checks the holds in a new snapshot.
		if len(childIDs) > 0 {
			if _, err := tx.Exec(ctx, `SELECT id FROM children WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, childIDs); err != nil {
				return wrap("purge: lock children", err)
			}
		}
		// The people of concern these episodes named: the links go with
		// the episodes, and a person no other interview names goes too.
		rows, err = tx.Query(ctx, `SELECT DISTINCT person_id FROM interview_people WHERE episode_id = ANY($1::uuid[])`, ids)
		if err != nil {
			return wrap("purge: find people of concern", err)
		}
		people, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return wrap("purge: find people of concern", err)
		}
		rows, err = tx.Query(ctx, `DELETE FROM episodes e
			WHERE e.id = ANY($1::uuid[]) AND e.status IN `+endedStatuses+` AND NOT `+activeHold("e.child_id")+`
			RETURNING e.id, e.reference`, ids)
		if err != nil {
			return wrap("purge: delete episodes", err)
		}
		type purged struct{ id, reference string }
		deleted, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (purged, error) {
			var p purged
			err := r.Scan(&p.id, &p.reference)
			return p, err
		})
		if err != nil {
			return wrap("purge: delete episodes", err)
		}
		var deletedIDs, keyPatterns []string
		for _, d := range deleted {
			deletedIDs = append(deletedIDs, d.id)
			keyPatterns = append(keyPatterns, "escalation:"+d.id+":%", "reminder:"+d.id+":%", "return-report:"+d.id+":%", "report-undelivered:"+d.id+"%")
		}
		if len(deletedIDs) > 0 {
			// Escalations and deliveries have no foreign key to the episode.
			if _, err := tx.Exec(ctx, `DELETE FROM escalations WHERE episode_id = ANY($1::uuid[])`, deletedIDs); err != nil {
				return wrap("purge: delete escalations", err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM email_deliveries WHERE message_key LIKE ANY($1::text[])`, keyPatterns); err != nil {
				return wrap("purge: delete email deliveries", err)
			}
			for _, table := range []string{"undelivered_emails", "email_refusals"} {
				if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE episode_id = ANY($1::uuid[])`, deletedIDs); err != nil {
					return wrap("purge: delete "+table, err)
				}
			}
		}
		for _, d := range deleted {
			if err := appendRetentionAudit(ctx, tx, "episode", d.id, "purged "+d.reference); err != nil {
				return err
			}
		}
		counts.EpisodesPurged = len(deleted)
		if counts.PeopleRemoved, err = removeUnnamedPeople(ctx, tx, people); err != nil {
			return err
		}
		if len(childIDs) > 0 {
			rows, err := tx.Query(ctx, `DELETE FROM children c
				WHERE c.id = ANY($1::uuid[])
				  AND NOT EXISTS (SELECT 1 FROM episodes e WHERE e.child_id = c.id)
				  AND NOT `+activeHold("c.id")+`
				RETURNING c.id`, childIDs)
			if err != nil {
				return wrap("purge: delete children", err)
			}
			removed, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return wrap("purge: delete children", err)
			}
			for _, id := range removed {
				if err := appendRetentionAudit(ctx, tx, "child/"+id, "", "removed child with no episodes left"); err != nil {
					return err
				}
			}
			counts.ChildrenRemoved = len(removed)
		}
		return nil
	})
	if err != nil {
		return PurgeCounts{}, 0, err
	}
	return counts, found, nil
}

// anonymiseNotesBatch blanks the free-text notes of up to limit contact
// attempts of ended episodes recorded before the notes' retention, in the
// rows and in the episode snapshots, with one audit entry for the batch.
func (s *Store) anonymiseNotesBatch(ctx context.Context, now time.Time, p RetentionPolicy, limit int) (PurgeCounts, int, error) {
	cutoff := now.UTC().AddDate(-p.AttemptNotesYears, 0, 0)
	var counts PurgeCounts
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			WITH target AS (
				SELECT a.episode_id, a.seq
				FROM contact_attempts a JOIN episodes e ON e.id = a.episode_id
				WHERE a.notes <> '' AND a.recorded_at <= $1
				  AND e.status IN `+endedStatuses+`
				  AND NOT `+activeHold("e.child_id")+`
				ORDER BY a.episode_id, a.seq
				LIMIT $2
				FOR UPDATE OF a SKIP LOCKED
			)
			UPDATE contact_attempts a SET notes = ''
			FROM target t WHERE a.episode_id = t.episode_id AND a.seq = t.seq
			RETURNING a.episode_id`, cutoff, limit)
		if err != nil {
			return wrap("purge: anonymise notes", err)
		}
		episodeIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return wrap("purge: anonymise notes", err)
		}
		counts.NotesAnonymised = len(episodeIDs)
		if len(episodeIDs) == 0 {
			return nil
		}
		// The snapshot carries the notes too: drop them from the same
		// attempts (recorded before the cutoff).
		if _, err := tx.Exec(ctx, `
			UPDATE episodes e SET state = jsonb_set(e.state, '{contact_attempts}', (
				SELECT COALESCE(jsonb_agg(
					CASE WHEN x ? 'notes' AND (x->>'recorded_at')::timestamptz <= $2 THEN x - 'notes' ELSE x END
					ORDER BY o), '[]'::jsonb)
				FROM jsonb_array_elements(e.state->'contact_attempts') WITH ORDINALITY AS t(x, o)))
			WHERE e.id = ANY($1::uuid[]) AND jsonb_typeof(e.state->'contact_attempts') = 'array'`,
			episodeIDs, cutoff); err != nil {
			return wrap("purge: anonymise notes in snapshots", err)
		}
		return appendRetentionAudit(ctx, tx, "contact_attempt_notes", "",
			fmt.Sprintf("anonymised notes of %d contact attempts recorded before %s", len(episodeIDs), cutoff.Format(time.DateOnly)))
	})
	if err != nil {
		return PurgeCounts{}, 0, err
	}
	return counts, counts.NotesAnonymised, nil
}

// purgeDeliveriesBatch deletes up to limit email delivery records older
// than their retention, keeping those of episodes whose child is on hold.
func (s *Store) purgeDeliveriesBatch(ctx context.Context, now time.Time, p RetentionPolicy, limit int) (PurgeCounts, int, error) {
	cutoff := now.UTC().AddDate(-p.EmailDeliveryYears, 0, 0)
	var counts PurgeCounts
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			DELETE FROM email_deliveries WHERE ctid = ANY(ARRAY(
				SELECT d.ctid FROM email_deliveries d
				WHERE d.sent_at <= $1
				  AND NOT EXISTS (
					SELECT 1 FROM episodes e
					WHERE e.id = CASE WHEN split_part(d.message_key, ':', 2) ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
					                  THEN split_part(d.message_key, ':', 2)::uuid END
					  AND `+activeHold("e.child_id")+`)
				ORDER BY d.sent_at
				LIMIT $2
				FOR UPDATE SKIP LOCKED))`, cutoff, limit)
		if err != nil {
			return wrap("purge: delete email deliveries", err)
		}
		counts.DeliveriesRemoved = int(tag.RowsAffected())
		if counts.DeliveriesRemoved == 0 {
			return nil
		}
		return appendRetentionAudit(ctx, tx, "email_deliveries", "",
			fmt.Sprintf("removed %d email delivery records sent before %s", counts.DeliveriesRemoved, cutoff.Format(time.DateOnly)))
	})
	if err != nil {
		return PurgeCounts{}, 0, err
	}
	return counts, counts.DeliveriesRemoved, nil
}

// appendRetentionAudit records one thing the purge did, inside its
// transaction: ids, counts and dates only, never personal data.
// removeUnnamedPeople removes those of people (ids) whom no interview
// left in the records names, with an audit entry each, and returns how
// many. A person named again later is written again by the projection.
func removeUnnamedPeople(ctx context.Context, tx pgx.Tx, people []string) (int, error) {
	if len(people) == 0 {
		return 0, nil
	}
	rows, err := tx.Query(ctx, `DELETE FROM people_of_concern p
		WHERE p.id = ANY($1::uuid[]) AND NOT EXISTS (SELECT 1 FROM interview_people l WHERE l.person_id = p.id)
		RETURNING p.id`, people)
	if err != nil {
		return 0, wrap("purge: delete people of concern", err)
	}
	removed, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, wrap("purge: delete people of concern", err)
	}
	for _, id := range removed {
		if err := appendRetentionAudit(ctx, tx, "person_of_concern/"+id, "", "removed person of concern no interview names"); err != nil {
			return 0, err
		}
	}
	return len(removed), nil
}

func appendRetentionAudit(ctx context.Context, tx pgx.Tx, resource, episodeID, outcome string) error {
	return AppendAudit(ctx, tx, AuditEntry{
		UserID:    "system:retention",
		Role:      "system",
		Action:    AuditActionRetentionPurge,
		Resource:  resource,
		EpisodeID: episodeID,
		Outcome:   outcome,
	})
}

// LegalHold stops the retention purge for one child while it is active.
type LegalHold struct {
	ID       int64  `json:"id"`
	ChildID  string `json:"child_id"`
	Reason   string `json:"reason"`
	PlacedBy string `json:"placed_by"`
	// CommissionerID is the commissioner of the user who placed the hold;
	// empty when the provider's staff placed it.
	CommissionerID string     `json:"commissioner_id,omitempty"`
	PlacedAt       time.Time  `json:"placed_at"`
	ReleasedAt     *time.Time `json:"released_at,omitempty"`
	ReleasedBy     string     `json:"released_by,omitempty"`
}

// ReleasableBy reports whether c may release the hold: the provider's
// staff may release any hold, a commissioner's staff only their
// commissioner's. Which roles may release at all is the API's to say.
func (h LegalHold) ReleasableBy(c Caller) bool {
	return c.Provider() || c.CommissionerID == h.CommissionerID
}

// Audit actions of legal holds, written with the hold's change. The
// resource names the child by id ("child/<id>"), never by name.
const (
	AuditActionLegalHoldPlace   = "legal_hold.place"
	AuditActionLegalHoldRelease = "legal_hold.release"
)

const legalHoldColumns = `id, child_id, reason, placed_by, COALESCE(commissioner_id::text, ''), placed_at, released_at, released_by`

func scanLegalHold(r pgx.Row) (LegalHold, error) {
	var h LegalHold
	err := r.Scan(&h.ID, &h.ChildID, &h.Reason, &h.PlacedBy, &h.CommissionerID, &h.PlacedAt, &h.ReleasedAt, &h.ReleasedBy)
	return h, err
}

// lockChild locks the child's row, or answers ErrNotFound. Holding it
// makes a purge running now finish first (and one starting now wait), and
// keeps the lock order of the purge: child, then audit chain.
func lockChild(ctx context.Context, tx pgx.Tx, op, childID string) error {
	var found string
	err := tx.QueryRow(ctx, `SELECT id FROM children WHERE id = $1 FOR UPDATE`, childID).Scan(&found)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return wrap(op+": find child", err)
}

// appendHoldAudit records a hold's change in its transaction.
func appendHoldAudit(ctx context.Context, tx pgx.Tx, by Caller, action string, h LegalHold, outcome string) error {
	return AppendAudit(ctx, tx, AuditEntry{
		UserID:         by.UserID,
		Role:           string(by.Role),
		CommissionerID: by.CommissionerID,
		Action:         action,
		Resource:       "child/" + h.ChildID,
		Outcome:        fmt.Sprintf("%s hold %d", outcome, h.ID),
	})
}

// PlaceLegalHold puts an active hold on the child, placed by by and
// belonging to by's commissioner. ErrNotFound when the records know no
// such child (including after its records were purged), ErrConflict when
// the child already has an active hold.
func (s *Store) PlaceLegalHold(ctx context.Context, by Caller, childID, reason string, at time.Time) (LegalHold, error) {
	cid, ok := parseID(childID)
	if !ok {
		return LegalHold{}, ErrNotFound
	}
	if reason == "" {
		return LegalHold{}, fmt.Errorf("store: place legal hold: %w: a reason is required", ErrInvalid)
	}
	by, err := by.validate()
	if err != nil {
		return LegalHold{}, err
	}
	var h LegalHold
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if err := lockChild(ctx, tx, "place legal hold", cid); err != nil {
			return err
		}
		var err error
		h, err = scanLegalHold(tx.QueryRow(ctx, `INSERT INTO legal_holds (child_id, reason, placed_by, commissioner_id, placed_at)
			VALUES ($1, $2, $3, NULLIF($4, '')::uuid, $5) RETURNING `+legalHoldColumns,
			cid, reason, by.UserID, by.CommissionerID, at.UTC()))
		if _, unique := isUniqueViolation(err); unique {
			return ErrConflict
		}
		if err != nil {
			return wrap("place legal hold", err)
		}
		return appendHoldAudit(ctx, tx, by, AuditActionLegalHoldPlace, h, "placed")
	})
	if err != nil {
		return LegalHold{}, err
	}
	return h, nil
}

// ReleaseLegalHold releases the child's active hold, recording who
// released it and when; the row stays as history. ErrNotFound when the
// child is unknown, ErrConflict when it has no active hold, ErrForbidden
// when by may not release it (see LegalHold.ReleasableBy).
func (s *Store) ReleaseLegalHold(ctx context.Context, by Caller, childID string, at time.Time) (LegalHold, error) {
	cid, ok := parseID(childID)
	if !ok {
		return LegalHold{}, ErrNotFound
	}
	by, err := by.validate()
	if err != nil {
		return LegalHold{}, err
	}
	var h LegalHold
	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		if err := lockChild(ctx, tx, "release legal hold", cid); err != nil {
			return err
		}
		active, err := scanLegalHold(tx.QueryRow(ctx, `SELECT `+legalHoldColumns+` FROM legal_holds
			WHERE child_id = $1 AND released_at IS NULL FOR UPDATE`, cid))
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrConflict
		}
		if err != nil {
			return wrap("release legal hold: find active hold", err)
		}
		if !active.ReleasableBy(by) {
			return ErrForbidden
		}
		h, err = scanLegalHold(tx.QueryRow(ctx, `UPDATE legal_holds
			SET released_at = GREATEST($2, placed_at), released_by = $3
			WHERE id = $1
			RETURNING `+legalHoldColumns, active.ID, at.UTC(), by.UserID))
		if err != nil {
			return wrap("release legal hold", err)
		}
		return appendHoldAudit(ctx, tx, by, AuditActionLegalHoldRelease, h, "released")
	})
	if err != nil {
		return LegalHold{}, err
	}
	return h, nil
}

// LegalHolds lists the holds of the child that caller may see, active and
// released, newest first. Row-level security decides: a hold is visible
// with its child.
func (s *Store) LegalHolds(ctx context.Context, caller Caller, childID string) ([]LegalHold, error) {
	cid, ok := parseID(childID)
	if !ok {
		return []LegalHold{}, nil
	}
	var out []LegalHold
	err := s.asCaller(ctx, caller, readOnly, "legal holds", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+legalHoldColumns+` FROM legal_holds
			WHERE child_id = $1 ORDER BY id DESC`, cid)
		if err != nil {
			return wrap("legal holds", err)
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (LegalHold, error) { return scanLegalHold(r) })
		return wrap("legal holds", err)
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		out = []LegalHold{}
	}
	return out, nil
}

// ActiveLegalHold returns the child's active hold, or ErrNotFound.
func (s *Store) ActiveLegalHold(ctx context.Context, childID string) (LegalHold, error) {
	cid, ok := parseID(childID)
	if !ok {
		return LegalHold{}, ErrNotFound
	}
	h, err := scanLegalHold(s.Pool.QueryRow(ctx, `SELECT `+legalHoldColumns+` FROM legal_holds
		WHERE child_id = $1 AND released_at IS NULL`, cid))
	if errors.Is(err, pgx.ErrNoRows) {
		return LegalHold{}, ErrNotFound
	}
	if err != nil {
		return LegalHold{}, wrap("active legal hold", err)
	}
	return h, nil
}
