package store_test

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"homeward/episode"
	"homeward/store"
)

// provider is a provider admin: row-level security lets them see every
// commissioner's records.
var provider = store.Caller{UserID: "00000000-0000-4000-8000-0000000000ad", Role: store.RoleAdmin}

type rlsFixture struct {
	s                  *store.Store
	a, b               store.Commissioner
	aCoord, bCoord     store.Caller
	aIv, aIv2, pIv     store.Caller
	epA, epB, epLegacy string
}

func userIn(t *testing.T, s *store.Store, email string, role store.Role, commissioner string) store.Caller {
	t.Helper()
	u := mustUser(t, s, "Staff", email, role)
	if err := s.SetUserCommissioner(ctxT(t), u.ID, commissioner); err != nil {
		t.Fatal(err)
	}
	got, err := s.UserByID(ctxT(t), u.ID)
	if err != nil || got.CommissionerID != commissioner {
		t.Fatalf("UserByID after SetUserCommissioner = %+v, %v", got, err)
	}
	return store.CallerFor(got)
}

// newRLSFixture: commissioners A and B; episode epA of A assigned to A's
// interviewer, with attempts, a timeline and an escalation; epB of B;
// epLegacy with no commissioner (opened before commissioners).
func newRLSFixture(t *testing.T) *rlsFixture {
	t.Helper()
	s := openStore(t)
	ctx := ctxT(t)
	f := &rlsFixture{s: s}
	var err error
	if f.a, err = s.CreateCommissioner(ctx, "Aldershire"); err != nil {
		t.Fatal(err)
	}
	if f.b, err = s.EnsureCommissioner(ctx, "Bexton"); err != nil {
		t.Fatal(err)
	}
	if again, err := s.EnsureCommissioner(ctx, "bexton"); err != nil || again.ID != f.b.ID {
		t.Fatalf("EnsureCommissioner again = %+v, %v; want %s", again, err, f.b.ID)
	}
	if _, err := s.CreateCommissioner(ctx, "ALDERSHIRE"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate commissioner err = %v", err)
	}
	f.aCoord = userIn(t, s, "a.coord@example.org", store.RoleCoordinator, f.a.ID)
	f.bCoord = userIn(t, s, "b.coord@example.org", store.RoleCoordinator, f.b.ID)
	f.aIv = userIn(t, s, "a.iv@example.org", store.RoleInterviewer, f.a.ID)
	f.aIv2 = userIn(t, s, "a.iv2@example.org", store.RoleInterviewer, f.a.ID)
	f.pIv = userIn(t, s, "p.iv@example.org", store.RoleInterviewer, "")

	open := func(commissioner, assignee string) string {
		id := uuid.NewString()
		ref := referral(t0.Add(-time.Hour))
		st := episode.New(id, ref, episode.DefaultPolicy(), f.aCoord.UserID, t0)
		st.CommissionerID = commissioner
		if assignee != "" {
			apply(t, st, assign(f.aCoord.UserID, assignee, t0.Add(time.Minute)), t0.Add(time.Minute))
			apply(t, st, attempt(assignee, episode.MethodPhone, episode.OutcomeNoAnswer, t0.Add(time.Hour)), t0.Add(time.Hour))
			apply(t, st, episode.Event{Type: episode.EventCarersAccount, Actor: assignee, RecordedAt: t0.Add(2 * time.Hour),
				Carers: &episode.CarersAccount{GivenBy: "carer", GivenAt: t0.Add(2 * time.Hour), WhereChildWas: "town"}}, t0.Add(2*time.Hour))
		}
		st.Due(t0.Add(48 * time.Hour)) // a deadline warning
		save(t, s, snapshot(t, st), &ref)
		return id
	}
	f.epA = open(f.a.ID, f.aIv.UserID)
	f.epB = open(f.b.ID, "")
	f.epLegacy = open("", "")
	return f
}

func listIDs(t *testing.T, s *store.Store, c store.Caller) []string {
	t.Helper()
	eps, err := s.ListEpisodes(ctxT(t), c, store.EpisodeFilter{Now: t0})
	if err != nil {
		t.Fatalf("ListEpisodes(%+v): %v", c, err)
	}
	var ids []string
	for _, e := range eps {
		ids = append(ids, e.ID)
	}
	sort.Strings(ids)
	return ids
}

func sorted(ids ...string) []string {
	out := append([]string{}, ids...)
	sort.Strings(out)
	return out
}

