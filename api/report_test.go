package api_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"homeward/internal/testenv"
	"homeward/store"
)

// TestReturnReportAfterTheAgreement: a held interview with an agreement
// produces a report whose PDF holds the push factors and the referrals and
// not what the child did not agree to share; the commissioner's officer
// reads it, another commissioner's staff do not.
func TestReturnReportAfterTheAgreement(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	_, coord := env.AddUser(t, store.RoleCoordinator)
	ivUser, iv := env.AddUser(t, store.RoleInterviewer)
	_, officer := env.AddUserIn(t, store.RoleCommissionerOfficer, env.Commissioner.ID)
	b := env.AddCommissioner(t, "Bexton")
	_, bOfficer := env.AddUserIn(t, store.RoleCommissionerOfficer, b.ID)

	ref := referral(time.Hour)
	ref["assigned_interviewer_id"] = ivUser.ID
	ep := open(t, env, coord, ref)
	base := "/v1/episodes/" + ep.ID
	now := time.Now().UTC()
	post(t, env, iv, base+"/contact-attempts", map[string]any{"method": "text", "outcome": "reached_offered", "attempted_at": rfc(now)}, 200)
	post(t, env, iv, base+"/interview", map[string]any{"outcome": "held", "held_at": rfc(now.Add(-time.Minute)),
		"record": map[string]any{"push_factors": []string{"rows about curfew"}, "referrals_made": []string{"CAMHS referral"},
			"what_happened": "slept at the bus station", "risk_indicators": map[string]any{"gone_missing_before": "yes"}}}, 200)
	post(t, env, iv, base+"/agreement", map[string]any{"confidentiality_explained": true, "child_told_before_sharing": true,
		"shared_with": []any{map[string]any{"party": "social_worker", "what": "the return report"}}}, 200)

	var pdf []byte
	testenv.Eventually(t, 30*time.Second, "the report produced", func() bool {
		st, body := env.Do(t, "GET", base+"/report", officer, nil, "Accept", "application/pdf")
		pdf = body
		return st == 200
	})
	text := pdfText(t, pdf)
	for _, want := range []string{"OFFICIAL-SENSITIVE", ep.Reference, "rows about curfew", "CAMHS referral", "always shared"} {
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

// pdfText extracts a PDF's text with pdftotext, which .ci/run installs.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) is not installed: .ci/run installs it; skipping the PDF text assertions")
	}
	path := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
