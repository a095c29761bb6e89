// Package drill holds what the fault drills (package drills, run by
// `make drill`) use to break Homeward's dependencies on purpose: a TCP
// proxy that can be cut, the worker as a separate process that can be
// killed with SIGKILL, and counts of the escalation emails a relay got.
package drill

import (
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"

	"homeward/internal/smtptest"
)

// Int is the whole number in the environment variable name, or def: the
// drills run small in `make drill` and at full size by hand.
func Int(t testing.TB, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a whole number", name, v)
	}
	return n
}

// Duration is the duration in the environment variable name, or def.
func Duration(t testing.TB, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		t.Fatalf("%s=%q: want a duration such as 30s", name, v)
	}
	return d
}

// Sent names one escalation email: which episode, which kind, to whom.
type Sent struct {
	Episode, Kind, To string
}

var episodeLink = regexp.MustCompile(`/episodes/([0-9a-f-]{36})`)

// EscalationIDs counts the escalation emails the relay accepted, by episode
// (from the link the email carries: it names no child), kind and recipient,
// and then by Message-ID: a resend of the same email carries the same one,
// so a mail client shows it once.
func EscalationIDs(msgs []smtptest.Received) map[Sent]map[string]int {
	out := map[Sent]map[string]int{}
	for _, m := range msgs {
		kind := m.Header.Get("X-Homeward-Escalation")
		if kind == "" {
			continue
		}
		ep := ""
		if sm := episodeLink.FindStringSubmatch(m.Text); sm != nil {
			ep = sm[1]
		}
		for _, to := range m.To {
			k := Sent{Episode: ep, Kind: kind, To: to}
			if out[k] == nil {
				out[k] = map[string]int{}
			}
			out[k][m.MessageID]++
		}
	}
	return out
}