func TestRowLevelSecurityScopesEveryRead(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t)
	s, ctx := f.s, ctxT(t)

	cases := []struct {
		name   string
		caller store.Caller
		sees   []string
	}{
		{"provider admin", provider, sorted(f.epA, f.epB, f.epLegacy)},
		{"provider interviewer (nothing assigned)", f.pIv, nil},
		{"A coordinator", f.aCoord, sorted(f.epA)},
		{"A interviewer, assigned", f.aIv, sorted(f.epA)},
		{"A interviewer, not assigned", f.aIv2, nil},
		{"B coordinator", f.bCoord, sorted(f.epB)},
		{"B as manager", store.Caller{UserID: f.bCoord.UserID, Role: store.RoleManager, CommissionerID: f.b.ID}, sorted(f.epB)},
	}
	all := []string{f.epA, f.epB, f.epLegacy}
	for _, c := range cases {
		if got := listIDs(t, s, c.caller); strings.Join(got, ",") != strings.Join(c.sees, ",") {
			t.Errorf("%s lists %v, want %v", c.name, got, c.sees)
		}
		for _, id := range all {
			want := false
			for _, v := range c.sees {
				want = want || v == id
			}
			_, err := s.GetEpisode(ctx, c.caller, id)
			if want != (err == nil) || (err != nil && !errors.Is(err, store.ErrNotFound)) {
				t.Errorf("%s GetEpisode(%s) err = %v, want visible %v", c.name, id, err, want)
			}
			_, err = s.EpisodeState(ctx, c.caller, id)
			if want != (err == nil) {
				t.Errorf("%s EpisodeState(%s) err = %v, want visible %v", c.name, id, err, want)
			}
			vis, err := s.EpisodeVisible(ctx, c.caller, id)
			if err != nil || vis != want {
				t.Errorf("%s EpisodeVisible(%s) = %v, %v; want %v", c.name, id, vis, err, want)
			}
		}
		seesA := false
		for _, v := range c.sees {
			seesA = seesA || v == f.epA
		}
		if got, err := s.ChildExists(ctx, c.caller, store.ChildIDForEpisode(f.epA)); err != nil || got != seesA {
			t.Errorf("%s ChildExists(A's child) = %v, %v", c.name, got, err)
		}
	}

	// Escalations: managers of A see A's, B's see none of A's; the
	// interviewer assigned sees those of their episode.
	escs := func(c store.Caller) int {
		v, err := s.ListEscalations(ctx, c, store.EscalationFilter{EpisodeID: f.epA})
		if err != nil {
			t.Fatal(err)
		}
		return len(v)
	}
	if n := escs(provider); n != 1 {
		t.Fatalf("provider sees %d escalations of A's episode, want 1", n)
	}
	if escs(f.aCoord) != 1 || escs(f.aIv) != 1 || escs(f.bCoord) != 0 || escs(f.aIv2) != 0 {
		t.Errorf("escalations of A's episode seen by A coord %d, A iv %d, B coord %d, A iv2 %d; want 1 1 0 0",
			escs(f.aCoord), escs(f.aIv), escs(f.bCoord), escs(f.aIv2))
	}
	// A malformed caller reads nothing.
	if _, err := s.ListEpisodes(ctx, store.Caller{Role: store.RoleAdmin}, store.EpisodeFilter{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("ListEpisodes without a user id err = %v, want ErrInvalid", err)
	}
}

// asAppRole runs q as the application role with the caller settings given
// (none when settings is nil) and returns the count it selects.
func asAppRole(t *testing.T, s *store.Store, settings []string, q string, args ...any) (int, error) {
	t.Helper()
	var n int
	err := pgx.BeginFunc(ctxT(t), s.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctxT(t), "SET LOCAL ROLE "+store.AppRole); err != nil {
			return err
		}
		if settings != nil {
			if _, err := tx.Exec(ctxT(t), `SELECT set_config('homeward.user_id', $1, true),
				set_config('homeward.commissioner_id', $2, true), set_config('homeward.role', $3, true)`,
				settings[0], settings[1], settings[2]); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctxT(t), q, args...).Scan(&n)
	})
	return n, err
}

