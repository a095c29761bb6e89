package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"homeward/store"
)

// retentionNow is when the purges in these tests run.
var retentionNow = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

const retentionCanary = "Zebedee-Retention-4471"

// seedChild inserts a child born on dob ("" for unknown) and returns its id.
func seedChild(t *testing.T, s *store.Store, dob string) string {
	t.Helper()
	id := uuid.NewString()
	var d *string
	if dob != "" {
		d = &dob
	}
	if _, err := s.Pool.Exec(context.Background(),
		`INSERT INTO children (id, first_name, last_name, date_of_birth) VALUES ($1, $2, 'Example', $3::date)`,
		id, retentionCanary, d); err != nil {
		t.Fatalf("seed child: %v", err)
	}
	return id
}

// seedEpisode inserts an episode of child with its rows: one contact attempt
// with notes recorded the day before it ended (or three years before now
// when it is open), a timeline entry, a follow-up, an escalation and the
// escalation's email delivery, sent when it ended.
func seedEpisode(t *testing.T, s *store.Store, child, status string, ended time.Time, lookedAfter bool) string {
	t.Helper()
	ctx := context.Background()
	id := uuid.NewString()
	var endedAt *time.Time
	recorded := retentionNow.AddDate(-3, 0, 0)
	if !ended.IsZero() {
		endedAt = &ended
		recorded = ended.Add(-24 * time.Hour)
	}
	opened := recorded.Add(-time.Hour)
	state, _ := json.Marshal(map[string]any{
		"episode_id": id, "status": status,
		"contact_attempts": []map[string]any{{
			"seq": 1, "method": "phone", "outcome": "no_answer", "attempted_at": recorded,
			"notes": retentionCanary + " said to call back", "recorded_by": "u1", "recorded_at": recorded,
		}},
	})
	var childID *string
	if child != "" {
		childID = &child
	}
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := s.Pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("seed episode: %v", err)
		}
	}
	exec(`INSERT INTO episodes (id, reference, child_id, status, looked_after, returned_at, opened_at,
			offer_deadline, ended_at, contact, state, state_version, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10, 3, $6)`,
		id, "HW-"+strings.ToUpper(id[:8]), childID, status, lookedAfter, opened, opened.Add(72*time.Hour), endedAt,
		map[string]any{"address": retentionCanary + " Road"}, string(state))
	exec(`INSERT INTO contact_attempts (episode_id, seq, method, outcome, attempted_at, notes, recorded_by, recorded_at)
		VALUES ($1, 1, 'phone', 'no_answer', $2, $3, 'u1', $2)`, id, recorded, retentionCanary+" said to call back")
	exec(`INSERT INTO timeline (episode_id, seq, at, type, summary) VALUES ($1, 1, $2, 'opened', 'Episode opened')`, id, opened)
	exec(`INSERT INTO follow_ups (episode_id, due_at, overdue_at) VALUES ($1, $2, $2)`, id, opened)
	exec(`INSERT INTO escalations (episode_id, kind, due_at, triggered_at) VALUES ($1, 'deadline_breach', $2, $2)`, id, opened)
	sent := opened
	if endedAt != nil {
		sent = *endedAt
	}
	exec(`INSERT INTO email_deliveries (message_key, recipient, message_id, sent_at) VALUES ($1, 'manager@example.org', 'm', $2)`,
		"escalation:"+id+":deadline_breach", sent)
	return id
}

func exists(t *testing.T, s *store.Store, table, where string, args ...any) bool {
	t.Helper()
	var ok bool
	if err := s.Pool.QueryRow(context.Background(), "SELECT EXISTS (SELECT 1 FROM "+table+" WHERE "+where+")", args...).Scan(&ok); err != nil {
		t.Fatalf("exists in %s: %v", table, err)
	}
	return ok
}

func episodeKept(t *testing.T, s *store.Store, id string) bool {
	t.Helper()
	return exists(t, s, "episodes", "id = $1", id)
}

func attemptNotes(t *testing.T, s *store.Store, episodeID string) (row, snapshot string) {
	t.Helper()
	var snap *string
	if err := s.Pool.QueryRow(context.Background(),
		`SELECT a.notes, e.state->'contact_attempts'->0->>'notes' FROM contact_attempts a JOIN episodes e ON e.id = a.episode_id
		 WHERE a.episode_id = $1 AND a.seq = 1`, episodeID).Scan(&row, &snap); err != nil {
		t.Fatalf("notes of %s: %v", episodeID, err)
	}
	if snap != nil {
		snapshot = *snap
	}
	return row, snapshot
}

