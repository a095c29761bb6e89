package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"homeward/episode"
	"homeward/internal/testenv"
	"homeward/store"
)

// An action still open its grace after its due date emails each manager
// once (on real Temporal, PostgreSQL and SMTP); its owner was reminded at
// the due date; neither email says what the action is or who the child is.
func TestActionOverdueEmailsManagersOnce(t *testing.T) {
	policy := episode.DefaultPolicy()
	policy.ActionGrace = 3 * time.Second
	env := testenv.Start(t, testenv.Options{Policy: &policy})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	ivUser, iv := env.AddUser(t, store.RoleInterviewer)
	mgrUser, mgr := env.AddUser(t, store.RoleManager)
	mgr2User, _ := env.AddUser(t, store.RoleManager)

	ref := referral(time.Hour)
	ref["assigned_interviewer_id"] = ivUser.ID
	ep := open(t, env, coord, ref)
	base := "/v1/episodes/" + ep.ID
	now := time.Now().UTC()
	post(t, env, iv, base+"/contact-attempts", map[string]any{"method": "text", "outcome": "reached_offered", "attempted_at": rfc(now)}, 200)

	// Before the interview a carers' account is taken; a plan is refused.
	post(t, env, iv, base+"/carers-account", map[string]any{"given_by": "Alex Carer", "relationship": "foster carer",
		"given_at": rfc(now), "where_child_was": "at a friend's flat in town", "who_with": "two older boys"}, 200)
	st, body := env.Do(t, "POST", base+"/action-plan", iv, map[string]any{"actions": []any{
		map[string]any{"what": "x", "owner": "y", "due_at": rfc(now.Add(time.Hour))}}})
	wantError(t, st, body, 409, "conflict", "action_plan")

	post(t, env, iv, base+"/interview", map[string]any{"outcome": "held", "held_at": rfc(now.Add(-time.Minute)),
		"record": map[string]any{"what_happened": "stayed with friends"}}, 200)
	st, body = env.Do(t, "POST", base+"/carers-account", iv, map[string]any{"given_by": "Alex Carer", "given_at": rfc(now), "notes": "late"})
	wantError(t, st, body, 409, "conflict", "carers_account")

	// Field limits are the episode's and named.
	tooMany := make([]any, episode.MaxItems+1)
	for i := range tooMany {
		tooMany[i] = map[string]any{"what": "x", "owner": "y", "due_at": rfc(now.Add(time.Hour))}
	}
	st, body = env.Do(t, "POST", base+"/action-plan", iv, map[string]any{"actions": tooMany})
	wantError(t, st, body, 400, "invalid_request", "actions")
	st, body = env.Do(t, "POST", base+"/action-plan", iv, map[string]any{"actions": []any{
		map[string]any{"what": strings.Repeat("a", episode.MaxItemText+1), "owner": "y", "owner_email": "not an address", "due_at": "soon"}}})
	e := wantError(t, st, body, 400, "invalid_request", "actions[0].what")
	for _, f := range []string{"actions[0].owner_email", "actions[0].due_at"} {
		if reason(e, f) == "" {
			t.Errorf("400 does not name %s: %s", f, body)
		}
	}

	due := time.Now().UTC().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	resp := post(t, env, iv, base+"/action-plan", map[string]any{"actions": []any{
		map[string]any{"what": "Meet the school about Sam's attendance", "owner": "Testtown School", "owner_email": "safeguarding@school.example", "due_at": rfc(due)},
		map[string]any{"what": "Youth club place", "owner": "Youth service", "due_at": rfc(due.Add(time.Hour))},
	}}, 200)
	if !strings.Contains(string(resp), `"open_actions":2`) {
		t.Errorf("answer does not count 2 open actions: %s", resp)
	}

	// The owner's reminder and one escalation per manager.
	msgs := env.SMTP.WaitFor(t, 3, 30*time.Second)
	time.Sleep(2 * policy.ActionGrace) // time for a second escalation, were one to come
	msgs = env.SMTP.Messages()
	perRecipient := map[string]int{}
	for _, m := range msgs {
		for _, s := range []string{"Sam", "Testchild", "school about", "Youth club"} {
			if strings.Contains(m.Text+m.HTML+m.Subject, s) {
				t.Errorf("email to %v carries %q", m.To, s)
			}
		}
		switch {
		case m.Header.Get("X-Homeward-Escalation") == "action_overdue":
			perRecipient[strings.Join(m.To, ",")]++
		case m.Header.Get("X-Homeward-Action") == "1":
			if strings.Join(m.To, ",") != "safeguarding@school.example" {
				t.Errorf("action reminder went to %v, want the owner's address", m.To)
			}
		default:
			t.Errorf("unexpected email %q to %v", m.Subject, m.To)
		}
	}
	if len(perRecipient) != 2 || perRecipient[mgrUser.Email] != 1 || perRecipient[mgr2User.Email] != 1 {
		t.Errorf("action_overdue emails per recipient = %v, want one to each of %s and %s", perRecipient, mgrUser.Email, mgr2User.Email)
	}

	// The episode shows the plan, the carers' account and the escalation.
	var d struct {
		ActionPlan struct {
			Actions []struct {
				Seq          int    `json:"seq"`
				Status       string `json:"status"`
				ReminderSent bool   `json:"reminder_sent"`
			} `json:"actions"`
		} `json:"action_plan"`
		CarersAccounts []struct {
			WhereChildWas string `json:"where_child_was"`
		} `json:"carers_accounts"`
		Escalations []struct {
			Kind       string `json:"kind"`
			Action     int    `json:"action"`
			Recipients int    `json:"recipients"`
		} `json:"escalations"`
	}
	testenv.Eventually(t, 10*time.Second, "the plan, account and escalation projected", func() bool {
		_, body := env.Do(t, "GET", base, mgr, nil)
		d.Escalations = nil
		if err := json.Unmarshal(body, &d); err != nil {
			t.Fatal(err)
		}
		return len(d.ActionPlan.Actions) == 2 && d.ActionPlan.Actions[0].ReminderSent && len(d.CarersAccounts) == 1 &&
			len(d.Escalations) == 1 && d.Escalations[0].Recipients == 2
	})
	if x := d.Escalations[0]; x.Kind != "action_overdue" || x.Action != 1 {
		t.Errorf("escalation = %+v, want action_overdue for action 1", x)
	}
	if d.CarersAccounts[0].WhereChildWas != "at a friend's flat in town" {
		t.Errorf("carers' account = %+v", d.CarersAccounts[0])
	}
	if d.ActionPlan.Actions[1].ReminderSent {
		t.Errorf("action 2 reminded before its due date")
	}
}
