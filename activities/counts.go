package activities

import "homeward/episode"

// Counts is told what the activities did, for the service's metrics. Its
// arguments name kinds of things, never an episode or a person.
type Counts interface {
	// EscalationRaised: an escalation of kind was recorded for the first time.
	EscalationRaised(kind episode.EscalationKind)
	// EmailSent: one email was handed to the relay.
	EmailSent(email Email)
	// EmailFailed: the relay refused an email, for now or (permanent) for good.
	EmailFailed(email Email, permanent bool)
	// EmailUndelivered: an email reached nobody, fallbacks included, for
	// the first time (it is retried until someone has it).
	EmailUndelivered(email Email)
}

// Email is what an email is about: an escalation's kind names the
// escalation; the other kinds are below.
type Email struct {
	Kind       string
	Escalation episode.EscalationKind // set for an escalation
}

// The emails that are not escalations.
var (
	ContactReminderEmail = Email{Kind: "contact_reminder"}
	ActionReminderEmail  = Email{Kind: "action_reminder"}
	ReturnReportEmail    = Email{Kind: "return_report"}
	// ReportUndeliveredEmail tells the managers that a return report has
	// reached no commissioner officer.
	ReportUndeliveredEmail = Email{Kind: "report_undelivered"}
)

func escalationEmailOf(kind episode.EscalationKind) Email {
	return Email{Kind: "escalation", Escalation: kind}
}

type noCounts struct{}

func (noCounts) EscalationRaised(episode.EscalationKind) {}
func (noCounts) EmailSent(Email)                         {}
func (noCounts) EmailFailed(Email, bool)                 {}
func (noCounts) EmailUndelivered(Email)                  {}

func (a *Activities) counts() Counts {
	if a.Counts != nil {
		return a.Counts
	}
	return noCounts{}
}
