package activities

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"homeward/internal/pglocal"
	"homeward/store"
)

func TestPurgeExpiredActivity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, pglocal.NewTestDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 22, 2, 30, 0, 0, time.UTC)
	acts := &Activities{Store: st, Clock: func() time.Time { return now }}

	// A child born in 1995, episode ended 2015: past the 25th birthday.
	// Another born in 2012: kept.
	seed := func(dob string) string {
		child, ep := uuid.NewString(), uuid.NewString()
		ended := time.Date(2015, 6, 1, 0, 0, 0, 0, time.UTC)
		if _, err := st.Pool.Exec(ctx, `INSERT INTO children (id, first_name, date_of_birth) VALUES ($1, $2, $3::date)`, child, canary, dob); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Pool.Exec(ctx, `INSERT INTO episodes (id, reference, child_id, status, returned_at, opened_at, offer_deadline, ended_at, state, state_version, updated_at)
			VALUES ($1, 'HW-T', $2, 'closed', $3, $3, $3, $3, '{}', 1, $3)`, ep, child, ended); err != nil {
			t.Fatal(err)
		}
		return ep
	}
	expired, kept := seed("1995-01-01"), seed("2012-01-01")

	var env testsuite.WorkflowTestSuite
	aenv := env.NewTestActivityEnvironment()
	aenv.RegisterActivity(acts)
	val, err := aenv.ExecuteActivity(acts.PurgeExpired, PurgeExpiredInput{Policy: store.DefaultRetentionPolicy(), BatchSize: 1})
	if err != nil {
		t.Fatalf("PurgeExpired: %v", err)
	}
	var res PurgeExpiredResult
	if err := val.Get(&res); err != nil {
		t.Fatal(err)
	}
	if res.EpisodesPurged != 1 || res.ChildrenRemoved != 1 || !res.At.Equal(now) {
		t.Errorf("result %+v, want one episode and its child purged at %s", res, now)
	}
	var n int
	if err := st.Pool.QueryRow(ctx, `SELECT count(*) FROM episodes WHERE id = ANY($1::uuid[])`, []string{expired, kept}).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d of the two episodes left (%v), want the recent one", n, err)
	}

	// Run again: nothing more.
	val, err = aenv.ExecuteActivity(acts.PurgeExpired, PurgeExpiredInput{Policy: store.DefaultRetentionPolicy(), BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := val.Get(&res); err != nil || !res.PurgeCounts.Zero() {
		t.Errorf("second run %+v (%v), want nothing", res, err)
	}

	// A policy that would purge too eagerly fails for good, not retried.
	bad := store.DefaultRetentionPolicy()
	bad.CaseRecordsUntilAge = 3
	_, err = aenv.ExecuteActivity(acts.PurgeExpired, PurgeExpiredInput{Policy: bad})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != "InvalidRetentionPolicy" {
		t.Errorf("bad policy: %v, want a non-retryable InvalidRetentionPolicy error", err)
	}
}
