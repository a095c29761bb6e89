//go:build drill

package drills

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"homeward/internal/drill"
	"homeward/internal/pglocal"
	"homeward/internal/testenv"
)

// TestPostgresRestarted: while PostgreSQL is down every request, signed in
// or not yet authenticated, answers 503 with Retry-After (never 500, never
// 401), readiness goes red then green, and once it is back the case
// records catch up with what the episodes did meanwhile (a breach fell due
// during the outage) with no row missing or doubled, and each escalation
// email goes once.
func TestPostgresRestarted(t *testing.T) {
	t.Parallel() // the drills mostly wait out their outages: together they take as long as the longest
	episodes := drill.Int(t, "HOMEWARD_DRILL_POSTGRES_EPISODES", 10)
	outage := drill.Duration(t, "HOMEWARD_DRILL_POSTGRES_OUTAGE", 20*time.Second)
	cluster, restart := ownCluster(t)
	env := testenv.Start(t, testenv.Options{DatabaseURL: cluster.URL(), OutcomeTimeout: 3 * time.Second})
	tm := newTeam(t, env)

	// The breaches fall due in the middle of the outage; the warnings go at once.
	setup := 10*time.Second + time.Duration(episodes)*time.Second
	returned := time.Now().Add(-72*time.Hour + setup + outage/2).Truncate(time.Second)
	var ids []string
	want := map[string][]string{}
	for i := 0; i < episodes; i++ {
		id := tm.open(t, returned, "", 30*time.Second)
		tm.until(t, 30*time.Second, "POST", "/v1/episodes/"+id+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": tm.InterviewerID}, "")
		tm.until(t, 30*time.Second, "POST", "/v1/episodes/"+id+"/contact-attempts", tm.Interviewer, attemptAt(returned, 1), fmt.Sprintf("first-%d", i))
		ids = append(ids, id)
		want[id] = []string{"deadline_warning", "deadline_breached"}
	}
	if wait := time.Until(returned.Add(72*time.Hour - outage/2)); wait > 0 {
		time.Sleep(wait)
	}

	if err := cluster.Stop(context.Background()); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	down := time.Now()
	for round := 0; time.Since(down) < outage; round++ {
		tm.wantDown(t, ids[round%len(ids)], attemptAt(returned, 2), fmt.Sprintf("second-%d", round%len(ids)))
		time.Sleep(2 * time.Second)
	}
	cluster = restart()
	back := time.Now()
	testenv.Eventually(t, time.Minute, "readiness goes green again", func() bool {
		return tm.call("GET", "/readyz", "", nil, "").status == http.StatusOK
	})
	for i, id := range ids {
		tm.until(t, time.Minute, "POST", "/v1/episodes/"+id+"/contact-attempts", tm.Interviewer, attemptAt(returned, 2), fmt.Sprintf("second-%d", i))
	}
	for _, id := range ids {
		tm.waitAttempts(t, id, 2)
		tm.waitEscalationsSent(t, id, 2, 2*time.Minute)
		tm.wantWholeTimeline(t, id)
	}
	t.Logf("PostgreSQL down %s; records caught up %s after it came back", outage, time.Since(back).Round(time.Second))
	wantEmails(t, env, 4*episodes, time.Minute)
	tm.escalationsOnce(t, want, 0)
	tm.wantEpisodeCount(t, episodes)
}

func attemptAt(returned time.Time, n int) map[string]any {
	return map[string]any{"method": "text", "outcome": "no_answer", "attempted_at": rfc(returned.Add(time.Duration(n) * time.Minute))}
}

// wantDown checks what the API answers with PostgreSQL down.
func (tm *team) wantDown(t *testing.T, id string, outcome map[string]any, key string) {
	t.Helper()
	for what, a := range map[string]answer{
		"board":         tm.call("GET", "/v1/episodes?limit=50", tm.Coordinator, nil, ""),
		"episode":       tm.call("GET", "/v1/episodes/"+id, tm.Coordinator, nil, ""),
		"outcome":       tm.call("POST", "/v1/episodes/"+id+"/contact-attempts", tm.Interviewer, outcome, key),
		"unknown token": tm.call("GET", "/v1/episodes?limit=50", "hw_"+strconv.FormatInt(time.Now().UnixNano(), 36), nil, ""),
		"referral":      tm.call("POST", "/v1/episodes", tm.Coordinator, referral(time.Now().Add(-time.Hour)), ""),
	} {
		if a.status != http.StatusServiceUnavailable {
			t.Errorf("%s with PostgreSQL down: %d %s, want 503", what, a.status, a.body)
		} else if p := a.problem(); p != "" {
			t.Errorf("%s with PostgreSQL down: %s", what, p)
		}
	}
	if a := tm.call("GET", "/readyz", "", nil, ""); a.status != http.StatusServiceUnavailable || a.retryAfter == "" {
		t.Errorf("readiness with PostgreSQL down = %d (Retry-After %q), want 503 with Retry-After", a.status, a.retryAfter)
	}
}

// waitEscalationsSent waits until the records hold n escalations of the
// episode, each sent, and fails if they ever hold more.
func (tm *team) waitEscalationsSent(t *testing.T, id string, n int, timeout time.Duration) {
	t.Helper()
	var got []any
	testenv.Eventually(t, timeout, fmt.Sprintf("episode %s records %d escalations as sent", id, n), func() bool {
		ep, ok := tm.episode(id)
		if !ok {
			return false
		}
		got, _ = ep["escalations"].([]any)
		sent := 0
		for _, e := range got {
			if e.(map[string]any)["sent_at"] != nil {
				sent++
			}
		}
		return sent >= n
	})
	if len(got) != n {
		t.Errorf("episode %s: %d escalations, want %d: %v", id, len(got), n, got)
	}
}

// wantWholeTimeline checks the episode's timeline is numbered 1..n with no
// gap and no repeat.
func (tm *team) wantWholeTimeline(t *testing.T, id string) {
	t.Helper()
	ep, ok := tm.episode(id)
	if !ok {
		t.Fatalf("episode %s unreadable", id)
	}
	entries, _ := ep["timeline"].([]any)
	if len(entries) == 0 {
		t.Errorf("episode %s: empty timeline", id)
	}
	for i, e := range entries {
		if seq, _ := e.(map[string]any)["seq"].(float64); int(seq) != i+1 {
			t.Errorf("episode %s: timeline entry %d has seq %v", id, i+1, seq)
			return
		}
	}
}

// ownCluster starts a PostgreSQL cluster for this test alone (stopping the
// shared one would harm other tests); restart starts it again on the same
// data and port.
func ownCluster(t *testing.T) (*pglocal.Cluster, func() *pglocal.Cluster) {
	t.Helper()
	dir, err := os.MkdirTemp("", "homeward-drill-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // the postgres user traverses it when we are root
		t.Fatal(err)
	}
	opts := pglocal.Options{DataDir: filepath.Join(dir, "data"), Database: "homeward", Ephemeral: true}
	start := func() *pglocal.Cluster {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		c, err := pglocal.Start(ctx, opts)
		if err != nil {
			t.Fatalf("start PostgreSQL: %v", err)
		}
		t.Cleanup(func() { _ = c.Stop(context.Background()) })
		return c
	}
	c := start()
	u, err := url.Parse(c.URL())
	if err != nil {
		t.Fatal(err)
	}
	if opts.Port, err = strconv.Atoi(u.Port()); err != nil {
		t.Fatal(err)
	}
	return c, start
}
