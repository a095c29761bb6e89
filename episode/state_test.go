package episode

import (
	"testing"
	"time"
)

func TestRemaining(t *testing.T) {
	for d, want := range map[time.Duration]string{
		29 * time.Second:               "less than a minute",
		5*time.Minute + 10*time.Second: "5 min",
		24 * time.Hour:                 "24 h",
		23*time.Hour + 59*time.Minute:  "23 h 59 min",
	} {
		if got := remaining(d); got != want {
			t.Errorf("remaining(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestReferenceCarriesNoPersonalData(t *testing.T) {
	if got := Reference("99ace221-5961-5fce-a3a8-bf4d5d67f31e"); got != "HW-99ACE221" {
		t.Errorf("Reference = %q", got)
	}
}

func TestPolicyValidate(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatalf("default policy invalid: %v", err)
	}
	p := DefaultPolicy()
	p.DeadlineWarningLead = p.OfferWindow
	p.MaxContactAttempts = 0
	if err := p.Validate(); err == nil {
		t.Fatal("a warning lead as long as the window and zero attempts were accepted")
	}
}

func TestPolicyProblemsNameTheField(t *testing.T) {
	p := DefaultPolicy()
	p.OfferWindow = 73 * time.Hour
	p.RepeatEpisodes = 1
	p.EscalationAddresses = []string{"team@council.example", "Team <x@council.example>", "TEAM@council.example"}
	got := map[string]bool{}
	for _, prob := range p.Problems() {
		got[prob.Field] = true
	}
	for _, f := range []string{"offer_window", "repeat_episodes", "escalation_addresses[1]", "escalation_addresses[2]"} {
		if !got[f] {
			t.Errorf("no problem names %s: %v", f, got)
		}
	}
	if got["escalation_addresses[0]"] || len(got) != 4 {
		t.Errorf("problems %v, want exactly the four", got)
	}
	if p := DefaultPolicy(); !p.Equal(DefaultPolicy()) || p.RepeatEpisodes != 3 || p.RepeatWindow != 30*24*time.Hour {
		t.Errorf("default repeat trigger %d in %s", p.RepeatEpisodes, p.RepeatWindow)
	}
}
