package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"homeward/episode"
	"homeward/internal/pdftext"
	"homeward/internal/smtptest"
	"homeward/internal/testenv"
	"homeward/store"

	"golang.org/x/text/unicode/norm"
)

// TestReturnReportAfterTheAgreement: a held interview with an agreement
// produces a report whose PDF holds the push factors and the referrals and
// not what the child did not agree to share; the commissioner's officer
// reads it, another commissioner's staff do not.
func TestReturnReportAfterTheAgreement(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	ivUser, iv := env.AddUser(t, store.RoleInterviewer)
	officerUser, officer := env.AddUserIn(t, store.RoleCommissionerOfficer, env.Commissioner.ID)
	b := env.AddCommissioner(t, "Bexton")
	_, bOfficer := env.AddUserIn(t, store.RoleCommissionerOfficer, b.ID)

	ref := referral(time.Hour)
	ref["assigned_interviewer_id"] = ivUser.ID
	ep := open(t, env, coord, ref)
	base := "/v1/episodes/" + ep.ID
	now := time.Now().UTC()
	names := "rows with Łukasz, Siobhán Ó Briain, Nguyễn Thị Hương and Zoë Yılmaz"
	post(t, env, iv, base+"/contact-attempts", map[string]any{"method": "text", "outcome": "reached_offered", "attempted_at": rfc(now)}, 200)
	post(t, env, iv, base+"/interview", map[string]any{"outcome": "held", "held_at": rfc(now.Add(-time.Minute)),
		"record": map[string]any{"push_factors": []string{"rows about curfew", names}, "referrals_made": []string{"CAMHS referral", "محمد في نادي الشباب"},
			"what_happened": "slept at the bus station", "risk_indicators": map[string]any{"gone_missing_before": "yes"}}}, 200)
	post(t, env, iv, base+"/agreement", map[string]any{"confidentiality_explained": true, "child_told_before_sharing": true,
		"shared_with": []any{map[string]any{"party": "social_worker", "what": "the return report"}}}, 200)

	var pdf []byte
	testenv.Eventually(t, 30*time.Second, "the report produced", func() bool {
		st, body := env.Do(t, "GET", base+"/report", officer, nil, "Accept", "application/pdf")
		pdf = body
		return st == 200
	})
	text := norm.NFKC.String(pdfText(t, pdf)) // Arabic comes back in the joined forms the page shows
	for _, want := range []string{"OFFICIAL-SENSITIVE", ep.Reference, "rows about curfew", "CAMHS referral", "always shared", names, "محمد في نادي الشباب"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	for _, absent := range []string{"bus station", ref["child"].(map[string]any)["last_name"].(string)} {
		if strings.Contains(text, absent) {
			t.Errorf("report holds %q", absent)
		}
	}
	st, html := env.Do(t, "GET", base+"/report", coord, nil, "Accept", "text/html")
	if st != 200 || !strings.Contains(string(html), "rows about curfew") {
		t.Errorf("HTML report: %d %s", st, html)
	}
	st, body := env.Do(t, "GET", base+"/report", bOfficer, nil, "Accept", "application/pdf")
	wantError(t, st, body, 404, "not_found", "id")
	st, body = env.Do(t, "GET", base+"/report", officer, nil, "Accept", "image/png")
	wantError(t, st, body, 406, "not_acceptable", "Accept")
	deliveredAndAcknowledged(t, env, ep, officerUser, officer, bOfficer, ref)
	childsLetter(t, env, base, iv, ref)

	// Shared with the police only: the commissioner gets the safeguarding
	// concern, always shared, and nothing else the interview found.
	ref2 := referral(time.Hour)
	ref2["assigned_interviewer_id"] = ivUser.ID
	ep2 := open(t, env, coord, ref2)
	base2 := "/v1/episodes/" + ep2.ID
	post(t, env, iv, base2+"/contact-attempts", map[string]any{"method": "text", "outcome": "reached_offered", "attempted_at": rfc(now)}, 200)
	post(t, env, iv, base2+"/interview", map[string]any{"outcome": "held", "held_at": rfc(now.Add(-time.Minute)),
		"record": map[string]any{"push_factors": []string{"rows about curfew"}, "referrals_made": []string{"CAMHS referral"},
			"safeguarding_concern": true, "safeguarding_details": "asked to carry parcels"}}, 200)
	post(t, env, iv, base2+"/agreement", map[string]any{"confidentiality_explained": true, "child_told_before_sharing": true,
		"shared_with": []any{map[string]any{"party": "police", "what": "where she stayed"}}}, 200)
	testenv.Eventually(t, 30*time.Second, "the second report produced", func() bool {
		st, body := env.Do(t, "GET", base2+"/report", officer, nil)
		pdf = body
		return st == 200
	})
	text = pdfText(t, pdf)
	for _, absent := range []string{"rows about curfew", "CAMHS referral", "where she stayed"} {
		if strings.Contains(text, absent) {
			t.Errorf("report holds %q, which the child did not agree to share with the commissioner", absent)
		}
	}
	if !strings.Contains(text, "asked to carry parcels") {
		t.Errorf("report lacks the safeguarding concern: %s", text)
	}
}

// pdfText is the PDF's text as a reader of the file sees it.
func pdfText(t *testing.T, pdf []byte) string { return pdftext.Text(t, pdf) }

// deliveredAndAcknowledged: A's officer is emailed once, the reference and a
// link and nothing of the child or the report; they acknowledge it once.
func deliveredAndAcknowledged(t *testing.T, env *testenv.Env, ep created, officerUser store.User, officer, bOfficer string, ref map[string]any) {
	t.Helper()
	var mails []smtptest.Received
	testenv.Eventually(t, 30*time.Second, "the report emailed", func() bool {
		mails = nil
		for _, m := range env.SMTP.Messages() {
			if m.Header.Get("X-Homeward-Report") == ep.Reference {
				mails = append(mails, m)
			}
		}
		return len(mails) > 0
	})
	time.Sleep(500 * time.Millisecond) // time for a second email, were one to come
	if len(mails) != 1 || strings.Join(mails[0].To, ",") != officerUser.Email {
		t.Fatalf("report emails = %d to %v, want one to %s", len(mails), mails[0].To, officerUser.Email)
	}
	m := mails[0]
	if !strings.Contains(m.Text, ep.Reference) || !strings.Contains(m.Text, env.URL+"/episodes/"+ep.ID+"/report") {
		t.Errorf("email lacks the reference or the link: %s", m.Text)
	}
	child := ref["child"].(map[string]any)
	for _, absent := range []string{"rows about curfew", "CAMHS", child["first_name"].(string), child["last_name"].(string)} {
		if strings.Contains(string(m.Data), absent) {
			t.Errorf("email carries %q", absent)
		}
	}

	path := "/v1/episodes/" + ep.ID + "/report/acknowledgement"
	st, body := env.Do(t, "POST", path, bOfficer, nil)
	wantError(t, st, body, 404, "not_found", "id")
	testenv.Eventually(t, 10*time.Second, "the report marked sent", func() bool {
		st, _ := env.Do(t, "POST", path, officer, nil)
		return st == 200
	})
	st, body = env.Do(t, "POST", path, officer, nil)
	wantError(t, st, body, 409, "conflict", "report")
	var by string
	var at *time.Time
	if err := env.Store.Pool.QueryRow(context.Background(),
		"SELECT acknowledged_by, acknowledged_at FROM return_reports WHERE episode_id = $1", ep.ID).Scan(&by, &at); err != nil {
		t.Fatal(err)
	}
	if by != officerUser.ID || at == nil {
		t.Errorf("report acknowledged by %q at %v, want %s", by, at, officerUser.ID)
	}
}

// TestReturnReportWaitsForApproval: where the policy asks for it, the
// report goes to the commissioner's officers only once a manager approves.
func TestReturnReportWaitsForApproval(t *testing.T) {
	policy := episode.DefaultPolicy()
	policy.ReportApproval = true
	env := testenv.Start(t, testenv.Options{Policy: &policy})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	ivUser, iv := env.AddUser(t, store.RoleInterviewer)
	mgrUser, mgr := env.AddUser(t, store.RoleManager)
	_, officer := env.AddUserIn(t, store.RoleCommissionerOfficer, env.Commissioner.ID)

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
	testenv.Eventually(t, 30*time.Second, "the report produced", func() bool {
		st, _ := env.Do(t, "GET", base+"/report", mgr, nil)
		return st == 200
	})
	// Not sent before it is approved: the officer sees no report yet.
	st, body := env.Do(t, "GET", base+"/report", officer, nil)
	wantError(t, st, body, 404, "not_found", "id")
	st, body = env.Do(t, "POST", base+"/report/acknowledgement", officer, nil)
	wantError(t, st, body, 404, "not_found", "id")
	st, body = env.Do(t, "POST", base+"/report/approval", iv, nil)
	wantError(t, st, body, 403, "forbidden", "role")
	if n := reportEmails(env, ep.Reference); n != 0 {
		t.Fatalf("report emailed %d times before approval", n)
	}
	testenv.Eventually(t, 10*time.Second, "the approval recorded", func() bool {
		st, _ := env.Do(t, "POST", base+"/report/approval", mgr, nil)
		return st == 200
	})
	testenv.Eventually(t, 30*time.Second, "the report emailed after approval", func() bool { return reportEmails(env, ep.Reference) == 1 })
	testenv.Eventually(t, 10*time.Second, "the officer reads the report once sent", func() bool {
		st, _ := env.Do(t, "GET", base+"/report", officer, nil)
		return st == 200
	})
	var by string
	if err := env.Store.Pool.QueryRow(context.Background(),
		"SELECT approved_by FROM return_reports WHERE episode_id = $1", ep.ID).Scan(&by); err != nil || by != mgrUser.ID {
		t.Errorf("report approved by %q (%v), want %s", by, err, mgrUser.ID)
	}
}

func reportEmails(env *testenv.Env, reference string) int {
	n := 0
	for _, m := range env.SMTP.Messages() {
		if m.Header.Get("X-Homeward-Report") == reference {
			n++
		}
	}
	return n
}

// childsLetter: the interviewer gets the child's letter, in general terms
// and with how to reach the service again, and marks it given once.
func childsLetter(t *testing.T, env *testenv.Env, base, iv string, ref map[string]any) {
	t.Helper()
	st, pdf := env.Do(t, "GET", base+"/letter", iv, nil)
	if st != 200 {
		t.Fatalf("GET letter: %d %s", st, pdf)
	}
	text := strings.Join(strings.Fields(pdfText(t, pdf)), " ")
	for _, want := range []string{"things that made you want to leave", "asked other people who can help"} {
		if !strings.Contains(text, want) {
			t.Errorf("letter lacks %q: %s", want, text)
		}
	}
	for _, absent := range []string{"rows about curfew", "bus station", ref["child"].(map[string]any)["last_name"].(string)} {
		if strings.Contains(text, absent) {
			t.Errorf("letter holds %q", absent)
		}
	}
	post(t, env, iv, base+"/letter/given", nil, 200)
	st, body := env.Do(t, "POST", base+"/letter/given", iv, nil)
	wantError(t, st, body, 409, "conflict", "letter")
}
