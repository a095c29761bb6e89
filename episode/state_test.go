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
