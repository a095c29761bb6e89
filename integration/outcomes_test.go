package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"homeward/api"
	"homeward/internal/testenv"
	"homeward/store"
)

// Outcomes as Workflow Updates, through the HTTP API with a real Temporal
// server, PostgreSQL and SMTP server.

// assigned opens an episode assigned to the team's interviewer.
func (tm *team) assigned(t *testing.T, returnedAt time.Time) string {
	t.Helper()
	ref := referral(returnedAt)
	ref["assigned_interviewer_id"] = tm.InterviewerID
	body := tm.must(t, 201, "POST", "/v1/episodes", tm.Coordinator, ref)
	return body["id"].(string)
}

func attemptBody(at time.Time, outcome string) map[string]any {
	return map[string]any{"method": "phone", "outcome": outcome, "attempted_at": rfc(at)}
}

func TestOutcomeIdempotencyKey(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	now := time.Now().UTC().Truncate(time.Second)
	id := tm.assigned(t, now.Add(-2*time.Hour))
	p := "/v1/episodes/" + id
	key := "Idempotency-Key"

	// The same decline twice with one key: recorded once, the same answer.
	decline := attemptBody(now.Add(-time.Hour), "reached_declined")
	st1, first := env.Do(t, "POST", p+"/contact-attempts", tm.Interviewer, decline, key, "decline-1")
	st2, second := env.Do(t, "POST", p+"/contact-attempts", tm.Interviewer, decline, key, "decline-1")
	if st1 != 200 || st2 != 200 || !bytes.Equal(first, second) {
		t.Fatalf("answers differ: %d %s / %d %s", st1, first, st2, second)
	}
	var ans struct {
		Recorded string
		Episode  struct {
			Status   string
			Declines int
		}
	}
	_ = json.Unmarshal(first, &ans)
	if ans.Recorded != "contact_attempt" || ans.Episode.Status != "reoffer_pending" || ans.Episode.Declines != 1 {
		t.Fatalf("answer %s", first)
	}

	// The same key with another body: 422 naming the key.
	st, body := env.Do(t, "POST", p+"/contact-attempts", tm.Interviewer, attemptBody(now.Add(-time.Hour), "no_answer"), key, "decline-1")
	wantField(t, st, body, 422, "Idempotency-Key")

	// Closed with a key; once the episode has ended, the retry still gets
	// the first answer, from the records.
	closure := map[string]any{"reason": "duplicate"}
	st, closed := env.Do(t, "POST", p+"/closure", tm.Coordinator, closure, key, "close-1")
	if st != 200 {
		t.Fatalf("closure: %d %s", st, closed)
	}
	_ = closedHistory(t, env, "episode-"+id)
	st, again := env.Do(t, "POST", p+"/closure", tm.Coordinator, closure, key, "close-1")
	if st != 200 || !bytes.Equal(closed, again) {
		t.Fatalf("retry after the end: %d %s, want the first answer %s", st, again, closed)
	}
	// Without the key, the closed episode refuses.
	st, body = env.Do(t, "POST", p+"/closure", tm.Coordinator, closure)
	wantField(t, st, body, 409, "status")

	ep := tm.waitFor(t, id, "closed", hasStatus("closed"))
	if n := len(ep["contact_attempts"].([]any)); n != 1 {
		t.Errorf("%d contact attempts recorded, want the decline once", n)
	}
	if d := ep["declines"].(float64); d != 1 {
		t.Errorf("%v declines, want 1", d)
	}
}

func wantField(t *testing.T, st int, body []byte, status int, field string) {
	t.Helper()
	var e struct {
		Error struct {
			Details []struct{ Field, Reason string }
		}
	}
	_ = json.Unmarshal(body, &e)
	if st != status || len(e.Error.Details) == 0 || e.Error.Details[0].Field != field {
		t.Fatalf("answer %d %s, want %d naming %s", st, body, status, field)
	}
}

