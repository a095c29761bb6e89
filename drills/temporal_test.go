//go:build drill

package drills

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"homeward/internal/drill"
	"homeward/internal/testenv"
)

// TestTemporalUnreachable: with the Temporal frontend unreachable (a proxy
// between Homeward and Temporal is cut), outcomes and referrals answer 503
// with Retry-After within the outcome timeout, never 500 and never a hang;
// readiness goes red then green; once Temporal is back every retry with the
// same Idempotency-Key is recorded exactly once, all without restarting
// Homeward.
func TestTemporalUnreachable(t *testing.T) {
	t.Parallel() // the drills mostly wait out their outages: together they take as long as the longest
	episodes := drill.Int(t, "HOMEWARD_DRILL_TEMPORAL_EPISODES", 5)
	outage := drill.Duration(t, "HOMEWARD_DRILL_TEMPORAL_OUTAGE", 30*time.Second)
	const outcomeTimeout = 3 * time.Second
	var proxy *drill.Proxy
	env := testenv.Start(t, testenv.Options{
		OutcomeTimeout: outcomeTimeout, QueryTimeout: time.Second,
		TemporalVia: func(frontend string) string {
			proxy = drill.StartProxy(t, frontend)
			return proxy.Addr()
		},
	})
	tm := newTeam(t, env)
	returned := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	var ids []string
	for i := 0; i < episodes; i++ {
		id := tm.open(t, returned, "", 30*time.Second)
		tm.until(t, 30*time.Second, "POST", "/v1/episodes/"+id+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": tm.InterviewerID}, "")
		ids = append(ids, id)
	}
	attempt := func(n int) map[string]any {
		return map[string]any{"method": "text", "outcome": "no_answer", "attempted_at": rfc(returned.Add(time.Duration(n) * time.Minute))}
	}

	late := referral(returned) // one referral, sent again with its key
	proxy.Cut()
	down := time.Now()
	// Twice: at once (connections just dropped) and once the client has
	// settled into reconnecting.
	for round, at := range []time.Duration{0, outage / 2} {
		time.Sleep(time.Until(down.Add(at)))
		for i, id := range ids {
			a := tm.call("POST", "/v1/episodes/"+id+"/contact-attempts", tm.Interviewer, attempt(1), fmt.Sprintf("first-%d", i))
			tm.wantUnavailable(t, a, outcomeTimeout, "outcome, round %d", round)
		}
		a := tm.call("POST", "/v1/episodes", tm.Coordinator, late, "opened-while-down")
		tm.wantUnavailable(t, a, outcomeTimeout, "referral, round %d", round)
		if a := tm.call("GET", "/readyz", "", nil, ""); a.status != http.StatusServiceUnavailable {
			t.Errorf("readiness with Temporal unreachable = %d %s, want 503", a.status, a.body)
		}
	}
	time.Sleep(time.Until(down.Add(outage)))

	proxy.Restore(t)
	back := time.Now()
	testenv.Eventually(t, 90*time.Second, "readiness goes green again", func() bool {
		return tm.call("GET", "/readyz", "", nil, "").status == http.StatusOK
	})
	for i, id := range ids {
		tm.until(t, 90*time.Second, "POST", "/v1/episodes/"+id+"/contact-attempts", tm.Interviewer, attempt(1), fmt.Sprintf("first-%d", i))
		tm.until(t, 30*time.Second, "POST", "/v1/episodes/"+id+"/contact-attempts", tm.Interviewer, attempt(2), fmt.Sprintf("second-%d", i))
	}
	opened := tm.openWith(t, late, "opened-while-down", 90*time.Second)
	t.Logf("Temporal unreachable for %s; recovered %s after it came back", outage, time.Since(back).Round(time.Second))

	// Each outcome once, in order, however many times it was sent.
	for _, id := range ids {
		tm.waitAttempts(t, id, 2)
	}
	if again := tm.openWith(t, late, "opened-while-down", 30*time.Second); again != opened {
		t.Errorf("the referral retried with its key opened %s and then %s", opened, again)
	}
	tm.wantEpisodeCount(t, episodes+1)
}

// wantUnavailable checks a answers 503 with Retry-After, within the
// outcome timeout and a little.
func (tm *team) wantUnavailable(t *testing.T, a answer, timeout time.Duration, what string, args ...any) {
	t.Helper()
	what = fmt.Sprintf(what, args...)
	if a.status != http.StatusServiceUnavailable {
		t.Errorf("%s: %d %s, want 503", what, a.status, a.body)
	} else if p := a.problem(); p != "" {
		t.Errorf("%s: %s", what, p)
	}
	if a.took > timeout+5*time.Second {
		t.Errorf("%s: answered after %s, want within the outcome timeout (%s)", what, a.took, timeout)
	}
}

// waitAttempts waits until the episode's records hold n contact attempts,
// numbered 1..n, and fails if they ever hold more.
func (tm *team) waitAttempts(t *testing.T, id string, n int) {
	t.Helper()
	var got []any
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("episode %s records %d contact attempts", id, n), func() bool {
		ep, ok := tm.episode(id)
		if !ok {
			return false
		}
		got, _ = ep["contact_attempts"].([]any)
		return len(got) >= n
	})
	if len(got) != n {
		t.Errorf("episode %s: %d contact attempts, want %d", id, len(got), n)
	}
	for i, a := range got {
		if seq, _ := a.(map[string]any)["seq"].(float64); int(seq) != i+1 {
			t.Errorf("episode %s: attempt %d has seq %v", id, i+1, seq)
		}
	}
}

// wantEpisodeCount checks the case records list n episodes, each once.
func (tm *team) wantEpisodeCount(t *testing.T, n int) {
	t.Helper()
	// The records list an episode opened a moment ago once its first save
	// lands: wait for it, and never accept one listed twice.
	var seen map[string]bool
	deadline := time.Now().Add(30 * time.Second)
	for {
		a := tm.until(t, 30*time.Second, "GET", "/v1/episodes?limit=200", tm.Coordinator, nil, "")
		var list struct {
			Episodes []struct {
				ID string `json:"id"`
			} `json:"episodes"`
		}
		if err := json.Unmarshal(a.body, &list); err != nil {
			t.Fatalf("episode list: %v", err)
		}
		seen = map[string]bool{}
		for _, e := range list.Episodes {
			if seen[e.ID] {
				t.Fatalf("episode %s listed twice", e.ID)
			}
			seen[e.ID] = true
		}
		if len(seen) >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if len(seen) != n {
		t.Errorf("%d episodes listed, want %d", len(seen), n)
	}
}