func years(n int) time.Time { return retentionNow.AddDate(-n, 0, 0) }

func TestRetentionPurge(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxT(t)
	p := store.DefaultRetentionPolicy()

	// Past the 25th birthday, not looked after: everything goes.
	adult := seedChild(t, s, "2000-01-01")
	expired := seedEpisode(t, s, adult, "completed", years(10), false)
	// Past the 25th birthday but looked after (in another episode): kept to 75.
	careLeaver := seedChild(t, s, "2000-01-01")
	laOld := seedEpisode(t, s, careLeaver, "closed", years(10), false)
	laOther := seedEpisode(t, s, careLeaver, "declined", years(9), true)
	// 16 years old: kept, but notes recorded years ago are blanked.
	young := seedChild(t, s, "2010-05-05")
	youngOld := seedEpisode(t, s, young, "completed", years(3), false)
	youngRecent := seedEpisode(t, s, young, "completed", retentionNow.AddDate(0, -6, 0), false)
	// 25th birthday tomorrow (in Europe/London): kept.
	almost := seedChild(t, s, retentionNow.AddDate(-25, 0, 1).Format(time.DateOnly))
	almostEp := seedEpisode(t, s, almost, "completed", years(8), false)
	// Unknown date of birth: 25 years after the episode ended.
	unknown := seedChild(t, s, "")
	noDOBOld := seedEpisode(t, s, unknown, "closed", years(26), false)
	noDOBRecent := seedEpisode(t, s, unknown, "closed", years(24), false)
	// Unknown date of birth, looked after: 75 years after it ended.
	unknownLA := seedChild(t, s, "")
	noDOBLookedAfter := seedEpisode(t, s, unknownLA, "closed", years(26), true)
	// On legal hold: everything kept, notes included.
	held := seedChild(t, s, "1990-01-01")
	heldEp := seedEpisode(t, s, held, "completed", years(12), false)
	if _, err := s.PlaceLegalHold(ctx, provider, held, "Police investigation (op ref 12)", retentionNow.AddDate(0, -1, 0)); err != nil {
		t.Fatalf("PlaceLegalHold: %v", err)
	}
	// An open episode is never purged, nor its notes blanked; its child stays.
	stillOpen := seedChild(t, s, "1990-01-01")
	openEp := seedEpisode(t, s, stillOpen, "awaiting_contact", time.Time{}, false)
	openSibling := seedEpisode(t, s, stillOpen, "completed", years(15), false)
	// Delivery records not tied to an episode.
	for _, d := range []struct {
		key  string
		sent time.Time
	}{{"reminder:other:1", years(3)}, {"reminder:other:2", retentionNow.AddDate(-1, 0, 0)}} {
		if err := s.RecordDelivery(ctx, d.key, "coordinator@example.org", "m", d.sent); err != nil {
			t.Fatal(err)
		}
	}
	before := auditCount(t, s)

	var batches int
	got, err := s.PurgeExpired(ctx, retentionNow, p, 2, func(store.PurgeCounts) { batches++ })
	if err != nil {
		t.Fatalf("PurgeExpired: %v", err)
	}
	want := store.PurgeCounts{EpisodesPurged: 3, ChildrenRemoved: 1, NotesAnonymised: 6, DeliveriesRemoved: 8}
	if got != want {
		t.Errorf("PurgeExpired = %+v, want %+v", got, want)
	}
	if batches != 11 {
		t.Errorf("%d batches of 2, want 11 (episodes 2+1, notes 2+2+2+0, deliveries 2+2+2+2+0)", batches)
	}

	for name, id := range map[string]string{"expired": expired, "no date of birth, ended 26 years ago": noDOBOld, "ended sibling of an open episode": openSibling} {
		if episodeKept(t, s, id) {
			t.Errorf("%s: episode kept, want purged", name)
		}
		for _, tb := range []string{"contact_attempts", "timeline", "follow_ups", "escalations"} {
			if exists(t, s, tb, "episode_id = $1", id) {
				t.Errorf("%s: %s rows kept, want purged", name, tb)
			}
		}
		if exists(t, s, "email_deliveries", "message_key LIKE $1", "%"+id+"%") {
			t.Errorf("%s: email deliveries kept, want purged", name)
		}
	}
	if exists(t, s, "children", "id = $1", adult) {
		t.Error("child with no episodes left was kept")
	}
	for name, id := range map[string]string{"unknown date of birth": unknown, "open episode": stillOpen, "held": held, "care leaver": careLeaver} {
		if !exists(t, s, "children", "id = $1", id) {
			t.Errorf("child (%s) removed, want kept", name)
		}
	}
	for name, id := range map[string]string{
		"looked after": laOld, "looked after (other)": laOther, "16 years old": youngOld, "16 years old, recent": youngRecent,
		"25th birthday tomorrow": almostEp, "no date of birth, ended 24 years ago": noDOBRecent, "held": heldEp, "open": openEp,
		"no date of birth, looked after, ended 26 years ago": noDOBLookedAfter,
	} {
		if !episodeKept(t, s, id) {
			t.Errorf("%s: episode purged, want kept", name)
		}
	}

	// Notes older than 2 years on ended episodes are blanked, in the rows and
	// the snapshots; the facts of the attempt stay.
	for name, id := range map[string]string{"looked after": laOld, "looked after (other)": laOther, "16 years old": youngOld, "25th birthday tomorrow": almostEp, "no date of birth, recent": noDOBRecent, "no date of birth, looked after": noDOBLookedAfter} {
		row, snap := attemptNotes(t, s, id)
		if row != "" || snap != "" {
			t.Errorf("%s: notes %q / snapshot %q, want blanked", name, row, snap)
		}
		if !exists(t, s, "contact_attempts", "episode_id = $1 AND method = 'phone' AND outcome = 'no_answer'", id) {
			t.Errorf("%s: attempt facts lost", name)
		}
	}
	for name, id := range map[string]string{"recent": youngRecent, "held": heldEp, "open": openEp} {
		row, snap := attemptNotes(t, s, id)
		if !strings.Contains(row, retentionCanary) || !strings.Contains(snap, retentionCanary) {
			t.Errorf("%s: notes %q / snapshot %q, want kept", name, row, snap)
		}
	}
	// Deliveries: older than 2 years go, unless the child is on hold.
	if exists(t, s, "email_deliveries", "message_key = 'reminder:other:1'") {
		t.Error("3-year-old delivery record kept")
	}
	if !exists(t, s, "email_deliveries", "message_key = 'reminder:other:2'") {
		t.Error("1-year-old delivery record removed")
	}
	if !exists(t, s, "email_deliveries", "message_key = $1", "escalation:"+heldEp+":deadline_breach") {
		t.Error("delivery record of a held child's episode removed")
	}

	// The audit trail says what was done: one entry per episode and child,
	// one per batch of notes and deliveries; never personal data.
	entries := retentionAudit(t, s, before)
	perEpisode := map[string]bool{}
	var notes, deliveries, children int
	for _, e := range entries {
		switch {
		case e.resource == "episode":
			perEpisode[e.episodeID] = true
		case e.resource == "contact_attempt_notes":
			notes++
		case e.resource == "email_deliveries":
			deliveries++
		case strings.HasPrefix(e.resource, "child/"):
			children++
		default:
			t.Errorf("unexpected audit entry %+v", e)
		}
		if strings.Contains(fmt.Sprint(e), retentionCanary) || strings.Contains(fmt.Sprint(e), "investigation") {
			t.Errorf("audit entry carries personal data: %+v", e)
		}
	}
	if len(perEpisode) != 3 || !perEpisode[expired] || !perEpisode[noDOBOld] || !perEpisode[openSibling] {
		t.Errorf("audit names episodes %v, want the 3 purged", perEpisode)
	}
	if notes != 3 || deliveries != 4 || children != 1 {
		t.Errorf("audit: %d notes batches, %d delivery batches, %d children; want 3, 4, 1", notes, deliveries, children)
	}
	if check, err := s.VerifyAudit(ctx); err != nil || !check.OK {
		t.Errorf("VerifyAudit = %+v, %v; want an intact chain", check, err)
	}

	// A second run finds nothing more.
	snapshot := counts(t, s)
	audited := auditCount(t, s)
	again, err := s.PurgeExpired(ctx, retentionNow, p, 2, nil)
	if err != nil {
		t.Fatalf("second PurgeExpired: %v", err)
	}
	if !again.Zero() {
		t.Errorf("second run did %+v, want nothing", again)
	}
	sameCounts(t, "after the second run", counts(t, s), snapshot)
	if n := auditCount(t, s); n != audited {
		t.Errorf("second run wrote %d audit entries, want none", n-audited)
	}

	// Releasing the hold lets the next purge take the held child's records.
	if _, err := s.ReleaseLegalHold(ctx, provider, held, retentionNow); err != nil {
		t.Fatalf("ReleaseLegalHold: %v", err)
	}
	third, err := s.PurgeExpired(ctx, retentionNow, p, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if third.EpisodesPurged != 1 || third.ChildrenRemoved != 1 || episodeKept(t, s, heldEp) {
		t.Errorf("after release: %+v, episode kept %v; want the held child purged", third, episodeKept(t, s, heldEp))
	}
	if exists(t, s, "legal_holds", "child_id = $1", held) {
		t.Error("the released hold outlived its child")
	}
}

func TestLegalHolds(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxT(t)
	child := seedChild(t, s, "2010-01-01")
	mgr := store.Caller{UserID: uuid.NewString(), Role: store.RoleManager}
	admin := store.Caller{UserID: uuid.NewString(), Role: store.RoleAdmin}

	if _, err := s.ActiveLegalHold(ctx, child); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ActiveLegalHold before placing = %v, want ErrNotFound", err)
	}
	h, err := s.PlaceLegalHold(ctx, mgr, child, "Court order", retentionNow)
	if err != nil {
		t.Fatal(err)
	}
	if h.ChildID != child || h.Reason != "Court order" || h.PlacedBy != mgr.UserID || h.CommissionerID != "" ||
		!h.PlacedAt.Equal(retentionNow) || h.ReleasedAt != nil {
		t.Errorf("placed %+v", h)
	}
	if active, err := s.ActiveLegalHold(ctx, child); err != nil || active.ID != h.ID {
		t.Errorf("ActiveLegalHold = %+v, %v; want the hold placed", active, err)
	}
	if _, err := s.PlaceLegalHold(ctx, mgr, child, "again", retentionNow); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second hold = %v, want ErrConflict", err)
	}
	if _, err := s.PlaceLegalHold(ctx, mgr, uuid.NewString(), "x", retentionNow); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hold on unknown child = %v, want ErrNotFound", err)
	}
	if _, err := s.PlaceLegalHold(ctx, mgr, "not-a-uuid", "x", retentionNow); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("hold on malformed id = %v, want ErrNotFound", err)
	}
	r, err := s.ReleaseLegalHold(ctx, admin, child, retentionNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != h.ID || r.ReleasedAt == nil || r.ReleasedBy != admin.UserID {
		t.Errorf("released %+v", r)
	}
	if _, err := s.ActiveLegalHold(ctx, child); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ActiveLegalHold after release = %v, want ErrNotFound", err)
	}
	if _, err := s.ReleaseLegalHold(ctx, admin, child, retentionNow); !errors.Is(err, store.ErrConflict) {
		t.Errorf("release without an active hold = %v, want ErrConflict", err)
	}
	if _, err := s.PlaceLegalHold(ctx, mgr, child, "New inquiry", retentionNow.Add(2*time.Hour)); err != nil {
		t.Errorf("hold after release: %v", err)
	}
}

