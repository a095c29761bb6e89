package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"homeward/episode"
)

// ChildExists reports whether the records know a child with id that
// caller may see. A malformed id is simply not a known child: false and no
// error.
func (s *Store) ChildExists(ctx context.Context, caller Caller, id string) (bool, error) {
	uid, ok := parseID(id)
	if !ok {
		return false, nil
	}
	var exists bool
	err := s.asCaller(ctx, caller, readOnly, "child exists", func(tx pgx.Tx) error {
		return wrap("child exists", tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM children WHERE id = $1)", uid).Scan(&exists))
	})
	if err != nil {
		return false, err
	}
	return exists, nil
}

// ChildPreferences are what the child asked for, kept with the child so
// that every episode can respect them.
type ChildPreferences struct {
	WorkerGender string `json:"worker_gender,omitempty"`
	Language     string `json:"language,omitempty"`
	Interpreter  bool   `json:"interpreter,omitempty"`
	// SafeVenues are places the child feels safe to meet.
	SafeVenues []string `json:"safe_venues,omitempty"`
	// DoNotContact names people who must not be contacted about the child.
	DoNotContact []string `json:"do_not_contact,omitempty"`
	Notes        string   `json:"notes,omitempty"`
}

// PreferencesFromReferral are the child's first preferences: those the
// referral that made the child gave.
func PreferencesFromReferral(p episode.Preferences) ChildPreferences {
	return ChildPreferences{WorkerGender: p.WorkerGender, Language: p.Language, Notes: p.Notes}
}

// ChildSummary is one line of a list of children.
type ChildSummary struct {
	ID                    string   `json:"id"`
	FirstName             string   `json:"first_name"`
	LastName              string   `json:"last_name"`
	DateOfBirth           *string  `json:"date_of_birth"` // YYYY-MM-DD
	Gender                string   `json:"gender"`
	LocalAuthorityChildID string   `json:"local_authority_child_id"`
	CommissionerID        *string  `json:"commissioner_id"`
	Worker                *UserRef `json:"worker"`
	// EpisodeCount counts the child's episodes the caller may see.
	EpisodeCount int `json:"episode_count"`
}

// ChildEpisode is one episode of a child, with how it turned out.
type ChildEpisode struct {
	ID                  string         `json:"id"`
	Reference           string         `json:"reference"`
	Status              episode.Status `json:"status"`
	ReturnedAt          time.Time      `json:"returned_at"`
	OpenedAt            time.Time      `json:"opened_at"`
	OfferMadeAt         *time.Time     `json:"offer_made_at"`
	OfferWithinDeadline *bool          `json:"offer_within_deadline"`
	Offers              int            `json:"offers"`
	Declines            int            `json:"declines"`
	EndedAt             *time.Time     `json:"ended_at"`
	AssignedInterviewer *UserRef       `json:"assigned_interviewer"`
}

// EpisodeCounts count a child's episodes opened in the last days.
type EpisodeCounts struct {
	Last30Days  int `json:"last_30_days"`
	Last90Days  int `json:"last_90_days"`
	Last365Days int `json:"last_365_days"`
}

// InterviewLink is where the child was and who with, as a held interview
// recorded it.
type InterviewLink struct {
	EpisodeID     string     `json:"episode_id"`
	Reference     string     `json:"reference"`
	HeldAt        *time.Time `json:"held_at"`
	WhereChildWas string     `json:"where_child_was"`
	WhoWith       string     `json:"who_with"`
}

// ChildDetail is the child's whole record as the caller may see it.
type ChildDetail struct {
	ChildSummary
	PolicePersonReference string                 `json:"police_person_reference"`
	Preferences           ChildPreferences       `json:"preferences"`
	Contact               episode.ContactDetails `json:"contact"`
	Episodes              []ChildEpisode         `json:"episodes"`
	EpisodeCounts         EpisodeCounts          `json:"episode_counts"`
	Interviews            []InterviewLink        `json:"places_and_people"`
	// StrategyMeetings are the repeat_missing escalations the child's
	// record raised: the child went missing again and again.
	StrategyMeetings []StrategyMeetingCall `json:"strategy_meetings"`
	CreatedAt        time.Time             `json:"created_at"`
	UpdatedAt        time.Time             `json:"updated_at"`
}

