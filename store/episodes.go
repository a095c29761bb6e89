package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"homeward/episode"
)

// childNamespace derives the id of a child created by an episode's first
// save from the episode id, so a retried save finds the child it created.
var childNamespace = uuid.MustParse("6b1f0b52-7a43-4c1e-9f43-2f6d0c1b8e57")

// ChildIDForEpisode is the id SaveEpisode gives a child first known through
// episodeID (when the referral names no known child).
func ChildIDForEpisode(episodeID string) string {
	if c, ok := parseID(episodeID); ok {
		episodeID = c
	}
	return uuid.NewSHA1(childNamespace, []byte(episodeID)).String()
}

// SaveEpisode projects a workflow snapshot into the case records, in one
// transaction. When the records already hold st.Version or a newer version
// it changes nothing and returns false. Otherwise it upserts the episode row
// and the rows of its attempts, interview updates, agreement, follow-up,
// escalations and timeline, and returns true.
//
// ref is set on the first save: it names the child, created here unless
// ref.Child.ID names a known child, and carries the referral. Saving it
// again (a retry) cannot create a second child: the new child's id is
// derived from the episode id.
//
// answers are the episode's answers to the outcomes in st, written in the
// same transaction (an answer written before is kept).
func (s *Store) SaveEpisode(ctx context.Context, st episode.State, ref *episode.Referral, answers ...OutcomeAnswer) (applied bool, err error) {
	id, ok := parseID(st.EpisodeID)
	if !ok {
		return false, fmt.Errorf("store: save episode: %w: episode id is not a uuid", ErrInvalid)
	}
	if st.Status == "" {
		return false, fmt.Errorf("store: save episode: %w: status is empty", ErrInvalid)
	}
	stateJSON, err := json.Marshal(st)
	if err != nil {
		return false, fmt.Errorf("store: save episode: encode state: %w", err)
	}

	err = pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		// Lock the row (when there is one) and compare versions. Two first
		// saves racing both find nothing here; the upsert's WHERE below
		// settles that race.
		var stored int64
		switch err := tx.QueryRow(ctx, "SELECT state_version FROM episodes WHERE id = $1 FOR UPDATE", id).Scan(&stored); {
		case err == nil:
			if stored >= int64(st.Version) {
				return nil
			}
		case errors.Is(err, pgx.ErrNoRows):
		default:
			return wrap("save episode: read version", err)
		}

		var childID *string
		if ref != nil {
			cid, err := ensureChild(ctx, tx, id, st.CommissionerID, ref)
			if err != nil {
				return err
			}
			childID = &cid
		}

		args := episodeArgs(id, st, stateJSON)
		args["child_id"] = childID
		args["has_ref"] = ref != nil
		if ref != nil {
			args["category"] = string(ref.Category)
			args["risk_grade"] = string(ref.RiskGrade)
			args["looked_after"] = ref.LookedAfter
			args["police_reference"] = ref.PoliceReference
			args["referral_source"] = ref.Source
			args["reported_missing_at"] = nonZeroUTC(ref.ReportedMissingAt)
			args["contact"] = ref.Contact
			args["preferences"] = ref.Preferences
		} else {
			args["category"], args["risk_grade"], args["looked_after"] = "", "", false
			args["police_reference"], args["referral_source"] = "", ""
			args["reported_missing_at"] = (*time.Time)(nil)
			args["contact"], args["preferences"] = episode.ContactDetails{}, episode.Preferences{}
		}
		var saved int64
		err := tx.QueryRow(ctx, upsertEpisodeSQL, args).Scan(&saved)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // a concurrent save of this or a newer version won
		}
		if err != nil {
			return wrap("save episode", err)
		}
		if err := saveChildRows(ctx, tx, id, st); err != nil {
			return err
		}
		if err := saveAnswers(ctx, tx, id, answers); err != nil {
			return err
		}
		if err := setChildWorker(ctx, tx, id, st); err != nil {
			return err
		}
		applied = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return applied, nil
}

