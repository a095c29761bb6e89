package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"homeward/episode"
	"homeward/internal/pglocal"
	"homeward/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pglocal.StopTestClusters()
	os.Exit(code)
}

// t0 is a Saturday evening before the clocks go forward in March, so the
// 72-hour window crosses a daylight saving change.
var t0 = time.Date(2025, 3, 29, 22, 0, 0, 0, time.UTC)

var allTables = []string{
	"users", "children", "episodes", "contact_attempts", "interviews", "agreements",
	"follow_ups", "escalations", "email_deliveries", "timeline",
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// openStore opens a fresh, migrated database.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	s := openRaw(t)
	if err := s.Migrate(ctxT(t)); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return s
}

func openRaw(t *testing.T) *store.Store {
	t.Helper()
	url := pglocal.NewTestDatabase(t)
	s, err := store.Open(ctxT(t), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

func count(t *testing.T, s *store.Store, table string) int {
	t.Helper()
	var n int
	if err := s.Pool.QueryRow(context.Background(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

func counts(t *testing.T, s *store.Store) map[string]int {
	t.Helper()
	m := map[string]int{}
	for _, tb := range allTables {
		m[tb] = count(t, s, tb)
	}
	return m
}

func sameCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	for _, tb := range allTables {
		if got[tb] != want[tb] {
			t.Errorf("%s: %s has %d rows, want %d", what, tb, got[tb], want[tb])
		}
	}
}

func referral(returnedAt time.Time) episode.Referral {
	return episode.Referral{
		Child:             episode.Child{FirstName: "Amy", LastName: "Example", DateOfBirth: "2010-06-15", Gender: "female"},
		ReportedMissingAt: returnedAt.Add(-20 * time.Hour),
		ReturnedAt:        returnedAt,
		PoliceReference:   "PR-123",
		RiskGrade:         episode.RiskMedium,
		Category:          episode.CategoryMissing,
		LookedAfter:       true,
		Source:            "police",
		Contact: episode.ContactDetails{
			ChildMobile: "07700900000",
			Address:     "1 Example Street",
			Carers:      []episode.Carer{{Name: "Carer One", Relationship: "foster carer", Phone: "01130000000"}},
		},
		Preferences: episode.Preferences{WorkerGender: "female", Language: "English"},
	}
}

// snapshot copies st the way an activity receives it: through JSON.
func snapshot(t *testing.T, st *episode.State) episode.State {
	t.Helper()
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var out episode.State
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func apply(t *testing.T, st *episode.State, ev episode.Event, now time.Time) {
	t.Helper()
	if p := st.Check(ev); p != nil {
		t.Fatalf("event %s rejected: %v", ev.Type, p)
	}
	st.Apply(ev, now)
}

func attempt(actor string, m episode.Method, o episode.AttemptOutcome, at time.Time) episode.Event {
	return episode.Event{Type: episode.EventContactAttempt, Actor: actor, RecordedAt: at,
		Attempt: &episode.AttemptInput{Method: m, Outcome: o, AttemptedAt: at, Notes: "note"}}
}

func assign(actor, interviewer string, at time.Time) episode.Event {
	return episode.Event{Type: episode.EventAssignment, Actor: actor, RecordedAt: at,
		Assignment: &episode.Assignment{InterviewerID: interviewer}}
}

func interview(actor string, u episode.InterviewUpdate, at time.Time) episode.Event {
	return episode.Event{Type: episode.EventInterview, Actor: actor, RecordedAt: at, Interview: &u}
}

func save(t *testing.T, s *store.Store, st episode.State, ref *episode.Referral) bool {
	t.Helper()
	applied, err := s.SaveEpisode(ctxT(t), st, ref)
	if err != nil {
		t.Fatalf("SaveEpisode v%d: %v", st.Version, err)
	}
	return applied
}

func mustUser(t *testing.T, s *store.Store, name, email string, role store.Role) store.User {
	t.Helper()
	u, err := s.CreateUser(ctxT(t), name, email, role, []byte("hash-"+email))
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	return u
}

func isUTC(t *testing.T, what string, tm time.Time) {
	t.Helper()
	if tm.Location() != time.UTC {
		t.Errorf("%s is in %v, want UTC", what, tm.Location())
	}
}

func TestMigrateTwiceIsIdempotent(t *testing.T) {
	t.Parallel()
	s := openRaw(t)
	ctx := ctxT(t)
	for i := 0; i < 2; i++ {
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("Migrate #%d: %v", i+1, err)
		}
	}
	migrations, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if len(migrations) == 0 || migrations[0].Version != 1 {
		t.Fatalf("migrations = %+v, want version 1 first", migrations)
	}
	rows, err := s.Pool.Query(ctx, "SELECT version, applied_at FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var versions []int
	for rows.Next() {
		var v int
		var at time.Time
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		if at.IsZero() {
			t.Errorf("version %d has no applied_at", v)
		}
		versions = append(versions, v)
	}
	if len(versions) != len(migrations) {
		t.Fatalf("schema_migrations holds %v, want %d versions", versions, len(migrations))
	}
	for i, m := range migrations {
		if versions[i] != m.Version {
			t.Errorf("schema_migrations[%d] = %d, want %d", i, versions[i], m.Version)
		}
	}
	for _, tb := range allTables {
		if n := count(t, s, tb); n != 0 {
			t.Errorf("%s has %d rows in a fresh database", tb, n)
		}
	}
	// The advisory lock was released: a session lock would block this.
	var got bool
	if err := s.Pool.QueryRow(ctx, "SELECT pg_try_advisory_lock(7525353784921387620)").Scan(&got); err != nil || !got {
		t.Errorf("migration lock still held after Migrate (got %v, err %v)", got, err)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	t.Parallel()
	url := pglocal.NewTestDatabase(t)
	ctx := ctxT(t)
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	stores := make([]*store.Store, n)
	for i := range stores {
		s, err := store.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		stores[i] = s
	}
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = stores[i].Migrate(ctx)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Migrate in goroutine %d: %v", i, err)
		}
	}
	migrations, _ := store.Migrations()
	if got := count(t, stores[0], "schema_migrations"); got != len(migrations) {
		t.Errorf("schema_migrations has %d rows, want %d", got, len(migrations))
	}
}

func TestOpenErrorsHidePassword(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t)
	for _, url := range []string{
		"postgres://homeward:s3cretPassw0rd@127.0.0.1:1/casework?sslmode=disable&connect_timeout=2",
		"postgres://homeward:s3cretPassw0rd@127.0.0.1:notaport/casework",
		"postgres://homeward:s3cret/Pass?w0rd@127.0.0.1:notaport/casework",
		"postgres://127.0.0.1:1/casework?password=s3cretPassw0rd&connect_timeout=2",
	} {
		s, err := store.Open(ctx, url)
		if err == nil {
			s.Close()
			t.Fatal("Open succeeded against a closed port")
		}
		t.Log(err)
		if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "w0rd") {
			t.Errorf("error reveals the password: %v", err)
		}
		if !strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(err.Error(), "casework") {
			t.Errorf("error does not name host and database: %v", err)
		}
	}
}

func TestUsers(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxT(t)

	bob, err := s.CreateUser(ctx, "Bob Manager", "Bob@Example.org", store.RoleManager, []byte{1, 2, 3})
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if _, err := uuid.Parse(bob.ID); err != nil || bob.Role != store.RoleManager || !bob.Active || bob.CreatedAt.IsZero() {
		t.Fatalf("created user = %+v", bob)
	}
	isUTC(t, "created_at", bob.CreatedAt)

	_, err = s.CreateUser(ctx, "Other Bob", "bob@EXAMPLE.org", store.RoleCoordinator, []byte{9})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate email: err = %v, want ErrConflict", err)
	}
	if strings.Contains(strings.ToLower(err.Error()), "bob@example.org") {
		t.Errorf("conflict error reveals the email: %v", err)
	}
	if _, err := s.CreateUser(ctx, "Ann", "ann@example.org", store.Role("boss"), []byte{7}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown role: err = %v, want ErrInvalid", err)
	}
	if n := count(t, s, "users"); n != 1 {
		t.Errorf("users has %d rows, want 1", n)
	}

	got, err := s.UserByTokenHash(ctx, []byte{1, 2, 3})
	if err != nil || got != bob {
		t.Fatalf("UserByTokenHash = %+v, %v; want %+v", got, err, bob)
	}
	if _, err := s.UserByTokenHash(ctx, []byte{4}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown token: err = %v, want ErrNotFound", err)
	}
	if got, err := s.UserByID(ctx, strings.ToUpper(bob.ID)); err != nil || got != bob {
		t.Errorf("UserByID = %+v, %v", got, err)
	}
	for _, id := range []string{"", "not-a-uuid", "'; DROP TABLE users; --", uuid.NewString()} {
		if _, err := s.UserByID(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("UserByID(%q): err = %v, want ErrNotFound", id, err)
		}
	}

	zed := mustUser(t, s, "Zed", "zed@example.org", store.RoleManager)
	mustUser(t, s, "Amy", "amy@example.org", store.RoleManager)
	mustUser(t, s, "Ian", "ian@example.org", store.RoleInterviewer)
	managers, err := s.ActiveUsers(ctx, store.RoleManager)
	if err != nil {
		t.Fatal(err)
	}
	if emails := userEmails(managers); emails != "amy@example.org,Bob@Example.org,zed@example.org" {
		t.Errorf("active managers = %s", emails)
	}

	if err := s.SetUserActive(ctx, zed.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByTokenHash(ctx, []byte("hash-zed@example.org")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("inactive user by token: err = %v, want ErrNotFound", err)
	}
	if got, err := s.UserByID(ctx, zed.ID); err != nil || got.Active {
		t.Errorf("inactive UserByID = %+v, %v; want found and inactive", got, err)
	}
	managers, _ = s.ActiveUsers(ctx, store.RoleManager)
	if emails := userEmails(managers); emails != "amy@example.org,Bob@Example.org" {
		t.Errorf("active managers after deactivation = %s", emails)
	}
	none, err := s.ActiveUsers(ctx, store.RoleAdmin)
	if err != nil || none == nil || len(none) != 0 {
		t.Errorf("ActiveUsers(admin) = %#v, %v; want empty non-nil", none, err)
	}
}

func userEmails(us []store.User) string {
	var out []string
	for _, u := range us {
		out = append(out, u.Email)
	}
	return strings.Join(out, ",")
}

func TestSaveEpisodeProjectsSnapshots(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxT(t)
	coord := mustUser(t, s, "Cora", "cora@example.org", store.RoleCoordinator)
	ivr := mustUser(t, s, "Ivan", "ivan@example.org", store.RoleInterviewer)

	id := uuid.NewString()
	ref := referral(t0.Add(-time.Hour))
	st := episode.New(id, ref, episode.DefaultPolicy(), coord.ID, t0)
	v1 := snapshot(t, st)

	// First save: child and episode.
	if !save(t, s, v1, &ref) {
		t.Fatal("first save not applied")
	}
	want := map[string]int{"users": 2, "children": 1, "episodes": 1, "timeline": len(v1.Timeline)}
	sameCounts(t, "after first save", counts(t, s), want)

	// The same version again, as a retried activity would: nothing changes.
	if save(t, s, v1, &ref) {
		t.Error("saving the same version again was applied")
	}
	sameCounts(t, "after repeated save", counts(t, s), want)

	// Newer: assignment, a failed attempt, a deadline warning.
	apply(t, st, assign(coord.ID, ivr.ID, t0.Add(time.Minute)), t0.Add(time.Minute))
	apply(t, st, attempt(ivr.ID, episode.MethodPhone, episode.OutcomeNoAnswer, t0.Add(time.Hour)), t0.Add(time.Hour))
	if due := st.Due(t0.Add(48 * time.Hour)); len(due) != 1 || due[0].Kind != episode.EscalationDeadlineWarning {
		t.Fatalf("Due = %+v, want a deadline warning", due)
	}
	v2 := snapshot(t, st)
	if !save(t, s, v2, nil) {
		t.Fatal("v2 not applied")
	}
	want["contact_attempts"], want["escalations"], want["timeline"] = 1, 1, len(v2.Timeline)
	sameCounts(t, "after v2", counts(t, s), want)

	// An older snapshot arriving late is ignored, with or without referral.
	if save(t, s, v1, nil) || save(t, s, v1, &ref) {
		t.Error("an older snapshot was applied after a newer one")
	}
	sameCounts(t, "after stale v1", counts(t, s), want)
	d, err := s.GetEpisode(ctx, provider, id)
	if err != nil {
		t.Fatal(err)
	}
	if d.AssignedInterviewer == nil || d.AssignedInterviewer.ID != ivr.ID || d.AssignedInterviewer.Name != "Ivan" {
		t.Errorf("assigned interviewer after stale save = %+v", d.AssignedInterviewer)
	}
	if len(d.ContactAttempts) != 1 || d.NextContact == nil || d.NextContact.Method != episode.MethodText {
		t.Errorf("after stale save: attempts %+v, next contact %+v", d.ContactAttempts, d.NextContact)
	}

	// The whole way to completion.
	offerAt := t0.Add(50 * time.Hour)
	apply(t, st, attempt(ivr.ID, episode.MethodText, episode.OutcomeReachedOffered, offerAt), offerAt)
	when := t0.Add(60 * time.Hour)
	apply(t, st, interview(ivr.ID, episode.InterviewUpdate{Outcome: episode.InterviewScheduled, ScheduledFor: &when, Venue: "school"}, offerAt), offerAt)
	record := &episode.InterviewRecord{
		PushFactors: []string{"conflict at home"}, PullFactors: []string{"friends"},
		RiskIndicators:      episode.RiskIndicators{GoneMissingBefore: episode.AnswerYes, SexualExploitationOrTrafficking: episode.AnswerNo},
		SafeguardingConcern: true, SafeguardingDetails: "details",
	}
	apply(t, st, interview(ivr.ID, episode.InterviewUpdate{Outcome: episode.InterviewHeld, HeldAt: &when, Record: record}, when), when)
	if due := st.Due(when.Add(time.Minute)); len(due) != 1 || due[0].Kind != episode.EscalationSafeguardingConcern {
		t.Fatalf("Due = %+v, want a safeguarding escalation", due)
	}
	st.MarkEscalationSent(episode.EscalationSafeguardingConcern, 0, when.Add(2*time.Minute), 3, when.Add(2*time.Minute))
	apply(t, st, episode.Event{Type: episode.EventAgreement, Actor: ivr.ID, Agreement: &episode.Agreement{
		ConfidentialityExplained: true, ChildToldBeforeSharing: true,
		SharedWith: []episode.Sharing{{Party: episode.PartyPolice, What: "safeguarding concern"}},
	}}, when.Add(time.Hour))
	done := when.Add(7 * 24 * time.Hour)
	apply(t, st, episode.Event{Type: episode.EventFollowUp, Actor: ivr.ID, FollowUp: &episode.FollowUpRecord{
		CompletedAt: done, ActionsTaken: []string{"CAMHS referral"}, Outcome: "engaging",
	}}, done)
	v3 := snapshot(t, st)
	if !save(t, s, v3, nil) {
		t.Fatal("v3 not applied")
	}
	want["contact_attempts"], want["interviews"], want["agreements"], want["follow_ups"] = 2, 2, 1, 1
	want["escalations"], want["timeline"] = 2, len(v3.Timeline)
	sameCounts(t, "after v3", counts(t, s), want)
	if save(t, s, v3, nil) || save(t, s, v2, nil) {
		t.Error("a repeated or older snapshot was applied after v3")
	}
	sameCounts(t, "after repeating v3", counts(t, s), want)

	d, err = s.GetEpisode(ctx, provider, id)
	if err != nil {
		t.Fatal(err)
	}
	checkDetail(t, d, v3, ref, coord, ivr)

	got, err := s.EpisodeState(ctx, provider, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != v3.Version || got.Status != episode.StatusCompleted || len(got.Timeline) != len(v3.Timeline) ||
		got.Interview == nil || got.Interview.Record == nil || !got.Interview.Record.SafeguardingConcern {
		t.Errorf("EpisodeState = version %d status %s, want version %d completed", got.Version, got.Status, v3.Version)
	}
	if got.Contact.ChildMobile != ref.Contact.ChildMobile || len(got.Contact.Carers) != 1 {
		t.Errorf("EpisodeState contact = %+v, want the referral's", got.Contact)
	}
	if _, err := s.EpisodeState(ctx, provider, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EpisodeState(unknown) err = %v", err)
	}
	if _, err := s.EpisodeState(ctx, provider, "HW-1234"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EpisodeState(malformed) err = %v", err)
	}
}

func checkDetail(t *testing.T, d store.EpisodeDetail, st episode.State, ref episode.Referral, coord, ivr store.User) {
	t.Helper()
	if d.ID != st.EpisodeID || d.Reference != st.Reference || d.Status != episode.StatusCompleted {
		t.Errorf("id/reference/status = %s %s %s", d.ID, d.Reference, d.Status)
	}
	if d.Child.ID == "" || d.Child.FirstName != "Amy" || d.Child.LastName != "Example" || d.Child.Gender != "female" ||
		d.Child.DateOfBirth == nil || *d.Child.DateOfBirth != "2010-06-15" {
		t.Errorf("child = %+v", d.Child)
	}
	if d.ReportedMissingAt == nil || !d.ReportedMissingAt.Equal(ref.ReportedMissingAt) || !d.ReturnedAt.Equal(ref.ReturnedAt) {
		t.Errorf("reported missing %v, returned %v", d.ReportedMissingAt, d.ReturnedAt)
	}
	if !d.OpenedAt.Equal(t0) || d.OpenedBy != coord.ID || !d.OfferDeadline.Equal(ref.ReturnedAt.Add(72*time.Hour)) {
		t.Errorf("opened %v by %s, deadline %v", d.OpenedAt, d.OpenedBy, d.OfferDeadline)
	}
	if d.OfferMadeAt == nil || !d.OfferMadeAt.Equal(*st.OfferMadeAt) || d.OfferWithinDeadline == nil || !*d.OfferWithinDeadline || d.Offers != 1 {
		t.Errorf("offer made %v within %v offers %d", d.OfferMadeAt, d.OfferWithinDeadline, d.Offers)
	}
	if d.RiskGrade != episode.RiskMedium || d.Category != episode.CategoryMissing || !d.LookedAfter ||
		d.PoliceReference != "PR-123" || d.ReferralSource != "police" {
		t.Errorf("referral fields = %s %s %v %s %s", d.RiskGrade, d.Category, d.LookedAfter, d.PoliceReference, d.ReferralSource)
	}
	if d.Contact.Address != ref.Contact.Address || len(d.Contact.Carers) != 1 || d.Preferences != ref.Preferences {
		t.Errorf("contact %+v preferences %+v", d.Contact, d.Preferences)
	}
	if d.AssignedInterviewer == nil || *d.AssignedInterviewer != (store.UserRef{ID: ivr.ID, Name: ivr.Name}) {
		t.Errorf("assigned interviewer = %+v", d.AssignedInterviewer)
	}
	if len(d.ContactAttempts) != 2 || d.ContactAttempts[0].Seq != 1 || d.ContactAttempts[1].Outcome != episode.OutcomeReachedOffered ||
		d.ContactAttempts[0].Notes != "note" || d.ContactAttempts[0].RecordedBy != ivr.ID || !d.ContactAttempts[0].AttemptedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("contact attempts = %+v", d.ContactAttempts)
	}
	if d.NextContact != nil {
		t.Errorf("next contact = %+v, want none", d.NextContact)
	}
	if iv := d.Interview; iv == nil || iv.Status != episode.InterviewHeld || iv.HeldAt == nil || iv.Venue != "school" ||
		iv.Record == nil || !iv.Record.SafeguardingConcern || len(iv.Record.PushFactors) != 1 {
		t.Errorf("interview = %+v", d.Interview)
	}
	if a := d.Agreement; a == nil || !a.ConfidentialityExplained || len(a.SharedWith) != 1 || a.SharedWith[0].Party != episode.PartyPolice || a.RecordedBy != ivr.ID {
		t.Errorf("agreement = %+v", d.Agreement)
	}
	if f := d.FollowUp; f == nil || f.CompletedAt == nil || !f.DueAt.Equal(st.FollowUp.DueAt) || f.Outcome != "engaging" ||
		len(f.ActionsTaken) != 1 || f.ActionsTaken[0] != "CAMHS referral" {
		t.Errorf("follow-up = %+v", d.FollowUp)
	}
	if d.Closure != nil {
		t.Errorf("closure = %+v", d.Closure)
	}
	if len(d.Escalations) != 2 || d.Escalations[0].Kind != episode.EscalationDeadlineWarning || d.Escalations[0].SentAt != nil ||
		d.Escalations[1].Kind != episode.EscalationSafeguardingConcern || d.Escalations[1].SentAt == nil || d.Escalations[1].Recipients != 3 {
		t.Errorf("escalations = %+v", d.Escalations)
	}
	if len(d.Timeline) != len(st.Timeline) {
		t.Fatalf("timeline has %d entries, want %d", len(d.Timeline), len(st.Timeline))
	}
	for i, e := range d.Timeline {
		w := st.Timeline[i]
		if e.Seq != w.Seq || !e.At.Equal(w.At) || e.Type != w.Type || e.Summary != w.Summary || e.Actor != w.Actor {
			t.Errorf("timeline[%d] = %+v, want %+v", i, e, w)
		}
		isUTC(t, "timeline at", e.At)
	}
	if !d.UpdatedAt.Equal(st.Timeline[len(st.Timeline)-1].At) {
		t.Errorf("updated_at = %v, want the last change %v", d.UpdatedAt, st.Timeline[len(st.Timeline)-1].At)
	}
	for what, tm := range map[string]time.Time{"returned_at": d.ReturnedAt, "opened_at": d.OpenedAt, "offer_deadline": d.OfferDeadline,
		"offer_made_at": *d.OfferMadeAt, "updated_at": d.UpdatedAt, "attempted_at": d.ContactAttempts[0].AttemptedAt,
		"escalation triggered_at": d.Escalations[0].TriggeredAt, "follow-up due": d.FollowUp.DueAt} {
		isUTC(t, what, tm)
	}
}

func TestSaveEpisodeRaceCreatesOneOfEverything(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	id := uuid.NewString()
	ref := referral(t0)
	st := episode.New(id, ref, episode.DefaultPolicy(), "coordinator", t0)
	apply(t, st, attempt("ivr", episode.MethodPhone, episode.OutcomeNoAnswer, t0.Add(time.Hour)), t0.Add(time.Hour))
	v := snapshot(t, st)

	const n = 8
	var wg sync.WaitGroup
	results := make([]bool, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.SaveEpisode(context.Background(), v, &ref)
		}()
	}
	wg.Wait()
	appliedCount := 0
	for i := range results {
		if errs[i] != nil {
			t.Errorf("save %d: %v", i, errs[i])
		}
		if results[i] {
			appliedCount++
		}
	}
	if appliedCount != 1 {
		t.Errorf("%d concurrent saves of the same version applied, want 1", appliedCount)
	}
	sameCounts(t, "after racing saves", counts(t, s), map[string]int{
		"children": 1, "episodes": 1, "contact_attempts": 1, "timeline": len(v.Timeline),
	})
}

func TestSaveEpisodeChildLinking(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxT(t)

	// The first episode creates the child; its id is derived from the episode.
	e1 := uuid.NewString()
	ref1 := referral(t0)
	save(t, s, snapshot(t, episode.New(e1, ref1, episode.DefaultPolicy(), "c", t0)), &ref1)
	d1, err := s.GetEpisode(ctx, provider, e1)
	if err != nil {
		t.Fatal(err)
	}
	if d1.Child.ID != store.ChildIDForEpisode(e1) {
		t.Errorf("child id = %s, want %s", d1.Child.ID, store.ChildIDForEpisode(e1))
	}
	for id, want := range map[string]bool{d1.Child.ID: true, uuid.NewString(): false, "not-a-uuid": false} {
		if got, err := s.ChildExists(ctx, provider, id); err != nil || got != want {
			t.Errorf("ChildExists(%q) = %v, %v; want %v", id, got, err, want)
		}
	}

	// A second episode of the same, known child links to it.
	e2 := uuid.NewString()
	ref2 := referral(t0.Add(240 * time.Hour))
	ref2.Child = episode.Child{ID: d1.Child.ID, FirstName: "Amy"}
	save(t, s, snapshot(t, episode.New(e2, ref2, episode.DefaultPolicy(), "c", t0.Add(240*time.Hour))), &ref2)
	d2, err := s.GetEpisode(ctx, provider, e2)
	if err != nil {
		t.Fatal(err)
	}
	if d2.Child.ID != d1.Child.ID || d2.Child.LastName != "Example" {
		t.Errorf("second episode child = %+v, want the known child %s", d2.Child, d1.Child.ID)
	}

	// A child id the records do not know is not trusted: a child is created.
	e3 := uuid.NewString()
	ref3 := referral(t0)
	ref3.Child.ID = uuid.NewString()
	ref3.Child.DateOfBirth = "not a date"
	save(t, s, snapshot(t, episode.New(e3, ref3, episode.DefaultPolicy(), "c", t0)), &ref3)
	d3, err := s.GetEpisode(ctx, provider, e3)
	if err != nil {
		t.Fatal(err)
	}
	if d3.Child.ID != store.ChildIDForEpisode(e3) || d3.Child.DateOfBirth != nil {
		t.Errorf("third episode child = %+v", d3.Child)
	}
	if n := count(t, s, "children"); n != 2 {
		t.Errorf("children has %d rows, want 2", n)
	}

	// A snapshot without referral before the first one with it: stored
	// without a child, linked once the referral arrives.
	e4 := uuid.NewString()
	ref4 := referral(t0)
	st4 := episode.New(e4, ref4, episode.DefaultPolicy(), "c", t0)
	if !save(t, s, snapshot(t, st4), nil) {
		t.Fatal("save without referral not applied")
	}
	d4, err := s.GetEpisode(ctx, provider, e4)
	if err != nil {
		t.Fatal(err)
	}
	if d4.Child.ID != "" || d4.RiskGrade != "" || d4.ReportedMissingAt != nil || d4.ContactAttempts == nil || d4.Escalations == nil || d4.Timeline == nil {
		t.Errorf("episode without referral = %+v", d4)
	}
	apply(t, st4, assign("c", uuid.NewString(), t0.Add(time.Minute)), t0.Add(time.Minute))
	if !save(t, s, snapshot(t, st4), &ref4) {
		t.Fatal("save with late referral not applied")
	}
	d4, _ = s.GetEpisode(ctx, provider, e4)
	if d4.Child.ID != store.ChildIDForEpisode(e4) || d4.RiskGrade != episode.RiskMedium || d4.ReportedMissingAt == nil {
		t.Errorf("episode after late referral: child %+v risk %s", d4.Child, d4.RiskGrade)
	}
	// The interviewer is not a known user: named by id only.
	if d4.AssignedInterviewer == nil || d4.AssignedInterviewer.Name != "" {
		t.Errorf("unknown interviewer = %+v", d4.AssignedInterviewer)
	}
	// Later snapshots without referral keep the referral fields.
	apply(t, st4, attempt("i", episode.MethodPhone, episode.OutcomeNoAnswer, t0.Add(time.Hour)), t0.Add(time.Hour))
	save(t, s, snapshot(t, st4), nil)
	d4, _ = s.GetEpisode(ctx, provider, e4)
	if d4.RiskGrade != episode.RiskMedium || d4.PoliceReference != "PR-123" || d4.Contact.Address == "" || d4.Child.ID == "" {
		t.Errorf("referral fields lost by a later save: %+v", d4)
	}
}

func TestInvalidAndMalformedIDs(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxT(t)
	for _, id := range []string{"", "x", "HW-ABCDEF12", "123e4567-e89b-12d3-a456-42661417400Z"} {
		if _, err := s.GetEpisode(ctx, provider, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetEpisode(%q) err = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := s.GetEpisode(ctx, provider, uuid.NewString()); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetEpisode(unknown) err = %v", err)
	}
	st := episode.New("not-a-uuid", referral(t0), episode.DefaultPolicy(), "c", t0)
	if _, err := s.SaveEpisode(ctx, snapshot(t, st), nil); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SaveEpisode(malformed id) err = %v, want ErrInvalid", err)
	}
	if _, err := s.RecordEscalation(ctx, "nope", "HW-1", "", episode.Escalation{Kind: episode.EscalationDeadlineBreached}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("RecordEscalation(malformed id) err = %v", err)
	}
	if err := s.MarkEscalationSent(ctx, "nope", episode.EscalationDeadlineBreached, 0, t0, 1); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkEscalationSent(malformed id) err = %v", err)
	}
}

