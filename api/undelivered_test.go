package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"homeward/internal/testenv"
	"homeward/store"
)

type escalationsList struct {
	Escalations []struct {
		EpisodeID   string     `json:"episode_id"`
		Kind        string     `json:"kind"`
		SentAt      *time.Time `json:"sent_at"`
		Recipients  int        `json:"recipients"`
		Undelivered *struct {
			Tried []store.DeliveryTry `json:"tried"`
		} `json:"undelivered"`
	} `json:"escalations"`
	Undelivered []struct {
		EpisodeID string              `json:"episode_id"`
		Email     string              `json:"email"`
		Tried     []store.DeliveryTry `json:"tried"`
	} `json:"undelivered_emails"`
}

func listEscalations(t *testing.T, env *testenv.Env, token, query string) escalationsList {
	t.Helper()
	st, body := env.Do(t, "GET", "/v1/escalations"+query, token, nil)
	if st != 200 {
		t.Fatalf("GET /v1/escalations: %d %s", st, body)
	}
	var l escalationsList
	if err := json.Unmarshal(body, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// safeguardingConcern opens an episode and records a held interview with
// a safeguarding concern, which escalates at once.
func safeguardingConcern(t *testing.T, env *testenv.Env, coord, ivToken, ivID string) created {
	t.Helper()
	ref := referral(time.Hour)
	ref["assigned_interviewer_id"] = ivID
	ep := open(t, env, coord, ref)
	now := time.Now().UTC()
	post(t, env, ivToken, "/v1/episodes/"+ep.ID+"/contact-attempts", map[string]any{"method": "text", "outcome": "reached_offered", "attempted_at": rfc(now)}, 200)
	post(t, env, ivToken, "/v1/episodes/"+ep.ID+"/interview", map[string]any{"outcome": "held", "held_at": rfc(now.Add(-time.Minute)),
		"record": map[string]any{"safeguarding_concern": true, "safeguarding_details": "asked to carry parcels"}}, 200)
	return ep
}

// While the relay refuses everyone (554 to MAIL FROM), a safeguarding
// concern is not sent to nobody: the list shows it undelivered with why,
// the metric counts it, the logs name no address; once the relay accepts,
// each manager gets it once and it is sent.
func TestEscalationUndeliveredWhileTheRelayRefusesEveryone(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	ivUser, iv := env.AddUser(t, store.RoleInterviewer)
	m1, manager := env.AddUser(t, store.RoleManager)
	m2, _ := env.AddUser(t, store.RoleManager)
	env.SMTP.RefuseSenders(554)
	ep := safeguardingConcern(t, env, coord, iv, ivUser.ID)

	var l escalationsList
	testenv.Eventually(t, 30*time.Second, "the concern shown undelivered", func() bool {
		l = listEscalations(t, env, manager, "?undelivered=true&episode_id="+ep.ID)
		return len(l.Escalations) == 1 && l.Escalations[0].Undelivered != nil
	})
	x := l.Escalations[0]
	if x.SentAt != nil || x.Kind != "safeguarding_concern" {
		t.Errorf("escalation %+v; want an unsent safeguarding concern", x)
	}
	for _, try := range x.Undelivered.Tried {
		if try.Address != "" && !strings.Contains(try.Reason, "refused the sender (554") {
			t.Errorf("tried %+v; want the relay's refusal of the sender", try)
		}
	}
	if found := len(l.Undelivered) > 0 && l.Undelivered[0].Email == "escalation" && l.Undelivered[0].EpisodeID == ep.ID; !found {
		t.Errorf("undelivered_emails = %+v; want the escalation", l.Undelivered)
	}
	if !strings.Contains(env.Scrape(t), `homeward_emails_undelivered_total{email="escalation"} 1`) {
		t.Errorf("the metric does not count the undelivered escalation")
	}
	for _, addr := range []string{m1.Email, m2.Email} {
		if strings.Contains(env.Logs(), addr) {
			t.Errorf("the logs name %s", addr)
		}
	}

	env.SMTP.RefuseSenders(0)
	testenv.Eventually(t, 60*time.Second, "the concern sent once the relay accepts", func() bool {
		l = listEscalations(t, env, manager, "?episode_id="+ep.ID)
		return len(l.Escalations) == 1 && l.Escalations[0].SentAt != nil
	})
	if l.Escalations[0].Undelivered != nil || l.Escalations[0].Recipients != 2 || len(l.Undelivered) != 0 {
		t.Errorf("after delivery: %+v; want sent to both managers, nothing undelivered", l)
	}
	to := map[string]int{}
	for _, m := range env.SMTP.Messages() {
		if m.Header.Get("X-Homeward-Reference") == ep.Reference && strings.Contains(m.Subject, "Safeguarding") {
			to[m.To[0]]++
		}
	}
	if len(to) != 2 || to[m1.Email] != 1 || to[m2.Email] != 1 {
		t.Errorf("concern emails = %v; want one to each manager", to)
	}
}

// With no active manager the concern goes to an admin, and with no admin
// either it stays undelivered until one exists.
func TestEscalationWithNoManagerGoesToTheAdmins(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	ivUser, iv := env.AddUser(t, store.RoleInterviewer)
	ep := safeguardingConcern(t, env, coord, iv, ivUser.ID)
	provider := store.Caller{UserID: "00000000-0000-4000-8000-000000000001", Role: store.RoleAdmin}
	testenv.Eventually(t, 30*time.Second, "the concern recorded undelivered", func() bool {
		u, err := env.Store.ListUndelivered(t.Context(), provider)
		return err == nil && len(u) == 1 && u[0].EpisodeID == ep.ID && u[0].Tried[0].Recipient == "managers"
	})
	admin, adminToken := env.AddUser(t, store.RoleAdmin)
	testenv.Eventually(t, 60*time.Second, "the concern sent to the admin", func() bool {
		l := listEscalations(t, env, adminToken, "?episode_id="+ep.ID)
		return len(l.Escalations) == 1 && l.Escalations[0].SentAt != nil && l.Escalations[0].Recipients == 1
	})
	var got []string
	for _, m := range env.SMTP.Messages() {
		if m.Header.Get("X-Homeward-Reference") == ep.Reference {
			got = append(got, m.To[0])
		}
	}
	if len(got) != 1 || got[0] != admin.Email {
		t.Errorf("concern emails went to %v; want the admin alone", got)
	}
}

// A return report with no officer to receive it is not sent: the managers
// are told, the officer cannot read it yet (404), and it goes out once an
// officer exists.
func TestReturnReportWithNoOfficerWaitsForOne(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	ivUser, iv := env.AddUser(t, store.RoleInterviewer)
	m, manager := env.AddUser(t, store.RoleManager)
	ref := referral(time.Hour)
	ref["assigned_interviewer_id"] = ivUser.ID
	ep := open(t, env, coord, ref)
	base := "/v1/episodes/" + ep.ID
	now := time.Now().UTC()
	post(t, env, iv, base+"/contact-attempts", map[string]any{"method": "text", "outcome": "reached_offered", "attempted_at": rfc(now)}, 200)
	post(t, env, iv, base+"/interview", map[string]any{"outcome": "held", "held_at": rfc(now.Add(-time.Minute)),
		"record": map[string]any{"push_factors": []string{"rows about curfew"}}}, 200)
	post(t, env, iv, base+"/agreement", map[string]any{"confidentiality_explained": true, "child_told_before_sharing": true,
		"shared_with": []any{map[string]any{"party": "social_worker", "what": "the return report"}}}, 200)

	testenv.Eventually(t, 30*time.Second, "the managers told the report reached no officer", func() bool {
		for _, msg := range env.SMTP.Messages() {
			if msg.To[0] == m.Email && strings.Contains(msg.Subject, "Return report not delivered: "+ep.Reference) {
				return true
			}
		}
		return false
	})
	l := listEscalations(t, env, manager, "")
	if len(l.Undelivered) != 1 || l.Undelivered[0].Email != "return_report" || l.Undelivered[0].EpisodeID != ep.ID {
		t.Errorf("undelivered_emails = %+v; want the report", l.Undelivered)
	}
	var sent *time.Time
	if err := env.Store.Pool.QueryRow(t.Context(), "SELECT sent_at FROM return_reports WHERE episode_id = $1", ep.ID).Scan(&sent); err != nil || sent != nil {
		t.Fatalf("report sent_at = %v, %v; want not sent", sent, err)
	}

	officerUser, officer := env.AddUserIn(t, store.RoleCommissionerOfficer, env.Commissioner.ID)
	if st, body := env.Do(t, "GET", base+"/report", officer, nil); st != 404 {
		t.Errorf("an officer read the report before it was sent to them: %d %.100s", st, body)
	}
	testenv.Eventually(t, 60*time.Second, "the report sent to the new officer", func() bool {
		st, _ := env.Do(t, "GET", base+"/report", officer, nil)
		return st == 200
	})
	n := 0
	for _, msg := range env.SMTP.Messages() {
		if msg.Header.Get("X-Homeward-Report") == ep.Reference && msg.To[0] == officerUser.Email {
			n++
		}
	}
	if n != 1 {
		t.Errorf("report-ready emails to the officer = %d, want 1", n)
	}
	if l := listEscalations(t, env, manager, ""); len(l.Undelivered) != 0 {
		t.Errorf("undelivered_emails = %+v after delivery; want none", l.Undelivered)
	}
}