// concurrently sends both requests at once and returns their statuses.
func concurrently(t *testing.T, env *testenv.Env, reqs ...func() (int, []byte)) []int {
	t.Helper()
	out := make([]int, len(reqs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, r := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i], _ = r()
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// Two closures at once: exactly one is recorded, the other is refused; and
// a contact attempt raced against a closure is never answered as recorded
// when the episode refused it.
func TestRacingOutcomesGetTheEpisodesAnswer(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	now := time.Now().UTC().Truncate(time.Second)
	const n = 50
	ids := make([]string, 2*n)
	for i := range ids {
		ids[i] = tm.assigned(t, now.Add(-time.Hour))
	}
	closure := map[string]any{"reason": "duplicate"}
	var mu sync.Mutex
	attemptsRecorded := map[string]bool{}
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := "/v1/episodes/" + id
			closeIt := func() (int, []byte) { return env.Do(t, "POST", p+"/closure", tm.Coordinator, closure) }
			if i < n {
				got := concurrently(t, env, closeIt, closeIt)
				if !(got[0] == 200 && got[1] == 409 || got[0] == 409 && got[1] == 200) {
					t.Errorf("episode %d: two closures answered %v, want one 200 and one 409", i, got)
				}
				return
			}
			attempt := func() (int, []byte) {
				return env.Do(t, "POST", p+"/contact-attempts", tm.Interviewer, attemptBody(now, "no_answer"))
			}
			got := concurrently(t, env, attempt, closeIt)
			if got[1] != 200 || (got[0] != 200 && got[0] != 409) {
				t.Errorf("episode %d: attempt %d, closure %d", i, got[0], got[1])
			}
			mu.Lock()
			attemptsRecorded[id] = got[0] == 200
			mu.Unlock()
		}()
	}
	wg.Wait()
	applied := 0
	for _, id := range ids[n:] {
		ep := tm.waitFor(t, id, "closed", hasStatus("closed"))
		recorded := len(ep["contact_attempts"].([]any)) == 1
		if recorded != attemptsRecorded[id] {
			t.Errorf("episode %s: attempt answered recorded=%t, records say %t", id, attemptsRecorded[id], recorded)
		}
		for _, l := range ep["timeline"].([]any) {
			if l.(map[string]any)["type"] == "rejected" {
				t.Errorf("episode %s: the timeline refuses an outcome: %v", id, l)
			}
		}
		if recorded {
			applied++
		}
	}
	t.Logf("%d of %d racing attempts came before the closure", applied, n)
}

// A held interview with a safeguarding concern raced against a closure:
// whenever the interview was answered 200, the managers are emailed.
func TestSafeguardingConcernRacedAgainstClosure(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	now := time.Now().UTC().Truncate(time.Second)
	const n = 10
	held := map[string]any{"outcome": "held", "held_at": rfc(now),
		"record": map[string]any{"safeguarding_concern": true}}
	var ids []string
	for i := 0; i < n; i++ {
		id := tm.assigned(t, now.Add(-time.Hour))
		tm.must(t, 200, "POST", "/v1/episodes/"+id+"/contact-attempts", tm.Interviewer, attemptBody(now, "reached_offered"))
		ids = append(ids, id)
	}
	var wantEmails int
	var heldIDs []string
	for _, id := range ids {
		p := "/v1/episodes/" + id
		got := concurrently(t, env,
			func() (int, []byte) { return env.Do(t, "POST", p+"/interview", tm.Interviewer, held) },
			func() (int, []byte) {
				return env.Do(t, "POST", p+"/closure", tm.Coordinator, map[string]any{"reason": "duplicate"})
			})
		if got[0] == 200 {
			wantEmails += len(tm.Managers)
			heldIDs = append(heldIDs, id)
		}
	}
	if wantEmails == 0 {
		t.Logf("every closure came first; nothing to escalate")
		return
	}
	env.SMTP.WaitFor(t, wantEmails, 30*time.Second)
	for _, id := range heldIDs {
		tm.waitFor(t, id, "escalates the concern", func(ep map[string]any) bool {
			for _, e := range ep["escalations"].([]any) {
				if e.(map[string]any)["kind"] == "safeguarding_concern" && e.(map[string]any)["sent_at"] != nil {
					return true
				}
			}
			return false
		})
	}
	t.Logf("%d of %d interviews came before the closure; %d emails", len(heldIDs), n, wantEmails)
}

// A 1 MB field is refused naming it, and the episode carries on.
func TestOversizedFieldRefused(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	now := time.Now().UTC().Truncate(time.Second)
	id := tm.assigned(t, now.Add(-time.Hour))
	p := "/v1/episodes/" + id
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, attemptBody(now, "reached_offered"))
	big := strings.Repeat("v", 1_000_000)
	st, body := env.Do(t, "POST", p+"/interview", tm.Interviewer, map[string]any{
		"outcome": "scheduled", "scheduled_for": rfc(now.Add(time.Hour)), "venue": big})
	wantField(t, st, body, 400, "venue")
	tm.must(t, 200, "POST", p+"/interview", tm.Interviewer, map[string]any{
		"outcome": "scheduled", "scheduled_for": rfc(now.Add(time.Hour)), "venue": "school"})
	tm.waitFor(t, id, "interview scheduled", hasStatus("interview_scheduled"))
}