// ChildFilter selects children. Name matches first name, last name or
// both, in part and in any case.
type ChildFilter struct {
	Name                  string
	DateOfBirth           string // YYYY-MM-DD
	LocalAuthorityChildID string
	Limit, Offset         int
}

const childSummaryColumns = `c.id::text, c.first_name, c.last_name, to_char(c.date_of_birth, 'YYYY-MM-DD'),
	c.gender, c.local_authority_child_id, c.commissioner_id::text, c.worker_id::text, COALESCE(u.name, ''),
	(SELECT count(*) FROM episodes e WHERE e.child_id = c.id)`

func scanChildSummary(row pgx.Row, c *ChildSummary, extra ...any) error {
	var workerID *string
	var workerName string
	dest := append([]any{&c.ID, &c.FirstName, &c.LastName, &c.DateOfBirth, &c.Gender,
		&c.LocalAuthorityChildID, &c.CommissionerID, &workerID, &workerName, &c.EpisodeCount}, extra...)
	if err := row.Scan(dest...); err != nil {
		return err
	}
	if workerID != nil {
		c.Worker = &UserRef{ID: *workerID, Name: workerName}
	}
	return nil
}

// ListChildren lists the children f selects that caller may see, by name.
func (s *Store) ListChildren(ctx context.Context, caller Caller, f ChildFilter) ([]ChildSummary, error) {
	out := []ChildSummary{}
	var dob *string
	if _, err := time.Parse(time.DateOnly, f.DateOfBirth); err == nil {
		dob = &f.DateOfBirth
	}
	limit, offset := pageBounds(f.Limit, f.Offset)
	err := s.asCaller(ctx, caller, readOnly, "list children", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+childSummaryColumns+`
			FROM children c LEFT JOIN users u ON u.id = c.worker_id
			WHERE (@name = '' OR (c.first_name_key || ' ' || c.last_name_key) LIKE '%' || @name || '%')
				AND (@dob::date IS NULL OR c.date_of_birth = @dob::date)
				AND (@la = '' OR c.local_authority_child_id = @la)
			ORDER BY lower(c.last_name), lower(c.first_name), c.id
			LIMIT @limit OFFSET @offset`, pgx.NamedArgs{
			"name": likeEscape(NameKey(f.Name)), "dob": dob, "la": f.LocalAuthorityChildID,
			"limit": limit, "offset": offset,
		})
		if err != nil {
			return wrap("list children", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c ChildSummary
			if err := scanChildSummary(rows, &c); err != nil {
				return wrap("list children", err)
			}
			out = append(out, c)
		}
		return wrap("list children", rows.Err())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// likeEscape makes s match itself only in an ILIKE pattern.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// GetChild returns the child's record with the episodes caller may see.
// ErrNotFound when there is no such child, caller may not see it, or id is
// not a uuid. now counts the recent episodes.
func (s *Store) GetChild(ctx context.Context, caller Caller, id string, now time.Time) (ChildDetail, error) {
	uid, ok := parseID(id)
	if !ok {
		return ChildDetail{}, ErrNotFound
	}
	var d ChildDetail
	err := s.asCaller(ctx, caller, readOnly, "get child", func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, `SELECT `+childSummaryColumns+`, c.police_person_reference, c.preferences,
				c.contact, c.created_at, c.updated_at
			FROM children c LEFT JOIN users u ON u.id = c.worker_id WHERE c.id = $1`, uid)
		err := scanChildSummary(row, &d.ChildSummary, &d.PolicePersonReference, &d.Preferences, &d.Contact, &d.CreatedAt, &d.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return wrap("get child", err)
		}
		d.CreatedAt, d.UpdatedAt = d.CreatedAt.UTC(), d.UpdatedAt.UTC()
		if d.Episodes, err = queryChildEpisodes(ctx, tx, uid); err != nil {
			return err
		}
		d.EpisodeCounts = countRecent(d.Episodes, now)
		if d.StrategyMeetings, err = queryStrategyMeetings(ctx, tx, uid); err != nil {
			return err
		}
		d.Interviews, err = queryInterviewLinks(ctx, tx, uid)
		return err
	})
	if err != nil {
		return ChildDetail{}, err
	}
	return d, nil
}

