package store_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"homeward/episode"
	"homeward/store"
)

// The application connects as a login that owns no table: everything is
// owned by homeward_owner, which no one logs in as.
func TestApplicationLoginOwnsNothing(t *testing.T) {
	s := openStore(t)
	ctx := ctxT(t)
	rows, err := s.Pool.Query(ctx, `
		SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
		UNION ALL
		SELECT p.proname, pg_get_userbyid(p.proowner) FROM pg_proc p
		WHERE p.pronamespace = 'public'::regnamespace`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name, owner string
		if err := rows.Scan(&name, &owner); err != nil {
			t.Fatal(err)
		}
		n++
		if owner != "homeward_owner" {
			t.Errorf("%s is owned by %s, want homeward_owner", name, owner)
		}
	}
	if n < 15 {
		t.Fatalf("found only %d objects", n)
	}
	var login string
	var canLogin bool
	if err := s.Pool.QueryRow(ctx, `SELECT session_user, (SELECT rolcanlogin FROM pg_roles WHERE rolname = 'homeward_owner')`).Scan(&login, &canLogin); err != nil {
		t.Fatal(err)
	}
	if login == "homeward_owner" || canLogin {
		t.Errorf("the application logs in as %s; homeward_owner may log in: %t", login, canLogin)
	}
}

// A production-like login: no superuser, owns nothing, member of
// homeward_owner and homeward_app. The worker's writes go through; a
// person's reads are held by row-level security.
func TestNonOwnerLoginWritesAndIsFiltered(t *testing.T) {
	admin := openStore(t)
	ctx := ctxT(t)
	login := "homeward_login_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	for _, q := range []string{
		fmt.Sprintf("CREATE ROLE %s LOGIN", login),
		fmt.Sprintf("GRANT homeward_owner, homeward_app TO %s", login),
	} {
		if _, err := admin.Pool.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		_, _ = admin.Pool.Exec(ctxT(t), fmt.Sprintf("DROP OWNED BY %s; DROP ROLE IF EXISTS %s", login, login))
	})
	u, err := url.Parse(admin.Pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(login)
	s, err := store.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var super bool
	if err := s.Pool.QueryRow(ctx, `SELECT rolsuper FROM pg_roles WHERE rolname = session_user`).Scan(&super); err != nil || super {
		t.Fatalf("login is superuser: %t %v", super, err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrations already applied must be a no-op for the login: %v", err)
	}

	a, err := admin.CreateCommissioner(ctx, "Ownerless")
	if err != nil {
		t.Fatal(err)
	}
	b, err := admin.CreateCommissioner(ctx, "Elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	ref := referral(t0.Add(-time.Hour))
	st := episode.New(id, ref, episode.DefaultPolicy(), "coordinator", t0)
	st.CommissionerID = a.ID
	if applied, err := s.SaveEpisode(ctx, snapshot(t, st), &ref); err != nil || !applied {
		t.Fatalf("the worker's write as a non-owner login: applied %t, %v", applied, err)
	}
	own := store.Caller{UserID: uuid.NewString(), Role: store.RoleCoordinator, CommissionerID: a.ID}
	other := store.Caller{UserID: uuid.NewString(), Role: store.RoleCoordinator, CommissionerID: b.ID}
	if _, err := s.GetEpisode(ctx, own, id); err != nil {
		t.Errorf("own commissioner's coordinator: %v", err)
	}
	if _, err := s.GetEpisode(ctx, other, id); err != store.ErrNotFound {
		t.Errorf("another commissioner's coordinator read the episode: %v", err)
	}
}
