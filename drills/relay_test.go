//go:build drill

package drills

import (
	"testing"
	"time"

	"homeward/internal/drill"
	"homeward/internal/testenv"
)

// TestRelayRefusingThenBack: escalations owed while the mail relay refuses
// connections are each delivered once, and within 60 seconds of the relay
// coming back. The outage is longer than a minute, so the drill fails when
// the retry backoff of escalation emails grows past a minute.
func TestRelayRefusingThenBack(t *testing.T) {
	t.Parallel() // the drills mostly wait out their outages: together they take as long as the longest
	episodes := drill.Int(t, "HOMEWARD_DRILL_RELAY_EPISODES", 10)
	outage := drill.Duration(t, "HOMEWARD_DRILL_RELAY_OUTAGE", 80*time.Second)
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)

	env.SMTP.Refuse(t)
	down := time.Now()
	want := map[string][]string{}
	for i := 0; i < episodes; i++ {
		// Returned 80 hours ago: the breach is owed at once.
		id := tm.open(t, time.Now().Add(-80*time.Hour), "", 30*time.Second)
		want[id] = []string{"deadline_breached"}
	}
	time.Sleep(outage - time.Since(down))
	if n := len(env.SMTP.Messages()); n != 0 {
		t.Fatalf("%d emails arrived while the relay refused connections", n)
	}

	env.SMTP.Accept(t)
	back := time.Now()
	env.SMTP.WaitFor(t, 2*episodes, time.Minute)
	t.Logf("relay down %s; all %d emails delivered %s after it came back", outage.Round(time.Second), 2*episodes, time.Since(back).Round(time.Second))
	time.Sleep(3 * time.Second) // anything sent twice would arrive meanwhile
	tm.escalationsOnce(t, want, 0)
}