func queryChildEpisodes(ctx context.Context, tx pgx.Tx, childID string) ([]ChildEpisode, error) {
	rows, err := tx.Query(ctx, `SELECT e.id::text, e.reference, e.status, e.returned_at, e.opened_at,
			e.offer_made_at, e.offer_within_deadline, e.offers, e.declines, e.ended_at,
			e.assigned_interviewer_id::text, COALESCE(u.name, '')
		FROM episodes e LEFT JOIN users u ON u.id = e.assigned_interviewer_id
		WHERE e.child_id = $1 ORDER BY e.opened_at DESC, e.id`, childID)
	if err != nil {
		return nil, wrap("child episodes", err)
	}
	defer rows.Close()
	out := []ChildEpisode{}
	for rows.Next() {
		var (
			e            ChildEpisode
			assigneeID   *string
			assigneeName string
		)
		if err := rows.Scan(&e.ID, &e.Reference, &e.Status, &e.ReturnedAt, &e.OpenedAt, &e.OfferMadeAt,
			&e.OfferWithinDeadline, &e.Offers, &e.Declines, &e.EndedAt, &assigneeID, &assigneeName); err != nil {
			return nil, wrap("child episodes", err)
		}
		e.ReturnedAt, e.OpenedAt = e.ReturnedAt.UTC(), e.OpenedAt.UTC()
		e.OfferMadeAt, e.EndedAt = utcPtr(e.OfferMadeAt), utcPtr(e.EndedAt)
		if assigneeID != nil {
			e.AssignedInterviewer = &UserRef{ID: *assigneeID, Name: assigneeName}
		}
		out = append(out, e)
	}
	return out, wrap("child episodes", rows.Err())
}

func countRecent(eps []ChildEpisode, now time.Time) EpisodeCounts {
	var c EpisodeCounts
	for _, e := range eps {
		age := now.Sub(e.OpenedAt)
		if age <= 30*24*time.Hour {
			c.Last30Days++
		}
		if age <= 90*24*time.Hour {
			c.Last90Days++
		}
		if age <= 365*24*time.Hour {
			c.Last365Days++
		}
	}
	return c
}

// queryInterviewLinks lists the places and people held interviews named,
// newest first.
func queryInterviewLinks(ctx context.Context, tx pgx.Tx, childID string) ([]InterviewLink, error) {
	rows, err := tx.Query(ctx, `SELECT e.id::text, e.reference, i.held_at,
			COALESCE(i.record->>'where_child_was', ''), COALESCE(i.record->>'who_with', '')
		FROM interviews i JOIN episodes e ON e.id = i.episode_id
		WHERE e.child_id = $1 AND i.outcome = 'held'
			AND (COALESCE(i.record->>'where_child_was', '') <> '' OR COALESCE(i.record->>'who_with', '') <> '')
		ORDER BY i.held_at DESC NULLS LAST, e.id, i.seq`, childID)
	if err != nil {
		return nil, wrap("interview links", err)
	}
	defer rows.Close()
	out := []InterviewLink{}
	for rows.Next() {
		var l InterviewLink
		if err := rows.Scan(&l.EpisodeID, &l.Reference, &l.HeldAt, &l.WhereChildWas, &l.WhoWith); err != nil {
			return nil, wrap("interview links", err)
		}
		l.HeldAt = utcPtr(l.HeldAt)
		out = append(out, l)
	}
	return out, wrap("interview links", rows.Err())
}

// ChildCandidate is a child of the commissioner who may be the child a
// referral describes.
type ChildCandidate struct {
	ID                    string  `json:"id"`
	FirstName             string  `json:"first_name"`
	LastName              string  `json:"last_name"`
	DateOfBirth           *string `json:"date_of_birth"`
	LocalAuthorityChildID string  `json:"local_authority_child_id"`
}

// maxCandidates bounds the possible matches a referral is answered with.
const maxCandidates = 20

