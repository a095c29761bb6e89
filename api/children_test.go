package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"homeward/internal/testenv"
	"homeward/store"
)

type childDetail struct {
	ID                    string `json:"id"`
	FirstName             string `json:"first_name"`
	LocalAuthorityChildID string `json:"local_authority_child_id"`
	Worker                *struct {
		ID string `json:"id"`
	} `json:"worker"`
	Preferences struct {
		Language     string   `json:"language"`
		Interpreter  bool     `json:"interpreter"`
		SafeVenues   []string `json:"safe_venues"`
		DoNotContact []string `json:"do_not_contact"`
	} `json:"preferences"`
	Episodes []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	} `json:"episodes"`
	EpisodeCounts struct {
		Last30Days  int `json:"last_30_days"`
		Last365Days int `json:"last_365_days"`
	} `json:"episode_counts"`
	PlacesAndPeople []struct {
		EpisodeID     string `json:"episode_id"`
		WhereChildWas string `json:"where_child_was"`
		WhoWith       string `json:"who_with"`
	} `json:"places_and_people"`
}

// referralFor is a referral for the child described.
func referralFor(child map[string]any) map[string]any {
	ref := referral(time.Hour)
	ref["child"] = child
	return ref
}

func getChild(t *testing.T, env *testenv.Env, token, id string) childDetail {
	t.Helper()
	st, body := env.Do(t, "GET", "/v1/children/"+id, token, nil)
	if st != 200 {
		t.Fatalf("GET child: %d %s", st, body)
	}
	var d childDetail
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// projectedChild waits for the episode's records and returns its child.
func projectedChild(t *testing.T, env *testenv.Env, token, episodeID string) string {
	t.Helper()
	return waitFor(t, env, token, episodeID, 20*time.Second, "projected", projected).Child.ID
}

// A referral whose child may be a known one is answered 409 with the
// candidates; the coordinator chooses: new_child makes a second child,
// child.id joins the known one. Nothing is merged without being asked.
func TestReferralPossibleMatch(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	jordan := map[string]any{"first_name": "Jordan", "last_name": "Example", "date_of_birth": "2011-03-04"}

	first := projectedChild(t, env, coord, open(t, env, coord, referralFor(jordan)).ID)

	// The same details (another case of the name): a possible match.
	again := map[string]any{"first_name": "JORDAN", "last_name": "example", "date_of_birth": "2011-03-04"}
	st, body := env.Do(t, "POST", "/v1/episodes", coord, referralFor(again))
	wantError(t, st, body, http.StatusConflict, "conflict", "child")
	var conflict struct {
		Candidates []struct {
			ID        string `json:"id"`
			FirstName string `json:"first_name"`
		} `json:"candidates"`
	}
	if err := json.Unmarshal(body, &conflict); err != nil || len(conflict.Candidates) != 1 ||
		conflict.Candidates[0].ID != first || conflict.Candidates[0].FirstName != "Jordan" {
		t.Fatalf("candidates %+v (%v): %s", conflict.Candidates, err, body)
	}
	if got := childrenNamed(t, env, "Jordan"); got != 1 {
		t.Fatalf("%d children named Jordan after the 409, want 1", got)
	}

	// Asked for: a second child.
	ref := referralFor(again)
	ref["new_child"] = true
	second := projectedChild(t, env, coord, open(t, env, coord, ref).ID)
	if second == first {
		t.Fatal("new_child joined the known child")
	}
	// The same initial and last name on the same date of birth: both are candidates now.
	st, body = env.Do(t, "POST", "/v1/episodes", coord, referralFor(map[string]any{
		"first_name": "Jo", "last_name": "Example", "date_of_birth": "2011-03-04"}))
	wantError(t, st, body, http.StatusConflict, "conflict", "child")
	if err := json.Unmarshal(body, &conflict); err != nil || len(conflict.Candidates) != 2 {
		t.Fatalf("candidates %+v: %s", conflict.Candidates, body)
	}
	// Another date of birth is not a match.
	open(t, env, coord, referralFor(map[string]any{"first_name": "Jordan", "last_name": "Example", "date_of_birth": "2012-03-04"}))

	// The coordinator names the first child: the episode joins it.
	ep := open(t, env, coord, referralFor(map[string]any{"id": first})).ID
	if got := projectedChild(t, env, coord, ep); got != first {
		t.Fatalf("child.id %s gave child %s", first, got)
	}
	d := getChild(t, env, coord, first)
	if len(d.Episodes) != 2 || d.EpisodeCounts.Last30Days != 2 || d.EpisodeCounts.Last365Days != 2 {
		t.Fatalf("first child's episodes %+v counts %+v", d.Episodes, d.EpisodeCounts)
	}
	st, body = env.Do(t, "POST", "/v1/episodes", coord, func() map[string]any {
		r := referralFor(map[string]any{"id": first})
		r["new_child"] = true
		return r
	}())
	wantError(t, st, body, http.StatusBadRequest, "invalid_request", "new_child")
}

// childrenNamed counts the children with first name name, in any case.
func childrenNamed(t *testing.T, env *testenv.Env, name string) int {
	t.Helper()
	var n int
	if err := env.Store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM children WHERE lower(first_name) = lower($1)", name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A repeat referral with the local authority's child id joins the child,
// whatever the details say; another commissioner's child with the same id
// is another child.
func TestReferralJoinsChildByLocalAuthorityID(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	other := env.AddCommissioner(t, "Otherton")
	_, otherCoord := env.AddUserIn(t, store.RoleCoordinator, other.ID)

	child := map[string]any{"first_name": "Riley", "last_name": "Stone", "date_of_birth": "2010-07-08", "local_authority_child_id": "LA-1001"}
	first := projectedChild(t, env, coord, open(t, env, coord, referralFor(child)).ID)
	repeat := map[string]any{"first_name": "Rylee", "date_of_birth": "2010-07-09", "local_authority_child_id": "LA-1001"}
	if got := projectedChild(t, env, coord, open(t, env, coord, referralFor(repeat)).ID); got != first {
		t.Fatalf("the repeat referral's child is %s, want %s", got, first)
	}
	theirs := projectedChild(t, env, otherCoord, open(t, env, otherCoord, referralFor(child)).ID)
	if theirs == first {
		t.Fatal("another commissioner's referral joined this commissioner's child")
	}

	d := getChild(t, env, coord, first)
	if d.LocalAuthorityChildID != "LA-1001" || d.FirstName != "Riley" || len(d.Episodes) != 2 {
		t.Fatalf("child %+v", d)
	}
	for token, want := range map[string]string{coord: first, otherCoord: theirs} {
		st, body := env.Do(t, "GET", "/v1/children?local_authority_child_id=LA-1001", token, nil)
		var page struct {
			Children []struct {
				ID string `json:"id"`
			} `json:"children"`
		}
		if st != 200 || json.Unmarshal(body, &page) != nil || len(page.Children) != 1 || page.Children[0].ID != want {
			t.Fatalf("list by local-authority id: %d %s, want only %s", st, body, want)
		}
	}
	// Another commissioner's staff cannot tell the child exists.
	st, body := env.Do(t, "GET", "/v1/children/"+first, otherCoord, nil)
	wantError(t, st, body, http.StatusNotFound, "not_found", "id")
	st, body = env.Do(t, "POST", "/v1/children/search", otherCoord, map[string]any{"name": "riley st"})
	if st != 200 || strings.Contains(string(body), first) || !strings.Contains(string(body), theirs) {
		t.Fatalf("search by name: %d %s", st, body)
	}
}

// Two referrals for the same new child, sent together while no worker
// runs (so that neither finds the child the other makes): both episodes
// are recorded, with one child between them.
func TestConcurrentReferralsMakeOneChild(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	const n = 3
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ref := referralFor(map[string]any{"first_name": "Alex", "last_name": "Race", "local_authority_child_id": "LA-RACE"})
			st, body := env.Do(t, "POST", "/v1/episodes", coord, ref)
			var c created
			if st == 201 && json.Unmarshal(body, &c) == nil {
				ids[i] = c.ID
			}
		}()
	}
	wg.Wait()
	for i, id := range ids {
		if id == "" {
			t.Fatalf("referral %d was not opened", i)
		}
	}
	env.StartWorker(t)
	children := map[string]bool{}
	for _, id := range ids {
		children[projectedChild(t, env, coord, id)] = true
	}
	var made int
	if err := env.Store.Pool.QueryRow(context.Background(), "SELECT count(*) FROM children WHERE local_authority_child_id = 'LA-RACE'").Scan(&made); err != nil {
		t.Fatal(err)
	}
	if len(children) != 1 || made != 1 {
		t.Fatalf("episodes have children %v; %d children made, want 1", children, made)
	}
}

