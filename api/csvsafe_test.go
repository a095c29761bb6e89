package api_test

import (
	"encoding/csv"
	"net/url"
	"strings"
	"testing"
	"time"

	"homeward/internal/testenv"
	"homeward/store"
)

// No cell of an export can start a formula in a spreadsheet, even from a
// child id recorded before ids were checked; and a referral with such an
// id is refused where it enters.
func TestExportsAreSafeInASpreadsheet(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	a := env.Commissioner.ID
	_, token := env.AddUserIn(t, store.RoleManager, a)
	_, coord := env.AddUser(t, store.RoleCoordinator)

	for _, formula := range []string{"=HYPERLINK(\"http://evil.example\")", "+1+1", "-2+3", "@SUM(A1)", "LA\t=1"} {
		bad := referral(time.Hour)
		bad["child"].(map[string]any)["local_authority_child_id"] = formula
		st, body := env.Do(t, "POST", "/v1/episodes", coord, bad)
		if st != 400 {
			t.Fatalf("referral with child id %q: %d %s; want 400", formula, st, body)
		}
		wantError(t, st, body, 400, "invalid_request", "child.local_authority_child_id")
	}

	formula := "=HYPERLINK(\"http://evil.example\",\"LA1\")"
	kid := seedChild(t, env, a, formula, "2010-05-06")
	seedEpisode(t, env, seedEp{commissioner: a, child: kid, category: "missing", missing: at("2025-06-10T10:00:00Z"), returned: *at("2025-06-11T08:00:00Z")})
	for _, path := range []string{
		"/v1/exports/ssda903/missing.csv?year=2025",
		"/v1/exports/annex-a-list8.csv?as_of=2026-03-31",
		"/v1/reports/kpis?" + url.Values{"commissioner_id": {a}, "from": {"2025-06-01"}, "to": {"2025-06-30"}}.Encode(),
	} {
		st, body := env.Do(t, "GET", path, token, nil, "Accept", "text/csv")
		if st != 200 {
			t.Fatalf("GET %s: %d %s", path, st, body)
		}
		rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		found := false
		for _, row := range rows {
			for _, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("%s: cell %q starts a formula", path, cell)
				}
				found = found || cell == "'"+formula
			}
		}
		if !found && !strings.Contains(path, "kpis") {
			t.Errorf("%s: the child id is not there as text: %s", path, body)
		}
	}
}
