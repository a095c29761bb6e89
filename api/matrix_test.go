package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"homeward/api"
	"homeward/internal/testenv"
	"homeward/store"
)

type matrixUser struct {
	name  string
	user  store.User
	token string
}

// TestAccessMatrix walks every route with every kind of user, on an
// episode of their own commissioner and of another, assigned to them and
// not, and checks each answer. Commissioner A (the Env's) and B; the
// provider's coordinator, manager and admin; A's coordinator, manager, an
// interviewer assigned to A's episode and one who is not; B's coordinator
// and manager.
func TestAccessMatrix(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	a := env.Commissioner
	b := env.AddCommissioner(t, "Bexton")
	add := func(name string, role store.Role, commissioner string) matrixUser {
		u, tok := env.AddUserIn(t, role, commissioner)
		return matrixUser{name, u, tok}
	}
	var (
		pCoord = add("provider coordinator", store.RoleCoordinator, "")
		pMgr   = add("provider manager", store.RoleManager, "")
		pAdmin = add("provider admin", store.RoleAdmin, "")
		aCoord = add("A coordinator", store.RoleCoordinator, a.ID)
		aMgr   = add("A manager", store.RoleManager, a.ID)
		aIv    = add("A interviewer (assigned)", store.RoleInterviewer, a.ID)
		aIv2   = add("A interviewer (not assigned)", store.RoleInterviewer, a.ID)
		bCoord = add("B coordinator", store.RoleCoordinator, b.ID)
		bMgr   = add("B manager", store.RoleManager, b.ID)
		aOff   = add("A commissioner officer", store.RoleCommissionerOfficer, a.ID)
	)
	everyone := []matrixUser{pCoord, pMgr, pAdmin, aCoord, aMgr, aIv, aIv2, bCoord, bMgr, aOff}

	// Returned 60 hours ago: the deadline warning escalates at once.
	refA := referral(60 * time.Hour)
	refA["assigned_interviewer_id"] = aIv.user.ID
	epA := open(t, env, aCoord.token, refA).ID
	refB := referral(60 * time.Hour)
	epB := open(t, env, bCoord.token, refB).ID
	waitFor(t, env, pAdmin.token, epA, 10*time.Second, "projected", projected)
	waitFor(t, env, pAdmin.token, epB, 10*time.Second, "projected", projected)
	testenv.Eventually(t, 10*time.Second, "both deadline warnings recorded", func() bool {
		return len(escalationEpisodes(t, env, pAdmin.token, "")) == 2
	})

	// Who sees which episode.
	sees := map[string][]string{
		pCoord.name: {epA, epB}, pMgr.name: {epA, epB}, pAdmin.name: {epA, epB},
		aCoord.name: {epA}, aMgr.name: {epA}, aIv.name: {epA}, aIv2.name: {},
		bCoord.name: {epB}, bMgr.name: {epB},
		aOff.name: {}, // reads reports, never case records
	}
	visible := func(u matrixUser, ep string) bool {
		for _, id := range sees[u.name] {
			if id == ep {
				return true
			}
		}
		return false
	}
	name := map[string]string{epA: "A's episode", epB: "B's episode"}

	t.Run("GET /v1/episodes", func(t *testing.T) {
		for _, u := range everyone {
			st, body := env.Do(t, "GET", "/v1/episodes", u.token, nil)
			if st != 200 {
				t.Fatalf("%s: %d %s", u.name, st, body)
			}
			var got struct {
				Episodes []struct {
					ID string `json:"id"`
				} `json:"episodes"`
			}
			_ = json.Unmarshal(body, &got)
			var ids []string
			for _, e := range got.Episodes {
				ids = append(ids, e.ID)
			}
			if want := sortedIDs(sees[u.name]); strings.Join(sortedIDs(ids), ",") != strings.Join(want, ",") {
				t.Errorf("%s lists %v, want %v", u.name, ids, want)
			}
		}
	})

	t.Run("GET /v1/episodes/{id}", func(t *testing.T) {
		for _, u := range everyone {
			for _, ep := range []string{epA, epB} {
				st, body := env.Do(t, "GET", "/v1/episodes/"+ep, u.token, nil)
				want := 404
				if visible(u, ep) {
					want = 200
				}
				if st != want {
					t.Errorf("%s GET %s: %d, want %d: %s", u.name, name[ep], st, want, body)
				}
				if st == 404 {
					sameAsNoEpisode(t, body)
				}
			}
		}
	})

	t.Run("GET /v1/escalations", func(t *testing.T) {
		escalationsSeen := map[string][]string{
			pMgr.name: {epA, epB}, pAdmin.name: {epA, epB}, aMgr.name: {epA}, bMgr.name: {epB},
		}
		for _, u := range everyone {
			want, allowed := escalationsSeen[u.name]
			st, body := env.Do(t, "GET", "/v1/escalations", u.token, nil)
			if !allowed {
				if st != 403 {
					t.Errorf("%s GET /v1/escalations: %d, want 403: %s", u.name, st, body)
				}
				continue
			}
			if got := escalationEpisodes(t, env, u.token, ""); strings.Join(got, ",") != strings.Join(sortedIDs(want), ",") {
				t.Errorf("%s sees escalations of %v, want %v", u.name, got, want)
			}
			for _, ep := range []string{epA, epB} {
				got := escalationEpisodes(t, env, u.token, "?episode_id="+ep)
				if (len(got) == 1) != visible(u, ep) {
					t.Errorf("%s escalations of %s: %v", u.name, name[ep], got)
				}
			}
		}
	})

	// Acknowledging an escalation: managers and admins who see it reach it
	// (an empty note: 400), those who do not get 404 as for none, other
	// roles 403. Then A's manager acknowledges A's: B's manager still gets
	// 404, the provider's manager 409.
	t.Run("POST /v1/escalations/{id}/acknowledgement", func(t *testing.T) {
		ids := map[string]int64{}
		for _, x := range listedEscalations(t, env, pAdmin.token, "") {
			ids[x.EpisodeID] = x.ID
		}
		path := func(ep string) string { return "/v1/escalations/" + fmt.Sprint(ids[ep]) + "/acknowledgement" }
		for _, u := range everyone {
			allowed := u.user.Role == store.RoleManager || u.user.Role == store.RoleAdmin
			for _, ep := range []string{epA, epB} {
				want := 403
				switch {
				case allowed && visible(u, ep):
					want = 400
				case allowed:
					want = 404
				}
				st, body := env.Do(t, "POST", path(ep), u.token, map[string]any{"note": ""}, "Idempotency-Key", "matrix")
				if st != want {
					t.Errorf("%s acknowledging the escalation of %s: %d, want %d: %s", u.name, name[ep], st, want, body)
				}
			}
		}
		note := map[string]any{"note": "on it"}
		if st, body := env.Do(t, "POST", path(epA), aMgr.token, note, "Idempotency-Key", "matrix-1"); st != 201 {
			t.Errorf("A's manager acknowledging A's escalation: %d %s", st, body)
		}
		if st, body := env.Do(t, "POST", path(epA), bMgr.token, note, "Idempotency-Key", "matrix-1"); st != 404 {
			t.Errorf("B's manager acknowledging A's acknowledged escalation: %d %s", st, body)
		}
		if st, body := env.Do(t, "POST", path(epA), pMgr.token, note, "Idempotency-Key", "matrix-1"); st != 409 {
			t.Errorf("the provider's manager acknowledging A's acknowledged escalation: %d %s", st, body)
		}
	})

	// Every outcome route with an empty body: 403 for a role that may not
	// use it, 404 for an episode the caller may not see, else 400 (the
	// body is checked only once the episode is known to be theirs).
	outcomeRoles := map[string][]store.Role{
		"assignment":       {store.RoleCoordinator, store.RoleManager, store.RoleAdmin},
		"contact-attempts": {store.RoleInterviewer},
		"interview":        {store.RoleInterviewer},
		"agreement":        {store.RoleInterviewer},
		"follow-up":        {store.RoleInterviewer},
		"action-plan":      {store.RoleInterviewer},
		"carers-account":   {store.RoleInterviewer},
		"closure":          {store.RoleCoordinator, store.RoleManager, store.RoleAdmin},
	}
	t.Run("POST outcomes", func(t *testing.T) {
		for route, roles := range outcomeRoles {
			for _, u := range everyone {
				allowed := false
				for _, r := range roles {
					allowed = allowed || u.user.Role == r
				}
				for _, ep := range []string{epA, epB, uuid.NewString()} {
					want := 403
					switch {
					case allowed && visible(u, ep):
						want = 400
					case allowed:
						want = 404
					}
					st, body := env.Do(t, "POST", "/v1/episodes/"+ep+"/"+route, u.token, map[string]any{})
					if st != want {
						t.Errorf("%s POST %s of %s: %d, want %d: %s", u.name, route, name[ep], st, want, body)
					}
					if st == 404 {
						sameAsNoEpisode(t, body)
					}
				}
			}
		}
	})

	t.Run("POST /v1/episodes", func(t *testing.T) {
		cases := []struct {
			who          matrixUser
			commissioner string
			assignee     string
			want         int
			field        string
		}{
			{pCoord, "", "", 400, "commissioner_id"},
			{pCoord, uuid.NewString(), "", 400, "commissioner_id"},
			{pCoord, "not-a-uuid", "", 400, "commissioner_id"},
			{pCoord, b.ID, "", 201, ""},
			{pAdmin, a.ID, aIv.user.ID, 201, ""},
			{aCoord, "", "", 201, ""},
			{aCoord, a.ID, "", 201, ""},
			{aCoord, b.ID, "", 400, "commissioner_id"},
			{bCoord, "", aIv.user.ID, 400, "assigned_interviewer_id"}, // A's interviewer on B's episode
			{pCoord, b.ID, aIv.user.ID, 400, "assigned_interviewer_id"},
			{pMgr, a.ID, "", 403, ""}, {aMgr, "", "", 403, ""}, {bMgr, "", "", 403, ""},
			{aIv, "", "", 403, ""}, {aIv2, "", "", 403, ""},
		}
		for _, c := range cases {
			body := referral(time.Hour)
			if c.commissioner != "" {
				body["commissioner_id"] = c.commissioner
			}
			if c.assignee != "" {
				body["assigned_interviewer_id"] = c.assignee
			}
			st, resp := env.Do(t, "POST", "/v1/episodes", c.who.token, body)
			if st != c.want {
				t.Errorf("%s opening an episode for %q: %d, want %d: %s", c.who.name, c.commissioner, st, c.want, resp)
				continue
			}
			if c.field != "" {
				wantError(t, st, resp, c.want, "invalid_request", c.field)
			}
			if st != 201 {
				continue
			}
			// It belongs to the commissioner asked for (or the opener's).
			var cr created
			_ = json.Unmarshal(resp, &cr)
			owner := c.commissioner
			if owner == "" {
				owner = c.who.user.CommissionerID
			}
			testenv.Eventually(t, 10*time.Second, "projected with its commissioner", func() bool {
				got, err := env.Store.EpisodeCommissioner(context.Background(), cr.ID)
				return err == nil && got == owner
			})
		}
		// A child known only through B's episode cannot be named by A.
		child := map[string]any{"id": storeChild(t, env, epB)}
		ref := referral(time.Hour)
		ref["child"] = child
		st, resp := env.Do(t, "POST", "/v1/episodes", aCoord.token, ref)
		wantError(t, st, resp, 400, "invalid_request", "child.id")
		st, resp = env.Do(t, "POST", "/v1/episodes", bCoord.token, ref)
		if st != 201 {
			t.Errorf("B's coordinator naming B's child: %d %s", st, resp)
		}
	})

	// A child's legal hold follows the child's episodes: releasing a hold
	// the child does not have is 409 for those who see the child, reading
	// its holds 200; both are 404 for everyone else with the role. Who may
	// release a hold that exists is TestLegalHoldReleaseByCommissioner's.
	// The audit trail is for managers and admins.
	t.Run("legal holds and audit", func(t *testing.T) {
		children := map[string]string{epA: storeChild(t, env, epA), epB: storeChild(t, env, epB)}
		for _, u := range everyone {
			allowed := u.user.Role == store.RoleManager || u.user.Role == store.RoleAdmin
			for _, ep := range []string{epA, epB} {
				for method, seen := range map[string]int{"DELETE": 409, "GET": 200} {
					want := 403
					switch {
					case allowed && visible(u, ep):
						want = seen
					case allowed:
						want = 404
					}
					st, body := env.Do(t, method, "/v1/children/"+children[ep]+"/legal-hold", u.token, nil)
					if st != want {
						t.Errorf("%s %s legal hold of the child of %s: %d, want %d: %s", u.name, method, name[ep], st, want, body)
					}
				}
			}
			want := 403
			if allowed {
				want = 200
			}
			if st, body := env.Do(t, "GET", "/v1/audit", u.token, nil); st != want {
				t.Errorf("%s GET /v1/audit: %d, want %d: %s", u.name, st, want, body)
			}
		}
	})

	// A commissioner's policy: managers and admins read it, a
	// commissioner's only their own (another's is 404, as none); only the
	// provider's change it (403 for a commissioner's, whoever they are).
	t.Run("commissioner policy", func(t *testing.T) {
		aAdmin := add("A admin", store.RoleAdmin, a.ID)
		whole := getPolicy(t, env, pAdmin.token, a.ID).Policy
		for _, u := range append([]matrixUser{aAdmin}, everyone...) {
			staff := u.user.Role == store.RoleManager || u.user.Role == store.RoleAdmin
			for _, c := range []store.Commissioner{a, b} {
				own := u.user.CommissionerID == "" || u.user.CommissionerID == c.ID
				wantGet, wantPut := 403, 403
				switch {
				case staff && own && u.user.CommissionerID == "":
					wantGet, wantPut = 200, 200
				case staff && own:
					wantGet = 200
				case staff:
					wantGet = 404
				}
				path := "/v1/commissioners/" + c.ID + "/policy"
				if st, body := env.Do(t, "GET", path, u.token, nil); st != wantGet {
					t.Errorf("%s GET the policy of %s: %d, want %d: %s", u.name, c.Name, st, wantGet, body)
				}
				if st, body := env.Do(t, "PUT", path, u.token, whole); st != wantPut {
					t.Errorf("%s PUT the policy of %s: %d, want %d: %s", u.name, c.Name, st, wantPut, body)
				}
			}
		}
	})

	// The statutory exports: managers, admins and commissioner officers; a
	// commissioner's only their own (another's is 404, as none; left out,
	// their own), the provider's naming one (left out: 400). A past year
	// keeps the matrix's own episodes, whose children have no
	// local-authority id, out of the SSDA903 file.
	// Return reports: every role may ask for one (row-level security, or
	// for a commissioner officer their commissioner, decides); only
	// commissioner officers and managers acknowledge. The matrix's episodes
	// have no report, so those let through get 404, as for none.
	t.Run("return reports", func(t *testing.T) {
		for _, u := range everyone {
			r := u.user.Role
			for _, ep := range []string{epA, epB} {
				if st, body := env.Do(t, "GET", "/v1/episodes/"+ep+"/report", u.token, nil); st != 404 {
					t.Errorf("%s GET %s report: %d, want 404: %s", u.name, name[ep], st, body)
				}
				want := 403
				if r == store.RoleCommissionerOfficer || r == store.RoleManager {
					want = 404
				}
				if st, body := env.Do(t, "POST", "/v1/episodes/"+ep+"/report/acknowledgement", u.token, nil); st != want {
					t.Errorf("%s acknowledging %s report: %d, want %d: %s", u.name, name[ep], st, want, body)
				}
				// Approval is an outcome of the episode: managers who see it
				// reach it (which refuses, no report being due), others 404.
				want = 403
				if r == store.RoleManager {
					want = 404
					if visible(u, ep) {
						want = 409
					}
				}
				if st, body := env.Do(t, "POST", "/v1/episodes/"+ep+"/report/approval", u.token, nil); st != want {
					t.Errorf("%s approving %s report: %d, want %d: %s", u.name, name[ep], st, want, body)
				}
				// The child's letter: the interviewer and managers who see
				// the episode reach it (no interview held: 409).
				want = 403
				if r == store.RoleInterviewer || r == store.RoleManager {
					want = 404
					if visible(u, ep) {
						want = 409
					}
				}
				if st, body := env.Do(t, "GET", "/v1/episodes/"+ep+"/letter", u.token, nil); st != want {
					t.Errorf("%s GET %s letter: %d, want %d: %s", u.name, name[ep], st, want, body)
				}
				want = 403
				if r == store.RoleInterviewer {
					want = 404
					if visible(u, ep) {
						want = 409
					}
				}
				if st, body := env.Do(t, "POST", "/v1/episodes/"+ep+"/letter/given", u.token, nil); st != want {
					t.Errorf("%s marking %s letter given: %d, want %d: %s", u.name, name[ep], st, want, body)
				}
			}
		}
	})

	t.Run("statutory exports", func(t *testing.T) {
		routes := []string{"/v1/exports/ssda903/missing.csv?year=2020", "/v1/exports/annex-a-list8.csv?as_of=" + time.Now().Format(time.DateOnly)}
		for _, u := range everyone {
			r := u.user.Role
			allowed := r == store.RoleManager || r == store.RoleAdmin || r == store.RoleCommissionerOfficer
			for _, route := range routes {
				for _, c := range []store.Commissioner{a, b, {ID: ""}} {
					want := 403
					switch {
					case !allowed:
					case c.ID == "" && u.user.CommissionerID == "":
						want = 400
					case c.ID == "" || u.user.CommissionerID == "" || u.user.CommissionerID == c.ID:
						want = 200
					default:
						want = 404
					}
					path := route
					if c.ID != "" {
						path += "&commissioner_id=" + c.ID
					}
					if st, body := env.Do(t, "GET", path, u.token, nil); st != want {
						t.Errorf("%s GET %s: %d, want %d: %s", u.name, path, st, want, body)
					}
				}
			}
		}
	})

	// KPIs: managers, admins and commissioner officers; a commissioner's
	// only their own (naming another is 400), the provider's any.
	t.Run("GET /v1/reports/kpis", func(t *testing.T) {
		for _, u := range everyone {
			reader := u.user.Role == store.RoleManager || u.user.Role == store.RoleAdmin ||
				u.user.Role == store.RoleCommissionerOfficer
			for _, c := range []store.Commissioner{a, b} {
				want := 403
				switch {
				case reader && (u.user.CommissionerID == "" || u.user.CommissionerID == c.ID):
					want = 200
				case reader:
					want = 400
				}
				path := "/v1/reports/kpis?commissioner_id=" + c.ID + "&from=2025-01-01&to=2025-12-31"
				if st, body := env.Do(t, "GET", path, u.token, nil); st != want {
					t.Errorf("%s GET the KPIs of %s: %d, want %d: %s", u.name, c.Name, st, want, body)
				}
			}
		}
	})

	// Open episodes by status: managers and admins; a commissioner's only
	// their own (naming another is 400), the provider's any.
	t.Run("GET /v1/reports/open-episodes", func(t *testing.T) {
		for _, u := range everyone {
			reader := u.user.Role == store.RoleManager || u.user.Role == store.RoleAdmin
			for _, c := range []store.Commissioner{a, b} {
				want := 403
				switch {
				case reader && (u.user.CommissionerID == "" || u.user.CommissionerID == c.ID):
					want = 200
				case reader:
					want = 400
				}
				st, body := env.Do(t, "GET", "/v1/reports/open-episodes?commissioner_id="+c.ID, u.token, nil)
				if st != want {
					t.Errorf("%s GET the open episodes of %s: %d, want %d: %s", u.name, c.Name, st, want, body)
				}
			}
		}
	})

	// Hot spots: managers and admins in either form; commissioner officers
	// only the partnership form (403 for the managers'); the commissioner
	// rules as for the exports.
	t.Run("hot spots", func(t *testing.T) {
		day := time.Now().Format(time.DateOnly)
		for _, u := range everyone {
			r := u.user.Role
			for _, form := range []string{"managers", "partnership"} {
				allowed := r == store.RoleManager || r == store.RoleAdmin ||
					(r == store.RoleCommissionerOfficer && form == "partnership")
				for _, c := range []store.Commissioner{a, b, {ID: ""}} {
					want := 403
					switch {
					case !allowed:
					case c.ID == "" && u.user.CommissionerID == "":
						want = 400
					case c.ID == "" || u.user.CommissionerID == "" || u.user.CommissionerID == c.ID:
						want = 200
					default:
						want = 404
					}
					path := "/v1/reports/hotspots?from=" + day + "&to=" + day + "&for=" + form
					if c.ID != "" {
						path += "&commissioner_id=" + c.ID
					}
					if st, body := env.Do(t, "GET", path, u.token, nil); st != want {
						t.Errorf("%s GET %s: %d, want %d: %s", u.name, path, st, want, body)
					}
				}
			}
		}
	})

	// A child is seen as its episodes are: by its commissioner's staff, the
	// provider's, and the interviewer of an assigned episode; anyone else
	// gets 404 and an empty list. PATCH is for coordinators, managers and
	// admins, and the interviewer who is the child's worker (none here: 403).
	t.Run("children", func(t *testing.T) {
		children := map[string]string{epA: storeChild(t, env, epA), epB: storeChild(t, env, epB)}
		for _, u := range everyone {
			st, body := env.Do(t, "GET", "/v1/children?limit=200", u.token, nil)
			if st != 200 {
				t.Fatalf("%s GET /v1/children: %d %s", u.name, st, body)
			}
			for _, ep := range []string{epA, epB} {
				if listed := strings.Contains(string(body), children[ep]); listed != visible(u, ep) {
					t.Errorf("%s lists the child of %s: %v", u.name, name[ep], listed)
				}
				want := 404
				if visible(u, ep) {
					want = 200
				}
				if st, body := env.Do(t, "GET", "/v1/children/"+children[ep], u.token, nil); st != want {
					t.Errorf("%s GET the child of %s: %d, want %d: %s", u.name, name[ep], st, want, body)
				}
				switch {
				case u.user.Role == store.RoleCommissionerOfficer:
					want = 403 // records nothing
				case !visible(u, ep):
					want = 404
				case u.user.Role == store.RoleInterviewer:
					want = 403
				default:
					want = 400
				}
				if st, body := env.Do(t, "PATCH", "/v1/children/"+children[ep], u.token, map[string]any{}); st != want {
					t.Errorf("%s PATCH the child of %s: %d, want %d: %s", u.name, name[ep], st, want, body)
				}
			}
			st, body = env.Do(t, "POST", "/v1/children/search", u.token, map[string]any{"name": "sam", "limit": 200})
			if st != 200 {
				t.Fatalf("%s search children: %d %s", u.name, st, body)
			}
			for _, ep := range []string{epA, epB} {
				if found := strings.Contains(string(body), children[ep]); found != visible(u, ep) {
					t.Errorf("%s finds the child of %s: %v", u.name, name[ep], found)
				}
			}
		}
	})

	// The payload codec opens every commissioner's payloads: only the
	// provider's admins may use it, and every call is audited.
	t.Run("POST /v1/codec", func(t *testing.T) {
		aAdmin := add("A admin", store.RoleAdmin, a.ID)
		for _, u := range append([]matrixUser{aAdmin}, everyone...) {
			for _, op := range []string{"encode", "decode"} {
				st, body := env.Do(t, "POST", "/v1/codec/"+op, u.token, `{"payloads": []}`)
				if u.name == pAdmin.name {
					if st != 200 {
						t.Errorf("%s POST codec/%s: %d, want 200: %s", u.name, op, st, body)
					}
				} else if e := wantError(t, st, body, 403, "forbidden", "role"); !strings.Contains(e.Error.Message, "provider") {
					t.Errorf("%s POST codec/%s: message %q", u.name, op, e.Error.Message)
				}
				rows, err := env.Store.ListAudit(context.Background(), store.AuditFilter{UserID: u.user.ID, Limit: 200})
				if err != nil {
					t.Fatal(err)
				}
				want := map[bool]string{true: "accepted", false: "denied"}[u.name == pAdmin.name]
				found := false
				for _, r := range rows {
					found = found || (r.Action == "codec."+op && r.Outcome == want && r.Status == st)
				}
				if !found {
					t.Errorf("%s POST codec/%s: no audit row codec.%s with outcome %s", u.name, op, op, want)
				}
			}
		}
	})

	t.Run("outcomes that are accepted or conflict", func(t *testing.T) {
		post(t, env, aIv.token, "/v1/episodes/"+epA+"/contact-attempts", map[string]any{
			"method": "phone", "outcome": "no_answer", "attempted_at": rfc(time.Now().Add(-time.Minute)),
		}, 200)
		post(t, env, aIv.token, "/v1/episodes/"+epA+"/follow-up", map[string]any{
			"completed_at": rfc(time.Now()), "outcome": "too early",
		}, 409)
		post(t, env, aIv2.token, "/v1/episodes/"+epA+"/follow-up", map[string]any{
			"completed_at": rfc(time.Now()), "outcome": "too early",
		}, 404)
		// Assigning needs an interviewer of the episode's commissioner.
		post(t, env, bMgr.token, "/v1/episodes/"+epB+"/assignment", map[string]any{"interviewer_id": aIv.user.ID}, 400)
		post(t, env, aMgr.token, "/v1/episodes/"+epB+"/assignment", map[string]any{"interviewer_id": aIv.user.ID}, 404)
		post(t, env, pCoord.token, "/v1/episodes/"+epA+"/assignment", map[string]any{"interviewer_id": aIv.user.ID}, 200)
		// Closing another commissioner's episode is 404, one's own 200.
		post(t, env, bCoord.token, "/v1/episodes/"+epA+"/closure", map[string]any{"reason": "duplicate"}, 404)
		post(t, env, bMgr.token, "/v1/episodes/"+epB+"/closure", map[string]any{"reason": "duplicate"}, 200)
		waitFor(t, env, bCoord.token, epB, 10*time.Second, "closed", status("closed"))
		post(t, env, bCoord.token, "/v1/episodes/"+epB+"/closure", map[string]any{"reason": "duplicate"}, 409)
		post(t, env, aCoord.token, "/v1/episodes/"+epB+"/closure", map[string]any{"reason": "duplicate"}, 404)
	})

	// The records may lag behind the workflow: the workflow's assignee
	// decides what an interviewer records. Here the records (made stale
	// by hand) name the other interviewer.
	t.Run("stale records", func(t *testing.T) {
		if _, err := env.Store.Pool.Exec(context.Background(),
			"UPDATE episodes SET assigned_interviewer_id = $2 WHERE id = $1", epA, aIv2.user.ID); err != nil {
			t.Fatal(err)
		}
		attempt := map[string]any{"method": "text", "outcome": "no_answer", "attempted_at": rfc(time.Now())}
		post(t, env, aIv2.token, "/v1/episodes/"+epA+"/contact-attempts", attempt, 404)
		post(t, env, aIv.token, "/v1/episodes/"+epA+"/contact-attempts", attempt, 200)
	})

	// An episode whose records are not written yet (no worker runs it):
	// its commissioner comes from the workflow, and nobody else learns
	// that it exists, nor can signal it.
	t.Run("not yet recorded", func(t *testing.T) {
		srv := httptest.NewServer(api.NewRouter(api.Deps{
			Store: env.Store, Temporal: env.Temporal, TaskQueue: "nobody-polls-" + uuid.NewString(),
			Policy: env.Policy, QueryTimeout: 300 * time.Millisecond, OutcomeTimeout: time.Second, Codec: env.Codec(),
		}))
		defer srv.Close()
		do := func(token, method, path string, body any) (int, []byte) {
			var r io.Reader
			if body != nil {
				js, _ := json.Marshal(body)
				r = bytes.NewReader(js)
			}
			req, _ := http.NewRequest(method, srv.URL+path, r)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := testenv.CheckedClient(t).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b
		}
		ref := referral(time.Hour)
		ref["assigned_interviewer_id"] = aIv.user.ID
		st, body := do(aCoord.token, "POST", "/v1/episodes", ref)
		if st != 201 {
			t.Fatalf("open: %d %s", st, body)
		}
		var c created
		_ = json.Unmarshal(body, &c)
		for _, u := range everyone {
			st, body := do(u.token, "GET", "/v1/episodes/"+c.ID, nil)
			want := 404
			if u.user.Role != store.RoleInterviewer && u.user.Role != store.RoleCommissionerOfficer &&
				(u.user.CommissionerID == "" || u.user.CommissionerID == a.ID) {
				want = 200
			}
			if u.user.ID == aIv.user.ID {
				want = 200 // the interviewer assigned at opening: the workflow's memo names them
			}
			if st != want {
				t.Errorf("%s GET pending episode: %d, want %d: %s", u.name, st, want, body)
			}
		}
		st, body = do(bCoord.token, "POST", "/v1/episodes/"+c.ID+"/closure", map[string]any{"reason": "duplicate"})
		if st != 404 {
			t.Errorf("B's coordinator closing A's pending episode: %d, want 404: %s", st, body)
		}
		st, body = do(aCoord.token, "POST", "/v1/episodes/"+c.ID+"/closure", map[string]any{"reason": "duplicate"})
		// No worker runs it: the episode cannot answer, so 503, retry later.
		if st != 503 {
			t.Errorf("A's coordinator closing A's pending episode: %d, want 503: %s", st, body)
		}
	})
}