// A hold belongs to its placer's commissioner: another commissioner's
// manager may not release it, the placing commissioner's managers and the
// provider's may. Each change is in the audit trail, naming the child by id.
func TestLegalHoldReleaseByCommissioner(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t)
	s, ctx := f.s, ctxT(t)
	aMgr := userIn(t, s, "a.mgr@example.org", store.RoleManager, f.a.ID)
	aMgr2 := userIn(t, s, "a.mgr2@example.org", store.RoleManager, f.a.ID)
	bMgr := userIn(t, s, "b.mgr@example.org", store.RoleManager, f.b.ID)
	pMgr := userIn(t, s, "p.mgr@example.org", store.RoleManager, "")
	child := seedChild(t, s, "2010-01-01")

	h, err := s.PlaceLegalHold(ctx, aMgr, child, "Court order", retentionNow)
	if err != nil {
		t.Fatal(err)
	}
	if h.PlacedBy != aMgr.UserID || h.CommissionerID != f.a.ID {
		t.Fatalf("placed by %q for %q, want %s for %s", h.PlacedBy, h.CommissionerID, aMgr.UserID, f.a.ID)
	}
	if _, err := s.ReleaseLegalHold(ctx, bMgr, child, retentionNow); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("B's manager releasing A's hold = %v, want ErrForbidden", err)
	}
	if active, err := s.ActiveLegalHold(ctx, child); err != nil || active.ID != h.ID {
		t.Fatalf("after B's refused release: %+v, %v; want A's hold still active", active, err)
	}
	r, err := s.ReleaseLegalHold(ctx, aMgr2, child, retentionNow.Add(time.Hour))
	if err != nil || r.ReleasedBy != aMgr2.UserID || r.ReleasedAt == nil || r.CommissionerID != f.a.ID {
		t.Fatalf("A's other manager releasing: %+v, %v", r, err)
	}

	// The provider's manager releases A's hold; A's manager not the provider's.
	h2, err := s.PlaceLegalHold(ctx, aMgr, child, "Inquiry", retentionNow.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReleaseLegalHold(ctx, pMgr, child, retentionNow.Add(3*time.Hour)); err != nil {
		t.Fatalf("the provider's manager releasing A's hold: %v", err)
	}
	p, err := s.PlaceLegalHold(ctx, pMgr, child, "Subject access request", retentionNow.Add(4*time.Hour))
	if err != nil || p.CommissionerID != "" {
		t.Fatalf("the provider's hold: %+v, %v; want no commissioner", p, err)
	}
	if _, err := s.ReleaseLegalHold(ctx, aMgr, child, retentionNow.Add(5*time.Hour)); !errors.Is(err, store.ErrForbidden) {
		t.Fatalf("A's manager releasing the provider's hold = %v, want ErrForbidden", err)
	}

	// The history is kept, and is what the trail says happened.
	var got []string
	rows, err := s.Pool.Query(ctx, `SELECT action || ' ' || outcome || ' by ' || user_id || ' of ' || COALESCE(commissioner_id, 'provider')
		FROM audit_log WHERE resource = $1 ORDER BY id`, "child/"+child)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		got = append(got, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("legal_hold.place placed hold %d by %s of %s", h.ID, aMgr.UserID, f.a.ID),
		fmt.Sprintf("legal_hold.release released hold %d by %s of %s", h.ID, aMgr2.UserID, f.a.ID),
		fmt.Sprintf("legal_hold.place placed hold %d by %s of %s", h2.ID, aMgr.UserID, f.a.ID),
		fmt.Sprintf("legal_hold.release released hold %d by %s of provider", h2.ID, pMgr.UserID),
		fmt.Sprintf("legal_hold.place placed hold %d by %s of provider", p.ID, pMgr.UserID),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail of the child:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// Reading the history, a hold is visible with its child: the child is
	// A's, through A's episode.
	if _, err := s.Pool.Exec(ctx, `UPDATE episodes SET child_id = $1 WHERE id = $2`, child, f.epA); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who  string
		as   store.Caller
		want []int64
	}{{"A's manager", aMgr, []int64{p.ID, h2.ID, h.ID}}, {"the provider's manager", pMgr, []int64{p.ID, h2.ID, h.ID}}, {"B's manager", bMgr, nil}} {
		holds, err := s.LegalHolds(ctx, c.as, child)
		var ids []int64
		for _, x := range holds {
			ids = append(ids, x.ID)
		}
		if err != nil || fmt.Sprint(ids) != fmt.Sprint(c.want) {
			t.Errorf("%s lists holds %v (%v), want %v", c.who, ids, err, c.want)
		}
	}
}

