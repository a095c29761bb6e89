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
