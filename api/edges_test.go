package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"homeward/api"
	"homeward/internal/testenv"
	"homeward/store"
)

var securityHeaders = map[string]string{
	"X-Content-Type-Options":    "nosniff",
	"X-Frame-Options":           "DENY",
	"Referrer-Policy":           "no-referrer",
	"Content-Security-Policy":   "default-src 'none'; frame-ancestors 'none'",
	"Cache-Control":             "no-store",
	"Strict-Transport-Security": "max-age=63072000; includeSubDomains",
}

func wantSecurityHeaders(t *testing.T, what string, h http.Header) {
	t.Helper()
	for k, v := range securityHeaders {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
}

// request sends one request to env and returns the response, body read.
func request(t *testing.T, env *testenv.Env, method, path, token string, body io.Reader, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, env.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := testenv.CheckedClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// TestEdges runs the API with the production defaults of EdgeConfig (10
// requests/s, burst 40) and one allowed CORS origin.
func TestEdges(t *testing.T) {
	const origin = "https://app.example.org"
	env := testenv.Start(t, testenv.Options{Edges: &api.EdgeConfig{CORSOrigins: []string{origin}}})
	_, coord := env.AddUser(t, store.RoleCoordinator)

	t.Run("security headers on every response", func(t *testing.T) {
		cases := []struct {
			method, path, token string
			body                io.Reader
			want                int
		}{
			{"GET", "/healthz", "", nil, 200},
			{"GET", "/v1/episodes", coord, nil, 200},
			{"GET", "/v1/episodes", "", nil, 401},
			{"GET", "/nowhere", "", nil, 404},
			{"DELETE", "/v1/episodes", coord, nil, 405},
			{"POST", "/v1/episodes", coord, strings.NewReader(`{"nope": 1}`), 400},
		}
		for _, tc := range cases {
			resp, body := request(t, env, tc.method, tc.path, tc.token, tc.body, "Content-Type", "application/json")
			if resp.StatusCode != tc.want {
				t.Fatalf("%s %s: status %d, want %d: %s", tc.method, tc.path, resp.StatusCode, tc.want, body)
			}
			wantSecurityHeaders(t, fmt.Sprintf("%s %s (%d)", tc.method, tc.path, tc.want), resp.Header)
		}
	})

	t.Run("CORS only for the configured origin", func(t *testing.T) {
		resp, body := request(t, env, "OPTIONS", "/v1/episodes", "", nil,
			"Origin", origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization, content-type, idempotency-key, x-namespace")
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("preflight: status %d: %s", resp.StatusCode, body)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
			t.Fatalf("preflight: Access-Control-Allow-Origin = %q", got)
		}
		allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"authorization", "content-type", "idempotency-key", "x-namespace"} {
			if !strings.Contains(allowed, h) {
				t.Errorf("preflight: Access-Control-Allow-Headers %q lacks %s", allowed, h)
			}
		}
		if m := resp.Header.Get("Access-Control-Allow-Methods"); !strings.Contains(m, "POST") || !strings.Contains(m, "GET") {
			t.Errorf("preflight: Access-Control-Allow-Methods = %q", m)
		}
		if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("credentials must not be allowed: bearer tokens only")
		}
		wantSecurityHeaders(t, "preflight", resp.Header)

		resp, _ = request(t, env, "GET", "/v1/episodes", coord, nil, "Origin", origin)
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != origin {
			t.Fatalf("GET from the allowed origin: %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Origin") {
			t.Errorf("Vary = %q, want Origin", resp.Header.Get("Vary"))
		}

		for _, bad := range []string{"https://evil.example.org", "https://app.example.org.evil.org", "http://app.example.org", "https://APP.example.org", "null"} {
			resp, _ := request(t, env, "OPTIONS", "/v1/episodes", "", nil, "Origin", bad, "Access-Control-Request-Method", "POST")
			if resp.StatusCode == http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "" ||
				resp.Header.Get("Access-Control-Allow-Methods") != "" {
				t.Errorf("preflight from %s: status %d, ACAO %q", bad, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
			}
			resp, _ = request(t, env, "GET", "/v1/episodes", coord, nil, "Origin", bad)
			if resp.Header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("GET from %s: ACAO %q", bad, resp.Header.Get("Access-Control-Allow-Origin"))
			}
		}
	})

	t.Run("body limits, unknown fields and strict types hold for every body", func(t *testing.T) {
		_, bc := env.AddUser(t, store.RoleCoordinator)
		iv, ivToken := env.AddUser(t, store.RoleInterviewer)
		ep := open(t, env, bc, referral(time.Hour))
		post(t, env, bc, "/v1/episodes/"+ep.ID+"/assignment", map[string]any{"interviewer_id": iv.ID}, 200)
		waitFor(t, env, ivToken, ep.ID, 30*time.Second, "assigned", func(d detail) bool {
			return d.AssignedInterviewer != nil && d.AssignedInterviewer.ID == iv.ID
		})
		tokens := map[string]string{"coordinator": bc, "interviewer": ivToken}
		huge := `{"notes": "` + strings.Repeat("x", 1<<20) + `"}`
		routes := []struct {
			path, role, wrongType, wrongTypeField string
		}{
			{"/v1/episodes", "coordinator", `{"looked_after": "yes"}`, "looked_after"},
			{"/v1/episodes/" + ep.ID + "/assignment", "coordinator", `{"interviewer_id": 5}`, "interviewer_id"},
			{"/v1/episodes/" + ep.ID + "/contact-attempts", "interviewer", `{"method": 1}`, "method"},
			{"/v1/episodes/" + ep.ID + "/interview", "interviewer", `{"venue": []}`, "venue"},
			{"/v1/episodes/" + ep.ID + "/agreement", "interviewer", `{"confidentiality_explained": "yes"}`, "confidentiality_explained"},
			{"/v1/episodes/" + ep.ID + "/follow-up", "interviewer", `{"actions_taken": "x"}`, "actions_taken"},
			{"/v1/episodes/" + ep.ID + "/action-plan", "interviewer", `{"actions": "x"}`, "actions"},
			{"/v1/episodes/" + ep.ID + "/carers-account", "interviewer", `{"given_by": 5}`, "given_by"},
			{"/v1/episodes/" + ep.ID + "/closure", "coordinator", `{"reason": {}}`, "reason"},
		}
		for _, r := range routes {
			token := tokens[r.role]
			json := []string{"Content-Type", "application/json"}
			resp, body := request(t, env, "POST", r.path, token, strings.NewReader(huge), json...)
			wantError(t, resp.StatusCode, body, 413, "payload_too_large", "body")
			// Without a Content-Length (chunked), the limit still holds.
			resp, body = request(t, env, "POST", r.path, token, io.MultiReader(strings.NewReader(huge)), json...)
			wantError(t, resp.StatusCode, body, 413, "payload_too_large", "body")
			resp, body = request(t, env, "POST", r.path, token, strings.NewReader(`{"bogus_field": 1}`), json...)
			wantError(t, resp.StatusCode, body, 400, "invalid_request", "bogus_field")
			resp, body = request(t, env, "POST", r.path, token, strings.NewReader(r.wrongType), json...)
			wantError(t, resp.StatusCode, body, 400, "invalid_request", r.wrongTypeField)
			resp, body = request(t, env, "POST", r.path, token, strings.NewReader(`{} {}`), json...)
			wantError(t, resp.StatusCode, body, 400, "invalid_request", "body")
			resp, body = request(t, env, "POST", r.path, token, strings.NewReader(`{}`), "Content-Type", "text/plain")
			wantError(t, resp.StatusCode, body, 415, "unsupported_media_type", "Content-Type")
		}
		// NUL cannot be stored in PostgreSQL text: refused, naming the field,
		// before it reaches the store or the workflow.
		resp, body := request(t, env, "POST", "/v1/episodes/"+ep.ID+"/contact-attempts", ivToken,
			strings.NewReader(`{"method": "phone", "outcome": "no_answer", "attempted_at": "`+rfc(time.Now())+`", "notes": "a\u0000b"}`),
			"Content-Type", "application/json")
		e := wantError(t, resp.StatusCode, body, 400, "invalid_request", "notes")
		if !strings.Contains(reason(e, "notes"), "NUL") {
			t.Fatalf("reason = %q", reason(e, "notes"))
		}
		ref := referral(time.Hour)
		ref["child"].(map[string]any)["first_name"] = "Sam\u0000"
		js, _ := json.Marshal(ref)
		js = bytes.Replace(js, []byte(`\\u0000`), []byte(`\u0000`), 1)
		resp, body = request(t, env, "POST", "/v1/episodes", bc, bytes.NewReader(js), "Content-Type", "application/json")
		wantError(t, resp.StatusCode, body, 400, "invalid_request", "child.first_name")
	})

	// Instants whose UTC form leaves years 1 to 9999 cannot be stored or
	// sent on, and query parameters must be UTF-8 without NUL: 400 naming
	// the field, in every body and on every route.
	t.Run("instants out of range and bad query parameters are 400", func(t *testing.T) {
		_, bc := env.AddUser(t, store.RoleCoordinator)
		_, mgr := env.AddUser(t, store.RoleManager)
		iv, ivToken := env.AddUser(t, store.RoleInterviewer)
		ep := open(t, env, bc, referral(time.Hour))
		post(t, env, bc, "/v1/episodes/"+ep.ID+"/assignment", map[string]any{"interviewer_id": iv.ID}, 200)
		waitFor(t, env, ivToken, ep.ID, 30*time.Second, "assigned", func(d detail) bool {
			return d.AssignedInterviewer != nil && d.AssignedInterviewer.ID == iv.ID
		})
		for _, instant := range []string{"9999-12-31T23:59:59-23:59", "0000-01-01T00:00:00+01:00", "0000-06-01T00:00:00Z"} {
			ref := referral(time.Hour)
			ref["returned_at"] = instant
			outOfRange := func(st int, body []byte, field string) {
				t.Helper()
				if r := reason(wantError(t, st, body, 400, "invalid_request", field), field); !strings.Contains(r, "9999") {
					t.Fatalf("%s %s: reason %q does not give the years allowed", field, instant, r)
				}
			}
			st, body := env.Do(t, "POST", "/v1/episodes", bc, ref)
			outOfRange(st, body, "returned_at")
			ref = referral(time.Hour)
			ref["reported_missing_at"] = instant
			st, body = env.Do(t, "POST", "/v1/episodes", bc, ref)
			outOfRange(st, body, "reported_missing_at")
			st, body = env.Do(t, "POST", "/v1/episodes/"+ep.ID+"/contact-attempts", ivToken,
				map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": instant})
			outOfRange(st, body, "attempted_at")
			st, body = env.Do(t, "GET", "/v1/audit?from="+url.QueryEscape(instant), mgr, nil)
			outOfRange(st, body, "from")
		}
		for _, q := range []struct{ path, token, field string }{
			{"/v1/audit?user_id=%00", mgr, "user_id"},
			{"/v1/audit?user_id=a%ffb", mgr, "user_id"},
			{"/v1/episodes?status=%ff", bc, "status"},
			{"/v1/episodes?status=awaiting_contact&reference=%00", bc, "reference"},
			{"/v1/escalations?episode_id=%c3%28", mgr, "episode_id"},
			{"/v1/episodes/" + ep.ID + "?x=%00", bc, "x"},
		} {
			st, body := env.Do(t, "GET", q.path, q.token, nil)
			wantError(t, st, body, 400, "invalid_request", q.field)
		}
		// A name that is not UTF-8 is not echoed: the query is named.
		st, body := env.Do(t, "GET", "/v1/episodes?%ff=1", bc, nil)
		wantError(t, st, body, 400, "invalid_request", "query")
	})

	t.Run("per-user rate limit answers 429 with Retry-After", func(t *testing.T) {
		_, token := env.AddUser(t, store.RoleCoordinator)
		_, other := env.AddUser(t, store.RoleCoordinator)
		var limited *http.Response
		var limitedBody []byte
		for i := 0; i < 60 && limited == nil; i++ {
			resp, body := request(t, env, "GET", "/v1/episodes", token, nil)
			switch resp.StatusCode {
			case 200:
			case 429:
				if i < 40 {
					t.Fatalf("limited after %d requests; the burst is 40", i)
				}
				limited, limitedBody = resp, body
			default:
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
		}
		if limited == nil {
			t.Fatalf("60 requests at once were never limited")
		}
		wantError(t, limited.StatusCode, limitedBody, 429, "too_many_requests", "Authorization")
		if s, err := strconv.Atoi(limited.Header.Get("Retry-After")); err != nil || s < 1 || s > 2 {
			t.Fatalf("Retry-After = %q, want 1 or 2 seconds", limited.Header.Get("Retry-After"))
		}
		wantSecurityHeaders(t, "429", limited.Header)
		// Another user is not limited by the first one's requests.
		if resp, body := request(t, env, "GET", "/v1/episodes", other, nil); resp.StatusCode != 200 {
			t.Fatalf("other user: status %d: %s", resp.StatusCode, body)
		}
		// The bucket refills at 10 a second.
		time.Sleep(300 * time.Millisecond)
		if resp, body := request(t, env, "GET", "/v1/episodes", token, nil); resp.StatusCode != 200 {
			t.Fatalf("after waiting: status %d: %s", resp.StatusCode, body)
		}
	})
}

// TestTrustedProxies: X-Forwarded-For sets the client IP (which the audit
// trail records) only when the peer is a configured trusted proxy.
func TestTrustedProxies(t *testing.T) {
	clientIP := func(edges api.EdgeConfig, remote string, headers ...string) string {
		r := api.NewRouter(api.Deps{Edges: edges})
		r.GET("/test/client-ip", func(c *gin.Context) { c.String(200, c.ClientIP()) })
		req := httptest.NewRequest("GET", "/test/client-ip", nil)
		req.RemoteAddr = remote
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		return w.Body.String()
	}
	forged := []string{"X-Forwarded-For", "203.0.113.9", "X-Real-IP", "203.0.113.10"}
	if got := clientIP(api.EdgeConfig{}, "10.1.2.3:4567", forged...); got != "10.1.2.3" {
		t.Errorf("no trusted proxies: ClientIP = %s, want the peer 10.1.2.3", got)
	}
	if got := clientIP(api.EdgeConfig{}, "127.0.0.1:4567", forged...); got != "127.0.0.1" {
		t.Errorf("no trusted proxies, loopback peer: ClientIP = %s, want 127.0.0.1", got)
	}
	trusted := api.EdgeConfig{TrustedProxies: []string{"10.0.0.0/8", "192.0.2.1"}}
	if got := clientIP(trusted, "10.1.2.3:4567", "X-Forwarded-For", "203.0.113.9"); got != "203.0.113.9" {
		t.Errorf("trusted proxy (CIDR): ClientIP = %s, want the forwarded 203.0.113.9", got)
	}
	if got := clientIP(trusted, "192.0.2.1:4567", "X-Forwarded-For", "198.51.100.7, 203.0.113.9"); got != "203.0.113.9" {
		t.Errorf("trusted proxy (IP): ClientIP = %s, want the address the proxy saw, 203.0.113.9", got)
	}
	if got := clientIP(trusted, "192.0.2.99:4567", forged...); got != "192.0.2.99" {
		t.Errorf("untrusted peer with proxies configured: ClientIP = %s, want the peer", got)
	}
}