func TestRetentionPolicyValidate(t *testing.T) {
	if err := store.DefaultRetentionPolicy().Validate(); err != nil {
		t.Fatalf("default policy: %v", err)
	}
	bad := store.DefaultRetentionPolicy()
	bad.CaseRecordsUntilAge = 10
	bad.LookedAfterUntilAge = 5
	bad.EmailDeliveryYears = 0
	bad.TimeZone = "Mars/Olympus"
	err := bad.Validate()
	for _, want := range []string{"18th birthday", "looked-after", "email delivery", "time zone"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate = %v, want it to mention %q", err, want)
		}
	}
	if _, err := (&store.Store{}).PurgeExpired(context.Background(), retentionNow, bad, 10, nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("PurgeExpired with a bad policy = %v, want ErrInvalid", err)
	}
}

func auditCount(t *testing.T, s *store.Store) int { t.Helper(); return count(t, s, "audit_log") }

type auditRow struct{ action, resource, episodeID, outcome, userID string }

func retentionAudit(t *testing.T, s *store.Store, after int) []auditRow {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(),
		`SELECT action, resource, COALESCE(episode_id::text, ''), outcome, user_id FROM audit_log ORDER BY id OFFSET $1`, after)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []auditRow
	for rows.Next() {
		var r auditRow
		if err := rows.Scan(&r.action, &r.resource, &r.episodeID, &r.outcome, &r.userID); err != nil {
			t.Fatal(err)
		}
		if r.action != store.AuditActionRetentionPurge {
			t.Errorf("audit action %q, want %q", r.action, store.AuditActionRetentionPurge)
		}
		out = append(out, r)
	}
	return out
}

