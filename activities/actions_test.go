package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"homeward/episode"
)

// An overdue action escalates once per action: each manager gets one email
// for action 1 and one for action 2, however often each is sent.
func TestActionOverdueEmailedOncePerManagerPerAction(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, action := range []int{1, 2, 1, 2} {
		in := SendEscalationInput{EpisodeID: f.state.EpisodeID, Reference: f.state.Reference, Escalation: episode.Escalation{
			Kind: episode.EscalationActionOverdue, Action: action, Reason: "action still open",
			DueAt: f.state.OpenedAt, TriggeredAt: f.state.OpenedAt.Add(48 * time.Hour)}}
		if res, err := f.acts.SendEscalation(ctx, in); err != nil || res.Recipients != 2 {
			t.Fatalf("action %d: %+v, %v", action, res, err)
		}
	}
	msgs := f.smtp.Messages()
	if len(msgs) != 4 {
		t.Fatalf("got %d emails, want 4: one per manager per action", len(msgs))
	}
	seen := map[string]bool{}
	for _, m := range msgs {
		action := "1"
		if strings.Contains(m.Text, "Action 2 was due") {
			action = "2"
		}
		seen[m.To[0]+" "+action] = true
		if strings.Contains(string(m.Data), canary) {
			t.Errorf("the email carries the child's personal data")
		}
	}
	if len(seen) != 4 {
		t.Errorf("emails went to %v, want each manager once for each action", seen)
	}
}

// The owner's address is reminded once, with the reference and the
// action's number only.
func TestActionReminderGoesToTheOwner(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := SendActionReminderInput{EpisodeID: f.state.EpisodeID, Reference: f.state.Reference, Action: 3,
		DueAt: f.state.OpenedAt, OwnerEmail: "team@agency.example"}
	for i := 0; i < 2; i++ {
		if _, err := f.acts.SendActionReminder(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	msgs := f.smtp.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "team@agency.example" {
		t.Fatalf("reminders = %d (to %v), want one to the owner", len(msgs), msgs)
	}
	if !strings.Contains(msgs[0].Text, f.state.Reference) || !strings.Contains(msgs[0].Text, "Action: 3") {
		t.Errorf("reminder text: %s", msgs[0].Text)
	}
}
