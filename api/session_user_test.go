package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"homeward/api"
	"homeward/internal/testenv"
	"homeward/store"
)

// A request from the network never carries a session user: only the web
// interface, in-process, can set one, so the network still needs a token.
func TestSessionUserOnlyInProcess(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	coord, _ := env.AddUser(t, store.RoleCoordinator)

	st, body := env.Do(t, "GET", "/v1/episodes", "", nil, "Cookie", "homeward_session=anything")
	wantError(t, st, body, 401, "unauthorized", "Authorization")

	req := httptest.NewRequest("GET", "/v1/episodes", nil)
	req = req.WithContext(api.WithSessionUser(req.Context(), coord))
	rec := httptest.NewRecorder()
	env.API.Config.Handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("in-process request with the session user: %d %s", rec.Code, rec.Body)
	}

	req = httptest.NewRequest("GET", "/v1/episodes", nil)
	req = req.WithContext(api.WithSessionUser(req.Context(), store.User{}))
	rec = httptest.NewRecorder()
	env.API.Config.Handler.ServeHTTP(rec, req)
	wantError(t, rec.Code, rec.Body.Bytes(), 401, "unauthorized", "Authorization")
}

// The list's open and commissioner filters name their field when malformed.
func TestListEpisodesOpenAndCommissionerFilters(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	st, body := env.Do(t, "GET", "/v1/episodes?open=maybe", coord, nil)
	wantError(t, st, body, 400, "invalid_request", "open")
	st, body = env.Do(t, "GET", "/v1/episodes?commissioner=leeds", coord, nil)
	wantError(t, st, body, 400, "invalid_request", "commissioner")
	st, body = env.Do(t, "GET", "/v1/episodes?open=true&commissioner="+env.Commissioner.ID, coord, nil)
	if st != 200 {
		t.Fatalf("open episodes of the commissioner: %d %s", st, body)
	}
}
