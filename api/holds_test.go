package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"homeward/internal/testenv"
	"homeward/store"
)

func TestLegalHoldRoutes(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, manager := env.AddUser(t, store.RoleManager)
	_, coordinator := env.AddUser(t, store.RoleCoordinator)
	other := env.AddCommissioner(t, "Other commissioner")
	_, otherManager := env.AddUserIn(t, store.RoleManager, other.ID)

	// A child whose only episode ended long past the 25th birthday.
	child, ep := uuid.NewString(), uuid.NewString()
	ended := time.Now().UTC().AddDate(-20, 0, 0)
	if _, err := env.Store.Pool.Exec(ctx, `INSERT INTO children (id, first_name, date_of_birth) VALUES ($1, 'Zebedee', '1980-01-01')`, child); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Store.Pool.Exec(ctx, `INSERT INTO episodes (id, reference, child_id, status, returned_at, opened_at, offer_deadline, ended_at, state, state_version, updated_at, commissioner_id)
		VALUES ($1, 'HW-HOLD', $2, 'completed', $3, $3, $3, $3, '{}', 1, $3, $4)`, ep, child, ended, env.Commissioner.ID); err != nil {
		t.Fatal(err)
	}
	path := "/v1/children/" + child + "/legal-hold"
	hold := map[string]string{"reason": "Police investigation"}

	status, body := env.Do(t, "POST", path, coordinator, hold)
	wantError(t, status, body, http.StatusForbidden, "forbidden", "role")
	status, body = env.Do(t, "POST", path, manager, map[string]string{"reason": "  "})
	wantError(t, status, body, http.StatusBadRequest, "invalid_request", "reason")
	status, body = env.Do(t, "POST", "/v1/children/"+uuid.NewString()+"/legal-hold", manager, hold)
	wantError(t, status, body, http.StatusNotFound, "not_found", "id")
	status, body = env.Do(t, "DELETE", path, manager, nil)
	wantError(t, status, body, http.StatusConflict, "conflict", "id")
	// Another commissioner's manager cannot tell the child exists.
	status, body = env.Do(t, "POST", path, otherManager, hold)
	wantError(t, status, body, http.StatusNotFound, "not_found", "id")

	status, body = env.Do(t, "POST", path, manager, hold)
	if status != http.StatusCreated {
		t.Fatalf("place hold: %d %s", status, body)
	}
	var placed store.LegalHold
	if err := json.Unmarshal(body, &placed); err != nil || placed.ChildID != child || placed.Reason != "Police investigation" || placed.ReleasedAt != nil {
		t.Fatalf("placed %+v (%v)", placed, err)
	}
	status, body = env.Do(t, "POST", path, manager, hold)
	wantError(t, status, body, http.StatusConflict, "conflict", "id")

	// The hold placed through the API keeps the child's expired records.
	policy := store.DefaultRetentionPolicy()
	if got, err := env.Store.PurgeExpired(ctx, time.Now(), policy, 10, nil); err != nil || got.EpisodesPurged != 0 {
		t.Fatalf("purge under hold: %+v, %v; want nothing purged", got, err)
	}

	status, body = env.Do(t, "DELETE", path, manager, nil)
	if status != http.StatusOK {
		t.Fatalf("release hold: %d %s", status, body)
	}
	var released store.LegalHold
	if err := json.Unmarshal(body, &released); err != nil || released.ID != placed.ID || released.ReleasedAt == nil {
		t.Fatalf("released %+v (%v)", released, err)
	}
	if got, err := env.Store.PurgeExpired(ctx, time.Now(), policy, 10, nil); err != nil || got.EpisodesPurged != 1 || got.ChildrenRemoved != 1 {
		t.Fatalf("purge after release: %+v, %v; want the episode and child purged", got, err)
	}
	// Purged: the child is no longer known.
	status, body = env.Do(t, "POST", path, manager, hold)
	wantError(t, status, body, http.StatusNotFound, "not_found", "id")
}