// No worker: the API waits a bounded time and answers 503; the retry with
// the same key, once a worker runs, records the outcome once.
func TestNoWorkerThenRetryWithSameKey(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true, OutcomeTimeout: 2 * time.Second})
	tm := newTeam(t, env)
	now := time.Now().UTC().Truncate(time.Second)
	id := tm.assigned(t, now.Add(-time.Hour))
	p := "/v1/episodes/" + id
	attempt := attemptBody(now, "no_answer")
	js, _ := json.Marshal(attempt)
	req, _ := http.NewRequest("POST", env.URL+p+"/contact-attempts", bytes.NewReader(js))
	req.Header.Set("Authorization", "Bearer "+tm.Interviewer)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "a-1")
	resp, err := testenv.CheckedClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(body), "same Idempotency-Key is safe") {
		t.Fatalf("without a worker: %d Retry-After %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	env.StartWorker(t)
	var first []byte
	var st int
	testenv.Eventually(t, 30*time.Second, "the retry is answered", func() bool {
		st, first = env.Do(t, "POST", p+"/contact-attempts", tm.Interviewer, attempt, "Idempotency-Key", "a-1")
		return st == 200
	})
	st, again := env.Do(t, "POST", p+"/contact-attempts", tm.Interviewer, attempt, "Idempotency-Key", "a-1")
	if st != 200 || !bytes.Equal(first, again) {
		t.Fatalf("second retry: %d %s, want %s", st, again, first)
	}
	// The records may not list the attempt yet (null until projected).
	attempts := func(ep map[string]any) []any { a, _ := ep["contact_attempts"].([]any); return a }
	tm.waitFor(t, id, "records the attempt", func(ep map[string]any) bool { return len(attempts(ep)) >= 1 })
	time.Sleep(time.Second)
	ep := tm.waitFor(t, id, "records the attempt", func(map[string]any) bool { return true })
	if n := len(attempts(ep)); n != 1 {
		t.Errorf("%d attempts recorded, want 1", n)
	}
}

// A referral received before its deadline, with no worker running until
// after it, is breached for a reason other than late notification.
func TestBreachReasonWhenTheWorkerIsLate(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	tm := newTeam(t, env)
	id := tm.open(t, time.Now().UTC().Add(-72*time.Hour+3*time.Second))
	time.Sleep(5 * time.Second) // the deadline passes with no worker
	env.StartWorker(t)
	ep := tm.waitFor(t, id, "escalates the breach", func(ep map[string]any) bool {
		esc, _ := ep["escalations"].([]any) // none while the records are pending
		for _, e := range esc {
			if e.(map[string]any)["kind"] == "deadline_breached" {
				return true
			}
		}
		return false
	})
	for _, e := range ep["escalations"].([]any) {
		e := e.(map[string]any)
		if e["kind"] == "deadline_breached" && e["reason"] == "late_notification" {
			t.Errorf("breach blamed on late notification though the referral came in time: %v", e)
		}
	}
}

// The key on POST /v1/episodes is kept in PostgreSQL: a retry is answered
// from there, without asking Temporal, so it names the same episode even
// once Temporal has deleted the first one's history, and never starts a
// second workflow under that id.
func TestReferralKeyOutlivesTheWorkflow(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	ref := referral(time.Now().UTC().Add(-time.Hour))
	key := "referral-" + uuid.NewString()
	st, first := env.Do(t, "POST", "/v1/episodes", tm.Coordinator, ref, "Idempotency-Key", key)
	if st != 201 {
		t.Fatalf("open: %d %s", st, first)
	}
	var c struct{ ID string }
	_ = json.Unmarshal(first, &c)
	tm.must(t, 200, "POST", "/v1/episodes/"+c.ID+"/closure", tm.Coordinator, map[string]any{"reason": "duplicate"})
	_ = closedHistory(t, env, "episode-"+c.ID)

	// An API whose Temporal knows nothing (a server that is not there):
	// anything it asked of Temporal would fail.
	forgetful, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.NewRouter(api.Deps{Store: env.Store, Temporal: forgetful,
		TaskQueue: env.TaskQueue, Policy: env.Policy, Logger: env.Logger}))
	t.Cleanup(srv.Close)
	do := func(body any) (int, []byte) {
		js, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", srv.URL+"/v1/episodes", bytes.NewReader(js))
		req.Header.Set("Authorization", "Bearer "+tm.Coordinator)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := testenv.CheckedClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	st, again := do(ref)
	if st != 200 || !bytes.Equal(first, again) {
		t.Fatalf("reused key, Temporal not asked: %d %s, want 200 %s", st, again, first)
	}
	st, body := do(referral(time.Now().UTC().Add(-2 * time.Hour)))
	wantField(t, st, body, 422, "Idempotency-Key")
}

// While no worker answers (after a Temporal restart, say), an episode not
// yet in the records is never answered 404 to an interviewer who may be
// assigned to it: the one assigned at opening sees it, and when who is
// assigned cannot be told the answer is 503, a temporary condition.
func TestInterviewerSeesNewEpisodeWhileNoWorkerAnswers(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true, QueryTimeout: 300 * time.Millisecond})
	tm := newTeam(t, env)
	now := time.Now().UTC().Truncate(time.Second)
	mine := tm.assigned(t, now.Add(-time.Hour))
	st, body := env.Do(t, "GET", "/v1/episodes/"+mine, tm.Interviewer, nil)
	if st != 200 || !strings.Contains(string(body), `"pending":true`) {
		t.Errorf("the interviewer assigned at opening: %d %s, want 200 pending", st, body)
	}
	unassigned := tm.open(t, now.Add(-time.Hour))
	st, body = env.Do(t, "GET", "/v1/episodes/"+unassigned, tm.Interviewer, nil)
	if st != 503 {
		t.Errorf("an episode whose assignee cannot be told: %d %s, want 503", st, body)
	}
	_, other := env.AddUser(t, store.RoleInterviewer)
	st, body = env.Do(t, "GET", "/v1/episodes/"+mine, other, nil)
	wantField(t, st, body, 404, "id")
}

