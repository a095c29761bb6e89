package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"

	"homeward/api"
	"homeward/internal/testenv"
	"homeward/store"
	"homeward/workflows"
)

// TestAPI runs the API against real Temporal, PostgreSQL and SMTP servers,
// started once and shared by the subtests (each works on its own episodes).
func TestAPI(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	coordUser, coord := env.AddUser(t, store.RoleCoordinator)
	ivUser, iv := env.AddUser(t, store.RoleInterviewer)
	iv2User, iv2 := env.AddUser(t, store.RoleInterviewer)
	_, mgr := env.AddUser(t, store.RoleManager)
	_, admin := env.AddUser(t, store.RoleAdmin)

	t.Run("health", func(t *testing.T) {
		t.Parallel()
		st, body := env.Do(t, "GET", "/healthz", "", nil)
		if st != 200 || !strings.Contains(string(body), `"status":"ok"`) {
			t.Fatalf("healthz: %d %s", st, body)
		}
		st, body = env.Do(t, "GET", "/readyz", "", nil)
		var r struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatal(err)
		}
		if st != 200 || r.Status != "ready" || r.Checks["postgres"] != "ok" || r.Checks["temporal"] != "ok" {
			t.Fatalf("readyz: %d %s", st, body)
		}
	})

	t.Run("auth", func(t *testing.T) {
		t.Parallel()
		for _, path := range []string{"/v1/episodes", "/v1/escalations", "/v1/openapi.json", "/v1/episodes/" + uuid.NewString()} {
			req, _ := http.NewRequest("GET", env.URL+path, nil)
			resp, err := testenv.CheckedClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantError(t, resp.StatusCode, body, 401, "unauthorized", "Authorization")
			if !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("%s: WWW-Authenticate = %q", path, resp.Header.Get("WWW-Authenticate"))
			}
		}
		st, body := env.Do(t, "GET", "/v1/episodes", "hw_not-a-real-token", nil)
		wantError(t, st, body, 401, "unauthorized", "Authorization")
		st, body = env.Do(t, "GET", "/v1/episodes", "", nil, "Authorization", "Basic dXNlcjpwYXNz")
		wantError(t, st, body, 401, "unauthorized", "Authorization")
	})

	t.Run("roles", func(t *testing.T) {
		t.Parallel()
		id := uuid.NewString()
		cases := []struct {
			method, path string
			tokens       map[string]string
		}{
			{"POST", "/v1/episodes", map[string]string{"interviewer": iv, "manager": mgr}},
			{"POST", "/v1/episodes/" + id + "/assignment", map[string]string{"interviewer": iv}},
			{"POST", "/v1/episodes/" + id + "/contact-attempts", map[string]string{"coordinator": coord, "manager": mgr, "admin": admin}},
			{"POST", "/v1/episodes/" + id + "/interview", map[string]string{"coordinator": coord, "manager": mgr, "admin": admin}},
			{"POST", "/v1/episodes/" + id + "/agreement", map[string]string{"coordinator": coord, "manager": mgr, "admin": admin}},
			{"POST", "/v1/episodes/" + id + "/follow-up", map[string]string{"coordinator": coord, "manager": mgr, "admin": admin}},
			{"POST", "/v1/episodes/" + id + "/closure", map[string]string{"interviewer": iv}},
			{"GET", "/v1/escalations", map[string]string{"coordinator": coord, "interviewer": iv}},
		}
		for _, c := range cases {
			for role, token := range c.tokens {
				var body any
				if c.method == "POST" {
					body = map[string]any{}
				}
				st, resp := env.Do(t, c.method, c.path, token, body)
				e := wantError(t, st, resp, 403, "forbidden", "role")
				if !strings.Contains(reason(e, "role"), role) {
					t.Fatalf("%s %s as %s: reason %q does not name the role", c.method, c.path, role, reason(e, "role"))
				}
			}
		}
		// And the allowed roles get past the role check.
		st, _ := env.Do(t, "GET", "/v1/escalations", admin, nil)
		if st != 200 {
			t.Fatalf("admin escalations: %d", st)
		}
		st, _ = env.Do(t, "GET", "/v1/escalations", mgr, nil)
		if st != 200 {
			t.Fatalf("manager escalations: %d", st)
		}
	})

	t.Run("routing errors", func(t *testing.T) {
		t.Parallel()
		st, body := env.Do(t, "GET", "/v1/nothing-here", coord, nil)
		wantError(t, st, body, 404, "not_found", "path")
		req, _ := http.NewRequest("DELETE", env.URL+"/v1/episodes", nil)
		resp, err := testenv.CheckedClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		wantError(t, resp.StatusCode, body, 405, "method_not_allowed", "")
		if allow := resp.Header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
			t.Fatalf("Allow = %q", allow)
		}
	})

	t.Run("open episode", func(t *testing.T) {
		t.Parallel()
		body := referral(2 * time.Hour)
		// An offset instant is stored and answered in UTC.
		ret := time.Now().Add(-2 * time.Hour).Truncate(time.Second).In(time.FixedZone("BST", 3600))
		body["returned_at"] = ret.Format(time.RFC3339)
		st, resp := env.Do(t, "POST", "/v1/episodes", coord, body)
		if st != 201 {
			t.Fatalf("status %d: %s", st, resp)
		}
		var c created
		if err := json.Unmarshal(resp, &c); err != nil {
			t.Fatal(err)
		}
		if _, err := uuid.Parse(c.ID); err != nil {
			t.Fatalf("id %q: %v", c.ID, err)
		}
		if c.Status != "awaiting_contact" || !strings.HasPrefix(c.Reference, "HW-") {
			t.Fatalf("body %s", resp)
		}
		if !strings.Contains(string(resp), `"returned_at":"`+ret.UTC().Format(time.RFC3339)+`"`) {
			t.Fatalf("returned_at not in UTC: %s", resp)
		}
		if !c.OfferDeadline.Equal(ret.Add(72 * time.Hour)) {
			t.Fatalf("offer deadline %s, want %s", c.OfferDeadline, ret.Add(72*time.Hour))
		}
		d := waitFor(t, env, coord, c.ID, 5*time.Second, "projected", projected)
		if d.Status != "awaiting_contact" || d.Reference != c.Reference || d.Child.FirstName != "Sam" {
			t.Fatalf("projected episode %+v", d)
		}

		// A known child by id; an unknown one is refused.
		body2 := referral(time.Hour)
		body2["child"] = map[string]any{"id": d.Child.ID}
		c2 := open(t, env, admin, body2)
		d2 := waitFor(t, env, coord, c2.ID, 5*time.Second, "projected", projected)
		if d2.Child.ID != d.Child.ID {
			t.Fatalf("child %s, want the known child %s", d2.Child.ID, d.Child.ID)
		}
		body2["child"] = map[string]any{"id": uuid.NewString()}
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, body2)
		wantError(t, st, resp, 400, "invalid_request", "child.id")
	})

	t.Run("open episode with Location", func(t *testing.T) {
		t.Parallel()
		js, _ := json.Marshal(referral(time.Hour))
		req, _ := http.NewRequest("POST", env.URL+"/v1/episodes", bytes.NewReader(js))
		req.Header.Set("Authorization", "Bearer "+coord)
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		resp, err := testenv.CheckedClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var c created
		_ = json.NewDecoder(resp.Body).Decode(&c)
		resp.Body.Close()
		if resp.StatusCode != 201 || resp.Header.Get("Location") != "/v1/episodes/"+c.ID {
			t.Fatalf("status %d, Location %q, id %s", resp.StatusCode, resp.Header.Get("Location"), c.ID)
		}
	})

	t.Run("idempotency", func(t *testing.T) {
		t.Parallel()
		body := referral(3 * time.Hour)
		key := "referral-" + uuid.NewString()
		st1, resp1 := env.Do(t, "POST", "/v1/episodes", coord, body, "Idempotency-Key", key)
		if st1 != 201 {
			t.Fatalf("first: %d %s", st1, resp1)
		}
		var c created
		_ = json.Unmarshal(resp1, &c)
		ctx := context.Background()
		d1, err := env.Temporal.DescribeWorkflowExecution(ctx, workflows.WorkflowID(c.ID), "")
		if err != nil {
			t.Fatal(err)
		}
		st2, resp2 := env.Do(t, "POST", "/v1/episodes", coord, body, "Idempotency-Key", key)
		if st2 != 200 || !bytes.Equal(resp1, resp2) {
			t.Fatalf("repeat: %d %s, want 200 %s", st2, resp2, resp1)
		}
		d2, err := env.Temporal.DescribeWorkflowExecution(ctx, workflows.WorkflowID(c.ID), "")
		if err != nil {
			t.Fatal(err)
		}
		if d1.WorkflowExecutionInfo.Execution.RunId != d2.WorkflowExecutionInfo.Execution.RunId {
			t.Fatalf("a second run was started")
		}
		// The memo holds the commissioner's id, nothing else (the key's
		// request hash is kept in PostgreSQL).
		fields := d2.WorkflowExecutionInfo.GetMemo().GetFields()
		if len(fields) != 1 || fields["commissioner_id"] == nil {
			t.Fatalf("memo %v", fields)
		}
		// Exactly one workflow execution has this id.
		var count int
		testenv.Eventually(t, 5*time.Second, "workflow visible", func() bool {
			res, err := env.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Namespace: env.Namespace, Query: fmt.Sprintf("WorkflowId = '%s'", workflows.WorkflowID(c.ID)),
			})
			if err != nil {
				t.Logf("list workflows: %v", err)
				return false
			}
			count = len(res.Executions)
			return count > 0
		})
		if count != 1 {
			t.Fatalf("%d executions for %s, want 1", count, c.ID)
		}

		// Same key, different referral.
		other := referral(3 * time.Hour)
		other["risk_grade"] = "high"
		st, resp := env.Do(t, "POST", "/v1/episodes", coord, other, "Idempotency-Key", key)
		e := wantError(t, st, resp, 422, "unprocessable", "Idempotency-Key")
		if !strings.Contains(reason(e, "Idempotency-Key"), "different referral") {
			t.Fatalf("reason %q", reason(e, "Idempotency-Key"))
		}
		// The same key from another user is another episode (of another
		// child: the same details would be a possible match).
		again := map[string]any{"new_child": true}
		for k, v := range body {
			again[k] = v
		}
		c3 := open(t, env, admin, again, "Idempotency-Key", key)
		if c3.ID == c.ID {
			t.Fatalf("another user's key mapped to the same episode")
		}
		// Keys are at most 200 characters.
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, body, "Idempotency-Key", strings.Repeat("k", 201))
		wantError(t, st, resp, 400, "invalid_request", "Idempotency-Key")
	})

	t.Run("open episode validation", func(t *testing.T) {
		t.Parallel()
		future := referral(time.Hour)
		future["returned_at"] = rfc(time.Now().Add(time.Hour))
		st, resp := env.Do(t, "POST", "/v1/episodes", coord, future)
		e := wantError(t, st, resp, 400, "invalid_request", "returned_at")
		if reason(e, "returned_at") != "must not be in the future" {
			t.Fatalf("reason %q", reason(e, "returned_at"))
		}

		before := referral(time.Hour)
		before["reported_missing_at"] = rfc(time.Now())
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, before)
		wantError(t, st, resp, 400, "invalid_request", "returned_at")

		unknown := referral(time.Hour)
		unknown["favourite_colour"] = "blue"
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, unknown)
		wantError(t, st, resp, 400, "invalid_request", "favourite_colour")

		wrongType := referral(time.Hour)
		wrongType["looked_after"] = "yes"
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, wrongType)
		e = wantError(t, st, resp, 400, "invalid_request", "looked_after")
		if reason(e, "looked_after") != "must be a boolean" {
			t.Fatalf("reason %q", reason(e, "looked_after"))
		}
		nested := referral(time.Hour)
		nested["child"] = map[string]any{"first_name": 42}
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, nested)
		wantError(t, st, resp, 400, "invalid_request", "child.first_name")

		badInstant := referral(time.Hour)
		badInstant["returned_at"] = "yesterday teatime"
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, badInstant)
		e = wantError(t, st, resp, 400, "invalid_request", "returned_at")
		if reason(e, "returned_at") != "must be an RFC 3339 instant" {
			t.Fatalf("reason %q", reason(e, "returned_at"))
		}

		st, resp = env.Do(t, "POST", "/v1/episodes", coord, `{"child": {"first_name": "Sam"`)
		wantError(t, st, resp, 400, "invalid_request", "body")
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, `{"risk_grade": "low"} {"risk_grade": "high"}`)
		wantError(t, st, resp, 400, "invalid_request", "body")
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, `[]`)
		wantError(t, st, resp, 400, "invalid_request", "body")

		noContact := referral(time.Hour)
		noContact["contact"] = map[string]any{"carers": []any{map[string]any{"name": "Alex", "email": "alex@example.org"}}}
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, noContact)
		wantError(t, st, resp, 400, "invalid_request", "contact")

		// Every problem is named at once.
		many := map[string]any{"child": map[string]any{}, "risk_grade": "extreme"}
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, many)
		for _, f := range []string{"child.first_name", "reported_missing_at", "returned_at", "risk_grade", "category", "contact"} {
			wantError(t, st, resp, 400, "invalid_request", f)
		}

		notInterviewer := referral(time.Hour)
		notInterviewer["assigned_interviewer_id"] = coordUser.ID
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, notInterviewer)
		wantError(t, st, resp, 400, "invalid_request", "assigned_interviewer_id")

		st, resp = env.Do(t, "POST", "/v1/episodes", coord, `{}`, "Content-Type", "text/plain")
		wantError(t, st, resp, 415, "unsupported_media_type", "")
		st, resp = env.Do(t, "POST", "/v1/episodes", coord, nil)
		wantError(t, st, resp, 400, "invalid_request", "body")
	})

	t.Run("body too large", func(t *testing.T) {
		t.Parallel()
		big := referral(time.Hour)
		big["police_reference"] = strings.Repeat("x", 1<<20)
		js, _ := json.Marshal(big)
		st, resp := env.Do(t, "POST", "/v1/episodes", coord, js)
		wantError(t, st, resp, 413, "payload_too_large", "body")

		// Without a Content-Length the limit still holds.
		req, _ := http.NewRequest("POST", env.URL+"/v1/episodes", io.MultiReader(bytes.NewReader(js)))
		req.ContentLength = -1
		req.Header.Set("Authorization", "Bearer "+coord)
		req.Header.Set("Content-Type", "application/json")
		r, err := testenv.CheckedClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		wantError(t, r.StatusCode, body, 413, "payload_too_large", "body")
	})

	t.Run("outcomes", func(t *testing.T) {
		t.Parallel()
		// Interviewers see and record only what is assigned to them.
		assignedToIv := referral(4 * time.Hour)
		assignedToIv["assigned_interviewer_id"] = ivUser.ID
		c := open(t, env, coord, assignedToIv)
		base := "/v1/episodes/" + c.ID
		waitFor(t, env, iv, c.ID, 5*time.Second, "projected", projected)

		// An agreement before the interview was held.
		resp := post(t, env, iv, base+"/agreement", map[string]any{
			"confidentiality_explained": true, "child_told_before_sharing": true,
			"shared_with": []any{map[string]any{"party": "social_worker", "what": "the return report"}},
		}, 409)
		e := wantError(t, 409, resp, 409, "conflict", "agreement")
		if !strings.Contains(e.Error.Message, "after a held interview") {
			t.Fatalf("message %q", e.Error.Message)
		}

		// An unknown method, with everything else wrong too.
		st, resp := env.Do(t, "POST", base+"/contact-attempts", iv, map[string]any{
			"method": "pigeon", "attempted_at": "last tuesday", "notes": strings.Repeat("n", 4001),
		})
		for _, f := range []string{"method", "outcome", "attempted_at", "notes"} {
			wantError(t, st, resp, 400, "invalid_request", f)
		}
		st, resp = env.Do(t, "POST", base+"/contact-attempts", iv, map[string]any{
			"method": "phone", "outcome": "no_answer", "attempted_at": rfc(time.Now().Add(10 * time.Minute)),
		})
		wantError(t, st, resp, 400, "invalid_request", "attempted_at")

		// Assignment needs an active interviewer.
		st, resp = env.Do(t, "POST", base+"/assignment", coord, map[string]any{"interviewer_id": coordUser.ID})
		wantError(t, st, resp, 400, "invalid_request", "interviewer_id")
		var a accepted
		_ = json.Unmarshal(post(t, env, mgr, base+"/assignment", map[string]any{"interviewer_id": iv2User.ID}, 200), &a)
		if a.Recorded != "assignment" || a.EpisodeID != c.ID || a.Episode.Status != "awaiting_contact" {
			t.Fatalf("accepted %+v", a)
		}
		// The episode is the second interviewer's now: the first no longer sees it.
		testenv.Eventually(t, 5*time.Second, "reassigned", func() bool {
			st, _ := env.Do(t, "GET", base, iv, nil)
			return st == 404
		})
		iv := iv2

		// A failed attempt leaves other methods to try.
		_ = json.Unmarshal(post(t, env, iv, base+"/contact-attempts", map[string]any{
			"method": "phone", "outcome": "no_answer", "attempted_at": rfc(time.Now().Add(-2 * time.Minute)),
		}, 200), &a)
		if a.Episode.Status != "awaiting_contact" {
			t.Fatalf("accepted %+v", a)
		}
		_ = json.Unmarshal(post(t, env, iv, base+"/contact-attempts", map[string]any{
			"method": "text", "outcome": "reached_offered", "attempted_at": rfc(time.Now().Add(-time.Minute)), "notes": "Spoke briefly",
		}, 200), &a)
		if a.Episode.Status != "offer_accepted" {
			t.Fatalf("accepted %+v", a)
		}
		// Straight after: the state the API checks against already has the
		// attempt (a query sees every signal Temporal accepted before it).
		_ = json.Unmarshal(post(t, env, iv, base+"/interview", map[string]any{
			"outcome": "scheduled", "scheduled_for": rfc(time.Now().Add(time.Hour)), "venue": "school",
		}, 200), &a)
		if a.Episode.Status != "interview_scheduled" {
			t.Fatalf("accepted %+v", a)
		}

		// Held before the child returned.
		st, resp = env.Do(t, "POST", base+"/interview", iv, map[string]any{
			"outcome": "held", "held_at": rfc(c.ReturnedAt.Add(-time.Hour)), "record": map[string]any{},
		})
		wantError(t, st, resp, 400, "invalid_request", "held_at")
		// Held without a record; a risk indicator that is not yes/no/unknown.
		st, resp = env.Do(t, "POST", base+"/interview", iv, map[string]any{"outcome": "held", "held_at": rfc(time.Now())})
		wantError(t, st, resp, 400, "invalid_request", "record")
		st, resp = env.Do(t, "POST", base+"/interview", iv, map[string]any{
			"outcome": "held", "held_at": rfc(time.Now()),
			"record": map[string]any{"risk_indicators": map[string]any{"gone_missing_before": "maybe"}},
		})
		wantError(t, st, resp, 400, "invalid_request", "record.risk_indicators.gone_missing_before")
		st, resp = env.Do(t, "POST", base+"/interview", iv, map[string]any{"outcome": "scheduled"})
		wantError(t, st, resp, 400, "invalid_request", "scheduled_for")

		_ = json.Unmarshal(post(t, env, iv, base+"/interview", map[string]any{
			"outcome": "held", "held_at": rfc(time.Now().Add(-time.Minute)), "venue": "school",
			"record": map[string]any{
				"push_factors":    []string{"conflict at home"},
				"risk_indicators": map[string]any{"gone_missing_before": "yes", "hurt_or_harmed_while_away": "no"},
			},
		}, 200), &a)
		if a.Episode.Status != "interview_held" {
			t.Fatalf("accepted %+v", a)
		}
		st, resp = env.Do(t, "POST", base+"/agreement", iv, map[string]any{
			"confidentiality_explained": false,
			"shared_with":               []any{map[string]any{"party": "neighbours", "what": "everything"}},
		})
		wantError(t, st, resp, 400, "invalid_request", "confidentiality_explained")
		wantError(t, st, resp, 400, "invalid_request", "shared_with[0].party")
		_ = json.Unmarshal(post(t, env, iv, base+"/agreement", map[string]any{
			"confidentiality_explained": true, "child_told_before_sharing": true,
			"shared_with": []any{map[string]any{"party": "social_worker", "what": "the return report"}},
		}, 200), &a)
		if a.Episode.Status != "follow_up_due" {
			t.Fatalf("accepted %+v", a)
		}
		st, resp = env.Do(t, "POST", base+"/follow-up", iv, map[string]any{"actions_taken": []string{"CAMHS referral"}})
		wantError(t, st, resp, 400, "invalid_request", "completed_at")
		wantError(t, st, resp, 400, "invalid_request", "outcome")
		_ = json.Unmarshal(post(t, env, iv, base+"/follow-up", map[string]any{
			"completed_at": rfc(time.Now()), "actions_taken": []string{"CAMHS referral"}, "outcome": "support in place",
		}, 200), &a)
		if a.Episode.Status != "completed" {
			t.Fatalf("accepted %+v", a)
		}
		d := waitFor(t, env, iv, c.ID, 5*time.Second, "completed", status("completed"))
		if d.AssignedInterviewer == nil || d.AssignedInterviewer.ID != iv2User.ID {
			t.Fatalf("assigned %+v", d.AssignedInterviewer)
		}
		for _, tl := range d.Timeline {
			if tl.Type == "rejected" {
				t.Fatalf("the workflow rejected an outcome the API accepted: %s", tl.Summary)
			}
		}
		// Completed: no more outcomes.
		st, resp = env.Do(t, "POST", base+"/closure", coord, map[string]any{"reason": "duplicate"})
		wantError(t, st, resp, 409, "conflict", "")
	})

	t.Run("closed episode", func(t *testing.T) {
		t.Parallel()
		assignedToIv := referral(time.Hour)
		assignedToIv["assigned_interviewer_id"] = ivUser.ID
		c := open(t, env, coord, assignedToIv)
		base := "/v1/episodes/" + c.ID
		st, resp := env.Do(t, "POST", base+"/closure", coord, map[string]any{"reason": "other"})
		wantError(t, st, resp, 400, "invalid_request", "details")
		st, resp = env.Do(t, "POST", base+"/closure", coord, map[string]any{"reason": "because"})
		wantError(t, st, resp, 400, "invalid_request", "reason")
		var a accepted
		_ = json.Unmarshal(post(t, env, coord, base+"/closure", map[string]any{"reason": "opened_in_error"}, 200), &a)
		if a.Episode.Status != "closed" {
			t.Fatalf("accepted %+v", a)
		}
		attempt := map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": rfc(time.Now())}
		st, resp = env.Do(t, "POST", base+"/contact-attempts", iv, attempt)
		wantError(t, st, resp, 409, "conflict", "")
		// Once the workflow has finished, still 409.
		testenv.Eventually(t, 10*time.Second, "workflow finished", func() bool {
			d, err := env.Temporal.DescribeWorkflowExecution(context.Background(), workflows.WorkflowID(c.ID), "")
			return err == nil && d.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED
		})
		st, resp = env.Do(t, "POST", base+"/contact-attempts", iv, attempt)
		e := wantError(t, st, resp, 409, "conflict", "status")
		if !strings.Contains(e.Error.Message, "closed") {
			t.Fatalf("message %q", e.Error.Message)
		}
	})

	t.Run("unknown episode", func(t *testing.T) {
		t.Parallel()
		attempt := map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": rfc(time.Now())}
		for _, id := range []string{uuid.NewString(), "not-a-uuid", "1234"} {
			st, resp := env.Do(t, "GET", "/v1/episodes/"+id, coord, nil)
			wantError(t, st, resp, 404, "not_found", "id")
			st, resp = env.Do(t, "POST", "/v1/episodes/"+id+"/contact-attempts", iv, attempt)
			wantError(t, st, resp, 404, "not_found", "id")
			st, resp = env.Do(t, "POST", "/v1/episodes/"+id+"/closure", admin, map[string]any{"reason": "duplicate"})
			wantError(t, st, resp, 404, "not_found", "id")
		}
	})

	t.Run("list filters", func(t *testing.T) {
		t.Parallel()
		assigned := referral(time.Hour)
		assigned["assigned_interviewer_id"] = iv2User.ID
		mine := open(t, env, coord, assigned)
		overdue := open(t, env, coord, referral(80*time.Hour))
		closed := open(t, env, coord, referral(time.Hour))
		post(t, env, admin, "/v1/episodes/"+closed.ID+"/closure", map[string]any{"reason": "duplicate"}, 200)
		waitFor(t, env, coord, mine.ID, 5*time.Second, "projected", projected)
		waitFor(t, env, coord, overdue.ID, 5*time.Second, "projected", projected)
		waitFor(t, env, coord, closed.ID, 5*time.Second, "closed", status("closed"))

		type summary struct {
			ID                  string `json:"id"`
			Status              string `json:"status"`
			Overdue             bool   `json:"overdue"`
			AssignedInterviewer *struct {
				ID string `json:"id"`
			} `json:"assigned_interviewer"`
		}
		list := func(token, query string) map[string]summary {
			t.Helper()
			st, body := env.Do(t, "GET", "/v1/episodes?limit=200&"+query, token, nil)
			if st != 200 {
				t.Fatalf("list %s: %d %s", query, st, body)
			}
			var res struct {
				Episodes []summary `json:"episodes"`
				Limit    int       `json:"limit"`
				Offset   int       `json:"offset"`
			}
			if err := json.Unmarshal(body, &res); err != nil {
				t.Fatal(err)
			}
			if res.Limit != 200 || res.Offset != 0 || res.Episodes == nil {
				t.Fatalf("list %s: %s", query, body)
			}
			out := map[string]summary{}
			for _, e := range res.Episodes {
				out[e.ID] = e
			}
			return out
		}

		got := list(coord, "status=closed")
		if _, ok := got[closed.ID]; !ok {
			t.Fatalf("status=closed misses the closed episode")
		}
		for _, e := range got {
			if e.Status != "closed" {
				t.Fatalf("status=closed lists %+v", e)
			}
		}
		if _, ok := list(coord, "status=awaiting_contact")[closed.ID]; ok {
			t.Fatalf("status=awaiting_contact lists the closed episode")
		}

		got = list(iv2, "assignee=me")
		if _, ok := got[mine.ID]; !ok {
			t.Fatalf("assignee=me misses the interviewer's episode")
		}
		for _, e := range got {
			if e.AssignedInterviewer == nil || e.AssignedInterviewer.ID != iv2User.ID {
				t.Fatalf("assignee=me lists %+v", e)
			}
		}
		if _, ok := list(iv, "assignee=me")[mine.ID]; ok {
			t.Fatalf("another interviewer's assignee=me lists the episode")
		}
		if _, ok := list(mgr, "assignee="+iv2User.ID)[mine.ID]; !ok {
			t.Fatalf("assignee=<id> misses the episode")
		}

		got = list(mgr, "overdue=true")
		if e, ok := got[overdue.ID]; !ok || !e.Overdue {
			t.Fatalf("overdue=true misses the episode returned 80 hours ago: %+v", got)
		}
		for id, e := range got {
			if !e.Overdue || id == mine.ID || id == closed.ID {
				t.Fatalf("overdue=true lists %+v", e)
			}
		}
		if _, ok := list(mgr, "overdue=false")[mine.ID]; !ok {
			t.Fatalf("overdue=false filters")
		}

		for _, q := range []string{"status=lost", "assignee=bob", "overdue=maybe", "limit=0", "limit=201", "offset=-1", "limit=ten"} {
			st, body := env.Do(t, "GET", "/v1/episodes?"+q, coord, nil)
			wantError(t, st, body, 400, "invalid_request", strings.SplitN(q, "=", 2)[0])
		}

		// The overdue episode was escalated to managers.
		var escalations struct {
			Escalations []struct {
				EpisodeID string `json:"episode_id"`
				Kind      string `json:"kind"`
				Reference string `json:"reference"`
			} `json:"escalations"`
		}
		testenv.Eventually(t, 10*time.Second, "deadline_breached escalation listed", func() bool {
			st, body := env.Do(t, "GET", "/v1/escalations?kind=deadline_breached&episode_id="+overdue.ID, mgr, nil)
			if st != 200 {
				t.Fatalf("escalations: %d %s", st, body)
			}
			escalations.Escalations = nil
			_ = json.Unmarshal(body, &escalations)
			return len(escalations.Escalations) == 1
		})
		if e := escalations.Escalations[0]; e.EpisodeID != overdue.ID || e.Reference != overdue.Reference {
			t.Fatalf("escalation %+v", e)
		}
		for _, q := range []string{"kind=late", "episode_id=nope", "limit=500"} {
			st, body := env.Do(t, "GET", "/v1/escalations?"+q, mgr, nil)
			wantError(t, st, body, 400, "invalid_request", strings.SplitN(q, "=", 2)[0])
		}
	})

	t.Run("openapi served", func(t *testing.T) {
		t.Parallel()
		st, body := env.Do(t, "GET", "/v1/openapi.json", iv, nil)
		var doc map[string]any
		if st != 200 || json.Unmarshal(body, &doc) != nil || doc["openapi"] != "3.0.3" {
			t.Fatalf("openapi.json: %d %.200s", st, body)
		}
		st, body = env.Do(t, "GET", "/v1/openapi.yaml", mgr, nil)
		yamlDoc := parseYAML(t, body)
		if st != 200 || yamlDoc["openapi"] != "3.0.3" {
			t.Fatalf("openapi.yaml: %d %.200s", st, body)
		}
	})

	t.Run("no worker", func(t *testing.T) {
		t.Parallel()
		// An API whose task queue no worker polls: the workflow starts but
		// cannot run, so its state is neither queryable nor saved.
		srv := httptest.NewServer(api.NewRouter(api.Deps{
			Store: env.Store, Temporal: env.Temporal, TaskQueue: "nobody-polls-" + uuid.NewString(),
			Policy: env.Policy, QueryTimeout: 300 * time.Millisecond, OutcomeTimeout: time.Second, Codec: env.Codec(),
		}))
		defer srv.Close()
		do := func(method, path string, body any) (int, []byte) {
			var r io.Reader
			if body != nil {
				js, _ := json.Marshal(body)
				r = bytes.NewReader(js)
			}
			req, _ := http.NewRequest(method, srv.URL+path, r)
			req.Header.Set("Authorization", "Bearer "+coord)
			if body != nil {
				req.Header.Set("Content-Type", "application/json")
			}
			resp, err := testenv.CheckedClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b
		}
		st, body := do("POST", "/v1/episodes", referral(time.Hour))
		if st != 201 {
			t.Fatalf("open: %d %s", st, body)
		}
		var c created
		_ = json.Unmarshal(body, &c)
		st, body = do("GET", "/v1/episodes/"+c.ID, nil)
		var p struct {
			ID      string `json:"id"`
			Pending bool   `json:"pending"`
		}
		_ = json.Unmarshal(body, &p)
		if st != 200 || !p.Pending || p.ID != c.ID {
			t.Fatalf("pending episode: %d %s", st, body)
		}
		// No worker answers: after a bounded wait, 503 saying a retry is safe.
		st, body = do("POST", "/v1/episodes/"+c.ID+"/closure", map[string]any{"reason": "duplicate"})
		if st != 503 || !strings.Contains(string(body), "Idempotency-Key is safe") {
			t.Fatalf("closure without a worker: %d %s", st, body)
		}
	})

	t.Run("internal errors", func(t *testing.T) {
		t.Parallel()
		// A store whose pool is closed: every request that needs it fails.
		broken := closedStore(t)
		r := api.NewRouter(api.Deps{Store: broken, Temporal: env.Temporal})
		for _, path := range []string{"/v1/episodes", "/v1/episodes/" + uuid.NewString()} {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", path, nil)
			req.Header.Set("Authorization", "Bearer "+coord)
			r.ServeHTTP(rec, req)
			testenv.CheckOpenAPI(t, req, nil, rec.Code, rec.Header(), rec.Body.Bytes())
			if rec.Code < 500 {
				t.Fatalf("%s: status %d", path, rec.Code)
			}
			e := wantError(t, rec.Code, rec.Body.Bytes(), rec.Code, map[int]string{500: "internal", 503: "unavailable"}[rec.Code], "")
			if rec.Code == 500 && e.Error.Message != "internal error" {
				t.Fatalf("message %q", e.Error.Message)
			}
			noGoErrorText(t, rec.Body.Bytes())
			if rec.Header().Get("X-Request-ID") == "" {
				t.Fatalf("no request id to find the log line by")
			}
		}
		rec := httptest.NewRecorder()
		ready := httptest.NewRequest("GET", "/readyz", nil)
		r.ServeHTTP(rec, ready)
		testenv.CheckOpenAPI(t, ready, nil, rec.Code, rec.Header(), rec.Body.Bytes())
		if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"postgres":"unavailable"`) || !strings.Contains(rec.Body.String(), `"temporal":"ok"`) {
			t.Fatalf("readyz with a closed store: %d %s", rec.Code, rec.Body.String())
		}
		noGoErrorText(t, rec.Body.Bytes())
	})
}
