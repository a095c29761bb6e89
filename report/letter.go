package report

import (
	"bytes"
	"time"

	"homeward/episode"
)

// LetterSource is what the child's letter is written from: the same
// record as the report.
type LetterSource struct {
	Reference  string
	Record     episode.InterviewRecord
	Actions    []Action
	FollowUpBy *time.Time
}

// LetterLines are the letter's paragraphs in plain, child-friendly words:
// what was talked about in general terms, what happens next, and how to
// reach the service again. It names no one and repeats nothing the child
// said in detail.
func LetterLines(src LetterSource) []string {
	lines := []string{
		"Thank you for talking with us after you were away. It took courage, and what you told us helps us help you.",
		"We talked about " + topics(src.Record) + ".",
	}
	next := "What happens next: "
	switch {
	case len(src.Record.ReferralsMade) > 0 && len(src.Actions) > 0:
		next += "we have asked other people who can help to get in touch with you, and we agreed some things to do together."
	case len(src.Record.ReferralsMade) > 0:
		next += "we have asked other people who can help to get in touch with you."
	case len(src.Actions) > 0:
		next += "we agreed some things to do together."
	default:
		next += "nothing needs to happen unless you want it to."
	}
	lines = append(lines, next)
	for _, a := range src.Actions {
		lines = append(lines, "- "+a.What+" (by "+a.DueAt.In(londonZone).Format("2 January")+")")
	}
	if src.FollowUpBy != nil {
		lines = append(lines, "We will check in with you by "+src.FollowUpBy.In(londonZone).Format("Monday 2 January")+" to see how things are going.")
	}
	return append(lines,
		"If you want to talk to us again, you can ask your worker, your carer or any adult you trust to contact the return interview service. Tell them this number: "+src.Reference+".",
		"If you are ever in danger, call 999. You can also talk to Childline any time on 0800 1111, for free.")
}

func topics(r episode.InterviewRecord) string {
	t := "how you are"
	if len(r.PushFactors) > 0 {
		t += ", things that made you want to leave"
	}
	if len(r.PullFactors) > 0 {
		t += ", what drew you away"
	}
	return t + " and how to keep safe"
}

// LetterPDF renders the child's letter.
func LetterPDF(src LetterSource) ([]byte, error) {
	pdf := newPDF("Letter " + src.Reference)
	pdf.AddPage()
	pdf.SetFont(family, "B", 14)
	pdf.MultiCell(0, 8, "After we talked", "", "L", false)
	pdf.Ln(2)
	pdf.SetFont(family, "", 12)
	for _, l := range LetterLines(src) {
		paragraph(pdf, 6, l)
		pdf.Ln(2)
	}
	var b bytes.Buffer
	if err := pdf.Output(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