const upsertEpisodeSQL = `
INSERT INTO episodes (
	id, reference, child_id, status, category, risk_grade, looked_after, police_reference,
	referral_source, reported_missing_at, returned_at, opened_at, opened_by, offer_deadline,
	offer_made_at, offer_within_deadline, offers, declines, assigned_interviewer_id,
	next_contact_method, next_contact_due_at, next_contact_purpose, follow_up_due_at,
	follow_up_completed_at, ended_at, contact, preferences, state, state_version, updated_at, projected_at,
	commissioner_id, first_held_at, offer_accepted, report_due_by, report_sent_at, report_acknowledged_at
) VALUES (
	@id, @reference, @child_id, @status, @category, @risk_grade, @looked_after, @police_reference,
	@referral_source, @reported_missing_at, @returned_at, @opened_at, @opened_by, @offer_deadline,
	@offer_made_at, @offer_within_deadline, @offers, @declines, @assigned_interviewer_id,
	@next_contact_method, @next_contact_due_at, @next_contact_purpose, @follow_up_due_at,
	@follow_up_completed_at, @ended_at, @contact, @preferences, @state, @state_version, @updated_at, now(),
	@commissioner_id, @first_held_at, @offer_accepted, @report_due_by, @report_sent_at, @report_acknowledged_at
)
ON CONFLICT (id) DO UPDATE SET
	reference = EXCLUDED.reference,
	child_id = COALESCE(episodes.child_id, EXCLUDED.child_id),
	status = EXCLUDED.status,
	category = CASE WHEN @has_ref THEN EXCLUDED.category ELSE episodes.category END,
	risk_grade = CASE WHEN @has_ref THEN EXCLUDED.risk_grade ELSE episodes.risk_grade END,
	looked_after = CASE WHEN @has_ref THEN EXCLUDED.looked_after ELSE episodes.looked_after END,
	police_reference = CASE WHEN @has_ref THEN EXCLUDED.police_reference ELSE episodes.police_reference END,
	referral_source = CASE WHEN @has_ref THEN EXCLUDED.referral_source ELSE episodes.referral_source END,
	reported_missing_at = CASE WHEN @has_ref THEN EXCLUDED.reported_missing_at ELSE episodes.reported_missing_at END,
	contact = CASE WHEN @has_ref THEN EXCLUDED.contact ELSE episodes.contact END,
	preferences = CASE WHEN @has_ref THEN EXCLUDED.preferences ELSE episodes.preferences END,
	returned_at = EXCLUDED.returned_at,
	opened_at = EXCLUDED.opened_at,
	opened_by = EXCLUDED.opened_by,
	offer_deadline = EXCLUDED.offer_deadline,
	offer_made_at = EXCLUDED.offer_made_at,
	offer_within_deadline = EXCLUDED.offer_within_deadline,
	offers = EXCLUDED.offers,
	declines = EXCLUDED.declines,
	assigned_interviewer_id = EXCLUDED.assigned_interviewer_id,
	next_contact_method = EXCLUDED.next_contact_method,
	next_contact_due_at = EXCLUDED.next_contact_due_at,
	next_contact_purpose = EXCLUDED.next_contact_purpose,
	follow_up_due_at = EXCLUDED.follow_up_due_at,
	follow_up_completed_at = EXCLUDED.follow_up_completed_at,
	ended_at = EXCLUDED.ended_at,
	state = EXCLUDED.state,
	state_version = EXCLUDED.state_version,
	updated_at = EXCLUDED.updated_at,
	projected_at = now(),
	-- Fixed when the episode opened; a snapshot without one keeps it.
	commissioner_id = COALESCE(episodes.commissioner_id, EXCLUDED.commissioner_id),
	-- Kept for the KPI report: a snapshot holds only the attempts not yet saved.
	first_held_at = COALESCE(episodes.first_held_at, EXCLUDED.first_held_at),
	offer_accepted = episodes.offer_accepted OR EXCLUDED.offer_accepted,
	-- The return report, for the KPI report; the state always holds it.
	report_due_by = EXCLUDED.report_due_by,
	report_sent_at = EXCLUDED.report_sent_at,
	report_acknowledged_at = EXCLUDED.report_acknowledged_at
WHERE episodes.state_version < EXCLUDED.state_version
RETURNING state_version`

