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

// ChildName is the child as episode lists show them.
type ChildName struct {
	ID        string `json:"id"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

// ChildView is the child as the episode page shows them.
type ChildView struct {
	ID          string  `json:"id"`
	FirstName   string  `json:"first_name"`
	LastName    string  `json:"last_name"`
	DateOfBirth *string `json:"date_of_birth"` // YYYY-MM-DD
	Gender      string  `json:"gender"`
}

// UserRef names a user.
type UserRef struct {
	ID   string `json:"id"`
	Name string `json:"name"` // empty when the records do not know the user
}

// NextContactSummary is the contact plan as lists show it.
type NextContactSummary struct {
	Method episode.Method `json:"method"`
	DueAt  time.Time      `json:"due_at"`
}

// NextContactView is the contact plan as the episode page shows it.
type NextContactView struct {
	Method  episode.Method `json:"method"`
	DueAt   time.Time      `json:"due_at"`
	Purpose string         `json:"purpose"`
}

// EpisodeSummary is one line of an episode list.
type EpisodeSummary struct {
	ID                  string              `json:"id"`
	Reference           string              `json:"reference"`
	Status              episode.Status      `json:"status"`
	Child               ChildName           `json:"child"`
	RiskGrade           episode.RiskGrade   `json:"risk_grade"`
	Category            episode.Category    `json:"category"`
	LookedAfter         bool                `json:"looked_after"`
	ReturnedAt          time.Time           `json:"returned_at"`
	OfferDeadline       time.Time           `json:"offer_deadline"`
	OfferMadeAt         *time.Time          `json:"offer_made_at"`
	AssignedInterviewer *UserRef            `json:"assigned_interviewer"`
	NextContact         *NextContactSummary `json:"next_contact"`
	FollowUpDueAt       *time.Time          `json:"follow_up_due_at"`
	Overdue             bool                `json:"overdue"`
	// PreviousWorkerUnavailable: unassigned, and the child's worker can no
	// longer take it, so a coordinator must choose someone.
	PreviousWorkerUnavailable bool      `json:"previous_worker_unavailable"`
	UpdatedAt                 time.Time `json:"updated_at"`
}

// ContactAttemptView is one recorded contact attempt.
type ContactAttemptView struct {
	Seq         int                    `json:"seq"`
	Method      episode.Method         `json:"method"`
	Outcome     episode.AttemptOutcome `json:"outcome"`
	AttemptedAt time.Time              `json:"attempted_at"`
	Notes       string                 `json:"notes"`
	RecordedBy  string                 `json:"recorded_by"`
	RecordedAt  time.Time              `json:"recorded_at"`
}

// InterviewView is the current state of the interview.
type InterviewView struct {
	Status       episode.InterviewOutcome `json:"status"`
	ScheduledFor *time.Time               `json:"scheduled_for"`
	Venue        string                   `json:"venue"`
	HeldAt       *time.Time               `json:"held_at"`
	Missed       int                      `json:"missed"`
	Reschedules  int                      `json:"reschedules"`
	Record       *episode.InterviewRecord `json:"record"`
	// Covers and SharedFrom tie an interview that covered several episodes
	// of the child to each of them.
	Covers     []string `json:"covers,omitempty"`
	SharedFrom string   `json:"shared_from,omitempty"`
}

// FollowUpView is the one-week follow-up.
type FollowUpView struct {
	DueAt        time.Time  `json:"due_at"`
	OverdueAt    time.Time  `json:"overdue_at"`
	CompletedAt  *time.Time `json:"completed_at"`
	ActionsTaken []string   `json:"actions_taken"`
	Outcome      string     `json:"outcome"`
}

// EscalationSummary is one escalation on the episode page.
type EscalationSummary struct {
	ID          int64                  `json:"id"`
	Kind        episode.EscalationKind `json:"kind"`
	Reason      string                 `json:"reason"`
	DueAt       time.Time              `json:"due_at"`
	TriggeredAt time.Time              `json:"triggered_at"`
	SentAt      *time.Time             `json:"sent_at"`
	Recipients  int                    `json:"recipients"`
	// Action is the overdue action's number (action_overdue only).
	Action int `json:"action,omitempty"`
	// Acknowledgement says who is dealing with it; nil until a manager
	// acknowledges it.
	Acknowledgement *EscalationAcknowledgement `json:"acknowledgement"`
	// Undelivered says who was tried and why while nobody has received the
	// escalation's email; nil once someone has (or before the first try).
	Undelivered *Undelivered `json:"undelivered"`
}

// ActionPlanView is the action plan and what became of each action.
type ActionPlanView struct {
	RecordedBy string       `json:"recorded_by"`
	RecordedAt time.Time    `json:"recorded_at"`
	Actions    []ActionView `json:"actions"`
}

// ActionView is one action of the plan.
type ActionView struct {
	Seq              int                  `json:"seq"`
	What             string               `json:"what"`
	Owner            string               `json:"owner"`
	OwnerEmail       string               `json:"owner_email"`
	DueAt            time.Time            `json:"due_at"`
	Status           episode.ActionStatus `json:"status"`
	Reason           string               `json:"reason"`
	CarriedForwardTo *time.Time           `json:"carried_forward_to"`
	ReviewedAt       *time.Time           `json:"reviewed_at"`
	ReminderSent     bool                 `json:"reminder_sent"`
}

// CarersAccountView is one account parents or carers gave.
type CarersAccountView struct {
	Seq           int       `json:"seq"`
	GivenBy       string    `json:"given_by"`
	Relationship  string    `json:"relationship"`
	GivenAt       time.Time `json:"given_at"`
	WhereChildWas string    `json:"where_child_was"`
	WhoWith       string    `json:"who_with"`
	Notes         string    `json:"notes"`
	RecordedBy    string    `json:"recorded_by"`
	RecordedAt    time.Time `json:"recorded_at"`
}

// EpisodeDetail is everything the episode page shows. Arrays are never nil.
type EpisodeDetail struct {
	ID                  string                  `json:"id"`
	Reference           string                  `json:"reference"`
	Status              episode.Status          `json:"status"`
	Child               ChildView               `json:"child"`
	ReportedMissingAt   *time.Time              `json:"reported_missing_at"`
	ReturnedAt          time.Time               `json:"returned_at"`
	OpenedAt            time.Time               `json:"opened_at"`
	OpenedBy            string                  `json:"opened_by"`
	OfferDeadline       time.Time               `json:"offer_deadline"`
	OfferMadeAt         *time.Time              `json:"offer_made_at"`
	OfferWithinDeadline *bool                   `json:"offer_within_deadline"`
	Offers              int                     `json:"offers"`
	Declines            int                     `json:"declines"`
	RiskGrade           episode.RiskGrade       `json:"risk_grade"`
	Category            episode.Category        `json:"category"`
	LookedAfter         bool                    `json:"looked_after"`
	PoliceReference     string                  `json:"police_reference"`
	ReferralSource      string                  `json:"referral_source"`
	Contact             episode.ContactDetails  `json:"contact"`
	Preferences         episode.Preferences     `json:"preferences"`
	AssignedInterviewer *UserRef                `json:"assigned_interviewer"`
	ContactAttempts     []ContactAttemptView    `json:"contact_attempts"`
	NextContact         *NextContactView        `json:"next_contact"`
	Interview           *InterviewView          `json:"interview"`
	Agreement           *episode.Agreement      `json:"agreement"`
	FollowUp            *FollowUpView           `json:"follow_up"`
	ActionPlan          *ActionPlanView         `json:"action_plan"`
	CarersAccounts      []CarersAccountView     `json:"carers_accounts"`
	Closure             *episode.Closure        `json:"closure"`
	Escalations         []EscalationSummary     `json:"escalations"`
	Timeline            []episode.TimelineEntry `json:"timeline"`
	UpdatedAt           time.Time               `json:"updated_at"`
}

// EscalationView is one line of the escalations list: the escalation as
// the episode page shows it, with the episode it belongs to.
type EscalationView struct {
	EpisodeID string `json:"episode_id"`
	Reference string `json:"reference"`
	EscalationSummary
}

// EpisodeFilter selects episodes. Empty fields do not filter. Overdue keeps
// the open episodes whose offer is late or whose follow-up is late at Now
// (the current time when Now is zero). Limit 0 means 50; at most 200.
type EpisodeFilter struct {
	Status     string
	AssigneeID string
	Overdue    bool
	// Open keeps the episodes that still expect work (not closed).
	Open bool
	// CommissionerID keeps one commissioner's episodes.
	CommissionerID string
	Now            time.Time
	Limit          int
	Offset         int
}

// EscalationFilter selects escalations. Limit 0 means 50; at most 200.
// Acknowledged nil keeps both the acknowledged and the unacknowledged.
type EscalationFilter struct {
	EpisodeID    string
	Kind         string
	Acknowledged *bool
	// Undelivered keeps those whose email nobody has received (true) or
	// the others (false).
	Undelivered *bool
	Limit       int
	Offset      int
}

// closedStatuses are the statuses that expect no more work.
func closedStatuses() []string {
	var out []string
	for _, s := range episode.Statuses {
		if !s.Open() {
			out = append(out, string(s))
		}
	}
	return out
}

const overdueSQL = `(e.status <> ALL (@closed::text[]) AND (
	(e.offer_made_at IS NULL AND e.offer_deadline < @now)
	OR (e.follow_up_due_at IS NOT NULL AND e.follow_up_due_at < @now AND e.follow_up_completed_at IS NULL)))`

// previousWorkerUnavailableSQL: an open episode waits for a coordinator
// although the child has a worker, who can no longer take it (no longer an
// active interviewer of the episode's commissioner or of the provider).
const previousWorkerUnavailableSQL = `(e.assigned_interviewer_id IS NULL AND c.worker_id IS NOT NULL
	AND e.status <> ALL (@closed::text[]) AND NOT EXISTS (
		SELECT 1 FROM users w WHERE w.id = c.worker_id AND w.active AND w.role = 'interviewer'
			AND (w.commissioner_id IS NULL OR w.commissioner_id = e.commissioner_id)))`

const listEpisodesSQL = `
SELECT e.id::text, e.reference, e.status,
	COALESCE(c.id::text, ''), COALESCE(c.first_name, ''), COALESCE(c.last_name, ''),
	e.risk_grade, e.category, e.looked_after, e.returned_at, e.offer_deadline, e.offer_made_at,
	e.assigned_interviewer_id::text, COALESCE(u.name, ''),
	e.next_contact_method, e.next_contact_due_at, e.follow_up_due_at,
	` + overdueSQL + ` AS overdue,
	` + previousWorkerUnavailableSQL + ` AS previous_worker_unavailable,
	e.updated_at
FROM episodes e
LEFT JOIN children c ON c.id = e.child_id
LEFT JOIN users u ON u.id = e.assigned_interviewer_id
WHERE (@status::text = '' OR e.status = @status)
	AND (@assignee::uuid IS NULL OR e.assigned_interviewer_id = @assignee)
	AND (NOT @overdue::boolean OR ` + overdueSQL + `)
	AND (NOT @open::boolean OR e.status <> ALL(@closed::text[]))
	AND (@commissioner::uuid IS NULL OR e.commissioner_id = @commissioner)
ORDER BY e.offer_deadline, e.id
LIMIT @limit OFFSET @offset`

// ListEpisodes lists the episodes f selects that caller may see, the most
// urgent (earliest offer deadline) first.
func (s *Store) ListEpisodes(ctx context.Context, caller Caller, f EpisodeFilter) ([]EpisodeSummary, error) {
	out := []EpisodeSummary{}
	var assignee *string
	if f.AssigneeID != "" {
		id, ok := parseID(f.AssigneeID)
		if !ok {
			return out, nil // nobody is assigned under a malformed id
		}
		assignee = &id
	}
	var commissioner *string
	if f.CommissionerID != "" {
		id, ok := parseID(f.CommissionerID)
		if !ok {
			return out, nil // no episode belongs to a malformed id
		}
		commissioner = &id
	}
	now := f.Now
	if now.IsZero() {
		now = time.Now()
	}
	limit, offset := pageBounds(f.Limit, f.Offset)
	err := s.asCaller(ctx, caller, readOnly, "list episodes", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, listEpisodesSQL, pgx.NamedArgs{
			"status": f.Status, "assignee": assignee, "overdue": f.Overdue,
			"open": f.Open, "commissioner": commissioner,
			"now": now.UTC(), "closed": closedStatuses(), "limit": limit, "offset": offset,
		})
		if err != nil {
			return wrap("list episodes", err)
		}
		out, err = scanSummaries(rows, out)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func scanSummaries(rows pgx.Rows, out []EpisodeSummary) ([]EpisodeSummary, error) {
	defer rows.Close()
	for rows.Next() {
		var (
			e                       EpisodeSummary
			assigneeID              *string
			assigneeName            string
			ncMethod                *string
			ncDue, offerMade, fuDue *time.Time
		)
		if err := rows.Scan(&e.ID, &e.Reference, &e.Status,
			&e.Child.ID, &e.Child.FirstName, &e.Child.LastName,
			&e.RiskGrade, &e.Category, &e.LookedAfter, &e.ReturnedAt, &e.OfferDeadline, &offerMade,
			&assigneeID, &assigneeName, &ncMethod, &ncDue, &fuDue, &e.Overdue, &e.PreviousWorkerUnavailable, &e.UpdatedAt); err != nil {
			return nil, wrap("list episodes", err)
		}
		e.ReturnedAt, e.OfferDeadline, e.UpdatedAt = e.ReturnedAt.UTC(), e.OfferDeadline.UTC(), e.UpdatedAt.UTC()
		e.OfferMadeAt, e.FollowUpDueAt = utcPtr(offerMade), utcPtr(fuDue)
		if assigneeID != nil {
			e.AssignedInterviewer = &UserRef{ID: *assigneeID, Name: assigneeName}
		}
		if ncMethod != nil && ncDue != nil {
			e.NextContact = &NextContactSummary{Method: episode.Method(*ncMethod), DueAt: ncDue.UTC()}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list episodes", err)
	}
	return out, nil
}

const episodeDetailSQL = `
SELECT e.id::text, e.reference, e.status,
	COALESCE(c.id::text, ''), COALESCE(c.first_name, ''), COALESCE(c.last_name, ''),
	to_char(c.date_of_birth, 'YYYY-MM-DD'), COALESCE(c.gender, ''),
	e.reported_missing_at, e.returned_at, e.opened_at, e.opened_by, e.offer_deadline,
	e.offer_made_at, e.offer_within_deadline, e.offers, e.declines,
	e.risk_grade, e.category, e.looked_after, e.police_reference, e.referral_source,
	e.contact, e.preferences, e.assigned_interviewer_id::text, COALESCE(u.name, ''),
	e.next_contact_method, e.next_contact_due_at, e.next_contact_purpose,
	e.state, e.updated_at
FROM episodes e
LEFT JOIN children c ON c.id = e.child_id
LEFT JOIN users u ON u.id = e.assigned_interviewer_id
WHERE e.id = $1`

// GetEpisode returns everything recorded about one episode, read from one
// consistent snapshot of the database. ErrNotFound when there is no such
// episode, caller may not see it, or id is not a uuid.
func (s *Store) GetEpisode(ctx context.Context, caller Caller, id string) (EpisodeDetail, error) {
	uid, ok := parseID(id)
	if !ok {
		return EpisodeDetail{}, ErrNotFound
	}
	var d EpisodeDetail
	err := s.asCaller(ctx, caller, readOnly, "get episode", func(tx pgx.Tx) error {
		var (
			reported, offerMade, ncDue *time.Time
			assigneeID, ncMethod       *string
			ncPurpose                  *string
			assigneeName               string
			stateJSON                  []byte
		)
		err := tx.QueryRow(ctx, episodeDetailSQL, uid).Scan(&d.ID, &d.Reference, &d.Status,
			&d.Child.ID, &d.Child.FirstName, &d.Child.LastName, &d.Child.DateOfBirth, &d.Child.Gender,
			&reported, &d.ReturnedAt, &d.OpenedAt, &d.OpenedBy, &d.OfferDeadline,
			&offerMade, &d.OfferWithinDeadline, &d.Offers, &d.Declines,
			&d.RiskGrade, &d.Category, &d.LookedAfter, &d.PoliceReference, &d.ReferralSource,
			&d.Contact, &d.Preferences, &assigneeID, &assigneeName,
			&ncMethod, &ncDue, &ncPurpose, &stateJSON, &d.UpdatedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return wrap("get episode", err)
		}
		d.ReportedMissingAt, d.OfferMadeAt = utcPtr(reported), utcPtr(offerMade)
		d.ReturnedAt, d.OpenedAt, d.OfferDeadline, d.UpdatedAt = d.ReturnedAt.UTC(), d.OpenedAt.UTC(), d.OfferDeadline.UTC(), d.UpdatedAt.UTC()
		if assigneeID != nil {
			d.AssignedInterviewer = &UserRef{ID: *assigneeID, Name: assigneeName}
		}
		if ncMethod != nil && ncDue != nil {
			nc := &NextContactView{Method: episode.Method(*ncMethod), DueAt: ncDue.UTC()}
			if ncPurpose != nil {
				nc.Purpose = *ncPurpose
			}
			d.NextContact = nc
		}

		var st episode.State
		if err := json.Unmarshal(stateJSON, &st); err != nil {
			return fmt.Errorf("store: get episode: decode snapshot: %w", err)
		}
		if iv := st.Interview; iv != nil {
			d.Interview = &InterviewView{
				Status: iv.Status, ScheduledFor: utcPtr(iv.ScheduledFor), Venue: iv.Venue,
				HeldAt: utcPtr(iv.HeldAt), Missed: iv.Missed, Reschedules: iv.Reschedules, Record: iv.Record,
				Covers: iv.Covers, SharedFrom: iv.SharedFrom,
			}
		}
		if c := st.Closure; c != nil {
			closure := *c
			closure.ClosedAt = closure.ClosedAt.UTC()
			d.Closure = &closure
		}

		if d.ContactAttempts, err = queryAttempts(ctx, tx, uid); err != nil {
			return err
		}
		if d.Agreement, err = queryAgreement(ctx, tx, uid); err != nil {
			return err
		}
		if d.FollowUp, err = queryFollowUp(ctx, tx, uid); err != nil {
			return err
		}
		if d.ActionPlan, err = queryActionPlan(ctx, tx, uid); err != nil {
			return err
		}
		if d.CarersAccounts, err = queryCarersAccounts(ctx, tx, uid); err != nil {
			return err
		}
		if d.Escalations, err = queryEpisodeEscalations(ctx, tx, uid); err != nil {
			return err
		}
		d.Timeline, err = queryTimeline(ctx, tx, uid)
		return err
	})
	if err != nil {
		return EpisodeDetail{}, err
	}
	return d, nil
}

func queryAttempts(ctx context.Context, tx pgx.Tx, id string) ([]ContactAttemptView, error) {
	rows, err := tx.Query(ctx, `SELECT seq, method, outcome, attempted_at, notes, recorded_by, recorded_at
		FROM contact_attempts WHERE episode_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, wrap("get episode: contact attempts", err)
	}
	out := []ContactAttemptView{}
	var a ContactAttemptView
	_, err = pgx.ForEachRow(rows, []any{&a.Seq, &a.Method, &a.Outcome, &a.AttemptedAt, &a.Notes, &a.RecordedBy, &a.RecordedAt}, func() error {
		a.AttemptedAt, a.RecordedAt = a.AttemptedAt.UTC(), a.RecordedAt.UTC()
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, wrap("get episode: contact attempts", err)
	}
	return out, nil
}