// The enforcement is PostgreSQL's: the application role sees nothing
// without a caller, cannot read token hashes or write, every table of case
// data follows the episode, and switching the policy off is what would let
// B's coordinator read A's episode.
func TestRowLevelSecurityIsTheEnforcement(t *testing.T) {
	t.Parallel()
	f := newRLSFixture(t)
	s, ctx := f.s, ctxT(t)

	for _, tb := range []string{"episodes", "children", "contact_attempts", "timeline", "escalations", "interviews", "agreements", "follow_ups",
		"carers_accounts", "action_plan_actions"} {
		owner := count(t, s, tb)
		n, err := asAppRole(t, s, nil, "SELECT count(*) FROM "+tb)
		if err != nil || n != 0 {
			t.Errorf("the app role without a caller sees %d rows of %s (%v); want 0", n, tb, err)
		}
		if tb == "episodes" && owner != 3 {
			t.Errorf("the owner sees %d episodes, want 3", owner)
		}
	}
	bSettings := []string{f.bCoord.UserID, f.b.ID, "coordinator"}
	for _, tb := range []string{"contact_attempts", "timeline", "escalations", "carers_accounts"} {
		n, err := asAppRole(t, s, bSettings, "SELECT count(*) FROM "+tb+" WHERE episode_id = $1", f.epA)
		if err != nil || n != 0 {
			t.Errorf("B's coordinator sees %d rows of %s of A's episode (%v)", n, tb, err)
		}
		n, err = asAppRole(t, s, []string{f.aIv.UserID, f.a.ID, "interviewer"}, "SELECT count(*) FROM "+tb+" WHERE episode_id = $1", f.epA)
		if err != nil || n == 0 {
			t.Errorf("A's assigned interviewer sees no rows of %s of A's episode (%v)", tb, err)
		}
	}
	// A role that is not one of ours, or a commissioner's caller with a
	// forged empty role, sees nothing.
	if n, err := asAppRole(t, s, []string{f.bCoord.UserID, "", "system"}, "SELECT count(*) FROM episodes"); err != nil || n != 0 {
		t.Errorf("an unknown role sees %d episodes (%v)", n, err)
	}
	var pg *pgconn.PgError
	if _, err := asAppRole(t, s, bSettings, "SELECT count(token_hash) FROM users"); !errors.As(err, &pg) || pg.Code != "42501" {
		t.Errorf("the app role reading token hashes: err = %v, want permission denied", err)
	}
	if _, err := asAppRole(t, s, bSettings, "WITH d AS (DELETE FROM episodes RETURNING 1) SELECT count(*) FROM d"); !errors.As(err, &pg) || pg.Code != "42501" {
		t.Errorf("the app role deleting episodes: err = %v, want permission denied", err)
	}

	// Without the policy, the very same scoped read shows B's coordinator
	// A's episode: row-level security is what hides it.
	if _, err := s.GetEpisode(ctx, f.bCoord, f.epA); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("B's coordinator reads A's episode with RLS on: err = %v", err)
	}
	if _, err := s.Pool.Exec(ctx, "ALTER TABLE episodes DISABLE ROW LEVEL SECURITY"); err != nil {
		t.Fatal(err)
	}
	d, err := s.GetEpisode(ctx, f.bCoord, f.epA)
	if err != nil || d.ID != f.epA {
		t.Fatalf("with RLS off B's coordinator still cannot read A's episode (%v): then something other than RLS hides it", err)
	}
	if got := listIDs(t, s, f.bCoord); len(got) != 3 {
		t.Errorf("with RLS off B's coordinator lists %d episodes, want all 3", len(got))
	}
}

func TestCommissionerMigrationBackfillsExistingRecords(t *testing.T) {
	t.Parallel()
	s := openRaw(t)
	ctx := ctxT(t)
	migs, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	// Apply 0001 only, write an episode, then migrate the rest.
	if _, err := s.Pool.Exec(ctx, migs[0].SQL); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL DEFAULT '',
		applied_at timestamptz NOT NULL DEFAULT now()); INSERT INTO schema_migrations (version, name) VALUES (1, '0001')`); err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	ref := referral(t0.Add(-time.Hour))
	st := episode.New(id, ref, episode.DefaultPolicy(), "coord", t0)
	if _, err := s.Pool.Exec(ctx, `INSERT INTO episodes (id, reference, status, returned_at, opened_at, offer_deadline, state, state_version, updated_at)
		VALUES ($1, $2, $3, $4, $4, $5, '{}', 1, $4)`, id, st.Reference, string(st.Status), t0, st.OfferDeadline); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	def, err := s.CommissionerByName(ctx, "Default")
	if err != nil {
		t.Fatalf("no default commissioner after migrating existing records: %v", err)
	}
	if got, err := s.EpisodeCommissioner(ctx, id); err != nil || got != def.ID {
		t.Errorf("existing episode's commissioner = %q, %v; want the default %s", got, err, def.ID)
	}
	// A fresh database gets no default commissioner.
	fresh := openStore(t)
	if _, err := fresh.CommissionerByName(context.Background(), "Default"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a fresh database has a default commissioner: %v", err)
	}
}