func episodeArgs(id string, st episode.State, stateJSON []byte) pgx.NamedArgs {
	a := pgx.NamedArgs{
		"id":                      id,
		"reference":               st.Reference,
		"status":                  string(st.Status),
		"returned_at":             st.ReturnedAt.UTC(),
		"opened_at":               st.OpenedAt.UTC(),
		"opened_by":               st.OpenedBy,
		"offer_deadline":          st.OfferDeadline.UTC(),
		"offer_made_at":           utcPtr(st.OfferMadeAt),
		"offer_within_deadline":   st.OfferWithinDeadline,
		"offers":                  st.Offers,
		"declines":                st.Declines,
		"assigned_interviewer_id": nullableID(st.AssignedInterviewer),
		"next_contact_method":     (*string)(nil),
		"next_contact_due_at":     (*time.Time)(nil),
		"next_contact_purpose":    (*string)(nil),
		"follow_up_due_at":        (*time.Time)(nil),
		"follow_up_completed_at":  (*time.Time)(nil),
		"ended_at":                utcPtr(st.EndedAt),
		"state":                   string(stateJSON),
		"state_version":           int64(st.Version),
		"updated_at":              lastChange(st),
		"commissioner_id":         nullableID(st.CommissionerID),
		"first_held_at":           (*time.Time)(nil),
		"offer_accepted":          false,
		"report_due_by":           (*time.Time)(nil),
		"report_sent_at":          (*time.Time)(nil),
		"report_acknowledged_at":  (*time.Time)(nil),
	}
	if r := st.Report; r != nil {
		due := r.DueBy.UTC()
		a["report_due_by"], a["report_sent_at"], a["report_acknowledged_at"] = &due, utcPtr(r.SentAt), utcPtr(r.AcknowledgedAt)
	}
	if iv := st.Interview; iv != nil && iv.HeldAt != nil {
		held := iv.HeldAt.UTC()
		a["first_held_at"] = &held
	}
	for _, at := range st.ContactAttempts {
		if at.Outcome == episode.OutcomeReachedOffered {
			a["offer_accepted"] = true
		}
	}
	if a["reference"] == "" {
		a["reference"] = episode.Reference(id)
	}
	if nc := st.NextContact; nc != nil {
		m, due, p := string(nc.Method), nc.DueAt.UTC(), nc.Purpose
		a["next_contact_method"], a["next_contact_due_at"], a["next_contact_purpose"] = &m, &due, &p
	}
	if f := st.FollowUp; f != nil {
		due := f.DueAt.UTC()
		a["follow_up_due_at"] = &due
		a["follow_up_completed_at"] = utcPtr(f.CompletedAt)
	}
	return a
}

// lastChange is the instant of the snapshot's latest recorded change, in
// workflow time, so replaying a save gives the same value.
func lastChange(st episode.State) time.Time {
	t := st.OpenedAt
	for _, e := range st.Timeline {
		if e.At.After(t) {
			t = e.At
		}
	}
	return t.UTC()
}

func nonZeroUTC(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// ensureChild returns the id of the episode's child: the known child the
// referral names, or one created with an id derived from the episode. When
// another child of the commissioner already has the referral's
// local-authority id (two referrals for the same new child that raced each
// other), the episode joins that child: a save that failed on the unique id
// would be retried for ever.
func ensureChild(ctx context.Context, tx pgx.Tx, episodeID, commissionerID string, ref *episode.Referral) (string, error) {
	c := ref.Child
	if known, ok := parseID(c.ID); ok {
		var exists bool
		if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM children WHERE id = $1)", known).Scan(&exists); err != nil {
			return "", wrap("save episode: find child", err)
		}
		if exists {
			return known, nil
		}
	}
	cid := ChildIDForEpisode(episodeID)
	var dob *time.Time
	if d, err := time.Parse(time.DateOnly, c.DateOfBirth); err == nil {
		dob = &d
	}
	// No conflict target: the id (a retry) and the local-authority id (a
	// race) both mean the child is there already.
	if _, err := tx.Exec(ctx,
		`INSERT INTO children (id, first_name, last_name, date_of_birth, gender, commissioner_id,
			local_authority_child_id, police_person_reference, preferences, contact, first_name_key, last_name_key)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING`,
		cid, c.FirstName, c.LastName, dateArg(dob), c.Gender, nullableID(commissionerID),
		c.LocalAuthorityChildID, c.PolicePersonReference, PreferencesFromReferral(ref.Preferences), ref.Contact,
		NameKey(c.FirstName), NameKey(c.LastName)); err != nil {
		return "", wrap("save episode: create child", err)
	}
	var found string
	err := tx.QueryRow(ctx, `SELECT id::text FROM children
		WHERE id = $1 OR ($3 <> '' AND commissioner_id = $2 AND local_authority_child_id = $3)
		ORDER BY id = $1 DESC LIMIT 1`, cid, nullableID(commissionerID), c.LocalAuthorityChildID).Scan(&found)
	if err != nil {
		return "", wrap("save episode: find created child", err)
	}
	return found, nil
}

