package activities

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"homeward/episode"
	"homeward/internal/smtptest"
	"homeward/store"
)

// countsHeard records what the activities tell the metrics.
type countsHeard struct {
	mu          sync.Mutex
	undelivered map[string]int
}

func (c *countsHeard) EscalationRaised(episode.EscalationKind) {}
func (c *countsHeard) EmailSent(Email)                         {}
func (c *countsHeard) EmailFailed(Email, bool)                 {}
func (c *countsHeard) EmailUndelivered(e Email) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.undelivered[e.Kind]++
}

func (c *countsHeard) of(kind string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.undelivered[kind]
}

// hear makes the fixture's activities log into a buffer and count into
// counts, for a test to read.
func (f *fixture) hear() (*bytes.Buffer, *countsHeard) {
	var logs bytes.Buffer
	counts := &countsHeard{undelivered: map[string]int{}}
	f.acts.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	f.acts.Counts = counts
	return &logs, counts
}

var anAdmin = store.Caller{UserID: "00000000-0000-4000-8000-000000000001", Role: store.RoleAdmin}

func (f *fixture) escalation(t *testing.T) store.EscalationView {
	t.Helper()
	views, err := f.store.ListEscalations(context.Background(), anAdmin, store.EscalationFilter{EpisodeID: f.state.EpisodeID})
	if err != nil || len(views) != 1 {
		t.Fatalf("escalations = %+v, %v; want one", views, err)
	}
	return views[0]
}

