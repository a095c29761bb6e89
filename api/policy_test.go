package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"homeward/internal/testenv"
	"homeward/store"
)

type policyAnswer struct {
	CommissionerID string         `json:"commissioner_id"`
	Version        int            `json:"version"`
	Defaults       bool           `json:"defaults"`
	ChangedBy      string         `json:"changed_by"`
	Policy         map[string]any `json:"policy"`
}

func getPolicy(t *testing.T, env *testenv.Env, token, commissioner string) policyAnswer {
	t.Helper()
	st, body := env.Do(t, "GET", "/v1/commissioners/"+commissioner+"/policy", token, nil)
	if st != 200 {
		t.Fatalf("GET policy: %d %s", st, body)
	}
	var a policyAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatal(err)
	}
	return a
}

// putPolicy changes the commissioner's policy from its current one by
// change, and answers the status and body.
func putPolicy(t *testing.T, env *testenv.Env, token, commissioner string, change map[string]any) (int, []byte) {
	t.Helper()
	_, admin := env.AddUserIn(t, store.RoleAdmin, "")
	p := getPolicy(t, env, admin, commissioner).Policy
	for k, v := range change {
		p[k] = v
	}
	return env.Do(t, "PUT", "/v1/commissioners/"+commissioner+"/policy", token, p)
}