// Holds placed before holds had a commissioner get their placer's.
func TestLegalHoldMigrationBackfillsCommissioner(t *testing.T) {
	t.Parallel()
	s := openRaw(t)
	ctx := ctxT(t)
	migs, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL DEFAULT '',
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs {
		if m.Version >= 7 {
			break
		}
		if _, err := s.Pool.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := s.Pool.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	a, err := s.CreateCommissioner(ctx, "Aldershire")
	if err != nil {
		t.Fatal(err)
	}
	// Users as the schema of migration 6 has them (later ones add columns).
	rawUser := func(email string) string {
		var id string
		if err := s.Pool.QueryRow(ctx, `INSERT INTO users (id, name, email, role, token_hash) VALUES (gen_random_uuid(), 'Staff', $1, 'manager', $2)
			RETURNING id::text`, email, []byte(email)).Scan(&id); err != nil {
			t.Fatal(err)
		}
		return id
	}
	aMgr, pMgr := rawUser("a.mgr@example.org"), rawUser("p.mgr@example.org")
	if err := s.SetUserCommissioner(ctx, aMgr, a.ID); err != nil {
		t.Fatal(err)
	}
	placers := map[string]string{aMgr: a.ID, pMgr: "", "someone-gone": ""}
	for placer := range placers {
		child := seedChild(t, s, "2010-01-01")
		if _, err := s.Pool.Exec(ctx, `INSERT INTO legal_holds (child_id, reason, placed_by) VALUES ($1, 'Court order', $2)`, child, placer); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for placer, want := range placers {
		var got string
		if err := s.Pool.QueryRow(ctx, `SELECT COALESCE(commissioner_id::text, '') FROM legal_holds WHERE placed_by = $1`, placer).Scan(&got); err != nil || got != want {
			t.Errorf("hold placed by %s: commissioner %q (%v), want %q", placer, got, err, want)
		}
	}
}

// A person of concern named only in purged episodes goes with them; one
// still named by an interview in the records stays.
func TestRetentionPurgeRemovesPeopleNoInterviewNames(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxT(t)
	expired := seedEpisode(t, s, seedChild(t, s, "2000-01-01"), "completed", years(10), false)
	kept := seedEpisode(t, s, seedChild(t, s, "2010-05-05"), "completed", years(1), false)
	onlyExpired, both, onlyKept := uuid.NewString(), uuid.NewString(), uuid.NewString()
	for _, p := range []string{onlyExpired, both, onlyKept} {
		if _, err := s.Pool.Exec(ctx, `INSERT INTO people_of_concern (id, description) VALUES ($1, $2)`, p, retentionCanary+" the man at the park"); err != nil {
			t.Fatal(err)
		}
	}
	for i, link := range []struct{ episode, person string }{{expired, onlyExpired}, {expired, both}, {kept, both}, {kept, onlyKept}} {
		if _, err := s.Pool.Exec(ctx, `INSERT INTO interview_people (episode_id, seq, idx, person_id, description, held_at)
			VALUES ($1, 1, $2, $3, 'a man', $4)`, link.episode, i, link.person, years(10)); err != nil {
			t.Fatal(err)
		}
	}
	before := auditCount(t, s)
	got, err := s.PurgeExpired(ctx, retentionNow, store.DefaultRetentionPolicy(), 10, nil)
	if err != nil {
		t.Fatalf("PurgeExpired: %v", err)
	}
	if got.EpisodesPurged != 1 || got.PeopleRemoved != 1 {
		t.Errorf("PurgeExpired = %+v, want the one expired episode and one person of concern", got)
	}
	for p, want := range map[string]bool{onlyExpired: false, both: true, onlyKept: true} {
		if exists(t, s, "people_of_concern", "id = $1", p) != want {
			t.Errorf("person of concern %s kept = %v, want %v", p, !want, want)
		}
	}
	var audited bool
	for _, r := range retentionAudit(t, s, before) {
		audited = audited || r.resource == "person_of_concern/"+onlyExpired
	}
	if !audited {
		t.Errorf("no audit entry for the removed person of concern")
	}
	// Running again finds nothing more.
	if again, err := s.PurgeExpired(ctx, retentionNow, store.DefaultRetentionPolicy(), 10, nil); err != nil || again.PeopleRemoved != 0 {
		t.Errorf("second purge = %+v, %v; want nothing", again, err)
	}
}
