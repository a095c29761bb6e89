package activities

import (
	"context"
	"strings"
	"testing"
	"time"

	"homeward/episode"
	"homeward/store"
)

// TestReturnReportProducedAndEmailedOncePerOfficer: the report is built
// from the records and stored; the commissioner's officers (not another
// commissioner's) are emailed the reference and link once each, however
// often the send is retried, and nothing of the child.
func TestReturnReportProducedAndEmailedOncePerOfficer(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	a, err := f.store.CreateCommissioner(ctx, "Aldershire")
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.store.CreateCommissioner(ctx, "Bexton")
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range []struct{ email, commissioner string }{
		{"off1@aldershire.example", a.ID}, {"off2@aldershire.example", a.ID}, {"off@bexton.example", b.ID}} {
		u, err := f.store.CreateUser(ctx, "Officer", o.email, store.RoleCommissionerOfficer, []byte{byte(i), 9})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.SetUserCommissioner(ctx, u.ID, o.commissioner); err != nil {
			t.Fatal(err)
		}
	}
	ref := episode.Referral{Child: episode.Child{FirstName: canary, DateOfBirth: "2011-02-03"}, ReturnedAt: f.state.ReturnedAt,
		RiskGrade: episode.RiskHigh, Category: episode.CategoryMissing, Contact: episode.ContactDetails{Address: canary + " Street"}}
	st := episode.New("8e0a4d2f-6c3b-4d9e-8f10-223344556677", ref, episode.DefaultPolicy(), "coordinator", f.state.OpenedAt)
	st.CommissionerID = a.ID
	held := f.state.OpenedAt.Add(2 * time.Hour)
	st.Interview = &episode.Interview{Status: episode.InterviewHeld, HeldAt: &held,
		Record: &episode.InterviewRecord{PushFactors: []string{"rows about curfew"}, ReferralsMade: []string{"CAMHS referral"}}}
	st.Agreement = &episode.Agreement{SharedWith: []episode.Sharing{{Party: episode.PartySocialWorker, What: "all"}}, RecordedAt: held}
	if _, err := f.acts.SaveEpisode(ctx, SaveEpisodeInput{State: *st, Referral: &ref}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acts.ProduceReturnReport(ctx, ProduceReturnReportInput{EpisodeID: st.EpisodeID, Version: 1}); err != nil {
		t.Fatal(err)
	}
	in := SendReturnReportInput{EpisodeID: st.EpisodeID, Reference: st.Reference, CommissionerID: a.ID}
	for i := 0; i < 2; i++ {
		res, err := f.acts.SendReturnReport(ctx, in)
		if err != nil || res.Recipients != 2 {
			t.Fatalf("send %d: %+v, %v; want 2 recipients", i, res, err)
		}
	}
	msgs := f.smtp.Messages()
	if len(msgs) != 2 {
		t.Fatalf("emails = %d, want one per officer of the commissioner (2)", len(msgs))
	}
	for _, m := range msgs {
		if strings.Contains(m.To[0], "bexton") {
			t.Errorf("another commissioner's officer was emailed")
		}
		if !strings.Contains(m.Text, st.Reference) || !strings.Contains(m.Text, "/episodes/"+st.EpisodeID+"/report") {
			t.Errorf("email lacks the reference or the link: %s", m.Text)
		}
		for _, absent := range []string{canary, "curfew", "CAMHS"} {
			if strings.Contains(string(m.Data), absent) {
				t.Errorf("email carries %q", absent)
			}
		}
	}
	r, err := f.store.ReturnReportFor(ctx, store.Caller{UserID: "00000000-0000-4000-8000-000000000001", Role: store.RoleAdmin}, st.EpisodeID)
	if err != nil || r.SentAt == nil || !strings.Contains(r.HTML, "rows about curfew") || !strings.HasPrefix(string(r.PDF), "%PDF") {
		t.Errorf("stored report = sent %v html %d bytes, %v", r.SentAt, len(r.HTML), err)
	}
}
