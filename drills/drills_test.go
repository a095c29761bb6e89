//go:build drill

// Package drills breaks Homeward's dependencies on purpose while episodes
// run, and checks that nothing is lost, doubled or stuck: the worker killed
// with SIGKILL, PostgreSQL restarted, the mail relay refusing connections,
// the Temporal frontend unreachable. `make drill` runs them small; the
// HOMEWARD_DRILL_* variables size them up (see the README's "Fault drills").
package drills

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"homeward/internal/drill"
	"homeward/internal/pglocal"
	"homeward/internal/testenv"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pglocal.StopTestClusters()
	drill.RemoveBuild()
	os.Exit(code)
}

// team is the people of one drill and the service they use.
type team struct {
	env *testenv.Env
	testenv.Team
	retried atomic.Int64 // 503s that until retried
}

func newTeam(t *testing.T, env *testenv.Env) *team {
	return &team{env: env, Team: env.AddTeam(t)}
}

// answer is one HTTP exchange with the API.
type answer struct {
	status     int
	retryAfter string
	body       []byte
	took       time.Duration
	err        error // the exchange itself failed (never expected: the API stays up)
}

var client = &http.Client{Timeout: 2 * time.Minute}

// call sends one request; safe from any goroutine (it never stops the test).
func (tm *team) call(method, path, token string, body any, key string) answer {
	var r io.Reader
	if body != nil {
		js, err := json.Marshal(body)
		if err != nil {
			return answer{err: err}
		}
		r = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, tm.env.URL+path, r)
	if err != nil {
		return answer{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return answer{err: err, took: time.Since(start)}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: b, took: time.Since(start), err: err}
}

// problem says what is wrong with an answer that is not 2xx: anything but
// a 503 with Retry-After in the API's error shape is.
func (a answer) problem() string {
	switch {
	case a.err != nil:
		return fmt.Sprintf("exchange failed after %s: %v", a.took, a.err)
	case a.status >= 200 && a.status < 300:
		return ""
	case a.status != http.StatusServiceUnavailable:
		return fmt.Sprintf("answered %d, want 2xx or 503: %s", a.status, a.body)
	case a.retryAfter == "":
		return "503 without Retry-After"
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(a.body, &e) != nil || e.Error.Code != "unavailable" {
		return fmt.Sprintf("503 not in the API's error shape: %s", a.body)
	}
	return ""
}

func (a answer) ok() bool { return a.err == nil && a.status >= 200 && a.status < 300 }

// until sends the request with the same Idempotency-Key until it succeeds,
// as a client told "retrying is safe" does, and fails the test on any
// answer but 2xx or a proper 503, or after timeout.
func (tm *team) until(t *testing.T, timeout time.Duration, method, path, token string, body any, key string) answer {
	deadline := time.Now().Add(timeout)
	for {
		a := tm.call(method, path, token, body, key)
		if a.ok() {
			return a
		}
		if p := a.problem(); p != "" {
			t.Errorf("%s %s: %s", method, path, p)
			return a
		}
		if time.Now().After(deadline) {
			t.Errorf("%s %s: still 503 after %s", method, path, timeout)
			return a
		}
		tm.retried.Add(1)
		time.Sleep(500 * time.Millisecond)
	}
}

func referral(returnedAt time.Time) map[string]any { return testenv.Referral(returnedAt) }

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// episode reads an episode as the case records hold it.
func (tm *team) episode(id string) (map[string]any, bool) {
	a := tm.call("GET", "/v1/episodes/"+id, tm.Coordinator, nil, "")
	if !a.ok() {
		return nil, false
	}
	var ep map[string]any
	return ep, json.Unmarshal(a.body, &ep) == nil
}

// open opens an episode, retrying with its key, and returns its id.
func (tm *team) open(t *testing.T, returnedAt time.Time, key string, timeout time.Duration) string {
	return tm.openWith(t, referral(returnedAt), key, timeout)
}

// openWith opens the episode of body, retrying with its key, and returns
// its id; it stops the test if the episode is not opened.
func (tm *team) openWith(t *testing.T, body map[string]any, key string, timeout time.Duration) string {
	id := tm.tryOpen(t, body, key, timeout)
	if id == "" {
		t.FailNow()
	}
	return id
}

// tryOpen opens the episode of body, retrying with its key, and returns its
// id, or "" once it has reported why; it never stops the test, so any
// goroutine may call it.
func (tm *team) tryOpen(t *testing.T, body map[string]any, key string, timeout time.Duration) string {
	a := tm.until(t, timeout, "POST", "/v1/episodes", tm.Coordinator, body, key)
	if !a.ok() {
		return "" // until said why
	}
	var out struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(a.body, &out) != nil || out.ID == "" {
		t.Errorf("open %s: %d %s", key, a.status, a.body)
		return ""
	}
	return out.ID
}

// escalationsOnce checks that each manager got exactly one email of each
// kind for each episode in want (episode id to kinds), and no others. At
// most resends extra copies are allowed, each with its first copy's
// Message-ID (so a mail client shows one): a worker killed after the relay
// took an email but before its delivery was recorded sends it again.
func (tm *team) escalationsOnce(t *testing.T, want map[string][]string, resends int) {
	t.Helper()
	got := drill.EscalationIDs(tm.env.SMTP.Messages())
	seen := map[drill.Sent]bool{}
	extra := 0
	for ep, kinds := range want {
		for _, kind := range kinds {
			for _, m := range tm.Managers {
				k := drill.Sent{Episode: ep, Kind: kind, To: m.Email}
				seen[k] = true
				n := 0
				for _, copies := range got[k] {
					n += copies
					extra += copies - 1
				}
				if len(got[k]) != 1 {
					t.Errorf("episode %s: %d %s emails to a manager (%d Message-IDs), want exactly 1", ep, n, kind, len(got[k]))
				} else if n > 1 {
					t.Logf("episode %s: %s email to a manager sent %d times with one Message-ID", ep, kind, n)
				}
			}
		}
	}
	if extra > resends {
		t.Errorf("%d escalation emails were sent again, want at most %d", extra, resends)
	}
	for k, ids := range got {
		if !seen[k] {
			t.Errorf("unexpected email: %d × %s for episode %s", len(ids), k.Kind, k.Episode)
		}
	}
}

// wantEmails waits until the relay holds n escalation emails, then a while
// more, in which anything sent twice would arrive.
func wantEmails(t *testing.T, env *testenv.Env, n int, timeout time.Duration) {
	t.Helper()
	env.SMTP.WaitFor(t, n, timeout)
	time.Sleep(3 * time.Second)
}