// childOf is the child the records give the episode.
func (tm *team) childOf(t *testing.T, id string) string {
	t.Helper()
	ep := tm.waitFor(t, id, "names its child", func(ep map[string]any) bool {
		c, _ := ep["child"].(map[string]any)
		return c != nil && c["id"] != ""
	})
	return ep["child"].(map[string]any)["id"].(string)
}

// repeatEmails counts the repeat_missing emails per recipient.
func repeatEmails(env *testenv.Env) map[string]int {
	out := map[string]int{}
	for _, m := range env.SMTP.Messages() {
		if m.Header.Get("X-Homeward-Escalation") == "repeat_missing" {
			out[m.To[0]]++
		}
	}
	return out
}

// Three referrals for one child within 30 days call a strategy meeting:
// one email per manager, naming the reference; a fourth in the same window
// calls none. Referrals that arrive together count the same way.
func TestRepeatMissingThroughTheAPI(t *testing.T) {
	for _, together := range []bool{false, true} {
		t.Run(fmt.Sprintf("together=%t", together), func(t *testing.T) {
			env := testenv.Start(t, testenv.Options{})
			tm := newTeam(t, env)
			now := time.Now().UTC().Truncate(time.Second)
			first := tm.open(t, now.Add(-time.Hour))
			child := tm.childOf(t, first)
			again := func() (int, []byte) {
				ref := referral(now.Add(-time.Hour))
				ref["child"] = map[string]any{"id": child}
				return env.Do(t, "POST", "/v1/episodes", tm.Coordinator, ref)
			}
			if together {
				for _, st := range concurrently(t, env, again, again, again) {
					if st != 201 {
						t.Fatalf("referral: %d", st)
					}
				}
			} else {
				for i := 0; i < 3; i++ {
					if st, body := again(); st != 201 {
						t.Fatalf("referral: %d %s", st, body)
					}
				}
			}
			env.SMTP.WaitFor(t, len(tm.Managers), 30*time.Second)
			time.Sleep(3 * time.Second) // a second meeting call would have come by now
			got := repeatEmails(env)
			for _, m := range tm.Managers {
				if got[m.Email] != 1 {
					t.Errorf("manager %s got %d repeat_missing emails, want 1", m.Email, got[m.Email])
				}
			}
			for _, m := range env.SMTP.Messages() {
				if strings.Contains(string(m.Data), "Riley") {
					t.Errorf("the email names the child")
				}
			}
			// The child's record shows it.
			testenv.Eventually(t, 20*time.Second, "the child's record shows the meeting call", func() bool {
				st, body := env.Do(t, "GET", "/v1/children/"+child, tm.Coordinator, nil)
				var d struct {
					StrategyMeetings []struct{ Reason string } `json:"strategy_meetings"`
				}
				_ = json.Unmarshal(body, &d)
				return st == 200 && len(d.StrategyMeetings) == 1 && d.StrategyMeetings[0].Reason == "3 episodes opened within 30 days"
			})
		})
	}
}