func TestEpisodeDetailJSONShape(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	id := uuid.NewString()
	ref := referral(t0)
	save(t, s, snapshot(t, episode.New(id, ref, episode.DefaultPolicy(), "c", t0)), &ref)
	d, err := s.GetEpisode(ctxT(t), provider, id)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"contact_attempts", "escalations", "timeline"} {
		if v := string(m[k]); !strings.HasPrefix(v, "[") {
			t.Errorf("%s = %s, want an array", k, v)
		}
	}
	for _, k := range []string{"assigned_interviewer", "interview", "agreement", "follow_up", "closure", "offer_made_at"} {
		if v := string(m[k]); v != "null" {
			t.Errorf("%s = %s, want null", k, v)
		}
	}
	if v := string(m["offer_deadline"]); v != `"2025-04-01T22:00:00Z"` {
		t.Errorf("offer_deadline = %s, want RFC 3339 UTC", v)
	}
	if v := string(m["next_contact"]); !strings.Contains(v, `"method":"phone"`) || !strings.Contains(v, `"purpose":"first_contact"`) {
		t.Errorf("next_contact = %s", v)
	}
}

func TestListEpisodes(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxT(t)
	ann := mustUser(t, s, "Ann", "ann@example.org", store.RoleInterviewer)
	ben := mustUser(t, s, "Ben", "ben@example.org", store.RoleInterviewer)
	now := t0.Add(10 * 24 * time.Hour)

	// Ids are chosen so that ties on the deadline order by id.
	mk := func(id string, returned time.Time, interviewer string, more func(*episode.State)) episode.State {
		ref := referral(returned)
		st := episode.New(id, ref, episode.DefaultPolicy(), "c", returned.Add(time.Hour))
		if interviewer != "" {
			apply(t, st, assign("c", interviewer, returned.Add(2*time.Hour)), returned.Add(2*time.Hour))
		}
		if more != nil {
			more(st)
		}
		v := snapshot(t, st)
		save(t, s, v, &ref)
		return v
	}
	// Late: deadline passed without an offer.
	late := mk("00000000-0000-4000-8000-000000000001", t0, ann.ID, nil)
	// Fresh: deadline still ahead at now.
	fresh := mk("00000000-0000-4000-8000-000000000002", now.Add(-time.Hour), ben.ID, nil)
	// Offered in time, interview held, follow-up overdue.
	heldAt := t0.Add(24 * time.Hour)
	followUpLate := mk("00000000-0000-4000-8000-000000000003", t0.Add(time.Hour), ann.ID, func(st *episode.State) {
		apply(t, st, attempt(ann.ID, episode.MethodPhone, episode.OutcomeReachedOffered, t0.Add(3*time.Hour)), t0.Add(3*time.Hour))
		apply(t, st, interview(ann.ID, episode.InterviewUpdate{Outcome: episode.InterviewHeld, HeldAt: &heldAt,
			Record: &episode.InterviewRecord{}}, heldAt), heldAt)
	})
	// Closed early with the deadline passed: not overdue.
	closed := mk("00000000-0000-4000-8000-000000000004", t0, "", func(st *episode.State) {
		apply(t, st, episode.Event{Type: episode.EventClosure, Actor: "c", Closure: &episode.ClosureRequest{Reason: episode.ClosureDuplicate}}, t0.Add(2*time.Hour))
	})
	// Same deadline as late, larger id.
	late2 := mk("00000000-0000-4000-8000-000000000005", t0, "", nil)

	ids := func(list []store.EpisodeSummary) string {
		var out []string
		for _, e := range list {
			out = append(out, e.ID[len(e.ID)-1:])
		}
		return strings.Join(out, ",")
	}
	list := func(f store.EpisodeFilter) []store.EpisodeSummary {
		t.Helper()
		got, err := s.ListEpisodes(ctx, provider, f)
		if err != nil {
			t.Fatalf("ListEpisodes(%+v): %v", f, err)
		}
		if got == nil {
			t.Fatalf("ListEpisodes(%+v) = nil, want a non-nil slice", f)
		}
		return got
	}

	all := list(store.EpisodeFilter{Now: now})
	// Deadlines: late, closed, late2 = t0+72h; followUpLate = t0+73h; fresh last.
	if got := ids(all); got != "1,4,5,3,2" {
		t.Errorf("all episodes in order %s, want 1,4,5,3,2", got)
	}
	byID := map[string]store.EpisodeSummary{}
	for _, e := range all {
		byID[e.ID] = e
	}
	if e := byID[late.EpisodeID]; !e.Overdue || e.AssignedInterviewer == nil || e.AssignedInterviewer.Name != "Ann" ||
		e.Child.FirstName != "Amy" || e.NextContact == nil || e.NextContact.Method != episode.MethodPhone ||
		e.RiskGrade != episode.RiskMedium || !e.LookedAfter || e.Reference != late.Reference {
		t.Errorf("late summary = %+v", e)
	}
	if e := byID[fresh.EpisodeID]; e.Overdue || e.AssignedInterviewer == nil || e.AssignedInterviewer.ID != ben.ID {
		t.Errorf("fresh summary = %+v", e)
	}
	if e := byID[followUpLate.EpisodeID]; !e.Overdue || e.OfferMadeAt == nil || e.FollowUpDueAt == nil || e.NextContact != nil ||
		e.Status != episode.StatusInterviewHeld {
		t.Errorf("follow-up summary = %+v", e)
	}
	if e := byID[closed.EpisodeID]; e.Overdue || e.AssignedInterviewer != nil || e.Status != episode.StatusClosed {
		t.Errorf("closed summary = %+v", e)
	}
	if e := byID[late2.EpisodeID]; !e.Overdue {
		t.Errorf("late2 summary = %+v", e)
	}
	for _, e := range all {
		isUTC(t, "offer_deadline", e.OfferDeadline)
		isUTC(t, "updated_at", e.UpdatedAt)
	}

	for _, c := range []struct {
		f    store.EpisodeFilter
		want string
	}{
		{store.EpisodeFilter{Now: now, Status: string(episode.StatusAwaitingContact)}, "1,5,2"},
		{store.EpisodeFilter{Now: now, Status: string(episode.StatusClosed)}, "4"},
		{store.EpisodeFilter{Now: now, Status: "no_such_status"}, ""},
		{store.EpisodeFilter{Now: now, AssigneeID: ann.ID}, "1,3"},
		{store.EpisodeFilter{Now: now, AssigneeID: strings.ToUpper(ben.ID)}, "2"},
		{store.EpisodeFilter{Now: now, AssigneeID: "not-a-uuid"}, ""},
		{store.EpisodeFilter{Now: now, Overdue: true}, "1,5,3"},
		{store.EpisodeFilter{Now: now, Overdue: true, AssigneeID: ann.ID}, "1,3"},
		{store.EpisodeFilter{Now: now, Overdue: true, Status: string(episode.StatusInterviewHeld)}, "3"},
		// Before any deadline passed nothing is overdue.
		{store.EpisodeFilter{Now: t0.Add(time.Hour), Overdue: true}, ""},
		// Follow-up due one week after the interview; the offer deadlines passed.
		{store.EpisodeFilter{Now: t0.Add(5 * 24 * time.Hour), Overdue: true}, "1,5"},
		{store.EpisodeFilter{Now: now, Limit: 2}, "1,4"},
		{store.EpisodeFilter{Now: now, Limit: 2, Offset: 2}, "5,3"},
		{store.EpisodeFilter{Now: now, Offset: 10}, ""},
		{store.EpisodeFilter{Now: now, Limit: 1000, Offset: -3}, "1,4,5,3,2"},
		{store.EpisodeFilter{Now: now, Open: true}, "1,5,3,2"},
		{store.EpisodeFilter{Now: now, Open: true, AssigneeID: ann.ID}, "1,3"},
		{store.EpisodeFilter{Now: now, CommissionerID: "9a1e3f0c-0000-4000-8000-000000000000"}, ""},
		{store.EpisodeFilter{Now: now, CommissionerID: "not-a-uuid"}, ""},
	} {
		if got := ids(list(c.f)); got != c.want {
			t.Errorf("ListEpisodes(%+v) = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestEscalations(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxT(t)
	id := uuid.NewString()
	ref := referral(t0)
	st := episode.New(id, ref, episode.DefaultPolicy(), "c", t0)

	// The email activity records the escalation before the first snapshot.
	warnAt := t0.Add(48 * time.Hour)
	due := st.Due(warnAt)
	if len(due) != 1 {
		t.Fatalf("Due = %+v", due)
	}
	for i := 0; i < 2; i++ {
		if _, err := s.RecordEscalation(ctx, id, st.Reference, "", due[0]); err != nil {
			t.Fatalf("RecordEscalation #%d: %v", i+1, err)
		}
	}
	if n := count(t, s, "escalations"); n != 1 {
		t.Fatalf("escalations has %d rows after recording twice, want 1", n)
	}
	if n := count(t, s, "episodes"); n != 0 {
		t.Fatalf("episodes has %d rows", n)
	}
	views, err := s.ListEscalations(ctx, provider, store.EscalationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 1 || views[0].EpisodeID != id || views[0].Reference != st.Reference || views[0].Kind != episode.EscalationDeadlineWarning ||
		!views[0].TriggeredAt.Equal(warnAt) || views[0].SentAt != nil || views[0].ID == 0 {
		t.Fatalf("ListEscalations = %+v", views)
	}

	sentAt := warnAt.Add(time.Minute)
	if err := s.MarkEscalationSent(ctx, id, episode.EscalationDeadlineWarning, 0, sentAt, 2); err != nil {
		t.Fatal(err)
	}
	// A retried activity marks it again later: the first send is kept.
	if err := s.MarkEscalationSent(ctx, id, episode.EscalationDeadlineWarning, 0, sentAt.Add(time.Hour), 2); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkEscalationSent(ctx, id, episode.EscalationDeadlineBreached, 0, sentAt, 2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkEscalationSent(unrecorded kind) err = %v, want ErrNotFound", err)
	}

	// The snapshot arrives, not yet knowing the email went out, and with a
	// later trigger time (a replay): the row keeps the send and the first trigger.
	v := snapshot(t, st)
	v.Escalations[0].TriggeredAt = warnAt.Add(time.Second)
	save(t, s, v, &ref)
	if n := count(t, s, "escalations"); n != 1 {
		t.Fatalf("escalations has %d rows after the snapshot, want 1", n)
	}
	d, err := s.GetEpisode(ctx, provider, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Escalations) != 1 || d.Escalations[0].SentAt == nil || !d.Escalations[0].SentAt.Equal(sentAt) ||
		d.Escalations[0].Recipients != 2 || !d.Escalations[0].TriggeredAt.Equal(warnAt) {
		t.Errorf("escalations after snapshot = %+v", d.Escalations)
	}

	// A second episode's escalation, recorded later: newest first.
	other := uuid.NewString()
	breach := episode.Escalation{Kind: episode.EscalationDeadlineBreached, Reason: "no_contact", DueAt: t0, TriggeredAt: t0.Add(80 * time.Hour)}
	if _, err := s.RecordEscalation(ctx, other, "", "", breach); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListEscalations(ctx, provider, store.EscalationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].EpisodeID != other || all[1].EpisodeID != id || all[0].Reference != episode.Reference(other) {
		t.Errorf("ListEscalations order = %+v", all)
	}
	for _, c := range []struct {
		f    store.EscalationFilter
		want int
	}{
		{store.EscalationFilter{EpisodeID: id}, 1},
		{store.EscalationFilter{EpisodeID: strings.ToUpper(other)}, 1},
		{store.EscalationFilter{EpisodeID: "bad"}, 0},
		{store.EscalationFilter{Kind: string(episode.EscalationDeadlineBreached)}, 1},
		{store.EscalationFilter{Kind: string(episode.EscalationFollowUpOverdue)}, 0},
		{store.EscalationFilter{Limit: 1}, 1},
		{store.EscalationFilter{Offset: 1}, 1},
	} {
		got, err := s.ListEscalations(ctx, provider, c.f)
		if err != nil || got == nil || len(got) != c.want {
			t.Errorf("ListEscalations(%+v) = %d rows, %v; want %d", c.f, len(got), err, c.want)
		}
	}
	for _, v := range all {
		isUTC(t, "triggered_at", v.TriggeredAt)
	}
}

func TestEmailDeliveries(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	ctx := ctxT(t)
	key := fmt.Sprintf("escalation/%s/deadline_warning", uuid.NewString())
	got, err := s.DeliveredTo(ctx, key)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("DeliveredTo(new key) = %#v, %v; want empty non-nil", got, err)
	}
	for i := 0; i < 2; i++ {
		if err := s.RecordDelivery(ctx, key, "zoe@example.org", "<m1@homeward>", t0); err != nil {
			t.Fatal(err)
		}
		if err := s.RecordDelivery(ctx, key, "amir@example.org", "<m2@homeward>", t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordDelivery(ctx, "other-key", "zoe@example.org", "<m3@homeward>", t0); err != nil {
		t.Fatal(err)
	}
	got, err = s.DeliveredTo(ctx, key)
	if err != nil || strings.Join(got, ",") != "amir@example.org,zoe@example.org" {
		t.Errorf("DeliveredTo = %v, %v", got, err)
	}
	if n := count(t, s, "email_deliveries"); n != 3 {
		t.Errorf("email_deliveries has %d rows, want 3", n)
	}
}