func queryAgreement(ctx context.Context, tx pgx.Tx, id string) (*episode.Agreement, error) {
	var a episode.Agreement
	err := tx.QueryRow(ctx, `SELECT confidentiality_explained, child_told_before_sharing, shared_with, notes, recorded_by, recorded_at
		FROM agreements WHERE episode_id = $1`, id).Scan(
		&a.ConfidentialityExplained, &a.ChildToldBeforeSharing, &a.SharedWith, &a.Notes, &a.RecordedBy, &a.RecordedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("get episode: agreement", err)
	}
	a.RecordedAt = a.RecordedAt.UTC()
	if a.SharedWith == nil {
		a.SharedWith = []episode.Sharing{}
	}
	return &a, nil
}

func queryFollowUp(ctx context.Context, tx pgx.Tx, id string) (*FollowUpView, error) {
	var f FollowUpView
	var completed *time.Time
	err := tx.QueryRow(ctx, `SELECT due_at, overdue_at, completed_at, actions_taken, outcome
		FROM follow_ups WHERE episode_id = $1`, id).Scan(&f.DueAt, &f.OverdueAt, &completed, &f.ActionsTaken, &f.Outcome)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, wrap("get episode: follow-up", err)
	}
	f.DueAt, f.OverdueAt, f.CompletedAt = f.DueAt.UTC(), f.OverdueAt.UTC(), utcPtr(completed)
	if f.ActionsTaken == nil {
		f.ActionsTaken = []string{}
	}
	return &f, nil
}