// dateArg passes a calendar date as text so no time zone can shift it.
func dateArg(d *time.Time) *string {
	if d == nil {
		return nil
	}
	s := d.Format(time.DateOnly)
	return &s
}

func saveChildRows(ctx context.Context, tx pgx.Tx, id string, st episode.State) error {
	b := &pgx.Batch{}
	for _, a := range st.ContactAttempts {
		b.Queue(`INSERT INTO contact_attempts (episode_id, seq, method, outcome, attempted_at, notes, recorded_by, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (episode_id, seq) DO NOTHING`,
			id, a.Seq, string(a.Method), string(a.Outcome), a.AttemptedAt.UTC(), a.Notes, a.RecordedBy, a.RecordedAt.UTC())
	}
	if iv := st.Interview; iv != nil {
		for _, h := range iv.History {
			var record any
			if h.Update.Record != nil {
				record = h.Update.Record
			}
			b.Queue(`INSERT INTO interviews (episode_id, seq, outcome, scheduled_for, held_at, venue, notes, record, recorded_by, recorded_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (episode_id, seq) DO NOTHING`,
				id, h.Seq, string(h.Update.Outcome), utcPtr(h.Update.ScheduledFor), utcPtr(h.Update.HeldAt),
				h.Update.Venue, h.Update.Notes, record, h.RecordedBy, h.RecordedAt.UTC())
		}
	}
	if ag := st.Agreement; ag != nil {
		shared := ag.SharedWith
		if shared == nil {
			shared = []episode.Sharing{}
		}
		b.Queue(`INSERT INTO agreements (episode_id, confidentiality_explained, child_told_before_sharing, shared_with, notes, recorded_by, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (episode_id) DO UPDATE SET
				confidentiality_explained = EXCLUDED.confidentiality_explained,
				child_told_before_sharing = EXCLUDED.child_told_before_sharing,
				shared_with = EXCLUDED.shared_with, notes = EXCLUDED.notes,
				recorded_by = EXCLUDED.recorded_by, recorded_at = EXCLUDED.recorded_at`,
			id, ag.ConfidentialityExplained, ag.ChildToldBeforeSharing, shared, ag.Notes, ag.RecordedBy, ag.RecordedAt.UTC())
	}
	if f := st.FollowUp; f != nil {
		actions := f.ActionsTaken
		if actions == nil {
			actions = []string{}
		}
		b.Queue(`INSERT INTO follow_ups (episode_id, due_at, overdue_at, completed_at, actions_taken, outcome, recorded_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (episode_id) DO UPDATE SET
				due_at = EXCLUDED.due_at, overdue_at = EXCLUDED.overdue_at,
				completed_at = EXCLUDED.completed_at, actions_taken = EXCLUDED.actions_taken,
				outcome = EXCLUDED.outcome, recorded_by = EXCLUDED.recorded_by`,
			id, f.DueAt.UTC(), f.OverdueAt.UTC(), utcPtr(f.CompletedAt), actions, f.Outcome, f.RecordedBy)
	}
	queueActionPlan(b, id, st)
	queueHotspots(b, id, st)
	reference := st.Reference
	if reference == "" {
		reference = episode.Reference(id)
	}
	for _, e := range st.Escalations {
		b.Queue(upsertEscalationSQL, id, reference, string(e.Kind), e.Reason, e.DueAt.UTC(), e.TriggeredAt.UTC(), utcPtr(e.SentAt), e.Recipients, nullableID(st.CommissionerID), e.Action)
	}
	for _, t := range st.Timeline {
		b.Queue(`INSERT INTO timeline (episode_id, seq, at, type, summary, actor)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (episode_id, seq) DO NOTHING`,
			id, t.Seq, t.At.UTC(), t.Type, t.Summary, t.Actor)
	}
	if b.Len() == 0 {
		return nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return wrap("save episode: child rows", err)
	}
	return nil
}

