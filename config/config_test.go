package config

import (
	"strings"
	"testing"
	"time"

	"homeward/episode"
)

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":8080" || c.TemporalAddress != "localhost:7233" || c.TimeZone != "Europe/London" || c.OutboxDir != ".homeward/outbox" {
		t.Errorf("defaults = %+v", c)
	}
	if !c.Policy.Equal(episode.DefaultPolicy()) {
		t.Errorf("policy = %+v, want the default", c.Policy)
	}
}

func TestPolicyFromEnvironment(t *testing.T) {
	c, err := Load(env(map[string]string{"HOMEWARD_OFFER_WINDOW": "48h", "HOMEWARD_MAX_CONTACT_ATTEMPTS": "3", "HOMEWARD_PUBLIC_URL": "https://hw.example.org/"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Policy.OfferWindow != 48*time.Hour || c.Policy.MaxContactAttempts != 3 || c.Web.PublicURL != "https://hw.example.org" {
		t.Errorf("config = %+v", c)
	}
}

func TestBadValuesAreNamed(t *testing.T) {
	_, err := Load(env(map[string]string{
		"HOMEWARD_FOLLOW_UP_DELAY": "a week", "HOMEWARD_REOFFER_COUNT": "two",
		"HOMEWARD_TIME_ZONE": "Mars/Olympus", "HOMEWARD_DEADLINE_WARNING_LEAD": "100h",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{"HOMEWARD_FOLLOW_UP_DELAY", "HOMEWARD_REOFFER_COUNT", "HOMEWARD_TIME_ZONE", "HOMEWARD_DEADLINE_WARNING_LEAD"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestOfferWindowIsStatutoryAtMost(t *testing.T) {
	_, err := Load(env(map[string]string{"HOMEWARD_OFFER_WINDOW": "96h", "HOMEWARD_REPEAT_EPISODES": "1"}))
	if err == nil {
		t.Fatal("an offer window of 96 hours was accepted")
	}
	for _, want := range []string{"HOMEWARD_OFFER_WINDOW: must not be longer than the statutory 72 hours", "HOMEWARD_REPEAT_EPISODES"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	c, err := Load(env(map[string]string{"HOMEWARD_REPEAT_EPISODES": "4", "HOMEWARD_REPEAT_WINDOW": "336h"}))
	if err != nil || c.Policy.RepeatEpisodes != 4 || c.Policy.RepeatWindow != 14*24*time.Hour {
		t.Errorf("repeat trigger = %d in %s, %v", c.Policy.RepeatEpisodes, c.Policy.RepeatWindow, err)
	}
}
