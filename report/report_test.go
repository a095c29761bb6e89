package report

import (
	"strings"
	"testing"
	"time"

	"homeward/episode"
	"homeward/internal/pdftext"

	"golang.org/x/text/unicode/norm"
)

func source(parties ...episode.Party) Source {
	var sw []episode.Sharing
	for _, p := range parties {
		sw = append(sw, episode.Sharing{Party: p, What: "how school is going"})
	}
	return Source{
		Reference: "HW-TEST01",
		HeldAt:    time.Date(2026, 3, 29, 10, 0, 0, 0, time.UTC),
		Record: episode.InterviewRecord{
			PushFactors: []string{"arguments at home"}, PullFactors: []string{"older friends in town"},
			WhereChildWas: "a friend's flat", WhoWith: "older boys", ReferralsMade: []string{"CAMHS referral"},
			SafeguardingConcern: true, SafeguardingDetails: "asked to carry parcels",
		},
		Agreement: episode.Agreement{SharedWith: sw},
		Actions:   []Action{{What: "Weekly check-in", Owner: "Key worker", DueAt: time.Date(2026, 4, 5, 9, 0, 0, 0, time.UTC)}},
	}
}

// pdfText is the PDF's text as a reader of the file sees it.
func pdfText(t *testing.T, pdf []byte) string { return pdftext.Text(t, pdf) }

func TestReportSharedWithCommissionerHoldsTheFindings(t *testing.T) {
	r := Build(source(episode.PartySocialWorker))
	pdf, err := PDF(r)
	if err != nil {
		t.Fatal(err)
	}
	html, err := HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{"pdf": pdfText(t, pdf), "html": html} {
		for _, want := range []string{Marking, "HW-TEST01", "arguments at home", "older friends in town", "CAMHS referral",
			"a friend's flat", "Weekly check-in", "asked to carry parcels", "always shared"} {
			if !strings.Contains(strings.ReplaceAll(text, "&#39;", "'"), want) {
				t.Errorf("%s lacks %q", name, want)
			}
		}
	}
}

func TestReportNotSharedWithCommissionerHoldsOnlySafeguarding(t *testing.T) {
	pdf, err := PDF(Build(source(episode.PartyPolice)))
	if err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, pdf)
	for _, absent := range []string{"arguments at home", "CAMHS referral", "friend", "how school is going"} {
		if strings.Contains(text, absent) {
			t.Errorf("report holds %q, which the child did not agree to share with the commissioner", absent)
		}
	}
	for _, want := range []string{"asked to carry parcels", "always shared", "police"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestLetterInPlainWordsWithoutTheDetail(t *testing.T) {
	src := source(episode.PartySocialWorker)
	due := time.Date(2026, 4, 6, 9, 0, 0, 0, time.UTC)
	pdf, err := LetterPDF(LetterSource{Reference: src.Reference, Record: src.Record, Actions: src.Actions, FollowUpBy: &due})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(pdfText(t, pdf)), " ")
	for _, want := range []string{"things that made you want to leave", "Weekly check-in", "Monday 6 April", src.Reference, "Childline"} {
		if !strings.Contains(text, want) {
			t.Errorf("letter lacks %q: %s", want, text)
		}
	}
	for _, absent := range []string{"arguments at home", "carry parcels", "older boys", "OFFICIAL"} {
		if strings.Contains(text, absent) {
			t.Errorf("letter holds %q", absent)
		}
	}
}

// Names come in every script; the core PDF fonts stop at Windows-1252 and
// printed "Łukasz" as ".ukasz".
func TestReportAndLetterPrintEveryNameWhole(t *testing.T) {
	names := []string{"Łukasz", "Siobhán Ó Briain", "Nguyễn Thị Hương", "Zoë Yılmaz", "Дмитрий", "محمد"}
	src := source(episode.PartySocialWorker)
	src.Record.WhoWith = strings.Join(names[:3], ", ")
	src.Record.WhereChildWas = "with " + names[3]
	src.Actions = []Action{
		{What: "Visit from " + names[4] + " and " + names[0], Owner: names[0], DueAt: src.Actions[0].DueAt},
		{What: names[5], Owner: names[5], DueAt: src.Actions[0].DueAt},
	}
	report, err := PDF(Build(src))
	if err != nil {
		t.Fatal(err)
	}
	letter, err := LetterPDF(LetterSource{Reference: src.Reference, Record: src.Record, Actions: src.Actions})
	if err != nil {
		t.Fatal(err)
	}
	for doc, pdf := range map[string][]byte{"report": report, "letter": letter} {
		// pdftotext gives Arabic in the joined forms the page shows.
		text := norm.NFKC.String(pdfText(t, pdf))
		for _, name := range names {
			if doc == "letter" && name != names[0] && name != names[4] && name != names[5] {
				continue // the letter names the actions, not who the child was with
			}
			if !strings.Contains(text, name) {
				t.Errorf("%s lacks %q:\n%s", doc, name, text)
			}
		}
	}
}
