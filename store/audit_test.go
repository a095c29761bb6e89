package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"homeward/store"
)

func auditEntry(i int, episodeID string) store.AuditEntry {
	return store.AuditEntry{
		UserID: uuid.NewString(), Role: "manager", Action: "episode.read",
		Resource: "GET /v1/episodes/:id", EpisodeID: episodeID, ClientIP: "192.0.2.1",
		Outcome: "ok", Status: 200, RequestID: fmt.Sprintf("req-%d", i),
	}
}

// appendN appends n rows and returns them in order.
func appendN(t *testing.T, s *store.Store, n int) []store.AuditEntry {
	t.Helper()
	for i := 0; i < n; i++ {
		if err := s.AppendAudit(ctxT(t), auditEntry(i, uuid.NewString())); err != nil {
			t.Fatalf("AppendAudit %d: %v", i, err)
		}
	}
	chain(t, s)
	return listAll(t, s)
}

// listAll returns every row, oldest first.
func listAll(t *testing.T, s *store.Store) []store.AuditEntry {
	t.Helper()
	got, err := s.ListAudit(ctxT(t), store.AuditFilter{Limit: 200})
	if err != nil {
		t.Fatalf("ListAudit: %v", err)
	}
	for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
		got[i], got[j] = got[j], got[i]
	}
	return got
}

// chain does what the running chainer does.
func chain(t *testing.T, s *store.Store) {
	t.Helper()
	if _, err := s.ChainAudit(ctxT(t), 0); err != nil {
		t.Fatalf("ChainAudit: %v", err)
	}
}

// verify chains what is unchained, as the chainer would, and verifies.
func verify(t *testing.T, s *store.Store) store.AuditCheck {
	t.Helper()
	chain(t, s)
	res, err := s.VerifyAudit(ctxT(t))
	if err != nil {
		t.Fatalf("VerifyAudit: %v", err)
	}
	return res
}

func wantBroken(t *testing.T, s *store.Store, id int64) {
	t.Helper()
	res := verify(t, s)
	if res.OK || res.FirstBroken != id || res.Reason == "" {
		t.Fatalf("VerifyAudit = %+v, want broken at row %d with a reason", res, id)
	}
	t.Logf("broken at %d: %s", res.FirstBroken, res.Reason)
}

// tamper runs sql as the superuser with triggers off, as someone with direct
// access to the database could.
func tamper(t *testing.T, s *store.Store, sql string, args ...any) {
	t.Helper()
	ctx := ctxT(t)
	conn, err := s.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SET session_replication_role = replica"); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "RESET session_replication_role") //nolint:errcheck
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("tamper %q: %v", sql, err)
	}
}

