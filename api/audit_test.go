package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"

	"homeward/internal/testenv"
	"homeward/store"
	"homeward/workflows"
)

type auditRow struct {
	ID        int64     `json:"id"`
	At        time.Time `json:"at"`
	UserID    string    `json:"user_id"`
	Role      string    `json:"role"`
	Action    string    `json:"action"`
	Resource  string    `json:"resource"`
	EpisodeID string    `json:"episode_id"`
	ClientIP  string    `json:"client_ip"`
	Outcome   string    `json:"outcome"`
	Status    int       `json:"status"`
	RequestID string    `json:"request_id"`
	Hash      string    `json:"hash"`
}

func (r auditRow) String() string {
	return fmt.Sprintf("%s %s %s %d", r.Role, r.Action, r.Outcome, r.Status)
}

// auditRows reads GET /v1/audit with query as token.
func auditRows(t *testing.T, env *testenv.Env, token string, query url.Values) []auditRow {
	t.Helper()
	st, body := env.Do(t, "GET", "/v1/audit?"+query.Encode(), token, nil)
	if st != 200 {
		t.Fatalf("GET /v1/audit?%s: %d %s", query.Encode(), st, body)
	}
	var page struct {
		Entries []auditRow `json:"entries"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	return page.Entries
}

// requestRows are the rows of one request, oldest first.
func requestRows(t *testing.T, env *testenv.Env, requestID string) []auditRow {
	t.Helper()
	all, err := env.Store.ListAudit(context.Background(), store.AuditFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var out []auditRow
	for i := len(all) - 1; i >= 0; i-- {
		e := all[i]
		if e.RequestID == requestID {
			out = append(out, auditRow{ID: e.ID, UserID: e.UserID, Role: e.Role, Action: e.Action, Resource: e.Resource,
				EpisodeID: e.EpisodeID, ClientIP: e.ClientIP, Outcome: e.Outcome, Status: e.Status, RequestID: e.RequestID})
		}
	}
	return out
}

func wantRows(t *testing.T, got []auditRow, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit rows %v, want %v", got, want)
	}
}

func TestAuditTrail(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	coordUser, coord := env.AddUser(t, store.RoleCoordinator)
	ivUser, iv := env.AddUser(t, store.RoleInterviewer)
	mgrUser, mgr := env.AddUser(t, store.RoleManager)
	_, admin := env.AddUser(t, store.RoleAdmin)

	// Opening an episode: one row, naming the new episode.
	ref := referral(time.Hour)
	ref["assigned_interviewer_id"] = ivUser.ID
	c := open(t, env, coord, ref, "X-Request-ID", "audit-open")
	rows := requestRows(t, env, "audit-open")
	wantRows(t, rows, "coordinator episode.open accepted 201")
	for _, r := range rows {
		if r.UserID != coordUser.ID || r.Resource != "POST /v1/episodes" || r.ClientIP != "127.0.0.1" {
			t.Fatalf("row %+v", r)
		}
	}
	if rows[0].EpisodeID != c.ID {
		t.Fatalf("episode id %q, want %s", rows[0].EpisodeID, c.ID)
	}

	// A read of the episode.
	base := "/v1/episodes/" + c.ID
	waitFor(t, env, mgr, c.ID, 10*time.Second, "projected", projected)
	since := time.Now().UTC()
	if st, body := env.Do(t, "GET", base, mgr, nil, "X-Request-ID", "audit-read"); st != 200 {
		t.Fatalf("GET episode: %d %s", st, body)
	}
	rows = requestRows(t, env, "audit-read")
	wantRows(t, rows, "manager episode.read ok 200")
	if r := rows[0]; r.UserID != mgrUser.ID || r.EpisodeID != c.ID || r.Resource != "GET /v1/episodes/:id" {
		t.Fatalf("row %+v", r)
	}

	// An outcome signalled to the workflow.
	attempt := map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": rfc(time.Now().Add(-time.Minute))}
	if st, body := env.Do(t, "POST", base+"/contact-attempts", iv, attempt, "X-Request-ID", "audit-outcome"); st != 200 {
		t.Fatalf("POST contact attempt: %d %s", st, body)
	}
	rows = requestRows(t, env, "audit-outcome")
	wantRows(t, rows, "interviewer episode.contact_attempt accepted 200")
	for _, r := range rows {
		if r.UserID != ivUser.ID || r.EpisodeID != c.ID {
			t.Fatalf("row %+v", r)
		}
	}

	// Refused access is recorded too: a role that may not, an episode that
	// does not exist.
	if st, body := env.Do(t, "POST", base+"/contact-attempts", coord, attempt, "X-Request-ID", "audit-403"); st != 403 {
		t.Fatalf("coordinator's contact attempt: %d %s", st, body)
	}
	wantRows(t, requestRows(t, env, "audit-403"), "coordinator episode.contact_attempt denied 403")
	missing := uuid.NewString()
	if st, body := env.Do(t, "GET", "/v1/episodes/"+missing, mgr, nil, "X-Request-ID", "audit-404"); st != 404 {
		t.Fatalf("GET unknown episode: %d %s", st, body)
	}
	rows = requestRows(t, env, "audit-404")
	wantRows(t, rows, "manager episode.read not_found 404")
	if rows[0].EpisodeID != missing {
		t.Fatalf("404 row names episode %q, want %s", rows[0].EpisodeID, missing)
	}
	if st, body := env.Do(t, "GET", "/v1/escalations", iv, nil, "X-Request-ID", "audit-403-read"); st != 403 {
		t.Fatalf("interviewer lists escalations: %d %s", st, body)
	}
	wantRows(t, requestRows(t, env, "audit-403-read"), "interviewer escalation.list denied 403")

	// Only managers and admins read the trail, and reading it is recorded.
	for _, tok := range []string{coord, iv} {
		st, body := env.Do(t, "GET", "/v1/audit", tok, nil)
		wantError(t, st, body, 403, "forbidden", "role")
	}
	if st, body := env.Do(t, "GET", "/v1/audit", admin, nil, "X-Request-ID", "audit-list"); st != 200 {
		t.Fatalf("admin reads the trail: %d %s", st, body)
	}
	wantRows(t, requestRows(t, env, "audit-list"), "admin audit.list ok 200")

	// Filters.
	byEpisode := auditRows(t, env, mgr, url.Values{"episode_id": {c.ID}, "from": {rfc3339Nano(since)}})
	wantRows(t, byEpisode,
		"coordinator episode.contact_attempt denied 403", // newest first
		"interviewer episode.contact_attempt accepted 200",
		"manager episode.read ok 200",
	)
}

func TestAuditTrailFilters(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	mgrUser, mgr := env.AddUser(t, store.RoleManager)
	ep := uuid.NewString()
	env.Do(t, "GET", "/v1/episodes/"+ep, coord, nil)
	env.Do(t, "GET", "/v1/episodes", mgr, nil)
	mid := time.Now().UTC()
	time.Sleep(10 * time.Millisecond)
	env.Do(t, "GET", "/v1/episodes/"+ep, mgr, nil)
	env.Do(t, "GET", "/v1/escalations?episode_id="+ep, mgr, nil)

	wantRows(t, auditRows(t, env, mgr, url.Values{"episode_id": {ep}}),
		"manager escalation.list ok 200", "manager episode.read not_found 404", "coordinator episode.read not_found 404")
	wantRows(t, auditRows(t, env, mgr, url.Values{"user_id": {mgrUser.ID}, "limit": {"2"}}),
		"manager audit.list ok 200", "manager escalation.list ok 200")
	wantRows(t, auditRows(t, env, mgr, url.Values{"user_id": {mgrUser.ID}, "to": {rfc3339Nano(mid)}}),
		"manager episode.list ok 200")
	// Reading the trail for an episode is recorded against that episode.
	wantRows(t, auditRows(t, env, mgr, url.Values{"from": {rfc3339Nano(mid)}, "episode_id": {ep}}),
		"manager audit.list ok 200", "manager escalation.list ok 200", "manager episode.read not_found 404")
	wantRows(t, auditRows(t, env, mgr, url.Values{"episode_id": {ep}, "limit": {"2"}, "offset": {"3"}}),
		"manager episode.read not_found 404", "coordinator episode.read not_found 404")
	for _, q := range []string{"episode_id=nope", "from=yesterday", "limit=0",
		"from=" + url.QueryEscape(rfc(mid)) + "&to=" + url.QueryEscape(rfc(mid))} {
		st, body := env.Do(t, "GET", "/v1/audit?"+q, mgr, nil)
		if st != 400 {
			t.Errorf("GET /v1/audit?%s: %d %s, want 400", q, st, body)
		}
	}

	// Another commissioner's manager sees none of it; the provider's admin
	// sees it all.
	other := env.AddCommissioner(t, "Other commissioner")
	_, otherMgr := env.AddUserIn(t, store.RoleManager, other.ID)
	wantRows(t, auditRows(t, env, otherMgr, url.Values{"episode_id": {ep}}))
	if got := auditRows(t, env, otherMgr, url.Values{"user_id": {mgrUser.ID}}); len(got) != 0 {
		t.Fatalf("another commissioner's manager sees %v", got)
	}
	_, provider := env.AddUserIn(t, store.RoleAdmin, "")
	if got := auditRows(t, env, provider, url.Values{"episode_id": {ep}}); len(got) < 5 {
		t.Fatalf("the provider's admin sees %v", got)
	}

	if res, err := env.Store.VerifyAudit(context.Background()); err != nil || !res.OK {
		t.Fatalf("VerifyAudit = %+v, %v", res, err)
	}
}

func rfc3339Nano(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// failAudit makes appending an audit row with one of outcomes fail, until
// the returned function is called.
func failAudit(t *testing.T, env *testenv.Env, outcomes ...string) (restore func()) {
	t.Helper()
	ctx := context.Background()
	list := "'" + strings.Join(outcomes, "','") + "'"
	if _, err := env.Store.Pool.Exec(ctx, `CREATE OR REPLACE FUNCTION test_fail_audit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NEW.outcome IN (`+list+`) THEN RAISE EXCEPTION 'audit unavailable (test)'; END IF;
			RETURN NEW;
		END $$`); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.Pool.Exec(ctx, `CREATE TRIGGER test_fail_audit BEFORE INSERT ON audit_log
		FOR EACH ROW EXECUTE FUNCTION test_fail_audit()`); err != nil {
		t.Fatal(err)
	}
	done := false
	restore = func() {
		if !done {
			done = true
			if _, err := env.Store.Pool.Exec(ctx, `DROP TRIGGER test_fail_audit ON audit_log`); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(restore)
	return restore
}

func outcomesReceived(t *testing.T, env *testenv.Env, episodeID string) int {
	t.Helper()
	it := env.Temporal.GetWorkflowHistory(context.Background(), workflows.WorkflowID(episodeID), "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	n := 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED {
			n++
		}
	}
	return n
}

// No answer, and no 2xx, goes out without its audit row.
func TestAuditTrailUnavailable(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	ivUser, iv := env.AddUser(t, store.RoleInterviewer)
	_, mgr := env.AddUser(t, store.RoleManager)
	ref := referral(time.Hour)
	ref["assigned_interviewer_id"] = ivUser.ID
	c := open(t, env, coord, ref)
	base := "/v1/episodes/" + c.ID
	waitFor(t, env, mgr, c.ID, 10*time.Second, "projected", projected)
	attempt := map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": rfc(time.Now().Add(-time.Minute))}

	// The read happens, but its audit row cannot be written: 503, no data.
	restore := failAudit(t, env, "ok")
	st, header, body := getWithHeaders(t, env.URL, base, mgr)
	wantError(t, st, body, 503, "unavailable", "")
	if got := header.Get("Retry-After"); got != "5" {
		t.Fatalf("Retry-After = %q, want 5", got)
	}
	noGoErrorText(t, body)
	if strings.Contains(string(body), c.Reference) || strings.Contains(string(body), "Sam") {
		t.Fatalf("503 carries the episode: %s", body)
	}
	restore()

	// The outcome row cannot be written: no 200, but the answer says the
	// outcome was recorded, and the retry with the same key gets the
	// episode's first answer and completes the trail.
	restore = failAudit(t, env, "accepted")
	st, body = env.Do(t, "POST", base+"/contact-attempts", iv, attempt, "Idempotency-Key", "audit-k1", "X-Request-ID", "audit-held-back")
	wantError(t, st, body, 503, "unavailable", "")
	if !strings.Contains(string(body), "This was done") || strings.Contains(string(body), "not answered") {
		t.Fatalf("a recorded outcome was answered as refused: %s", body)
	}
	restore()
	before := outcomesReceived(t, env, c.ID)
	st, body = env.Do(t, "POST", base+"/contact-attempts", iv, attempt, "Idempotency-Key", "audit-k1", "X-Request-ID", "audit-retry")
	if st != 200 {
		t.Fatalf("retry: %d %s", st, body)
	}
	if n := outcomesReceived(t, env, c.ID); n != before {
		t.Fatalf("the retry reached the episode again: %d outcomes, want %d", n, before)
	}
	wantRows(t, requestRows(t, env, "audit-retry"), "interviewer episode.contact_attempt accepted 200")

	if res, err := env.Store.VerifyAudit(context.Background()); err != nil || !res.OK {
		t.Fatalf("VerifyAudit = %+v, %v", res, err)
	}
	// No personal data in any row.
	all, err := env.Store.ListAudit(context.Background(), store.AuditFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		row := fmt.Sprintf("%+v", e)
		for _, s := range []string{"Sam", "Testchild", "07700", "Test Street", "MP/24", "Alex"} {
			if strings.Contains(row, s) {
				t.Fatalf("audit row carries %q: %s", s, row)
			}
		}
	}
}

// Concurrent requests each write their row without waiting on each other;
// the chainer chains them all within about a second, and the chain verifies.
func TestAuditTrailConcurrentRequestsChained(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	_, mgr := env.AddUser(t, store.RoleManager)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, body := env.Do(t, "GET", "/v1/escalations", mgr, nil); st != 200 {
				t.Errorf("GET /v1/escalations: %d %s", st, body)
			}
		}()
	}
	wg.Wait()
	answered := time.Now()
	for {
		res, err := env.Store.VerifyAudit(context.Background())
		if err != nil || !res.OK {
			t.Fatalf("VerifyAudit = %+v, %v", res, err)
		}
		if res.Unchained == 0 && res.Rows >= 20 {
			break
		}
		if time.Since(answered) > 3*time.Second {
			t.Fatalf("%s after the answers: %+v, want every row chained", time.Since(answered), res)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