// sameAsNoEpisode checks that a 404 reads exactly as for an episode that
// does not exist.
func sameAsNoEpisode(t *testing.T, body []byte) {
	t.Helper()
	const want = `{"error":{"status":404,"code":"not_found","message":"No such episode.","details":[{"field":"id","reason":"no such episode"}]}}`
	if string(body) != want {
		t.Errorf("404 body %s, want %s", body, want)
	}
}

func sortedIDs(ids []string) []string {
	out := append([]string{}, ids...)
	sort.Strings(out)
	return out
}

// escalationEpisodes lists the episodes of the escalations token sees.
func escalationEpisodes(t *testing.T, env *testenv.Env, token, query string) []string {
	t.Helper()
	st, body := env.Do(t, "GET", "/v1/escalations"+query, token, nil)
	if st != 200 {
		t.Fatalf("GET /v1/escalations%s: %d %s", query, st, body)
	}
	var got struct {
		Escalations []struct {
			EpisodeID string `json:"episode_id"`
		} `json:"escalations"`
	}
	_ = json.Unmarshal(body, &got)
	var ids []string
	for _, e := range got.Escalations {
		ids = append(ids, e.EpisodeID)
	}
	return sortedIDs(ids)
}

// storeChild is the id of the child of a recorded episode.
func storeChild(t *testing.T, env *testenv.Env, episodeID string) string {
	t.Helper()
	var id string
	if err := env.Store.Pool.QueryRow(context.Background(), "SELECT child_id::text FROM episodes WHERE id = $1", episodeID).Scan(&id); err != nil {
		t.Fatal(fmt.Errorf("child of episode: %w", err))
	}
	return id
}
