package activities

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"homeward/episode"
	"homeward/internal/pglocal"
	"homeward/internal/smtptest"
	"homeward/mail"
	"homeward/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pglocal.StopTestClusters()
	os.Exit(code)
}

const canary = "Zebedee-Canary-7731"

type fixture struct {
	acts     *Activities
	store    *store.Store
	smtp     *smtptest.Server
	managers []store.User
	state    *episode.State
}

func newFixture(t *testing.T, opts ...smtptest.Option) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, pglocal.NewTestDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	srv := smtptest.Start(t, opts...)
	mailer, err := mail.New(srv.URL(), "Homeward <homeward@test>", "")
	if err != nil {
		t.Fatal(err)
	}
	london, _ := time.LoadLocation("Europe/London")
	f := &fixture{
		acts:  &Activities{Store: st, Mailer: mailer, BaseURL: "https://homeward.example.org", Location: london},
		store: st,
		smtp:  srv,
	}
	for i, email := range []string{"amina.manager@example.org", "ben.manager@example.org"} {
		u, err := st.CreateUser(ctx, "Manager", email, store.RoleManager, []byte{byte(i), 1})
		if err != nil {
			t.Fatal(err)
		}
		f.managers = append(f.managers, u)
	}
	// The episode's child carries a canary that must never reach an email.
	returned := time.Date(2026, 10, 24, 11, 0, 0, 0, time.UTC) // 12:00 BST
	ref := episode.Referral{
		Child:      episode.Child{FirstName: canary, LastName: canary, DateOfBirth: "2011-02-03"},
		ReturnedAt: returned, ReportedMissingAt: returned.Add(-time.Hour),
		RiskGrade: episode.RiskHigh, Category: episode.CategoryMissing,
		Contact: episode.ContactDetails{Address: canary + " Street"},
	}
	f.state = episode.New("7d9f3c1e-5b2a-4c8d-9e0f-112233445566", ref, episode.DefaultPolicy(), "coordinator", returned.Add(time.Hour))
	if _, err := f.acts.SaveEpisode(ctx, SaveEpisodeInput{State: *f.state, Referral: &ref}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) breach() SendEscalationInput {
	return SendEscalationInput{EpisodeID: f.state.EpisodeID, Reference: f.state.Reference, Escalation: episode.Escalation{
		Kind: episode.EscalationDeadlineBreached, Reason: "no_contact", DueAt: f.state.OfferDeadline, TriggeredAt: f.state.OfferDeadline,
	}}
}

func TestEscalationEmailedOncePerManagerAcrossRetries(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	in := f.breach()
	for i := 0; i < 3; i++ { // the activity retried, or the workflow replayed
		res, err := f.acts.SendEscalation(ctx, in)
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if res.Recipients != 2 {
			t.Fatalf("send %d: recipients = %d, want 2", i, res.Recipients)
		}
	}
	msgs := f.smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("got %d emails, want one per manager (2)", len(msgs))
	}
	to := map[string]bool{}
	for _, m := range msgs {
		to[m.To[0]] = true
		if m.MessageID == "" || m.Subject != "[Homeward] Offer deadline missed: "+f.state.Reference {
			t.Errorf("subject %q message id %q", m.Subject, m.MessageID)
		}
		for _, part := range []string{m.Text, m.HTML} {
			for _, want := range []string{f.state.Reference, "https://homeward.example.org/episodes/" + f.state.EpisodeID, "Tue 27 Oct 2026 11:00 GMT", "deadline_breached"} {
				if !strings.Contains(part, want) {
					t.Errorf("email part lacks %q:\n%s", want, part)
				}
			}
		}
		if strings.Contains(string(m.Data), canary) || strings.Contains(string(m.Data), "2011-02-03") {
			t.Errorf("the email carries the child's personal data")
		}
	}
	if !to["amina.manager@example.org"] || !to["ben.manager@example.org"] {
		t.Errorf("recipients = %v", to)
	}
	views, err := f.store.ListEscalations(ctx, store.Caller{UserID: "00000000-0000-4000-8000-000000000001", Role: store.RoleAdmin}, store.EscalationFilter{EpisodeID: f.state.EpisodeID})
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 1 || views[0].SentAt == nil || views[0].Recipients != 2 {
		t.Errorf("escalation records = %+v, want one, sent to 2", views)
	}
}

func TestTransientRefusalRetriesOnlyWhatIsOwed(t *testing.T) {
	f := newFixture(t, smtptest.WithRejectRecipient("ben.manager@example.org", 450))
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := f.acts.SendEscalation(ctx, f.breach()); err == nil {
			t.Fatalf("send %d: a transient refusal must fail the activity so Temporal retries it", i)
		}
	}
	msgs := f.smtp.Messages()
	if len(msgs) != 1 || msgs[0].To[0] != "amina.manager@example.org" {
		t.Fatalf("emails = %d, want only the first manager's, once", len(msgs))
	}
}