// queueActionPlan writes the plan's actions as they now stand, and the
// carers' accounts not written yet.
func queueActionPlan(b *pgx.Batch, id string, st episode.State) {
	if p := st.ActionPlan; p != nil {
		for _, a := range p.Actions {
			b.Queue(`INSERT INTO action_plan_actions (episode_id, seq, what, owner, owner_email, due_at, status, reason,
					carried_forward_to, reviewed_at, reminder_sent, recorded_by, recorded_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
				ON CONFLICT (episode_id, seq) DO UPDATE SET
					status = EXCLUDED.status, reason = EXCLUDED.reason,
					carried_forward_to = EXCLUDED.carried_forward_to, reviewed_at = EXCLUDED.reviewed_at,
					reminder_sent = EXCLUDED.reminder_sent`,
				id, a.Seq, a.What, a.Owner, a.OwnerEmail, a.DueAt.UTC(), string(a.Status), a.Reason,
				utcPtr(a.CarriedForwardTo), utcPtr(a.ReviewedAt), a.ReminderSent, p.RecordedBy, p.RecordedAt.UTC())
		}
	}
	for _, e := range st.CarersAccounts {
		c := e.Account
		b.Queue(`INSERT INTO carers_accounts (episode_id, seq, given_by, relationship, given_at, where_child_was, who_with, notes, recorded_by, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (episode_id, seq) DO NOTHING`,
			id, e.Seq, c.GivenBy, c.Relationship, c.GivenAt.UTC(), c.WhereChildWas, c.WhoWith, c.Notes, e.RecordedBy, e.RecordedAt.UTC())
	}
}

// upsertEscalationSQL keeps the first trigger, the first send and the
// largest recipient count, whichever of the workflow snapshot and the email
// activity wrote first.
const upsertEscalationSQL = `
INSERT INTO escalations (episode_id, reference, kind, reason, due_at, triggered_at, sent_at, recipients, commissioner_id, action_seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (episode_id, kind, action_seq) DO UPDATE SET
	commissioner_id = COALESCE(escalations.commissioner_id, EXCLUDED.commissioner_id),
	reference = CASE WHEN escalations.reference = '' THEN EXCLUDED.reference ELSE escalations.reference END,
	reason = CASE WHEN escalations.reason = '' THEN EXCLUDED.reason ELSE escalations.reason END,
	triggered_at = LEAST(escalations.triggered_at, EXCLUDED.triggered_at),
	sent_at = COALESCE(escalations.sent_at, EXCLUDED.sent_at),
	recipients = GREATEST(escalations.recipients, EXCLUDED.recipients)`

// EpisodeState returns the last saved snapshot, with the contact details
// of the referral put back (snapshots leave them out). ErrNotFound when the
// episode was never saved, caller may not see it, or id is not a uuid.
func (s *Store) EpisodeState(ctx context.Context, caller Caller, id string) (episode.State, error) {
	uid, ok := parseID(id)
	if !ok {
		return episode.State{}, ErrNotFound
	}
	var stateJSON, contactJSON []byte
	err := s.asCaller(ctx, caller, readOnly, "episode state", func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, "SELECT state, contact FROM episodes WHERE id = $1", uid).Scan(&stateJSON, &contactJSON)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		return wrap("episode state", err)
	})
	if err != nil {
		return episode.State{}, err
	}
	var st episode.State
	if err := json.Unmarshal(stateJSON, &st); err != nil {
		return episode.State{}, fmt.Errorf("store: episode state: decode snapshot: %w", err)
	}
	if err := json.Unmarshal(contactJSON, &st.Contact); err != nil {
		return episode.State{}, fmt.Errorf("store: episode state: decode contact details: %w", err)
	}
	return st, nil
}

// RecordEscalation records that an escalation was raised, and reports
// whether it is new. It may run before the episode's first snapshot is
// saved; recording the same (episode, kind) again changes nothing (an
// overdue action's is one per action) and reports false.
//
// commissionerID is the episode's commissioner; when empty (a workflow
// started before commissioners) the recorded episode's is used.
func (s *Store) RecordEscalation(ctx context.Context, episodeID, reference, commissionerID string, e episode.Escalation) (isNew bool, err error) {
	id, ok := parseID(episodeID)
	if !ok {
		return false, fmt.Errorf("store: record escalation: %w: episode id is not a uuid", ErrInvalid)
	}
	if e.Kind == "" {
		return false, fmt.Errorf("store: record escalation: %w: kind is empty", ErrInvalid)
	}
	if reference == "" {
		reference = episode.Reference(id)
	}
	// xmax is 0 on a row this statement inserted, not on one it updated.
	err = s.Pool.QueryRow(ctx,
		`INSERT INTO escalations (episode_id, reference, kind, reason, due_at, triggered_at, sent_at, recipients, commissioner_id, action_seq)
		 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, COALESCE($9::uuid, (SELECT commissioner_id FROM episodes WHERE id = $1)), $10)
		 ON CONFLICT (episode_id, kind, action_seq) DO UPDATE SET
			commissioner_id = COALESCE(escalations.commissioner_id, EXCLUDED.commissioner_id)
		 RETURNING xmax = 0`,
		id, reference, string(e.Kind), e.Reason, e.DueAt.UTC(), e.TriggeredAt.UTC(), utcPtr(e.SentAt), e.Recipients, nullableID(commissionerID), e.Action).Scan(&isNew)
	return isNew, wrap("record escalation", err)
}

