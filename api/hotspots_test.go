package api_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"homeward/internal/testenv"
	"homeward/store"
)

type hotspotsBody struct {
	For    string `json:"for"`
	Places []struct {
		Type             string `json:"type"`
		Name             string `json:"name"`
		PostcodeDistrict string `json:"postcode_district"`
		Children         int    `json:"children"`
		Episodes         int    `json:"episodes"`
	} `json:"places"`
	People []struct {
		Person      int    `json:"person"`
		PersonID    string `json:"person_id"`
		Description string `json:"description"`
		Children    int    `json:"children"`
		Episodes    int    `json:"episodes"`
	} `json:"people"`
}

func getHotspots(t *testing.T, env *testenv.Env, token, query string) hotspotsBody {
	t.Helper()
	st, body := env.Do(t, "GET", "/v1/reports/hotspots?"+query, token, nil)
	if st != 200 {
		t.Fatalf("GET hotspots?%s: %d %s", query, st, body)
	}
	var h hotspotsBody
	if err := json.Unmarshal(body, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// Held interviews recorded through the API: a person of concern the
// second interviewer matches to the one the first recorded counts once,
// with two children; a person_id that names no known person of the
// commissioner is refused, naming the field; places are ranked by children.
func TestHotspotsFromHeldInterviews(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	ivUser, iv := env.AddUser(t, store.RoleInterviewer)
	_, mgr := env.AddUser(t, store.RoleManager)
	now := time.Now().UTC().Truncate(time.Second)
	day := now.In(london(t)).Format(time.DateOnly)
	period := "from=" + day + "&to=" + day

	held := func(record map[string]any, want int) (string, []byte) {
		t.Helper()
		ref := referral(time.Hour)
		ref["assigned_interviewer_id"] = ivUser.ID
		ep := open(t, env, coord, ref)
		base := "/v1/episodes/" + ep.ID
		post(t, env, iv, base+"/contact-attempts", map[string]any{"method": "text", "outcome": "reached_offered", "attempted_at": rfc(now)}, 200)
		st, body := env.Do(t, "POST", base+"/interview", iv, map[string]any{"outcome": "held", "held_at": rfc(now), "record": record})
		if st != want {
			t.Fatalf("held interview: %d, want %d: %s", st, want, body)
		}
		return ep.ID, body
	}
	first, _ := held(map[string]any{
		"places": []any{
			map[string]any{"type": "park", "name": "Roundhay Park", "postcode_district": "ls8"},
			map[string]any{"type": "station", "name": "Leeds station", "postcode_district": "LS1"},
		},
		"people_of_concern": []any{map[string]any{"description": "Tall Tom, drives a blue car"}},
	}, 200)
	waitFor(t, env, mgr, first, 30*time.Second, "held", status("interview_held"))
	h := getHotspots(t, env, mgr, period)
	if len(h.People) != 1 || h.People[0].Description != "Tall Tom, drives a blue car" {
		t.Fatalf("people after the first interview: %+v", h.People)
	}
	tom := h.People[0].PersonID

	// A person_id that names nobody of this commissioner is refused.
	_, body := held(map[string]any{"people_of_concern": []any{
		map[string]any{"person_id": uuid.NewString(), "description": "someone"}}}, 400)
	wantError(t, 400, body, 400, "invalid_request", "record.people_of_concern[0].person_id")

	// The record's limits are the episode's, named field by field.
	_, body = held(map[string]any{"places": []any{map[string]any{"type": "park", "postcode_district": "LS8 1AB"}}}, 400)
	wantError(t, 400, body, 400, "invalid_request", "record.places[0].postcode_district")

	second, _ := held(map[string]any{
		"places":            []any{map[string]any{"type": "park", "name": "roundhay park", "postcode_district": "LS8"}},
		"people_of_concern": []any{map[string]any{"person_id": strings.ToUpper(tom), "description": "Tom"}},
	}, 200)
	waitFor(t, env, mgr, second, 30*time.Second, "held", status("interview_held"))

	h = getHotspots(t, env, mgr, period)
	if len(h.People) != 1 || h.People[0].PersonID != tom || h.People[0].Children != 2 || h.People[0].Episodes != 2 {
		t.Errorf("Tall Tom, matched by the second interview, is not one person with 2 children and 2 episodes: %+v", h.People)
	}
	if len(h.Places) != 2 || h.Places[0].Type != "park" || h.Places[0].PostcodeDistrict != "LS8" ||
		h.Places[0].Children != 2 || h.Places[1].Name != "Leeds station" || h.Places[1].Children != 1 {
		t.Errorf("places = %+v, want Roundhay Park (2 children) then Leeds station (1)", h.Places)
	}
	// Outside the period, nothing.
	if h := getHotspots(t, env, mgr, "from=2020-01-01&to=2020-01-31"); len(h.Places)+len(h.People) != 0 {
		t.Errorf("hot spots of 2020: %+v", h)
	}
}

func london(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// seedNamed records that an interview held at held on episode ep named
// a place and, when person is not "", that person of concern.
func seedNamed(t *testing.T, env *testenv.Env, ep string, seq int, held time.Time, placeType, name, district, person string) {
	t.Helper()
	ctx := context.Background()
	if _, err := env.Store.Pool.Exec(ctx, `INSERT INTO interview_places (episode_id, seq, idx, place_type, name, postcode_district, held_at)
		VALUES ($1, $2, 0, $3, $4, $5, $6)`, ep, seq, placeType, name, district, held); err != nil {
		t.Fatal(err)
	}
	if person == "" {
		return
	}
	if _, err := env.Store.Pool.Exec(ctx, `INSERT INTO interview_people (episode_id, seq, idx, person_id, description, held_at)
		VALUES ($1, $2, 0, $3, 'as said', $4)`, ep, seq, person, held); err != nil {
		t.Fatal(err)
	}
}

func seedPerson(t *testing.T, env *testenv.Env, commissioner, description string) string {
	t.Helper()
	id := uuid.NewString()
	if _, err := env.Store.Pool.Exec(context.Background(), `INSERT INTO people_of_concern (id, commissioner_id, description)
		VALUES ($1, $2, $3)`, id, commissioner, description); err != nil {
		t.Fatal(err)
	}
	return id
}

// On a seeded set: places ranked by distinct children then episodes; the
// partnership form leaves out every row under 5 children and holds no
// name, description or person id; a commissioner officer gets only that
// form, of their own commissioner.
func TestHotspotsRankingAndPartnershipForm(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	a := env.Commissioner.ID
	_, mgr := env.AddUser(t, store.RoleManager)
	_, off := env.AddUserIn(t, store.RoleCommissionerOfficer, a)
	other := env.AddCommissioner(t, "Otherton")
	_, otherOff := env.AddUserIn(t, store.RoleCommissionerOfficer, other.ID)

	held := *at("2025-06-10T12:00:00Z")
	mike := seedPerson(t, env, a, "Big Mike from the flats")
	jay := seedPerson(t, env, a, "Jay")
	episode := func(child string) string {
		id, _ := seedEpisode(t, env, seedEp{commissioner: a, child: child, returned: held.Add(-time.Hour)})
		return id
	}
	// Roundhay Park: 5 children, 6 episodes, all with Big Mike.
	for i := range 5 {
		child := seedChild(t, env, a, "", "")
		seedNamed(t, env, episode(child), 1, held, "park", "Roundhay Park", "LS8", mike)
		if i == 0 {
			seedNamed(t, env, episode(child), 1, held, "park", "Roundhay Park", "LS8", mike)
		}
	}
	// Kirkgate Market: 4 children in 4 episodes, with Jay.
	for range 4 {
		seedNamed(t, env, episode(seedChild(t, env, a, "", "")), 1, held, "town_centre", "Kirkgate Market", "LS2", jay)
	}
	// 12 Elm Street: 1 child, 3 episodes; The Arches: 2 children, 2 episodes.
	elm := seedChild(t, env, a, "", "")
	for range 3 {
		seedNamed(t, env, episode(elm), 1, held, "address", "12 Elm Street", "LS9", "")
	}
	for range 2 {
		seedNamed(t, env, episode(seedChild(t, env, a, "", "")), 1, held, "other", "The Arches", "LS9", "")
	}
	// The period is by London dates: 23:30 UTC on 31 May is 00:30 on 1 June
	// in London (summer time), inside; 22:30 UTC is 23:30 on 31 May, outside.
	late := *at("2025-05-31T23:30:00Z")
	seedNamed(t, env, episode(elm), 1, late, "address", "12 Elm Street", "LS9", "")
	early := *at("2025-05-31T22:30:00Z")
	seedNamed(t, env, episode(elm), 1, early, "address", "12 Elm Street", "LS9", "")

	// An episode closed as a duplicate is left out.
	dup, _ := seedEpisode(t, env, seedEp{commissioner: a, child: elm, returned: held.Add(-time.Hour), closure: "duplicate"})
	seedNamed(t, env, dup, 1, held, "address", "12 Elm Street", "LS9", "")

	period := "from=2025-06-01&to=2025-06-30"
	h := getHotspots(t, env, mgr, period)
	var got []string
	for _, p := range h.Places {
		got = append(got, p.Name+":"+strconv.Itoa(p.Children)+"/"+strconv.Itoa(p.Episodes))
	}
	want := "Roundhay Park:5/6,Kirkgate Market:4/4,The Arches:2/2,12 Elm Street:1/4"
	if strings.Join(got, ",") != want {
		t.Errorf("places ranked %v, want %s", got, want)
	}
	if len(h.People) != 2 || h.People[0].PersonID != mike || h.People[0].Children != 5 || h.People[0].Episodes != 6 ||
		h.People[1].Description != "Jay" || h.People[1].Children != 4 {
		t.Errorf("people = %+v", h.People)
	}

	for _, tok := range []string{mgr, off} {
		st, body := env.Do(t, "GET", "/v1/reports/hotspots?for=partnership&"+period, tok, nil)
		if st != 200 {
			t.Fatalf("partnership form: %d %s", st, body)
		}
		for _, free := range []string{"Roundhay", "Kirkgate", "Elm", "Arches", "Mike", "Jay", mike, jay, `"name"`, `"description"`, `"person_id"`} {
			if strings.Contains(string(body), free) {
				t.Errorf("partnership form holds %q: %s", free, body)
			}
		}
		var p hotspotsBody
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Places) != 1 || p.Places[0].Type != "park" || p.Places[0].PostcodeDistrict != "LS8" || p.Places[0].Children != 5 || p.Places[0].Episodes != 6 {
			t.Errorf("partnership places = %+v, want only park LS8 with 5 children, 6 episodes", p.Places)
		}
		if len(p.People) != 1 || p.People[0].Person != 1 || p.People[0].Children != 5 {
			t.Errorf("partnership people = %+v, want only person 1 with 5 children", p.People)
		}
	}

	testenv.Eventually(t, 10*time.Second, "the officer's reading audited as report.hotspots", func() bool {
		var n int
		err := env.Store.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log
			WHERE action = 'report.hotspots' AND role = 'commissioner_officer' AND status = 200`).Scan(&n)
		return err == nil && n == 1
	})
	st, body := env.Do(t, "GET", "/v1/reports/hotspots?"+period, off, nil)
	wantError(t, st, body, 403, "forbidden", "for")
	st, body = env.Do(t, "GET", "/v1/reports/hotspots?for=partnership&commissioner_id="+a+"&"+period, otherOff, nil)
	wantError(t, st, body, 404, "not_found", "commissioner_id")
	if h := getHotspots(t, env, otherOff, "for=partnership&"+period); len(h.Places)+len(h.People) != 0 {
		t.Errorf("another commissioner's officer sees %+v", h)
	}
	st, body = env.Do(t, "GET", "/v1/reports/hotspots?from=2025-06-30&to=2025-06-01&for=everyone", mgr, nil)
	e := wantError(t, st, body, 400, "invalid_request", "for")
	if reason(e, "to") == "" {
		t.Errorf("400 does not name to: %s", body)
	}
}
