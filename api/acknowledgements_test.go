package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"homeward/internal/testenv"
	"homeward/store"
)

type escalationItem struct {
	ID              int64  `json:"id"`
	EpisodeID       string `json:"episode_id"`
	Kind            string `json:"kind"`
	Acknowledgement *struct {
		By struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"by"`
		Note string    `json:"note"`
		At   time.Time `json:"at"`
	} `json:"acknowledgement"`
}

// listedEscalations lists the escalations token sees, in the API's order.
func listedEscalations(t *testing.T, env *testenv.Env, token, query string) []escalationItem {
	t.Helper()
	st, body := env.Do(t, "GET", "/v1/escalations"+query, token, nil)
	if st != 200 {
		t.Fatalf("GET /v1/escalations%s: %d %s", query, st, body)
	}
	var got struct {
		Escalations []escalationItem `json:"escalations"`
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	return got.Escalations
}

// escalationOf waits for the deadline warning of episode ep and returns it.
func escalationOf(t *testing.T, env *testenv.Env, token, ep string) escalationItem {
	t.Helper()
	var x []escalationItem
	testenv.Eventually(t, 10*time.Second, "the deadline warning of "+ep+" listed", func() bool {
		x = listedEscalations(t, env, token, "?episode_id="+ep)
		return len(x) == 1
	})
	return x[0]
}

func acknowledge(t *testing.T, env *testenv.Env, token string, id int64, key, note string) (int, []byte) {
	t.Helper()
	headers := []string{}
	if key != "" {
		headers = append(headers, "Idempotency-Key", key)
	}
	return env.Do(t, "POST", "/v1/escalations/"+strconv.FormatInt(id, 10)+"/acknowledgement", token, map[string]any{"note": note}, headers...)
}

// A manager acknowledges an escalation with a note: once, whoever tries
// next; a retry with the same key gets the first answer; the list shows
// the unacknowledged first and the episode shows who is dealing with it;
// the note is audited by action, never logged.
func TestEscalationAcknowledgement(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	b := env.AddCommissioner(t, "Bexton")
	aMgrUser, aMgr := env.AddUser(t, store.RoleManager)
	_, aCoord := env.AddUser(t, store.RoleCoordinator)
	_, bMgr := env.AddUserIn(t, store.RoleManager, b.ID)
	_, pAdmin := env.AddUserIn(t, store.RoleAdmin, "")

	// Returned 60 hours ago: each episode's deadline warning escalates at once.
	older := open(t, env, aCoord, referral(60*time.Hour)).ID
	olderX := escalationOf(t, env, aMgr, older)
	newer := open(t, env, aCoord, referral(60*time.Hour)).ID
	newerX := escalationOf(t, env, aMgr, newer)
	if got := listedEscalations(t, env, aMgr, ""); len(got) != 2 || got[0].ID != newerX.ID || got[0].Acknowledgement != nil {
		t.Fatalf("before any acknowledgement: %+v, want the newer first, unacknowledged", got)
	}

	const note = "Priya Shah is calling the placement this afternoon"
	// Refusals first: none of them records anything.
	st, body := acknowledge(t, env, aMgr, newerX.ID, "", note)
	wantError(t, st, body, 400, "invalid_request", "Idempotency-Key")
	st, body = acknowledge(t, env, aMgr, newerX.ID, "k-blank", "   ")
	wantError(t, st, body, 400, "invalid_request", "note")
	st, body = acknowledge(t, env, aMgr, newerX.ID, "k-long", strings.Repeat("n", 2001))
	if e := wantError(t, st, body, 400, "invalid_request", "note"); reason(e, "note") != "must be at most 2000 characters" {
		t.Errorf("note reason %q", reason(e, "note"))
	}
	st, body = acknowledge(t, env, bMgr, newerX.ID, "k-b", note)
	wantError(t, st, body, 404, "not_found", "id")
	st, body = acknowledge(t, env, aCoord, newerX.ID, "k-c", note)
	wantError(t, st, body, 403, "forbidden", "role")
	st, body = acknowledge(t, env, aMgr, 1<<40, "k-none", note)
	wantError(t, st, body, 404, "not_found", "id")

	st, first := acknowledge(t, env, aMgr, newerX.ID, "k1", note)
	if st != 201 {
		t.Fatalf("acknowledge: %d %s", st, first)
	}
	var ack struct {
		EscalationID    int64 `json:"escalation_id"`
		Acknowledgement struct {
			By   struct{ ID, Name string } `json:"by"`
			Note string                    `json:"note"`
			At   time.Time                 `json:"at"`
		} `json:"acknowledgement"`
	}
	if err := json.Unmarshal(first, &ack); err != nil {
		t.Fatal(err)
	}
	if a := ack.Acknowledgement; ack.EscalationID != newerX.ID || a.By.ID != aMgrUser.ID || a.By.Name != aMgrUser.Name ||
		a.Note != note || time.Since(a.At) > time.Minute {
		t.Fatalf("answer %s, want the escalation, %s (%s), the note and now", first, aMgrUser.ID, aMgrUser.Name)
	}

	// The same key and note: the first answer, byte for byte.
	if st, again := acknowledge(t, env, aMgr, newerX.ID, "k1", note); st != 201 || string(again) != string(first) {
		t.Errorf("retry with the same key: %d %s, want 201 %s", st, again, first)
	}
	// The same key for another note or another escalation: 422.
	st, body = acknowledge(t, env, aMgr, newerX.ID, "k1", "another note")
	wantError(t, st, body, 422, "unprocessable", "Idempotency-Key")
	st, body = acknowledge(t, env, aMgr, olderX.ID, "k1", note)
	wantError(t, st, body, 422, "unprocessable", "Idempotency-Key")
	// Anyone else, or the same manager under a new key: 409 naming id and who.
	for who, token := range map[string]string{"the same manager": aMgr, "the provider's admin": pAdmin} {
		st, body = acknowledge(t, env, token, newerX.ID, "k2-"+who, "me too")
		if e := wantError(t, st, body, 409, "conflict", "id"); !strings.Contains(e.Error.Message, aMgrUser.Name) {
			t.Errorf("%s: message %q does not say who acknowledged it", who, e.Error.Message)
		}
	}

	// The list: the unacknowledged first, then newest; the filter.
	got := listedEscalations(t, env, aMgr, "")
	if len(got) != 2 || got[0].ID != olderX.ID || got[1].ID != newerX.ID {
		t.Fatalf("after the acknowledgement: %+v, want the older (unacknowledged) first", got)
	}
	if a := got[1].Acknowledgement; a == nil || a.Note != note || a.By.ID != aMgrUser.ID || a.By.Name != aMgrUser.Name || !a.At.Equal(ack.Acknowledgement.At) {
		t.Errorf("listed acknowledgement %+v", a)
	}
	if got := listedEscalations(t, env, aMgr, "?acknowledged=false"); len(got) != 1 || got[0].ID != olderX.ID {
		t.Errorf("acknowledged=false: %+v", got)
	}
	if got := listedEscalations(t, env, aMgr, "?acknowledged=true"); len(got) != 1 || got[0].ID != newerX.ID {
		t.Errorf("acknowledged=true: %+v", got)
	}
	st, body = env.Do(t, "GET", "/v1/escalations?acknowledged=maybe", aMgr, nil)
	wantError(t, st, body, 400, "invalid_request", "acknowledged")
	if got := listedEscalations(t, env, bMgr, ""); len(got) != 0 {
		t.Errorf("B's manager lists A's escalations: %+v", got)
	}

	// The episode shows it to its team.
	st, body = env.Do(t, "GET", "/v1/episodes/"+newer, aCoord, nil)
	if st != 200 {
		t.Fatalf("GET episode: %d %s", st, body)
	}
	var d struct {
		Escalations []escalationItem `json:"escalations"`
	}
	_ = json.Unmarshal(body, &d)
	if len(d.Escalations) != 1 || d.Escalations[0].ID != newerX.ID || d.Escalations[0].Acknowledgement == nil ||
		d.Escalations[0].Acknowledgement.Note != note || d.Escalations[0].Acknowledgement.By.Name != aMgrUser.Name {
		t.Errorf("episode escalations %s", body)
	}

	// Audited against the episode; the note is in no log line.
	rows, err := env.Store.ListAudit(context.Background(), store.AuditFilter{UserID: aMgrUser.ID, Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]bool{}
	for _, r := range rows {
		if r.Action == "escalation.acknowledge" && r.Outcome != "attempt" {
			outcomes[r.Outcome+" "+r.EpisodeID] = true
		}
	}
	for _, want := range []string{"accepted " + newer, "refused " + newer, "invalid " + newer, "invalid " + older} {
		if !outcomes[want] {
			t.Errorf("no escalation.acknowledge audit row %q among %v", want, outcomes)
		}
	}
	if logs := env.Logs(); strings.Contains(logs, "Priya") || strings.Contains(logs, "placement") {
		t.Errorf("the note is in the logs")
	}
}

// Row-level security is what holds the write: as the application role,
// another commissioner's manager cannot insert an acknowledgement of A's
// escalation even naming its id, nor a coordinator one of their own.
func TestEscalationAcknowledgementRowLevelSecurity(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	b := env.AddCommissioner(t, "Bexton")
	_, aCoord := env.AddUser(t, store.RoleCoordinator)
	aCoordUser, _ := env.AddUser(t, store.RoleCoordinator)
	aMgrUser, aMgr := env.AddUser(t, store.RoleManager)
	bMgrUser, _ := env.AddUserIn(t, store.RoleManager, b.ID)
	ep := open(t, env, aCoord, referral(60*time.Hour)).ID
	x := escalationOf(t, env, aMgr, ep)

	ctx := context.Background()
	insert := func(u store.User, by string) error {
		return pgx.BeginFunc(ctx, env.Store.Pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET LOCAL ROLE "+store.AppRole); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `SELECT set_config('homeward.user_id', $1, true),
				set_config('homeward.commissioner_id', $2, true), set_config('homeward.role', $3, true)`,
				u.ID, u.CommissionerID, string(u.Role)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO escalation_acknowledgements
				(escalation_id, acknowledged_by, note, acknowledged_at, key_id, request_hash)
				VALUES ($1, $2, 'n', now(), $3, 'h')`, x.ID, by, "key-"+u.ID)
			return err
		})
	}
	for _, u := range []store.User{bMgrUser, aCoordUser} {
		var pg *pgconn.PgError
		if err := insert(u, u.ID); !errors.As(err, &pg) || pg.Code != "42501" {
			t.Errorf("%s %s inserting: err = %v, want a row-level security refusal", u.Role, u.ID, err)
		}
	}
	// In another's name: refused too.
	var pg *pgconn.PgError
	if err := insert(aMgrUser, bMgrUser.ID); !errors.As(err, &pg) || pg.Code != "42501" {
		t.Errorf("A's manager in B's manager's name: err = %v, want a row-level security refusal", err)
	}
	if err := insert(aMgrUser, aMgrUser.ID); err != nil {
		t.Fatalf("A's manager inserting: %v", err)
	}
	_, _, err := env.Store.AcknowledgeEscalation(ctx, store.CallerFor(bMgrUser),
		store.Acknowledgement{EscalationID: x.ID, Note: "n", At: time.Now(), KeyID: "k", RequestHash: "h"})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the store for B's manager: err = %v, want ErrNotFound", err)
	}
}
