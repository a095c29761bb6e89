package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	chrome "homeward/internal/browser"
	"homeward/internal/testenv"
	"homeward/store"
	"homeward/web"
)

// TestBrowserUndeliveredEscalation: while the relay refuses everyone, the
// manager's escalations page says, at a desktop and on a phone, that
// nobody has received the safeguarding concern, who was tried and why.
func TestBrowserUndeliveredEscalation(t *testing.T) {
	s := start(t)
	env := s.env
	j := newJourney(t, s)
	_, coord := env.AddUser(t, store.RoleCoordinator)
	iv, ivToken := env.AddUser(t, store.RoleInterviewer)
	mgr, _ := env.AddUser(t, store.RoleManager)
	env.SMTP.RefuseSenders(554)

	ref := testenv.Referral(time.Now().Add(-time.Hour))
	ref["assigned_interviewer_id"] = iv.ID
	id := must(t, env, coord, "/v1/episodes", ref, http.StatusCreated)["id"].(string)
	now := time.Now().UTC().Format(time.RFC3339)
	must(t, env, ivToken, "/v1/episodes/"+id+"/contact-attempts", map[string]any{"method": "text", "outcome": "reached_offered", "attempted_at": now}, 200)
	must(t, env, ivToken, "/v1/episodes/"+id+"/interview", map[string]any{"outcome": "held", "held_at": now,
		"record": map[string]any{"safeguarding_concern": true, "safeguarding_details": "asked to carry parcels"}}, 200)

	j.signIn(t, mgr, web.HomeOf(mgr))
	testenv.Eventually(t, 30*time.Second, "the escalations page shows the undelivered concern", func() bool {
		j.b.Navigate(t, j.url("/escalations"))
		var n int
		j.b.Evaluate(t, `document.querySelectorAll('.undelivered-list > li').length`, &n)
		return n > 0
	})
	j.visit(t, "escalations-undelivered")
	section := textOf(t, j, ".undelivered")
	for _, want := range []string{"Emails nobody has received", "Escalation: Safeguarding concern", mgr.Email, "the relay refused the sender (554"} {
		if !strings.Contains(section, want) {
			t.Errorf("the undelivered section lacks %q:\n%s", want, section)
		}
	}
	if flag := textOf(t, j, ".undelivered-flag"); flag != "Not received by anyone yet" {
		t.Errorf("the escalation's flag says %q", flag)
	}
	j.b.Resize(t, chrome.Phone)
	j.open(t, "/escalations", "escalations-undelivered")
}

// must sends body to the API as token and returns the answer, failing the
// test unless the status is want.
func must(t *testing.T, env *testenv.Env, token, path string, body any, want int) map[string]any {
	t.Helper()
	st, raw := env.Do(t, "POST", path, token, body)
	if st != want {
		t.Fatalf("POST %s: %d %s", path, st, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