// MarkEscalationSent records that the escalation's email went out. The
// first send time is kept, and the largest recipient count. action is the
// overdue action's number, 0 for other kinds. ErrNotFound when the
// escalation was never recorded.
func (s *Store) MarkEscalationSent(ctx context.Context, episodeID string, kind episode.EscalationKind, action int, sentAt time.Time, recipients int) error {
	id, ok := parseID(episodeID)
	if !ok {
		return ErrNotFound
	}
	tag, err := s.Pool.Exec(ctx,
		`UPDATE escalations SET sent_at = LEAST(sent_at, $3), recipients = GREATEST(recipients, $4)
		 WHERE episode_id = $1 AND kind = $2 AND action_seq = $5`,
		id, string(kind), sentAt.UTC(), recipients, action)
	if err != nil {
		return wrap("mark escalation sent", err)
	}
	if tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return nil
}

// DeliveredTo lists the recipients an email with messageKey already went
// to, so a retried send skips them.
func (s *Store) DeliveredTo(ctx context.Context, messageKey string) ([]string, error) {
	rows, err := s.Pool.Query(ctx, "SELECT recipient FROM email_deliveries WHERE message_key = $1 ORDER BY recipient", messageKey)
	if err != nil {
		return nil, wrap("delivered to", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrap("delivered to", err)
	}
	if out == nil {
		out = []string{}
	}
	return out, nil
}

// RecordDelivery records that the email with messageKey went to recipient.
// Recording it again keeps the first record.
func (s *Store) RecordDelivery(ctx context.Context, messageKey, recipient, messageID string, sentAt time.Time) error {
	if messageKey == "" || recipient == "" {
		return fmt.Errorf("store: record delivery: %w: message key and recipient are required", ErrInvalid)
	}
	_, err := s.Pool.Exec(ctx,
		`INSERT INTO email_deliveries (message_key, recipient, message_id, sent_at)
		 VALUES ($1, $2, $3, $4) ON CONFLICT (message_key, recipient) DO NOTHING`,
		messageKey, recipient, messageID, sentAt.UTC())
	return wrap("record delivery", err)
}

// EpisodeChild is the id of the child the records give episode id: ""
// when the episode is not recorded yet.
func (s *Store) EpisodeChild(ctx context.Context, episodeID string) (string, error) {
	id, ok := parseID(episodeID)
	if !ok {
		return "", ErrNotFound
	}
	var child *string
	err := s.Pool.QueryRow(ctx, "SELECT child_id::text FROM episodes WHERE id = $1", id).Scan(&child)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && child == nil {
		return "", nil
	}
	if err != nil {
		return "", wrap("episode child", err)
	}
	return *child, nil
}

// setChildWorker makes the interviewer who held an interview in st the
// child's worker, unless the child has a worker since a later instant.
func setChildWorker(ctx context.Context, tx pgx.Tx, episodeID string, st episode.State) error {
	if st.Interview == nil {
		return nil
	}
	for _, h := range st.Interview.History {
		if h.Update.Outcome != episode.InterviewHeld || h.Update.HeldAt == nil {
			continue
		}
		worker, ok := parseID(h.RecordedBy)
		if !ok {
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE children SET worker_id = $2, worker_since = $3
			WHERE id = (SELECT child_id FROM episodes WHERE id = $1)
			  AND (worker_since IS NULL OR worker_since <= $3)`, episodeID, worker, h.Update.HeldAt.UTC()); err != nil {
			return wrap("save episode: child's worker", err)
		}
	}
	return nil
}
