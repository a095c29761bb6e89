package testenv

import (
	"sync/atomic"
	"testing"
	"time"

	"homeward/store"
)

// Team is the people most end-to-end tests act as: a coordinator, an
// interviewer and the two managers every escalation goes to.
type Team struct {
	Coordinator   string // API tokens
	Interviewer   string
	InterviewerID string
	Manager       string // the second manager's token
	Managers      []store.User
}

// AddTeam adds a team's users to the provider's commissioner.
func (e *Env) AddTeam(t testing.TB) Team {
	var tm Team
	_, tm.Coordinator = e.AddUser(t, store.RoleCoordinator)
	u, tok := e.AddUser(t, store.RoleInterviewer)
	tm.Interviewer, tm.InterviewerID = tok, u.ID
	for i := 0; i < 2; i++ {
		m, tok := e.AddUser(t, store.RoleManager)
		tm.Managers = append(tm.Managers, m)
		tm.Manager = tok
	}
	return tm
}

// referrals counts the referrals made, so that each is for a child of its
// own (another date of birth): known children with the same details would
// be possible matches, answered 409.
var referrals atomic.Int64

// Referral is a referral's body for a new child who returned at returnedAt.
func Referral(returnedAt time.Time) map[string]any {
	dob := time.Date(2011, 4, 5, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(referrals.Add(1)))
	return map[string]any{
		"child":               map[string]any{"first_name": "Riley", "last_name": "Example", "date_of_birth": dob.Format(time.DateOnly)},
		"reported_missing_at": returnedAt.UTC().Add(-20 * time.Hour).Format(time.RFC3339),
		"returned_at":         returnedAt.UTC().Format(time.RFC3339),
		"police_reference":    "PR-1234",
		"risk_grade":          "medium",
		"category":            "missing",
		"looked_after":        true,
		"contact":             map[string]any{"child_mobile": "07700 900123", "address": "1 Example Road"},
		"preferences":         map[string]any{"worker_gender": "female"},
	}
}