func TestPermanentRefusalIsSkipped(t *testing.T) {
	f := newFixture(t, smtptest.WithRejectRecipient("ben.manager@example.org", 550))
	res, err := f.acts.SendEscalation(context.Background(), f.breach())
	if err != nil {
		t.Fatalf("a permanently refused address must not hold up the others: %v", err)
	}
	if res.Recipients != 1 || len(f.smtp.Messages()) != 1 {
		t.Errorf("recipients %d, emails %d: want 1 each", res.Recipients, len(f.smtp.Messages()))
	}
}

func TestReminderGoesToTheAssignedInterviewerElseCoordinators(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	iv, err := f.store.CreateUser(ctx, "Interviewer", "ivy.interviewer@example.org", store.RoleInterviewer, []byte{9})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.CreateUser(ctx, "Coordinator", "cora.coordinator@example.org", store.RoleCoordinator, []byte{8}); err != nil {
		t.Fatal(err)
	}
	nc := episode.NextContact{Method: episode.MethodText, DueAt: f.state.OpenedAt, Purpose: "retry"}
	for i := 0; i < 2; i++ {
		if _, err := f.acts.SendReminder(ctx, SendReminderInput{EpisodeID: f.state.EpisodeID, Reference: f.state.Reference, InterviewerID: iv.ID, Attempt: 2, Contact: nc}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.acts.SendReminder(ctx, SendReminderInput{EpisodeID: f.state.EpisodeID, Reference: f.state.Reference, Attempt: 3, Contact: nc}); err != nil {
		t.Fatal(err)
	}
	msgs := f.smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("got %d reminders, want one to the interviewer and one to the coordinator", len(msgs))
	}
	if msgs[0].To[0] != "ivy.interviewer@example.org" || msgs[1].To[0] != "cora.coordinator@example.org" {
		t.Errorf("reminders went to %v and %v", msgs[0].To, msgs[1].To)
	}
	if !strings.Contains(msgs[0].Text, "Contact attempt overdue") || !strings.Contains(msgs[0].Text, "text") {
		t.Errorf("reminder text: %s", msgs[0].Text)
	}
}

func TestFormatInstantShowsLondonTimeAcrossClockChanges(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	cases := map[time.Time]string{
		time.Date(2026, 10, 24, 11, 0, 0, 0, time.UTC): "Sat 24 Oct 2026 12:00 BST",
		time.Date(2026, 10, 27, 11, 0, 0, 0, time.UTC): "Tue 27 Oct 2026 11:00 GMT",
		time.Date(2026, 3, 31, 12, 0, 0, 0, time.UTC):  "Tue 31 Mar 2026 13:00 BST",
	}
	for in, want := range cases {
		if got := FormatInstant(in, london); got != want {
			t.Errorf("FormatInstant(%s) = %q, want %q", in, got, want)
		}
	}
}

// The addresses the episode's policy adds get each escalation once, like
// the managers, and an address that is a manager's too gets it once.
func TestEscalationReachesThePolicyAddressesOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := episode.DefaultPolicy()
	p.EscalationAddresses = []string{"missing-team@council.example", "Amina.Manager@example.org"}
	ref := episode.Referral{Child: episode.Child{FirstName: canary}, ReturnedAt: f.state.ReturnedAt, Contact: f.state.Contact}
	st := episode.New("0b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d3", ref, p, "coordinator", f.state.OpenedAt)
	if _, err := f.acts.SaveEpisode(ctx, SaveEpisodeInput{State: *st, Referral: &ref}); err != nil {
		t.Fatal(err)
	}
	in := f.breach()
	in.EpisodeID, in.Reference = st.EpisodeID, st.Reference
	for i := 0; i < 2; i++ {
		res, err := f.acts.SendEscalation(ctx, in)
		if err != nil || res.Recipients != 3 {
			t.Fatalf("send %d: %d recipients, %v; want 3", i, res.Recipients, err)
		}
	}
	to := map[string]int{}
	for _, m := range f.smtp.Messages() {
		to[strings.ToLower(m.To[0])]++
	}
	want := map[string]int{"missing-team@council.example": 1, "amina.manager@example.org": 1, "ben.manager@example.org": 1}
	if len(to) != len(want) {
		t.Fatalf("emails went to %v, want %v", to, want)
	}
	for addr, n := range want {
		if to[addr] != n {
			t.Errorf("emails went to %v, want %v", to, want)
		}
	}
}