// possibleMatchesSQL is the rule for a possible match within the
// commissioner (no fuzzy matching: a rule a coordinator can predict):
//   - the same date of birth, and the same first name (compared as NameKey
//     folds them, so in any case) or the
//     same first initial and the same last name; or
//   - the same first and last names when either date of birth is unknown;
//
// never a child with a different local-authority id.
const possibleMatchesSQL = `
SELECT c.id::text, c.first_name, c.last_name, to_char(c.date_of_birth, 'YYYY-MM-DD'), c.local_authority_child_id
FROM children c
WHERE c.commissioner_id = @commissioner
	AND (@la = '' OR c.local_authority_child_id = '')
	AND (
		(c.date_of_birth = @dob::date AND (c.first_name_key = @first
			OR (@last <> '' AND left(c.first_name_key, 1) = left(@first, 1) AND c.last_name_key = @last)))
		OR ((c.date_of_birth IS NULL OR @dob::date IS NULL) AND @last <> ''
			AND c.first_name_key = @first AND c.last_name_key = @last))
ORDER BY c.created_at, c.id
LIMIT @limit`

// PossibleMatches lists the children of commissionerID that caller may see
// and that may be the child described.
func (s *Store) PossibleMatches(ctx context.Context, caller Caller, commissionerID string, child episode.Child) ([]ChildCandidate, error) {
	out := []ChildCandidate{}
	cid, ok := parseID(commissionerID)
	if !ok || strings.TrimSpace(child.FirstName) == "" {
		return out, nil
	}
	var dob *string
	if _, err := time.Parse(time.DateOnly, child.DateOfBirth); err == nil {
		dob = &child.DateOfBirth
	}
	err := s.asCaller(ctx, caller, readOnly, "possible matches", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, possibleMatchesSQL, pgx.NamedArgs{
			"commissioner": cid, "la": child.LocalAuthorityChildID, "dob": dob,
			"first": NameKey(child.FirstName), "last": NameKey(child.LastName), "limit": maxCandidates,
		})
		if err != nil {
			return wrap("possible matches", err)
		}
		out, err = pgx.AppendRows(out, rows, func(row pgx.CollectableRow) (ChildCandidate, error) {
			var c ChildCandidate
			err := row.Scan(&c.ID, &c.FirstName, &c.LastName, &c.DateOfBirth, &c.LocalAuthorityChildID)
			return c, err
		})
		return wrap("possible matches", err)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ChildByLocalAuthorityID is the id of the child of commissionerID with
// the local authority's id la, or "" when there is none caller may see.
func (s *Store) ChildByLocalAuthorityID(ctx context.Context, caller Caller, commissionerID, la string) (string, error) {
	cid, ok := parseID(commissionerID)
	if !ok || la == "" {
		return "", nil
	}
	var id string
	err := s.asCaller(ctx, caller, readOnly, "child by local authority id", func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT id::text FROM children WHERE commissioner_id = $1 AND local_authority_child_id = $2`, cid, la).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return wrap("child by local authority id", err)
	})
	return id, err
}

// ChildCommissioner is the commissioner of the child with id that caller
// may see: found false when there is none, "" for a child known before
// children had commissioners.
func (s *Store) ChildCommissioner(ctx context.Context, caller Caller, id string) (commissionerID string, found bool, err error) {
	uid, ok := parseID(id)
	if !ok {
		return "", false, nil
	}
	err = s.asCaller(ctx, caller, readOnly, "child commissioner", func(tx pgx.Tx) error {
		var cid *string
		err := tx.QueryRow(ctx, "SELECT commissioner_id::text FROM children WHERE id = $1", uid).Scan(&cid)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return nil
		case err != nil:
			return wrap("child commissioner", err)
		}
		found = true
		if cid != nil {
			commissionerID = *cid
		}
		return nil
	})
	return commissionerID, found, err
}

// ChildPatch is a change to a child's record; nil leaves a part as it is.
type ChildPatch struct {
	Preferences *ChildPreferences
	Contact     *episode.ContactDetails
	// WorkerID, when set, names the child's worker ("" for none).
	WorkerID *string
}

// AuditActionChildUpdate is written with a change to a child's record;
// the resource names the child by id, the outcome the parts changed.
const AuditActionChildUpdate = "child.update"

// UpdateChild changes the child's record and writes the change to the
// audit trail, in one transaction. The caller checks who may; ErrNotFound
// when there is no such child.
func (s *Store) UpdateChild(ctx context.Context, by Caller, id string, p ChildPatch) error {
	uid, ok := parseID(id)
	if !ok {
		return ErrNotFound
	}
	by, err := by.validate()
	if err != nil {
		return err
	}
	var worker *string
	if p.WorkerID != nil {
		worker = nullableID(*p.WorkerID)
	}
	return pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// The purge's lock order: child, then audit chain.
		if err := lockChild(ctx, tx, "update child", uid); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE children SET
				preferences = COALESCE($2::jsonb, preferences),
				contact = COALESCE($3::jsonb, contact),
				worker_id = CASE WHEN $4 THEN $5::uuid ELSE worker_id END,
				worker_since = CASE WHEN $4 THEN now() ELSE worker_since END,
				updated_at = now()
			WHERE id = $1`, uid, p.Preferences, p.Contact, p.WorkerID != nil, worker); err != nil {
			return wrap("update child", err)
		}
		return AppendAudit(ctx, tx, AuditEntry{
			UserID: by.UserID, Role: string(by.Role), CommissionerID: by.CommissionerID,
			Action: AuditActionChildUpdate, Resource: "child/" + uid, Outcome: "changed " + p.parts(),
		})
	})
}