func queryEpisodeEscalations(ctx context.Context, tx pgx.Tx, id string) ([]EscalationSummary, error) {
	rows, err := tx.Query(ctx, `SELECT x.id, x.kind, x.reason, x.due_at, x.triggered_at, x.sent_at, x.recipients, x.action_seq,
			`+acknowledgementColumns+`, `+undeliveredColumns+`
		FROM escalations x `+acknowledgementJoin+` `+undeliveredJoin+`
		WHERE x.episode_id = $1 ORDER BY x.triggered_at, x.id`, id)
	if err != nil {
		return nil, wrap("get episode: escalations", err)
	}
	out := []EscalationSummary{}
	var e EscalationSummary
	var sent *time.Time
	var ack ackColumns
	var und undeliveredCols
	_, err = pgx.ForEachRow(rows, append(append([]any{&e.ID, &e.Kind, &e.Reason, &e.DueAt, &e.TriggeredAt, &sent, &e.Recipients, &e.Action}, ack.dest()...), und.dest()...), func() error {
		e.DueAt, e.TriggeredAt, e.SentAt = e.DueAt.UTC(), e.TriggeredAt.UTC(), utcPtr(sent)
		e.Acknowledgement, e.Undelivered = ack.value(), und.value()
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, wrap("get episode: escalations", err)
	}
	return out, nil
}

func queryTimeline(ctx context.Context, tx pgx.Tx, id string) ([]episode.TimelineEntry, error) {
	rows, err := tx.Query(ctx, `SELECT seq, at, type, summary, actor FROM timeline WHERE episode_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, wrap("get episode: timeline", err)
	}
	out := []episode.TimelineEntry{}
	var t episode.TimelineEntry
	_, err = pgx.ForEachRow(rows, []any{&t.Seq, &t.At, &t.Type, &t.Summary, &t.Actor}, func() error {
		t.At = t.At.UTC()
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, wrap("get episode: timeline", err)
	}
	return out, nil
}

// ListEscalations lists the escalations caller may see, those nobody has
// acknowledged first, then newest first. The reference falls back to the
// episode's when the escalation was recorded without one.
func (s *Store) ListEscalations(ctx context.Context, caller Caller, f EscalationFilter) ([]EscalationView, error) {
	out := []EscalationView{}
	var episodeID *string
	if f.EpisodeID != "" {
		id, ok := parseID(f.EpisodeID)
		if !ok {
			return out, nil
		}
		episodeID = &id
	}
	limit, offset := pageBounds(f.Limit, f.Offset)
	err := s.asCaller(ctx, caller, readOnly, "list escalations", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, listEscalationsSQL, pgx.NamedArgs{
			"episode": episodeID, "kind": f.Kind, "acknowledged": f.Acknowledged, "undelivered": f.Undelivered,
			"limit": limit, "offset": offset,
		})
		if err != nil {
			return wrap("list escalations", err)
		}
		out, err = scanEscalations(rows, out)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

const listEscalationsSQL = `
SELECT x.id, x.episode_id::text, COALESCE(NULLIF(x.reference, ''), e.reference, ''), x.kind, x.reason,
	x.due_at, x.triggered_at, x.sent_at, x.recipients, x.action_seq, ` + acknowledgementColumns + `, ` + undeliveredColumns + `
FROM escalations x
LEFT JOIN episodes e ON e.id = x.episode_id ` + acknowledgementJoin + ` ` + undeliveredJoin + `
WHERE (@episode::uuid IS NULL OR x.episode_id = @episode)
	AND (@kind::text = '' OR x.kind = @kind)
	AND (@acknowledged::boolean IS NULL OR (a.escalation_id IS NOT NULL) = @acknowledged)
	AND (@undelivered::boolean IS NULL OR (ux.message_key IS NOT NULL) = @undelivered)
ORDER BY a.escalation_id IS NOT NULL, x.triggered_at DESC, x.id DESC
LIMIT @limit OFFSET @offset`

func scanEscalations(rows pgx.Rows, out []EscalationView) ([]EscalationView, error) {
	var v EscalationView
	var sent *time.Time
	var ack ackColumns
	var und undeliveredCols
	_, err := pgx.ForEachRow(rows, append(append([]any{&v.ID, &v.EpisodeID, &v.Reference, &v.Kind, &v.Reason, &v.DueAt, &v.TriggeredAt, &sent, &v.Recipients, &v.Action}, ack.dest()...), und.dest()...), func() error {
		v.DueAt, v.TriggeredAt, v.SentAt = v.DueAt.UTC(), v.TriggeredAt.UTC(), utcPtr(sent)
		v.Acknowledgement, v.Undelivered = ack.value(), und.value()
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, wrap("list escalations", err)
	}
	return out, nil
}

// queryActionPlan reads the plan, or nil when none was recorded.
func queryActionPlan(ctx context.Context, tx pgx.Tx, id string) (*ActionPlanView, error) {
	rows, err := tx.Query(ctx, `SELECT seq, what, owner, owner_email, due_at, status, reason, carried_forward_to,
			reviewed_at, reminder_sent, recorded_by, recorded_at
		FROM action_plan_actions WHERE episode_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, wrap("get episode: action plan", err)
	}
	var plan *ActionPlanView
	var a ActionView
	var carried, reviewed *time.Time
	var by string
	var at time.Time
	_, err = pgx.ForEachRow(rows, []any{&a.Seq, &a.What, &a.Owner, &a.OwnerEmail, &a.DueAt, &a.Status, &a.Reason,
		&carried, &reviewed, &a.ReminderSent, &by, &at}, func() error {
		if plan == nil {
			plan = &ActionPlanView{RecordedBy: by, RecordedAt: at.UTC(), Actions: []ActionView{}}
		}
		a.DueAt, a.CarriedForwardTo, a.ReviewedAt = a.DueAt.UTC(), utcPtr(carried), utcPtr(reviewed)
		plan.Actions = append(plan.Actions, a)
		return nil
	})
	if err != nil {
		return nil, wrap("get episode: action plan", err)
	}
	return plan, nil
}

func queryCarersAccounts(ctx context.Context, tx pgx.Tx, id string) ([]CarersAccountView, error) {
	rows, err := tx.Query(ctx, `SELECT seq, given_by, relationship, given_at, where_child_was, who_with, notes, recorded_by, recorded_at
		FROM carers_accounts WHERE episode_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, wrap("get episode: carers' accounts", err)
	}
	out := []CarersAccountView{}
	var c CarersAccountView
	_, err = pgx.ForEachRow(rows, []any{&c.Seq, &c.GivenBy, &c.Relationship, &c.GivenAt, &c.WhereChildWas, &c.WhoWith, &c.Notes,
		&c.RecordedBy, &c.RecordedAt}, func() error {
		c.GivenAt, c.RecordedAt = c.GivenAt.UTC(), c.RecordedAt.UTC()
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, wrap("get episode: carers' accounts", err)
	}
	return out, nil
}
