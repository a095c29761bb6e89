package activities

import (
	"bytes"
	"fmt"
	"html/template"
	"strings"
	"time"

	"homeward/episode"
	"homeward/mail"
)

// An email names what is late, the reference and a link; it never carries
// the child's name, date of birth or story.

type emailView struct {
	Title     string
	Reference string
	Lines     [][2]string // label, value
	Action    string
	Link      string
}

var htmlBody = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html><body style="font-family: sans-serif">
<h2>{{.Title}}</h2>
<table>
<tr><th align="left">Episode</th><td>{{.Reference}}</td></tr>
{{range .Lines}}<tr><th align="left">{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{end}}</table>
<p>{{.Action}}</p>
<p><a href="{{.Link}}">Open episode {{.Reference}} in Homeward</a></p>
<p style="color:#666">This email carries a reference only. Sign in to Homeward to see the case.</p>
</body></html>
`))

func render(v emailView, headers map[string]string) mail.Message {
	var text strings.Builder
	fmt.Fprintf(&text, "%s\n\nEpisode: %s\n", v.Title, v.Reference)
	for _, l := range v.Lines {
		fmt.Fprintf(&text, "%s: %s\n", l[0], l[1])
	}
	fmt.Fprintf(&text, "\n%s\n\nOpen the episode: %s\n\nThis email carries a reference only. Sign in to Homeward to see the case.\n", v.Action, v.Link)
	var html bytes.Buffer
	if err := htmlBody.Execute(&html, v); err != nil {
		// The template is fixed and the view holds only strings.
		panic(err)
	}
	return mail.Message{
		Subject: fmt.Sprintf("[Homeward] %s: %s", v.Title, v.Reference),
		Text:    text.String(),
		HTML:    html.String(),
		Headers: headers,
	}
}

// FormatInstant shows an instant as people in the team read it, with the
// zone abbreviation so that GMT and BST are never confused.
func FormatInstant(t time.Time, loc *time.Location) string {
	return t.In(loc).Format("Mon 2 Jan 2006 15:04 MST")
}

var escalationActions = map[episode.EscalationKind]string{
	episode.EscalationDeadlineWarning:      "No interview has been offered yet and the offer deadline is close. Check the contact plan and the assigned interviewer.",
	episode.EscalationDeadlineBreached:     "The offer deadline has passed without an interview being offered. Record the reason and make sure the offer is still made.",
	episode.EscalationUnableToContact:      "Every planned contact attempt has failed. Decide how else the child can be reached.",
	episode.EscalationSafeguardingConcern:  "A safeguarding concern was recorded at the return interview. Review it now and make sure it is shared.",
	episode.EscalationFollowUpOverdue:      "The one-week follow-up has not been recorded. Check with the interviewer.",
	episode.EscalationRepeatMissing:        "The child has gone missing again and again. The local protocol calls for a strategy meeting: arrange it with the child's social worker and the police.",
	episode.EscalationActionOverdue:        "An action of the plan agreed after the interview is still open past its due date. Check with its owner and the interviewer.",
	episode.EscalationReportOverdue:        "The return report has not been sent to the commissioner in time. Approve it if it awaits approval, or find out why it has not gone.",
	episode.EscalationReportUnacknowledged: "The commissioner has not acknowledged the return report. Contact their officers to make sure it was received.",
}

var reasons = map[string]string{
	"late_notification":    "late notification: the referral arrived after the deadline",
	"no_contact_attempted": "no contact attempt recorded",
	"no_contact":           "contact attempts did not reach the child",
}

func escalationEmail(reference, link string, e episode.Escalation, loc *time.Location) mail.Message {
	deadlineLabel := "Deadline"
	switch e.Kind {
	case episode.EscalationSafeguardingConcern:
		deadlineLabel = "Interview held"
	case episode.EscalationFollowUpOverdue:
		deadlineLabel = "Follow-up was due"
	case episode.EscalationRepeatMissing:
		deadlineLabel = "Latest episode opened"
	case episode.EscalationActionOverdue:
		deadlineLabel = fmt.Sprintf("Action %d was due", e.Action)
	}
	reason := e.Reason
	if r, ok := reasons[reason]; ok {
		reason = r
	}
	v := emailView{
		Title:     escalationTitles[e.Kind],
		Reference: reference,
		Lines: [][2]string{
			{"Escalation", string(e.Kind)},
			{deadlineLabel, FormatInstant(e.DueAt, loc)},
			{whatLabel(e.Kind), reason},
			{"Raised", FormatInstant(e.TriggeredAt, loc)},
		},
		Action: escalationActions[e.Kind],
		Link:   link,
	}
	return render(v, map[string]string{"X-Homeward-Escalation": string(e.Kind), "X-Homeward-Reference": reference})
}

func whatLabel(k episode.EscalationKind) string {
	if k == episode.EscalationRepeatMissing {
		return "Episodes"
	}
	return "What is late"
}

func reminderEmail(reference, link string, attempt int, nc episode.NextContact, loc *time.Location) mail.Message {
	v := emailView{
		Title:     "Contact attempt overdue",
		Reference: reference,
		Lines: [][2]string{
			{"Attempt", fmt.Sprintf("%d (%s)", attempt, strings.ReplaceAll(nc.Purpose, "_", " "))},
			{"Method", string(nc.Method)},
			{"Was due", FormatInstant(nc.DueAt, loc)},
		},
		Action: "Make the contact attempt and record it, or record why it could not be made.",
		Link:   link,
	}
	return render(v, map[string]string{"X-Homeward-Reminder": fmt.Sprint(attempt), "X-Homeward-Reference": reference})
}

// actionReminderEmail may go to an address outside Homeward (an agency):
// it names the reference and the action's number, never what the action is.
func actionReminderEmail(reference, link string, action int, dueAt time.Time, loc *time.Location) mail.Message {
	v := emailView{
		Title:     "Action due",
		Reference: reference,
		Lines: [][2]string{
			{"Action", fmt.Sprint(action)},
			{"Due", FormatInstant(dueAt, loc)},
		},
		Action: "An action you own in the plan agreed after this episode's return interview is due. Do it, or tell the interviewer when it will be done.",
		Link:   link,
	}
	return render(v, map[string]string{"X-Homeward-Action": fmt.Sprint(action), "X-Homeward-Reference": reference})
}

// returnReportEmail tells a commissioner's officer that a return report is
// ready: the reference and the link, nothing of the child or the report.
func returnReportEmail(reference, link string) mail.Message {
	v := emailView{
		Title:     "Return report ready",
		Reference: reference,
		Lines:     [][2]string{{"Return report", "ready for episode " + reference}},
		Action:    "Open the report through Homeward (it is OFFICIAL-SENSITIVE) and acknowledge it.",
		Link:      link,
	}
	return render(v, map[string]string{"X-Homeward-Report": reference, "X-Homeward-Reference": reference})
}

// reportUndeliveredEmail tells the managers that a return report reached
// no commissioner officer, so that someone sends it another way or has an
// officer set up; Homeward keeps trying.
func reportUndeliveredEmail(reference, link string) mail.Message {
	v := emailView{
		Title:     "Return report not delivered",
		Reference: reference,
		Lines:     [][2]string{{"Return report", "not yet received by any commissioner officer"}},
		Action: "No commissioner officer has received the email that this episode's return report is ready: none is active, " +
			"or the mail relay refused every one. Homeward keeps trying and sends it as soon as an officer can receive it. " +
			"Ask an admin to set up the commissioner's officer, or check the escalations page for why it failed.",
		Link: link,
	}
	return render(v, map[string]string{"X-Homeward-Reference": reference})
}
