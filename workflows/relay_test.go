package workflows

import (
	"testing"
	"time"

	"homeward/episode"
)

// A safeguarding escalation owed while the relay was down goes within a
// minute of the relay coming back, however long it was down: the retry
// backoff is capped well under that. With the backoff doubling up to half
// an hour, a three-minute outage delayed the email by over two minutes.
// (The test environment stops an activity's unlimited retries after ten
// attempts, about three and a half minutes here, where the server goes on;
// the fault drill in drills/ runs a real outage against the real server.)
func TestEscalationSentWithinAMinuteOfTheRelayRecovering(t *testing.T) {
	for _, outage := range []time.Duration{20 * time.Second, time.Minute, 2 * time.Minute, 3 * time.Minute} {
		t.Run(outage.String(), func(t *testing.T) {
			h := newHarness(t, t0)
			h.rec.relayDownUntil = t0.Add(outage)
			in := input(t0.Add(-80*time.Hour), fullContact) // the breach is owed at once
			h.close(outage + time.Hour)
			h.run(in)

			breach := h.rec.escalation(t, episode.EscalationDeadlineBreached)
			if late := breach.At.Sub(h.rec.relayDownUntil); late > time.Minute {
				t.Errorf("breach sent %s after the relay recovered, want within a minute", late)
			}
			if got := h.rec.kinds(); len(got) != 1 {
				t.Errorf("escalations = %v, want the breach once", got)
			}
		})
	}
}