func (f *fixture) noAddressIn(t *testing.T, logs *bytes.Buffer, err error) {
	t.Helper()
	for what, text := range map[string]string{"the log": logs.String(), "the activity's error": errorText(err)} {
		if strings.Contains(text, "@example.org") || strings.Contains(text, "@council.example") {
			t.Errorf("%s names an address:\n%s", what, text)
		}
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// An escalation every manager's address refuses is not sent to nobody: it
// stays unsent, the list says who was tried and why, it is counted once,
// and a retry once an admin exists reaches the admin and clears it.
func TestEscalationRefusedByEveryoneStaysUnsentUntilSomeoneHasIt(t *testing.T) {
	f := newFixture(t,
		smtptest.WithRejectRecipient("amina.manager@example.org", 550),
		smtptest.WithRejectRecipient("ben.manager@example.org", 550))
	logs, counts := f.hear()
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		_, err := f.acts.SendEscalation(ctx, f.breach())
		if !errors.Is(err, errNobodyReached) {
			t.Fatalf("send %d: err = %v; want the activity to fail so that it is retried", i, err)
		}
		f.noAddressIn(t, logs, err)
	}
	x := f.escalation(t)
	if x.SentAt != nil || x.Undelivered == nil {
		t.Fatalf("escalation sent %v, undelivered %+v; want unsent and undelivered", x.SentAt, x.Undelivered)
	}
	if tried := x.Undelivered.Tried; len(tried) != 4 || !strings.Contains(tried[0].Reason, "550") ||
		tried[0].Address != "amina.manager@example.org" || !strings.HasPrefix(tried[0].Recipient, "manager ") {
		t.Errorf("tried = %+v; want both managers (refused, 550), the empty policy and no admin", tried)
	}
	if n := counts.of("escalation"); n != 1 {
		t.Errorf("undelivered counted %d times, want once", n)
	}
	if n := len(f.smtp.Messages()); n != 0 {
		t.Fatalf("%d emails accepted", n)
	}

	if _, err := f.store.CreateUser(ctx, "Ådne Admin", "adne.admin@example.org", store.RoleAdmin, []byte{7, 7}); err != nil {
		t.Fatal(err)
	}
	res, err := f.acts.SendEscalation(ctx, f.breach())
	if err != nil || res.Recipients != 1 {
		t.Fatalf("with an admin: %+v, %v; want sent to the admin", res, err)
	}
	if msgs := f.smtp.Messages(); len(msgs) != 1 || msgs[0].To[0] != "adne.admin@example.org" {
		t.Errorf("emails = %+v; want one, to the admin", msgs)
	}
	if x := f.escalation(t); x.SentAt == nil || x.Undelivered != nil || x.Recipients != 1 {
		t.Errorf("escalation sent %v to %d, undelivered %+v; want sent to 1 and no longer undelivered", x.SentAt, x.Recipients, x.Undelivered)
	}
	undelivered, err := f.store.ListUndelivered(ctx, anAdmin)
	if err != nil || len(undelivered) != 0 {
		t.Errorf("undelivered emails = %+v, %v; want none", undelivered, err)
	}
}

// A relay refusing MAIL FROM with a 5xx refuses everyone, so nothing is
// refused for good: once it accepts again the managers get the escalation.
func TestRelayRefusingEveryoneIsRetriedForEveryone(t *testing.T) {
	f := newFixture(t)
	logs, counts := f.hear()
	ctx := context.Background()
	f.smtp.RefuseSenders(554)
	_, err := f.acts.SendEscalation(ctx, f.breach())
	if !errors.Is(err, errNobodyReached) {
		t.Fatalf("err = %v; want nobody reached", err)
	}
	f.noAddressIn(t, logs, err)
	if x := f.escalation(t); x.Undelivered == nil || !strings.Contains(x.Undelivered.Tried[0].Reason, "refused the sender (554") {
		t.Errorf("undelivered = %+v; want the sender's refusal", x.Undelivered)
	}
	if counts.of("escalation") != 1 {
		t.Errorf("undelivered not counted")
	}
	f.smtp.RefuseSenders(0)
	res, err := f.acts.SendEscalation(ctx, f.breach())
	if err != nil || res.Recipients != 2 || len(f.smtp.Messages()) != 2 {
		t.Fatalf("once the relay accepts: %+v, %v, %d emails; want both managers", res, err, len(f.smtp.Messages()))
	}
}

// A reminder whose coordinator's address is refused goes to the policy's
// addresses, and not to the admins once one of those has it.
func TestReminderNobodyReceivesGoesToTheFallbacks(t *testing.T) {
	f := newFixture(t, smtptest.WithRejectRecipient("cora.coordinator@example.org", 550))
	ctx := context.Background()
	p := episode.DefaultPolicy()
	p.EscalationAddresses = []string{"missing-team@council.example"}
	ref := episode.Referral{Child: episode.Child{FirstName: canary}, ReturnedAt: f.state.ReturnedAt, Contact: f.state.Contact}
	st := episode.New("0b1c2d3e-4f50-4a6b-8c7d-8e9fa0b1c2d4", ref, p, "coordinator", f.state.OpenedAt)
	if _, err := f.acts.SaveEpisode(ctx, SaveEpisodeInput{State: *st, Referral: &ref}); err != nil {
		t.Fatal(err)
	}
	for i, u := range []struct {
		email string
		role  store.Role
	}{{"cora.coordinator@example.org", store.RoleCoordinator}, {"adne.admin@example.org", store.RoleAdmin}} {
		if _, err := f.store.CreateUser(ctx, "Someone", u.email, u.role, []byte{byte(i), 5}); err != nil {
			t.Fatal(err)
		}
	}
	nc := episode.NextContact{Method: episode.MethodText, DueAt: st.OpenedAt, Purpose: "retry"}
	res, err := f.acts.SendReminder(ctx, SendReminderInput{EpisodeID: st.EpisodeID, Reference: st.Reference, Attempt: 2, Contact: nc})
	if err != nil || res.Recipients != 1 {
		t.Fatalf("reminder: %+v, %v", res, err)
	}
	if msgs := f.smtp.Messages(); len(msgs) != 1 || msgs[0].To[0] != "missing-team@council.example" {
		t.Errorf("reminders = %+v; want one, to the policy's address", msgs)
	}
}

// A return report with no officer to receive it is not sent: the managers
// are told once, and it goes out when an officer exists.
func TestReturnReportWithNoOfficerIsNotSent(t *testing.T) {
	f := newFixture(t)
	logs, counts := f.hear()
	ctx := context.Background()
	c, err := f.store.CreateCommissioner(ctx, "Ōtautahi")
	if err != nil {
		t.Fatal(err)
	}
	st := f.reportReady(t, c.ID)
	in := SendReturnReportInput{EpisodeID: st.EpisodeID, Reference: st.Reference, CommissionerID: c.ID}
	for i := 0; i < 2; i++ {
		if _, err := f.acts.SendReturnReport(ctx, in); !errors.Is(err, errNobodyReached) {
			t.Fatalf("send %d: err = %v; want nobody reached", i, err)
		}
	}
	f.noAddressIn(t, logs, nil)
	if r, err := f.store.ReturnReportFor(ctx, anAdmin, st.EpisodeID); err != nil || r.SentAt != nil {
		t.Fatalf("report sent %v, %v; want not sent", r.SentAt, err)
	}
	msgs := f.smtp.Messages()
	if len(msgs) != 2 || !strings.Contains(msgs[0].Subject, "Return report not delivered") {
		t.Fatalf("emails = %d (%+v); want the managers told, once each", len(msgs), msgs)
	}
	undelivered, err := f.store.ListUndelivered(ctx, anAdmin)
	if err != nil || len(undelivered) != 1 || undelivered[0].Email != "return_report" || undelivered[0].Tried[0].Recipient != "commissioner officers" {
		t.Errorf("undelivered = %+v, %v; want the report, no officer tried", undelivered, err)
	}
	if counts.of("return_report") != 1 {
		t.Errorf("undelivered report not counted once")
	}

	officer, err := f.store.CreateUser(ctx, "Officer", "officer@example.org", store.RoleCommissionerOfficer, []byte{4, 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.SetUserCommissioner(ctx, officer.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	if res, err := f.acts.SendReturnReport(ctx, in); err != nil || res.Recipients != 1 {
		t.Fatalf("with an officer: %+v, %v", res, err)
	}
	if r, err := f.store.ReturnReportFor(ctx, anAdmin, st.EpisodeID); err != nil || r.SentAt == nil {
		t.Errorf("report sent %v, %v; want sent", r.SentAt, err)
	}
	if n := len(f.smtp.Messages()); n != 3 {
		t.Errorf("emails = %d; want the managers' two and the officer's", n)
	}
}

// reportReady records a held interview with an agreement for a new episode
// of commissioner and produces its report.
func (f *fixture) reportReady(t *testing.T, commissioner string) *episode.State {
	t.Helper()
	ctx := context.Background()
	ref := episode.Referral{Child: episode.Child{FirstName: canary}, ReturnedAt: f.state.ReturnedAt,
		RiskGrade: episode.RiskHigh, Category: episode.CategoryMissing, Contact: f.state.Contact}
	st := episode.New("8e0a4d2f-6c3b-4d9e-8f10-223344556688", ref, episode.DefaultPolicy(), "coordinator", f.state.OpenedAt)
	st.CommissionerID = commissioner
	held := f.state.OpenedAt.Add(2 * 3600e9)
	st.Interview = &episode.Interview{Status: episode.InterviewHeld, HeldAt: &held, Record: &episode.InterviewRecord{}}
	st.Agreement = &episode.Agreement{SharedWith: []episode.Sharing{{Party: episode.PartySocialWorker, What: "all"}}, RecordedAt: held}
	if _, err := f.acts.SaveEpisode(ctx, SaveEpisodeInput{State: *st, Referral: &ref}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acts.ProduceReturnReport(ctx, ProduceReturnReportInput{EpisodeID: st.EpisodeID, Version: 1}); err != nil {
		t.Fatal(err)
	}
	return st
}
