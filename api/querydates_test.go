package api_test

import (
	"testing"

	"homeward/internal/testenv"
	"homeward/store"
)

// A date or instant in a query before 1900 or after 9999 (year 0000
// included) is a 400 naming the parameter, never a 500 from the
// database's date arithmetic.
func TestQueryDatesOutOfRangeAreRefused(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	_, officer := env.AddUserIn(t, store.RoleCommissionerOfficer, env.Commissioner.ID)
	_, manager := env.AddUserIn(t, store.RoleManager, env.Commissioner.ID)
	cases := []struct {
		token, path, field string
	}{
		{officer, "/v1/reports/kpis?from=0000-01-01&to=2025-02-20", "from"},
		{officer, "/v1/reports/kpis?from=1899-12-31&to=1900-01-31", "from"},
		{officer, "/v1/reports/hotspots?from=0000-01-01&to=0000-12-31", "from"},
		{officer, "/v1/reports/hotspots?from=2025-01-01&to=10000-01-01", "to"},
		{officer, "/v1/exports/annex-a-list8.csv?as_of=0000-06-30", "as_of"},
		{manager, "/v1/audit?from=0000-01-01T00:00:00Z", "from"},
		{manager, "/v1/audit?to=1899-12-31T23:59:59Z", "to"},
	}
	for _, c := range cases {
		st, body := env.Do(t, "GET", c.path, c.token, nil)
		wantError(t, st, body, 400, "invalid_request", c.field)
	}
	if st, body := env.Do(t, "GET", "/v1/reports/kpis?from=1900-01-01&to=1900-01-31", officer, nil); st != 200 {
		t.Errorf("1900 is in range: %d %s", st, body)
	}
}
