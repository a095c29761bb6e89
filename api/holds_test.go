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

// A hold belongs to the commissioner of the manager who placed it: a
// manager of another commissioner who sees the child (through an episode
// of their own) gets 403; the placing commissioner's managers and the
// provider's managers and admins may release it. The child's history
// shows who placed and released each hold.
func TestLegalHoldReleaseByCommissioner(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a := env.Commissioner
	b := env.AddCommissioner(t, "Bexton")
	aMgrUser, aMgr := env.AddUserIn(t, store.RoleManager, a.ID)
	aMgr2User, aMgr2 := env.AddUserIn(t, store.RoleManager, a.ID)
	_, bMgr := env.AddUserIn(t, store.RoleManager, b.ID)
	pMgrUser, pMgr := env.AddUserIn(t, store.RoleManager, "")
	pAdminUser, pAdmin := env.AddUserIn(t, store.RoleAdmin, "")

	// A child known to both commissioners, and one known to A only.
	shared, aOnly := uuid.NewString(), uuid.NewString()
	for _, c := range []struct{ child, commissioner string }{{shared, a.ID}, {shared, b.ID}, {aOnly, a.ID}} {
		if _, err := env.Store.Pool.Exec(ctx, `INSERT INTO children (id, first_name) VALUES ($1, 'Zebedee') ON CONFLICT DO NOTHING`, c.child); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		if _, err := env.Store.Pool.Exec(ctx, `INSERT INTO episodes (id, reference, child_id, status, returned_at, opened_at, offer_deadline, state, state_version, updated_at, commissioner_id)
			VALUES ($1, $2, $3, 'awaiting_contact', $4, $4, $4, '{}', 1, $4, $5)`, uuid.NewString(), "HW-"+uuid.NewString()[:8], c.child, now, c.commissioner); err != nil {
			t.Fatal(err)
		}
	}
	path := "/v1/children/" + shared + "/legal-hold"
	hold := map[string]string{"reason": "Police investigation"}
	place := func(token string) store.LegalHold {
		t.Helper()
		st, body := env.Do(t, "POST", path, token, hold)
		var h store.LegalHold
		if st != http.StatusCreated || json.Unmarshal(body, &h) != nil {
			t.Fatalf("place hold: %d %s", st, body)
		}
		return h
	}
	release := func(token string, want int) {
		t.Helper()
		st, body := env.Do(t, "DELETE", path, token, nil)
		if want == http.StatusForbidden {
			wantError(t, st, body, want, "forbidden", "id")
		} else if st != want {
			t.Fatalf("release hold: %d, want %d: %s", st, want, body)
		}
	}

	byA := place(aMgr)
	if byA.PlacedBy != aMgrUser.ID || byA.CommissionerID != a.ID {
		t.Fatalf("placed by %q for %q, want %s for %s", byA.PlacedBy, byA.CommissionerID, aMgrUser.ID, a.ID)
	}
	release(bMgr, http.StatusForbidden)
	// B's manager cannot tell whether A's other child even exists.
	st, body := env.Do(t, "DELETE", "/v1/children/"+aOnly+"/legal-hold", bMgr, nil)
	wantError(t, st, body, http.StatusNotFound, "not_found", "id")
	release(aMgr2, http.StatusOK)

	place(aMgr)
	release(pMgr, http.StatusOK)

	byProvider := place(pMgr)
	if byProvider.PlacedBy != pMgrUser.ID || byProvider.CommissionerID != "" {
		t.Fatalf("provider's hold placed by %q for %q, want %s for none", byProvider.PlacedBy, byProvider.CommissionerID, pMgrUser.ID)
	}
	release(aMgr, http.StatusForbidden)
	release(bMgr, http.StatusForbidden)
	release(pAdmin, http.StatusOK)

	// Every manager who sees the child reads its history, newest first.
	for _, token := range []string{aMgr, bMgr, pMgr} {
		st, body := env.Do(t, "GET", path, token, nil)
		var got struct {
			Holds []store.LegalHold `json:"holds"`
		}
		if st != http.StatusOK || json.Unmarshal(body, &got) != nil || len(got.Holds) != 3 {
			t.Fatalf("GET holds: %d %s", st, body)
		}
		newest, oldest := got.Holds[0], got.Holds[2]
		if newest.ID != byProvider.ID || newest.ReleasedBy != pAdminUser.ID || newest.ReleasedAt == nil ||
			oldest.ID != byA.ID || oldest.CommissionerID != a.ID || oldest.ReleasedBy != aMgr2User.ID {
			t.Errorf("history %s", body)
		}
	}
	st, body = env.Do(t, "GET", "/v1/children/"+aOnly+"/legal-hold", bMgr, nil)
	wantError(t, st, body, http.StatusNotFound, "not_found", "id")
}