func TestAuditChainVerifies(t *testing.T) {
	s := openStore(t)
	if res := verify(t, s); !res.OK || res.Rows != 0 {
		t.Fatalf("empty trail: %+v, want intact with 0 rows", res)
	}
	rows := appendN(t, s, 5)
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5", len(rows))
	}
	for i, r := range rows {
		if r.At.IsZero() || len(r.Hash) != 32 || r.Outcome != "ok" || r.Status != 200 || r.EpisodeID == "" {
			t.Fatalf("row %d = %+v", i, r)
		}
		if i > 0 && (!bytes.Equal(r.PrevHash, rows[i-1].Hash) || r.ID <= rows[i-1].ID) {
			t.Fatalf("row %d does not follow row %d", r.ID, rows[i-1].ID)
		}
	}
	if res := verify(t, s); !res.OK || res.Rows != 5 {
		t.Fatalf("VerifyAudit = %+v, want intact with 5 rows", res)
	}

	// An append in a transaction that rolls back leaves nothing behind, and
	// the gap in the ids does not break the chain.
	ctx := ctxT(t)
	tx, err := s.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := store.AppendAudit(ctx, tx, auditEntry(9, "")); err != nil {
		t.Fatal(err)
	}
	_ = tx.Rollback(ctx)
	appendN(t, s, 1)
	if res := verify(t, s); !res.OK || res.Rows != 6 {
		t.Fatalf("after a rolled back append: %+v, want intact with 6 rows", res)
	}

	// Missing action or outcome is refused.
	if err := s.AppendAudit(ctx, store.AuditEntry{Action: "x"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("append without outcome: %v, want ErrInvalid", err)
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	s := openStore(t)
	rows := appendN(t, s, 2)
	ctx := ctxT(t)
	for _, sql := range []string{
		"UPDATE audit_log SET outcome = 'denied' WHERE id = $1",
		"DELETE FROM audit_log WHERE id = $1",
		"TRUNCATE audit_log",
		"UPDATE audit_head SET last_id = 0 WHERE last_id = $1",
		"DELETE FROM audit_head WHERE last_id = $1",
	} {
		var args []any
		if bytes.Contains([]byte(sql), []byte("$1")) {
			args = []any{rows[0].ID}
			if bytes.Contains([]byte(sql), []byte("audit_head")) {
				args = []any{rows[1].ID}
			}
		}
		_, err := s.Pool.Exec(ctx, sql, args...)
		var pg *pgconn.PgError
		if !errors.As(err, &pg) || pg.Code != "42501" {
			t.Errorf("%s: err %v, want refused (42501)", sql, err)
		}
	}
	if res := verify(t, s); !res.OK || res.Rows != 2 {
		t.Fatalf("VerifyAudit = %+v, want intact with 2 rows", res)
	}
	// PUBLIC may not change it either.
	var can bool
	if err := s.Pool.QueryRow(ctx, `SELECT has_table_privilege('public', 'audit_log', 'UPDATE')
		OR has_table_privilege('public', 'audit_log', 'DELETE')`).Scan(&can); err != nil {
		t.Fatal(err)
	}
	if can {
		t.Fatal("PUBLIC may update or delete audit rows")
	}
}

func TestAuditTamperingDetected(t *testing.T) {
	t.Run("edited field", func(t *testing.T) {
		s := openStore(t)
		rows := appendN(t, s, 5)
		tamper(t, s, "UPDATE audit_log SET outcome = 'denied' WHERE id = $1", rows[2].ID)
		wantBroken(t, s, rows[2].ID)
	})
	t.Run("edited time", func(t *testing.T) {
		s := openStore(t)
		rows := appendN(t, s, 5)
		tamper(t, s, "UPDATE audit_log SET at = at + interval '1 microsecond' WHERE id = $1", rows[1].ID)
		wantBroken(t, s, rows[1].ID)
	})
	t.Run("edited and rehashed", func(t *testing.T) {
		s := openStore(t)
		rows := appendN(t, s, 5)
		e := rows[2]
		e.UserID = uuid.NewString()
		tamper(t, s, "UPDATE audit_log SET user_id = $2, hash = $3 WHERE id = $1", e.ID, e.UserID, store.AuditHash(e.PrevHash, e))
		wantBroken(t, s, rows[3].ID)
	})
	t.Run("deleted middle row", func(t *testing.T) {
		s := openStore(t)
		rows := appendN(t, s, 5)
		tamper(t, s, "DELETE FROM audit_log WHERE id = $1", rows[2].ID)
		wantBroken(t, s, rows[3].ID)
	})
	t.Run("deleted first row", func(t *testing.T) {
		s := openStore(t)
		rows := appendN(t, s, 3)
		tamper(t, s, "DELETE FROM audit_log WHERE id = $1", rows[0].ID)
		wantBroken(t, s, rows[1].ID)
	})
	t.Run("deleted last row", func(t *testing.T) {
		s := openStore(t)
		rows := appendN(t, s, 5)
		tamper(t, s, "DELETE FROM audit_log WHERE id = $1", rows[4].ID)
		wantBroken(t, s, rows[4].ID)
	})
	for _, rehash := range []bool{false, true} {
		t.Run(fmt.Sprintf("forged row rehashed=%v", rehash), func(t *testing.T) {
			s := openStore(t)
			before := appendN(t, s, 2)
			// A rolled back append leaves a gap in the ids to forge a row into.
			ctx := ctxT(t)
			tx, err := s.Pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := store.AppendAudit(ctx, tx, auditEntry(7, "")); err != nil {
				t.Fatal(err)
			}
			_ = tx.Rollback(ctx)
			rows := appendN(t, s, 2)
			if res := verify(t, s); !res.OK {
				t.Fatalf("before forging: %+v", res)
			}
			gap := before[1].ID + 1
			if rows[2].ID != gap+1 {
				t.Fatalf("ids %d, %d: no gap at %d", before[1].ID, rows[2].ID, gap)
			}
			f := auditEntry(8, uuid.NewString())
			f.ID, f.At, f.PrevHash = gap, before[1].At.Add(time.Millisecond), before[1].Hash
			f.Hash = bytes.Repeat([]byte{7}, 32)
			if rehash {
				f.Hash = store.AuditHash(f.PrevHash, f)
			}
			tamper(t, s, `INSERT INTO audit_log (id, at, user_id, role, action, resource, episode_id, client_ip, outcome, status, request_id, prev_hash, hash)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
				f.ID, f.At, f.UserID, f.Role, f.Action, f.Resource, f.EpisodeID, f.ClientIP, f.Outcome, f.Status, f.RequestID, f.PrevHash, f.Hash)
			// It has a hash but no place in the chain: the chainer leaves it
			// alone, and it is reported whether or not its hash is right.
			wantBroken(t, s, gap)
		})
	}
	t.Run("forged row at the end", func(t *testing.T) {
		s := openStore(t)
		rows := appendN(t, s, 3)
		last := rows[2]
		f := auditEntry(8, "")
		f.ID, f.At, f.PrevHash = last.ID+1, last.At.Add(time.Millisecond), last.Hash
		f.Hash = store.AuditHash(f.PrevHash, f)
		tamper(t, s, `INSERT INTO audit_log (id, at, user_id, role, action, resource, client_ip, outcome, status, request_id, prev_hash, hash)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			f.ID, f.At, f.UserID, f.Role, f.Action, f.Resource, f.ClientIP, f.Outcome, f.Status, f.RequestID, f.PrevHash, f.Hash)
		wantBroken(t, s, f.ID)
	})
}

func TestAuditConcurrentAppends(t *testing.T) {
	s := openStore(t)
	// The chainer chains while the appends go on.
	chainer := s.StartAuditChainer(nil)
	defer chainer.Stop()
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				var err error
				if i%2 == 0 {
					err = s.AppendAudit(context.Background(), auditEntry(i, ""))
				} else {
					// Inside a caller's transaction, beside its other work.
					err = pgx.BeginFunc(context.Background(), s.Pool, func(tx pgx.Tx) error {
						if _, err := tx.Exec(context.Background(), "SELECT pg_sleep(0.001)"); err != nil {
							return err
						}
						return store.AppendAudit(context.Background(), tx, auditEntry(i, uuid.NewString()))
					})
				}
				if err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent append: %v", err)
	}
	if res := verify(t, s); !res.OK || res.Rows != workers*each {
		t.Fatalf("VerifyAudit = %+v, want intact with %d rows", res, workers*each)
	}
}

func TestListAudit(t *testing.T) {
	s := openStore(t)
	ctx := ctxT(t)
	ep, user := uuid.NewString(), uuid.NewString()
	add := func(userID, episodeID, outcome string) {
		t.Helper()
		e := auditEntry(0, episodeID)
		e.UserID, e.Outcome = userID, outcome
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	add(user, ep, "first")
	add(uuid.NewString(), ep, "second")
	add(user, uuid.NewString(), "third")
	mid := time.Now()
	time.Sleep(5 * time.Millisecond)
	add(user, ep, "fourth")

	outcomes := func(f store.AuditFilter) []string {
		t.Helper()
		got, err := s.ListAudit(ctx, f)
		if err != nil {
			t.Fatalf("ListAudit(%+v): %v", f, err)
		}
		var out []string
		for _, e := range got {
			out = append(out, e.Outcome)
		}
		return out
	}
	for _, tc := range []struct {
		f    store.AuditFilter
		want string
	}{
		{store.AuditFilter{}, "[fourth third second first]"},
		{store.AuditFilter{EpisodeID: ep}, "[fourth second first]"},
		{store.AuditFilter{UserID: user}, "[fourth third first]"},
		{store.AuditFilter{UserID: user, EpisodeID: ep}, "[fourth first]"},
		{store.AuditFilter{From: mid}, "[fourth]"},
		{store.AuditFilter{To: mid}, "[third second first]"},
		{store.AuditFilter{Limit: 2, Offset: 1}, "[third second]"},
	} {
		if got := fmt.Sprint(outcomes(tc.f)); got != tc.want {
			t.Errorf("ListAudit(%+v) = %s, want %s", tc.f, got, tc.want)
		}
	}
	if _, err := s.ListAudit(ctx, store.AuditFilter{EpisodeID: "nope"}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("bad episode id: %v, want ErrInvalid", err)
	}
}

// Rows are written unchained; verification counts them, and fails on one
// left unchained past AuditStaleAfter.
func TestAuditUnchainedReported(t *testing.T) {
	s := openStore(t)
	ctx := ctxT(t)
	appendN(t, s, 2)
	if err := s.AppendAudit(ctx, auditEntry(3, "")); err != nil {
		t.Fatal(err)
	}
	res, err := s.VerifyAudit(ctx)
	if err != nil || !res.OK || res.Rows != 2 || res.Unchained != 1 || res.Stale != 0 {
		t.Fatalf("VerifyAudit = %+v, %v; want intact, 2 chained and 1 not yet", res, err)
	}
	// Its contents may not change while it waits for its place.
	var id int64
	if err := s.Pool.QueryRow(ctx, `SELECT id FROM audit_log WHERE hash IS NULL`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	_, err = s.Pool.Exec(ctx, `UPDATE audit_log SET outcome = 'denied' WHERE id = $1`, id)
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "42501" {
		t.Fatalf("editing an unchained row: %v, want refused (42501)", err)
	}
	var stale int64
	if err := s.Pool.QueryRow(ctx, `INSERT INTO audit_log (at, action, outcome)
		VALUES (clock_timestamp() - interval '2 minutes', 'episode.read', 'ok') RETURNING id`).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	res, err = s.VerifyAudit(ctx)
	if err != nil || res.OK || res.FirstBroken != stale || res.Stale != 1 || res.Unchained != 2 {
		t.Fatalf("VerifyAudit = %+v, %v; want failed at the stale row %d", res, err, stale)
	}
	if res := verify(t, s); !res.OK || res.Rows != 4 || res.Unchained != 0 {
		t.Fatalf("once chained: %+v, want intact with 4 rows", res)
	}
}

// A row whose transaction commits after a later id's is chained after it,
// and the chain verifies.
func TestAuditChainsLateCommits(t *testing.T) {
	s := openStore(t)
	ctx := ctxT(t)
	appendN(t, s, 1)
	late, err := s.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer late.Rollback(ctx) //nolint:errcheck
	if err := store.AppendAudit(ctx, late, auditEntry(2, "")); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 2) // higher ids, committed and chained first
	if err := late.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if res := verify(t, s); !res.OK || res.Rows != 4 || res.Unchained != 0 {
		t.Fatalf("VerifyAudit = %+v, want intact with 4 rows", res)
	}
}

// The chainer chains what is written within about a second, and stops
// cleanly after a last pass.
func TestAuditChainer(t *testing.T) {
	s := openStore(t)
	ctx := ctxT(t)
	chainer := s.StartAuditChainer(nil)
	stopped := false
	defer func() {
		if !stopped {
			chainer.Stop()
		}
	}()
	for i := 0; i < 20; i++ {
		if err := s.AppendAudit(ctx, auditEntry(i, "")); err != nil {
			t.Fatal(err)
		}
	}
	written := time.Now()
	for {
		res, err := s.VerifyAudit(ctx)
		if err != nil || !res.OK {
			t.Fatalf("VerifyAudit = %+v, %v", res, err)
		}
		if res.Unchained == 0 && res.Rows == 20 {
			break
		}
		if time.Since(written) > 2*time.Second {
			t.Fatalf("after %s: %+v, want every row chained", time.Since(written), res)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := s.AppendAudit(ctx, auditEntry(99, "")); err != nil {
		t.Fatal(err)
	}
	chainer.Stop()
	stopped = true
	if res, err := s.VerifyAudit(ctx); err != nil || !res.OK || res.Rows != 21 || res.Unchained != 0 {
		t.Fatalf("after Stop: %+v, %v; want the last row chained by the last pass", res, err)
	}
}