// parts names the parts of the record the patch changes, never their values.
func (p ChildPatch) parts() string {
	var out []string
	if p.Preferences != nil {
		out = append(out, "preferences")
	}
	if p.Contact != nil {
		out = append(out, "contact")
	}
	if p.WorkerID != nil {
		out = append(out, "worker")
	}
	return strings.Join(out, ", ")
}

// ChildWorker is the child's worker ("" for none): the interviewer who last
// held an interview with the child, or the one a coordinator set.
func (s *Store) ChildWorker(ctx context.Context, childID string) (string, error) {
	uid, ok := parseID(childID)
	if !ok {
		return "", nil
	}
	var worker *string
	err := s.Pool.QueryRow(ctx, "SELECT worker_id::text FROM children WHERE id = $1", uid).Scan(&worker)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && worker == nil {
		return "", nil
	}
	if err != nil {
		return "", wrap("child worker", err)
	}
	return *worker, nil
}

// ChildPreferredWorkerGender is the worker gender the child's record asks
// for ("" for none).
func (s *Store) ChildPreferredWorkerGender(ctx context.Context, childID string) (string, error) {
	uid, ok := parseID(childID)
	if !ok {
		return "", nil
	}
	var g string
	err := s.Pool.QueryRow(ctx, "SELECT COALESCE(preferences->>'worker_gender', '') FROM children WHERE id = $1", uid).Scan(&g)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return g, wrap("child preferred worker gender", err)
}

// StrategyMeetingCall is one repeat_missing escalation of the child.
type StrategyMeetingCall struct {
	EpisodeID   string     `json:"episode_id"`
	Reference   string     `json:"reference"`
	Reason      string     `json:"reason"`
	TriggeredAt time.Time  `json:"triggered_at"`
	SentAt      *time.Time `json:"sent_at"`
}

func queryStrategyMeetings(ctx context.Context, tx pgx.Tx, childID string) ([]StrategyMeetingCall, error) {
	rows, err := tx.Query(ctx, `SELECT x.episode_id::text, x.reference, x.reason, x.triggered_at, x.sent_at
		FROM escalations x JOIN episodes e ON e.id = x.episode_id
		WHERE e.child_id = $1 AND x.kind = $2 ORDER BY x.triggered_at`, childID, string(episode.EscalationRepeatMissing))
	if err != nil {
		return nil, wrap("get child: strategy meetings", err)
	}
	out := []StrategyMeetingCall{}
	var m StrategyMeetingCall
	_, err = pgx.ForEachRow(rows, []any{&m.EpisodeID, &m.Reference, &m.Reason, &m.TriggeredAt, &m.SentAt}, func() error {
		m.TriggeredAt, m.SentAt = m.TriggeredAt.UTC(), utcPtr(m.SentAt)
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, wrap("get child: strategy meetings", err)
	}
	return out, nil
}
