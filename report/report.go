// Package report builds the return report the commissioner receives after a
// held interview, as HTML and as PDF with the same content.
//
// Sharing rule: the commissioner is the local authority, whose children's
// social care team the child knows as their social worker, so the
// agreement's party "social_worker" is the commissioner. Only when the
// child agreed to share with the social worker does the report hold what
// the interview found; otherwise it holds the safeguarding concern alone
// (if any), which is always shared, and says so.
package report

import (
	"fmt"
	"strings"
	"time"

	"homeward/episode"
)

// Marking is the protective marking every page carries.
const Marking = "OFFICIAL-SENSITIVE"

// CommissionerParty is the party of the agreement that means the commissioner.
const CommissionerParty = episode.PartySocialWorker

// Source is what the case records hold for one episode's report.
type Source struct {
	Reference string
	HeldAt    time.Time
	Record    episode.InterviewRecord
	Agreement episode.Agreement
	Actions   []Action
}

// Action is one action of the plan.
type Action struct {
	What, Owner string
	DueAt       time.Time
}

// Section is one heading of the report and its lines.
type Section struct {
	Title string
	Lines []string
}

// Report is the content, the same in HTML and in PDF.
type Report struct {
	Reference string
	Sections  []Section
}

// Build applies the sharing rule to the records.
func Build(src Source) Report {
	r := Report{Reference: src.Reference}
	add := func(title string, lines ...string) {
		if len(lines) == 0 {
			lines = []string{"None recorded."}
		}
		r.Sections = append(r.Sections, Section{Title: title, Lines: lines})
	}
	add("Interview", "Held "+london(src.HeldAt))
	shared := SharedWithCommissioner(src.Agreement)
	rec := src.Record
	if shared {
		add("Push factors", rec.PushFactors...)
		add("Pull factors", rec.PullFactors...)
		add("Risk indicators", riskLines(rec.RiskIndicators)...)
		add("Where the child was and with whom", nonEmpty("Where: "+rec.WhereChildWas, "With whom: "+rec.WhoWith)...)
		add("Harm disclosed", yesNo(rec.HarmDisclosed))
		add("Assessment of need", rec.FollowUpSupport...)
		add("Referrals made", rec.ReferralsMade...)
		add("Action plan", actionLines(src.Actions)...)
	} else {
		add("What the child agreed to share with the commissioner",
			"The child did not agree to share what the interview found with the commissioner; only safeguarding concerns are reported.")
	}
	add("Safeguarding", safeguardingLines(rec)...)
	add("What the child agreed may be shared, and with whom", sharingLines(src.Agreement, shared)...)
	return r
}

// SharedWithCommissioner reports whether the child agreed to share with
// the commissioner.
func SharedWithCommissioner(a episode.Agreement) bool {
	for _, s := range a.SharedWith {
		if s.Party == CommissionerParty {
			return true
		}
	}
	return false
}

func safeguardingLines(rec episode.InterviewRecord) []string {
	lines := []string{"Safeguarding concerns are always shared with the commissioner, whatever the child agreed."}
	if !rec.SafeguardingConcern {
		return append(lines, "No safeguarding concern was recorded.")
	}
	return append(lines, "A safeguarding concern was recorded.", rec.SafeguardingDetails)
}

func sharingLines(a episode.Agreement, shared bool) []string {
	var lines []string
	for _, s := range a.SharedWith {
		party := strings.ReplaceAll(string(s.Party), "_", " ")
		// What the child agreed to share with others is itself shared only
		// with the commissioner's agreement.
		if shared && s.What != "" {
			party += ": " + s.What
		}
		lines = append(lines, party)
	}
	return lines
}

func riskLines(ri episode.RiskIndicators) []string {
	return []string{
		"Gone missing before: " + string(ri.GoneMissingBefore),
		"Often away without authorisation: " + string(ri.OftenAwayWithoutAuthorisation),
		"Sexual exploitation or trafficking: " + string(ri.SexualExploitationOrTrafficking),
		"Hurt or harmed while away: " + string(ri.HurtOrHarmedWhileAway),
		"Criminal exploitation or drugs: " + string(ri.CriminalExploitationOrDrugs),
		"Contact with people posing a risk: " + string(ri.ContactWithRiskyPeople),
	}
}

func actionLines(actions []Action) []string {
	var lines []string
	for i, a := range actions {
		lines = append(lines, fmt.Sprintf("%d. %s (owner: %s, by %s)", i+1, a.What, a.Owner, london(a.DueAt)))
	}
	return lines
}

// nonEmpty keeps the "Label: value" lines whose value was recorded.
func nonEmpty(lines ...string) []string {
	var out []string
	for _, l := range lines {
		if !strings.HasSuffix(l, ": ") {
			out = append(out, l)
		}
	}
	return out
}

func yesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

var londonZone = func() *time.Location {
	if loc, err := time.LoadLocation("Europe/London"); err == nil {
		return loc
	}
	return time.UTC
}()

// london shows an instant as staff in England read it.
func london(t time.Time) string { return t.In(londonZone).Format("2 January 2006 15:04 MST") }