// The child's record: preferences and contact details change through
// PATCH, each change in the audit trail; the interviewer who is the
// child's worker may change them too, but not who the worker is; held
// interviews show where the child was.
func TestChildRecordAndPatch(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	coordUser, coord := env.AddUser(t, store.RoleCoordinator)
	iv, ivToken := env.AddUser(t, store.RoleInterviewer)
	other := env.AddCommissioner(t, "Otherton")
	_, otherCoord := env.AddUserIn(t, store.RoleCoordinator, other.ID)

	ref := referral(time.Hour)
	ref["assigned_interviewer_id"] = iv.ID
	ep := open(t, env, coord, ref).ID
	child := projectedChild(t, env, coord, ep)
	path := "/v1/children/" + child

	prefs := map[string]any{"preferences": map[string]any{
		"language": "Polish", "interpreter": true, "safe_venues": []string{"the library"}, "do_not_contact": []string{"an uncle"}}}
	st, body := env.Do(t, "PATCH", path, otherCoord, prefs)
	wantError(t, st, body, http.StatusNotFound, "not_found", "id")
	st, body = env.Do(t, "PATCH", path, ivToken, prefs)
	wantError(t, st, body, http.StatusForbidden, "forbidden", "role")
	st, body = env.Do(t, "PATCH", path, coord, map[string]any{"preferences": map[string]any{"safe_venues": []string{strings.Repeat("x", 501)}}})
	wantError(t, st, body, http.StatusBadRequest, "invalid_request", "preferences.safe_venues[0]")
	st, body = env.Do(t, "PATCH", path, coord, map[string]any{"preferences": map[string]any{"do_not_contact": make([]string, 21)}})
	wantError(t, st, body, http.StatusBadRequest, "invalid_request", "preferences.do_not_contact")
	st, body = env.Do(t, "PATCH", path, coord, map[string]any{"worker_id": coordUser.ID})
	wantError(t, st, body, http.StatusBadRequest, "invalid_request", "worker_id")

	st, body = env.Do(t, "PATCH", path, coord, prefs)
	if st != 200 {
		t.Fatalf("PATCH: %d %s", st, body)
	}
	d := getChild(t, env, coord, child)
	if d.Preferences.Language != "Polish" || !d.Preferences.Interpreter || len(d.Preferences.SafeVenues) != 1 || len(d.Preferences.DoNotContact) != 1 {
		t.Fatalf("preferences %+v", d.Preferences)
	}
	post(t, env, coord, "/v1/children/search", map[string]any{}, 200)
	st, body = env.Do(t, "PATCH", path, coord, map[string]any{"worker_id": iv.ID})
	if st != 200 || getChild(t, env, ivToken, child).Worker.ID != iv.ID {
		t.Fatalf("set worker: %d %s", st, body)
	}
	if st, body := env.Do(t, "PATCH", path, ivToken, map[string]any{"contact": map[string]any{"child_mobile": "07700900999"}}); st != 200 {
		t.Fatalf("the child's worker PATCH contact: %d %s", st, body)
	}
	st, body = env.Do(t, "PATCH", path, ivToken, map[string]any{"worker_id": ""})
	wantError(t, st, body, http.StatusForbidden, "forbidden", "worker_id")

	// Every change is in the trail, naming the child by id and the parts changed only.
	rows, err := env.Store.ListAudit(context.Background(), store.AuditFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, r := range rows {
		if r.Action == store.AuditActionChildUpdate && r.Resource == "child/"+child {
			changes = append(changes, r.Outcome)
		}
		for _, secret := range []string{"Polish", "library", "uncle", "07700900999", "Sam"} {
			if strings.Contains(r.Outcome+r.Resource, secret) {
				t.Fatalf("audit row %+v carries %q", r, secret)
			}
		}
	}
	if strings.Join(changes, "|") != "changed contact|changed worker|changed preferences" {
		t.Fatalf("audited changes (newest first) %q", changes)
	}

	// A held interview links where the child was and who with.
	now := time.Now().UTC()
	post(t, env, ivToken, "/v1/episodes/"+ep+"/contact-attempts", map[string]any{"method": "phone", "outcome": "reached_offered", "attempted_at": rfc(now)}, 200)
	post(t, env, ivToken, "/v1/episodes/"+ep+"/interview", map[string]any{"outcome": "held", "held_at": rfc(now), "venue": "school",
		"record": map[string]any{"where_child_was": "a friend's flat", "who_with": "an older friend", "risk_indicators": map[string]any{}}}, 200)
	testenv.Eventually(t, 20*time.Second, "places and people on the child's record", func() bool {
		d := getChild(t, env, coord, child)
		return len(d.PlacesAndPeople) == 1 && d.PlacesAndPeople[0].WhereChildWas == "a friend's flat" && d.PlacesAndPeople[0].EpisodeID == ep
	})
}

// Names compare with Unicode case folding, whatever the database's locale
// (the test cluster's is C, where lower('Ł') is 'Ł'): a referral in capitals
// or without them is a possible match, and the children search finds it.
func TestPossibleMatchFoldsCase(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	for _, c := range []struct{ known, again map[string]any }{
		{map[string]any{"first_name": "Zoë", "last_name": "Ó Briain", "date_of_birth": "2011-03-04"},
			map[string]any{"first_name": "ZOË", "last_name": "ó briain", "date_of_birth": "2011-03-04"}},
		{map[string]any{"first_name": "Łukasz", "last_name": "Żuraw", "date_of_birth": "2010-01-02"},
			map[string]any{"first_name": "łukasz", "last_name": "ŻURAW"}},
		// Decomposed: e and a combining diaeresis, as some keyboards send it.
		{map[string]any{"first_name": "Noël", "last_name": "Straße", "date_of_birth": "2012-05-06"},
			map[string]any{"first_name": "NOE\u0308L", "last_name": "STRASSE", "date_of_birth": "2012-05-06"}},
	} {
		known := projectedChild(t, env, coord, open(t, env, coord, referralFor(c.known)).ID)
		st, body := env.Do(t, "POST", "/v1/episodes", coord, referralFor(c.again))
		wantError(t, st, body, http.StatusConflict, "conflict", "child")
		if !strings.Contains(string(body), known) {
			t.Errorf("%v: candidates lack the known child %s: %s", c.again, known, body)
		}
		search := c.again["first_name"].(string) + " " + c.again["last_name"].(string)
		st, body = env.Do(t, "GET", "/v1/children?name="+url.QueryEscape(search), coord, nil)
		if st != 200 || !strings.Contains(string(body), known) {
			t.Errorf("search %q: %d, want the known child %s: %s", search, st, known, body)
		}
	}
}
