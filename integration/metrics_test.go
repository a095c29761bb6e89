package integration

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"homeward/internal/testenv"
)

// series reads a scrape into name → the samples' labels and values.
type series map[string]*dto.MetricFamily

func parseScrape(t *testing.T, text string) series {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the metrics are not Prometheus text: %v", err)
	}
	return fams
}

// value is the sample of name whose labels include labels (name, value
// pairs); ok false when there is none. A histogram answers its count.
func (s series) value(name string, labels ...string) (float64, bool) {
	fam := s[name]
	if fam == nil {
		return 0, false
	}
next:
	for _, m := range fam.Metric {
		for i := 0; i < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func (s series) want(t *testing.T, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := s.value(name, labels...)
	if !ok {
		t.Errorf("no %s%v in the metrics", name, labels)
		return
	}
	if got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

// TestMetricsOfOneEpisode opens an episode whose offer deadline is 12 hours
// away (the deadline warning goes at once, its first email failing), records
// one contact attempt, and reads /metrics as Prometheus would: the
// requests by route template, the records' figures, the escalation and its
// emails, and the Temporal SDK's own metrics of the client and the worker.
func TestMetricsOfOneEpisode(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	env.Activities.Mailer = &failFirstSend{Sender: env.Activities.Mailer}
	env.StartWorker(t)
	tm := newTeam(t, env)

	body := tm.must(t, 201, "POST", "/v1/episodes", tm.Coordinator, referral(time.Now().UTC().Add(-60*time.Hour)))
	id, reference := body["id"].(string), body["reference"].(string)
	p := "/v1/episodes/" + id
	tm.must(t, 200, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": tm.InterviewerID})
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer,
		map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": rfc(time.Now().Add(-time.Minute))},
		"Idempotency-Key", "metrics-attempt-1")
	env.SMTP.WaitFor(t, 2, 30*time.Second) // the warning, to both managers
	tm.waitFor(t, id, "records the attempt", func(ep map[string]any) bool {
		attempts, _ := ep["contact_attempts"].([]any)
		return len(attempts) == 1
	})
	if status, _ := env.Do(t, "GET", "/v1/episodes/not-a-route/at/all", tm.Coordinator, nil); status != 404 {
		t.Fatalf("an unknown path = %d, want 404", status)
	}

	var text string
	var s series
	testenv.Eventually(t, 20*time.Second, "the escalation is counted as emailed", func() bool {
		text = env.Scrape(t)
		s = parseScrape(t, text)
		n, _ := s.value("homeward_escalations_emailed_total", "kind", "deadline_warning")
		return n == 2
	})

	s.want(t, 1, "homeward_http_requests_total", "route", "/v1/episodes", "method", "POST", "status", "201")
	s.want(t, 1, "homeward_http_requests_total", "route", "/v1/episodes/:id/contact-attempts", "method", "POST", "status", "200")
	s.want(t, 1, "homeward_http_requests_total", "route", "unmatched", "method", "GET", "status", "404")
	s.want(t, 1, "homeward_http_request_duration_seconds", "route", "/v1/episodes", "method", "POST")
	s.want(t, 1, "homeward_records_up")
	s.want(t, 1, "homeward_open_episodes", "status", "awaiting_contact")
	s.want(t, 0, "homeward_open_episodes", "status", "interview_held")
	s.want(t, 1, "homeward_offers_due_24h")
	s.want(t, 1, "homeward_escalations_raised_total", "kind", "deadline_warning")
	s.want(t, 0, "homeward_escalations_raised_total", "kind", "deadline_breached")
	s.want(t, 2, "homeward_escalations_emailed_total", "kind", "deadline_warning")
	s.want(t, 2, "homeward_emails_sent_total", "email", "escalation")
	s.want(t, 1, "homeward_email_failures_total", "email", "escalation", "failure", "temporary")
	s.want(t, 0, "homeward_email_failures_total", "email", "escalation", "failure", "permanent")
	if lag, ok := s.value("homeward_projection_lag_seconds"); !ok || lag < 0 || lag > 30 {
		t.Errorf("homeward_projection_lag_seconds = %v (present %t), want between 0 and 30 s", lag, ok)
	}
	// The Temporal SDK's own, from the API's client and from the worker.
	if n, ok := s.value("temporal_request_total", "operation", "StartWorkflowExecution"); !ok || n < 1 {
		t.Errorf("temporal_request_total{operation=StartWorkflowExecution} = %v (present %t)", n, ok)
	}
	if n, ok := s.value("temporal_activity_execution_latency_seconds", "activity_type", "SendEscalation"); !ok || n < 1 {
		t.Errorf("temporal_activity_execution_latency_seconds{activity_type=SendEscalation} count = %v (present %t)", n, ok)
	}

	for _, secret := range []string{id, reference, "Riley", "Example"} {
		if strings.Contains(text, secret) {
			t.Errorf("the metrics carry %q", secret)
		}
	}
}