// offerDeadline is the offer deadline the records give the episode.
func offerDeadline(t *testing.T, env *testenv.Env, token, id string) time.Time {
	t.Helper()
	waitFor(t, env, token, id, 10*time.Second, "projected", projected)
	_, body := env.Do(t, "GET", "/v1/episodes/"+id, token, nil)
	var d struct {
		OfferDeadline time.Time `json:"offer_deadline"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		t.Fatal(err)
	}
	return d.OfferDeadline
}

// A commissioner's policy change shows in the episodes opened after it,
// in the answer and in the records, and not in those already open.
func TestCommissionerPolicyAppliesToEpisodesOpenedAfterIt(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	a := env.Commissioner
	pMgr, pMgrToken := env.AddUserIn(t, store.RoleManager, "")
	_, coord := env.AddUser(t, store.RoleCoordinator)

	if p := getPolicy(t, env, pMgrToken, a.ID); !p.Defaults || p.Version != 0 || p.Policy["offer_window_minutes"] != 4320.0 ||
		p.Policy["repeat_episodes"] != 3.0 || p.Policy["repeat_window_minutes"] != 43200.0 {
		t.Fatalf("policy before any change = %+v, want the defaults", p)
	}
	before := open(t, env, coord, referral(time.Hour))

	st, body := putPolicy(t, env, pMgrToken, a.ID, map[string]any{"offer_window_minutes": 48 * 60})
	if st != 200 {
		t.Fatalf("PUT policy: %d %s", st, body)
	}
	var changed policyAnswer
	_ = json.Unmarshal(body, &changed)
	if changed.Version != 1 || changed.Defaults || changed.ChangedBy != pMgr.ID || changed.Policy["offer_window_minutes"] != 2880.0 {
		t.Errorf("answer to the change = %+v", changed)
	}
	after := open(t, env, coord, referral(time.Hour))

	if want := after.ReturnedAt.Add(48 * time.Hour); !after.OfferDeadline.Equal(want) {
		t.Errorf("episode opened after the change: offer_deadline %s, want %s", after.OfferDeadline, want)
	}
	if want := before.ReturnedAt.Add(72 * time.Hour); !before.OfferDeadline.Equal(want) {
		t.Errorf("episode opened before the change: offer_deadline %s, want %s", before.OfferDeadline, want)
	}
	if got := offerDeadline(t, env, coord, after.ID); !got.Equal(after.OfferDeadline) {
		t.Errorf("records of the episode opened after: offer_deadline %s, want %s", got, after.OfferDeadline)
	}
	if got := offerDeadline(t, env, coord, before.ID); !got.Equal(before.ReturnedAt.Add(72 * time.Hour)) {
		t.Errorf("records of the episode opened before: offer_deadline %s, want 72 hours after the return", got)
	}
	// Another commissioner keeps the defaults.
	b := env.AddCommissioner(t, "Bexton")
	if p := getPolicy(t, env, pMgrToken, b.ID); !p.Defaults || p.Policy["offer_window_minutes"] != 4320.0 {
		t.Errorf("another commissioner's policy = %+v, want the defaults", p)
	}
}

func TestCommissionerPolicyChangeIsForTheProvider(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	a := env.Commissioner
	pMgr, pMgrToken := env.AddUserIn(t, store.RoleManager, "")
	pAdmin, pAdminToken := env.AddUserIn(t, store.RoleAdmin, "")
	_, aMgr := env.AddUser(t, store.RoleManager)
	_, aAdmin := env.AddUser(t, store.RoleAdmin)

	for name, token := range map[string]string{"A's manager": aMgr, "A's admin": aAdmin} {
		st, body := putPolicy(t, env, token, a.ID, map[string]any{"reoffer_count": 3})
		wantError(t, st, body, 403, "forbidden", "role")
		if getPolicy(t, env, token, a.ID).Version != 0 {
			t.Errorf("%s changed the policy", name)
		}
	}
	st, body := putPolicy(t, env, pMgrToken, a.ID, map[string]any{"reoffer_count": 3})
	if st != 200 {
		t.Fatalf("the provider's manager: %d %s", st, body)
	}
	st, body = putPolicy(t, env, pAdminToken, a.ID, map[string]any{"escalation_addresses": []string{"missing-team@council.example"}})
	if st != 200 {
		t.Fatalf("the provider's admin: %d %s", st, body)
	}
	// Sending the policy in force again is no new version.
	if st, body = putPolicy(t, env, pAdminToken, a.ID, nil); st != 200 || !strings.Contains(string(body), `"version":2`) {
		t.Errorf("the same policy again: %d %s, want version 2", st, body)
	}
	p := getPolicy(t, env, aMgr, a.ID)
	if p.Version != 2 || p.ChangedBy != pAdmin.ID || p.Policy["reoffer_count"] != 3.0 {
		t.Errorf("A's manager reads %+v", p)
	}

	// Each version is kept with who made it; each change is audited.
	rows, err := env.Store.Pool.Query(context.Background(),
		"SELECT version, changed_by::text FROM policy_versions WHERE commissioner_id = $1 ORDER BY version", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	var history []string
	for rows.Next() {
		var v int
		var by string
		_ = rows.Scan(&v, &by)
		history = append(history, fmt.Sprint(v, by))
	}
	if want := []string{fmt.Sprint(1, pMgr.ID), fmt.Sprint(2, pAdmin.ID)}; strings.Join(history, ",") != strings.Join(want, ",") {
		t.Errorf("history %v, want %v", history, want)
	}
	for _, who := range []store.User{pMgr, pAdmin} {
		entries, err := env.Store.ListAudit(context.Background(), store.AuditFilter{UserID: who.ID, Limit: 50})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, e := range entries {
			found = found || (e.Action == "commissioner_policy.change" && e.Outcome == "accepted" && e.Status == 200)
		}
		if !found {
			t.Errorf("no accepted commissioner_policy.change audit row for %s", who.Role)
		}
	}
}

func TestCommissionerPolicyIsValidated(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	a := env.Commissioner
	_, pMgr := env.AddUserIn(t, store.RoleManager, "")
	many := make([]string, 21)
	for i := range many {
		many[i] = fmt.Sprintf("team%d@council.example", i)
	}
	cases := []struct {
		change map[string]any
		field  string
	}{
		{map[string]any{"offer_window_minutes": 72*60 + 1}, "offer_window_minutes"},
		{map[string]any{"deadline_warning_lead_minutes": 72 * 60}, "deadline_warning_lead_minutes"},
		{map[string]any{"contact_spacing_minutes": 0}, "contact_spacing_minutes"},
		{map[string]any{"max_contact_attempts": 0}, "max_contact_attempts"},
		{map[string]any{"repeat_episodes": 1}, "repeat_episodes"},
		{map[string]any{"repeat_window_minutes": -5}, "repeat_window_minutes"},
		{map[string]any{"follow_up_delay_minutes": nil}, "follow_up_delay_minutes"},
		{map[string]any{"escalation_addresses": []string{"not an address"}}, "escalation_addresses[0]"},
		{map[string]any{"escalation_addresses": []string{"Team <team@council.example>"}}, "escalation_addresses[0]"},
		{map[string]any{"escalation_addresses": many}, "escalation_addresses"},
		{map[string]any{"report_due_minutes": -1}, "report_due_minutes"},
		{map[string]any{"report_acknowledge_within_minutes": 527041}, "report_acknowledge_within_minutes"},
		{map[string]any{"action_grace_minutes": -60}, "action_grace_minutes"},
	}
	for _, c := range cases {
		st, body := putPolicy(t, env, pMgr, a.ID, c.change)
		e := wantError(t, st, body, 400, "invalid_request", c.field)
		if c.field == "offer_window_minutes" && !strings.Contains(reason(e, c.field), "72 hours") {
			t.Errorf("reason %q does not name the statutory 72 hours", reason(e, c.field))
		}
	}
	if getPolicy(t, env, pMgr, a.ID).Version != 0 {
		t.Error("an invalid policy was stored")
	}
	st, body := env.Do(t, "PUT", "/v1/commissioners/"+a.ID+"/policy", pMgr, map[string]any{"offer_window_minutes": 60})
	wantError(t, st, body, 400, "invalid_request", "contact_spacing_minutes")
	whole := getPolicy(t, env, pMgr, a.ID).Policy
	st, body = env.Do(t, "PUT", "/v1/commissioners/9a1e3f0c-0000-4000-8000-000000000000/policy", pMgr, whole)
	wantError(t, st, body, 404, "not_found", "id")
}

// An escalation reaches the commissioner's address exactly once, and only
// for episodes opened after the address was added.
func TestEscalationReachesTheCommissionersAddress(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	a := env.Commissioner
	_, pMgr := env.AddUserIn(t, store.RoleManager, "")
	mgr, _ := env.AddUser(t, store.RoleManager)
	_, coord := env.AddUser(t, store.RoleCoordinator)
	const team = "missing-team@council.example"

	// Returned 60 hours ago: the deadline warning escalates at once.
	before := open(t, env, coord, referral(60*time.Hour))
	st, body := putPolicy(t, env, pMgr, a.ID, map[string]any{"escalation_addresses": []string{team, strings.ToUpper(mgr.Email)}})
	if st != 200 {
		t.Fatalf("PUT policy: %d %s", st, body)
	}
	after := open(t, env, coord, referral(60*time.Hour))

	to := func(reference string) map[string]int {
		out := map[string]int{}
		for _, m := range env.SMTP.Messages() {
			if m.Header.Get("X-Homeward-Reference") == reference {
				for _, r := range m.To {
					out[strings.ToLower(r)]++
				}
			}
		}
		return out
	}
	testenv.Eventually(t, 20*time.Second, "the warning of the later episode reaches the team", func() bool {
		return to(after.Reference)[team] > 0 && to(before.Reference)[strings.ToLower(mgr.Email)] > 0
	})
	time.Sleep(time.Second) // nothing more arrives
	got := to(after.Reference)
	if got[team] != 1 || got[strings.ToLower(mgr.Email)] != 1 || len(got) != 3 {
		t.Errorf("the later episode's warning went to %v, want the team, the provider's and A's manager once each", got)
	}
	if got := to(before.Reference); got[team] != 0 || len(got) != 2 {
		t.Errorf("the earlier episode's warning went to %v: an open episode keeps its policy", got)
	}
}

// The return report's times and the action grace are shown with their
// defaults, and once set they are what episodes opened afterwards carry.
func TestCommissionerPolicyReportTimes(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	a := env.Commissioner
	_, pMgr := env.AddUserIn(t, store.RoleManager, "")
	p := getPolicy(t, env, pMgr, a.ID).Policy
	if p["report_due_minutes"] != 4320.0 || p["report_acknowledge_within_minutes"] != 7200.0 || p["action_grace_minutes"] != 2880.0 {
		t.Fatalf("defaults shown: %v", p)
	}
	st, body := putPolicy(t, env, pMgr, a.ID, map[string]any{
		"report_due_minutes": 24 * 60, "report_acknowledge_within_minutes": 48 * 60, "action_grace_minutes": 0})
	if st != 200 {
		t.Fatalf("PUT policy: %d %s", st, body)
	}
	p = getPolicy(t, env, pMgr, a.ID).Policy
	if p["report_due_minutes"] != 1440.0 || p["report_acknowledge_within_minutes"] != 2880.0 || p["action_grace_minutes"] != 2880.0 {
		t.Errorf("after the change: %v", p)
	}
	v, err := env.Store.CommissionerPolicy(context.Background(), a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if pol := v.Policy; pol.ReportDue != 24*time.Hour || pol.ReportAcknowledgeWithin != 48*time.Hour || pol.ActionGrace != 0 {
		t.Errorf("stored policy: due %s, acknowledge within %s, grace %s", pol.ReportDue, pol.ReportAcknowledgeWithin, pol.ActionGrace)
	}
}
