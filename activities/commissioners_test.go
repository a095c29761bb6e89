package activities

import (
	"context"
	"sort"
	"strings"
	"testing"

	"homeward/episode"
	"homeward/store"
)

// A commissioner's episode escalates to the provider's managers and that
// commissioner's, never to another commissioner's; reminders likewise go
// to the provider's and that commissioner's coordinators only.
func TestEscalationsAndRemindersStayWithTheEpisodesCommissioner(t *testing.T) {
	f := newFixture(t) // two provider managers; the episode has no commissioner yet
	ctx := context.Background()
	a, err := f.store.CreateCommissioner(ctx, "Aldershire")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.store.CreateCommissioner(ctx, "Bexton")
	if err != nil {
		t.Fatal(err)
	}
	add := func(email string, role store.Role, commissioner string, seed byte) {
		u, err := f.store.CreateUser(ctx, "Staff", email, role, []byte{seed, 7})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.SetUserCommissioner(ctx, u.ID, commissioner); err != nil {
			t.Fatal(err)
		}
	}
	add("a.manager@example.org", store.RoleManager, a.ID, 1)
	add("b.manager@example.org", store.RoleManager, b.ID, 2)
	add("a.coordinator@example.org", store.RoleCoordinator, a.ID, 3)
	add("b.coordinator@example.org", store.RoleCoordinator, b.ID, 4)
	add("p.coordinator@example.org", store.RoleCoordinator, "", 5)

	recipients := func(from int) []string {
		var to []string
		for _, m := range f.smtp.Messages()[from:] {
			to = append(to, m.To[0])
		}
		sort.Strings(to)
		return to
	}

	in := f.breach()
	in.CommissionerID = a.ID
	res, err := f.acts.SendEscalation(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	want := "a.manager@example.org amina.manager@example.org ben.manager@example.org"
	if got := strings.Join(recipients(0), " "); got != want || res.Recipients != 3 {
		t.Fatalf("escalation of A's episode went to %q (%d), want %q", got, res.Recipients, want)
	}
	views, err := f.store.ListEscalations(ctx, store.Caller{UserID: "00000000-0000-4000-8000-00000000000b", Role: store.RoleManager, CommissionerID: b.ID},
		store.EscalationFilter{EpisodeID: f.state.EpisodeID})
	if err != nil || len(views) != 0 {
		t.Errorf("B's manager sees A's escalation: %+v, %v", views, err)
	}
	views, err = f.store.ListEscalations(ctx, store.Caller{UserID: "00000000-0000-4000-8000-00000000000a", Role: store.RoleManager, CommissionerID: a.ID},
		store.EscalationFilter{EpisodeID: f.state.EpisodeID})
	if err != nil || len(views) != 1 {
		t.Errorf("A's manager does not see A's escalation: %+v, %v", views, err)
	}

	// A workflow that started before commissioners sends none: the
	// recorded episode's commissioner is used.
	st := *f.state
	st.CommissionerID = b.ID
	st.Version++
	if _, err := f.acts.SaveEpisode(ctx, SaveEpisodeInput{State: st}); err != nil {
		t.Fatal(err)
	}
	n := len(f.smtp.Messages())
	safeguarding := SendEscalationInput{EpisodeID: f.state.EpisodeID, Reference: f.state.Reference, Escalation: episode.Escalation{
		Kind: episode.EscalationSafeguardingConcern, DueAt: f.state.OpenedAt, TriggeredAt: f.state.OpenedAt,
	}}
	if _, err := f.acts.SendEscalation(ctx, safeguarding); err != nil {
		t.Fatal(err)
	}
	want = "amina.manager@example.org b.manager@example.org ben.manager@example.org"
	if got := strings.Join(recipients(n), " "); got != want {
		t.Fatalf("escalation of B's recorded episode went to %q, want %q", got, want)
	}

	n = len(f.smtp.Messages())
	nc := episode.NextContact{Method: episode.MethodText, DueAt: f.state.OpenedAt, Purpose: "retry"}
	if _, err := f.acts.SendReminder(ctx, SendReminderInput{EpisodeID: f.state.EpisodeID, Reference: f.state.Reference,
		Attempt: 2, Contact: nc, CommissionerID: a.ID}); err != nil {
		t.Fatal(err)
	}
	want = "a.coordinator@example.org p.coordinator@example.org"
	if got := strings.Join(recipients(n), " "); got != want {
		t.Fatalf("reminder for A's episode went to %q, want %q", got, want)
	}
}
