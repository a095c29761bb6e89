package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"homeward/internal/pglocal"
	"homeward/internal/testenv"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	code := m.Run()
	pglocal.StopTestClusters()
	os.Exit(code)
}

type errorBody struct {
	Error struct {
		Status  int    `json:"status"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Field  string `json:"field"`
			Reason string `json:"reason"`
		} `json:"details"`
	} `json:"error"`
}

// wantError checks that the answer is the error shape with status and code,
// naming field (when field is not empty) among its details.
func wantError(t *testing.T, status int, body []byte, wantStatus int, code, field string) errorBody {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", status, wantStatus, body)
	}
	var e errorBody
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, body)
	}
	if e.Error.Status != wantStatus || e.Error.Code != code || e.Error.Message == "" {
		t.Fatalf("error = %+v, want status %d code %s and a message", e.Error, wantStatus, code)
	}
	if e.Error.Details == nil {
		t.Fatalf("error details missing (want an array): %s", body)
	}
	if field != "" {
		found := false
		for _, d := range e.Error.Details {
			if d.Field == field {
				found = true
				if d.Reason == "" {
					t.Fatalf("detail for %s has no reason: %s", field, body)
				}
			}
		}
		if !found {
			t.Fatalf("no detail names field %q: %s", field, body)
		}
	}
	return e
}

func reason(e errorBody, field string) string {
	for _, d := range e.Error.Details {
		if d.Field == field {
			return d.Reason
		}
	}
	return ""
}

// referrals counts the referrals made, so that each is for a child of its
// own (another date of birth): known children with the same details would
// be possible matches.
var referrals atomic.Int64

// referral is a valid body for POST /v1/episodes, the child having
// returned ago.
func referral(ago time.Duration) map[string]any {
	now := time.Now().UTC().Truncate(time.Second)
	dob := time.Date(2010, 5, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(referrals.Add(1)))
	return map[string]any{
		"child": map[string]any{
			"first_name": "Sam", "last_name": "Testchild", "date_of_birth": dob.Format(time.DateOnly), "gender": "female",
		},
		"reported_missing_at": now.Add(-ago - 6*time.Hour).Format(time.RFC3339),
		"returned_at":         now.Add(-ago).Format(time.RFC3339),
		"police_reference":    "MP/24/0001",
		"risk_grade":          "medium",
		"category":            "missing",
		"looked_after":        true,
		"referral_source":     "police",
		"contact": map[string]any{
			"child_mobile": "07700900123",
			"address":      "1 Test Street, Testtown",
			"carers":       []any{map[string]any{"name": "Alex Carer", "relationship": "foster carer", "phone": "07700900456"}},
		},
		"preferences": map[string]any{"worker_gender": "female"},
	}
}

type created struct {
	ID            string    `json:"id"`
	Reference     string    `json:"reference"`
	Status        string    `json:"status"`
	ReturnedAt    time.Time `json:"returned_at"`
	OfferDeadline time.Time `json:"offer_deadline"`
}

func open(t testing.TB, env *testenv.Env, token string, body any, headers ...string) created {
	t.Helper()
	status, resp := env.Do(t, "POST", "/v1/episodes", token, body, headers...)
	if status != 201 {
		t.Fatalf("POST /v1/episodes: status %d: %s", status, resp)
	}
	var c created
	if err := json.Unmarshal(resp, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

type detail struct {
	ID        string `json:"id"`
	Reference string `json:"reference"`
	Status    string `json:"status"`
	Pending   bool   `json:"pending"`
	Child     struct {
		ID        string `json:"id"`
		FirstName string `json:"first_name"`
	} `json:"child"`
	AssignedInterviewer *struct {
		ID string `json:"id"`
	} `json:"assigned_interviewer"`
	Timeline []struct {
		Type    string `json:"type"`
		Summary string `json:"summary"`
	} `json:"timeline"`
}

// waitFor polls GET /v1/episodes/{id} until the projected episode
// satisfies ok.
func waitFor(t *testing.T, env *testenv.Env, token, id string, timeout time.Duration, what string, ok func(detail) bool) detail {
	t.Helper()
	var last detail
	var lastBody []byte
	deadline := time.Now().Add(timeout)
	for {
		status, body := env.Do(t, "GET", "/v1/episodes/"+id, token, nil)
		if status == 200 {
			last = detail{}
			if err := json.Unmarshal(body, &last); err != nil {
				t.Fatal(err)
			}
			lastBody = body
			if !last.Pending && ok(last) {
				return last
			}
		} else {
			lastBody = body
		}
		if time.Now().After(deadline) {
			t.Fatalf("episode %s: not %s after %s; last answer %d %s", id, what, timeout, status, lastBody)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func projected(d detail) bool { return true }

func status(s string) func(detail) bool { return func(d detail) bool { return d.Status == s } }

// accepted is the answer to a recorded outcome.
type accepted struct {
	EpisodeID string `json:"episode_id"`
	Recorded  string `json:"recorded"`
	Episode   struct {
		Status string `json:"status"`
	} `json:"episode"`
}

func post(t *testing.T, env *testenv.Env, token, path string, body any, wantStatus int) []byte {
	t.Helper()
	st, resp := env.Do(t, "POST", path, token, body)
	if st != wantStatus {
		t.Fatalf("POST %s: status %d, want %d: %s", path, st, wantStatus, resp)
	}
	return resp
}

// getWithHeaders is a GET that also returns the answer's headers.
func getWithHeaders(t *testing.T, baseURL, path, token string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", baseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func rfc(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func noGoErrorText(t *testing.T, body []byte) {
	t.Helper()
	for _, s := range []string{"store:", "closed pool", "rpc error", "dial tcp", "connection refused", "panic", "runtime error", "goroutine", "sqlstate"} {
		if strings.Contains(strings.ToLower(string(body)), s) {
			t.Fatalf("5xx body carries internal text %q: %s", s, body)
		}
	}
}
