package integration

import (
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"homeward/episode"
	"homeward/internal/testenv"
	"homeward/telemetry"
)

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// spanText is everything a span carries that a trace backend shows.
func spanText(s sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	b.WriteString(s.Name() + " " + s.Status().Description)
	kvs := append([]attribute.KeyValue{}, s.Attributes()...)
	for _, ev := range s.Events() {
		b.WriteString(" " + ev.Name)
		kvs = append(kvs, ev.Attributes...)
	}
	for _, kv := range kvs {
		b.WriteString(" " + string(kv.Key) + "=" + kv.Value.Emit())
	}
	return b.String()
}

// TestOneReferralIsOneTrace opens an episode with tracing on and follows
// the trace: the HTTP server span of POST /v1/episodes, the Temporal
// client's StartWorkflow span under it, and in the worker the episode's
// workflow and its first activity, all in the same trace. No span carries
// the child's details.
func TestOneReferralIsOneTrace(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tracing, err := telemetry.TracingWith(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, testenv.Options{Tracing: tracing})
	tm := newTeam(t, env)
	canary := newCanary(t)
	body := tm.must(t, 201, "POST", "/v1/episodes", tm.Coordinator, canaryReferral(canary, time.Now().UTC().Add(-time.Hour)))
	id := body["id"].(string)
	tm.waitFor(t, id, "is in the records", hasStatus(episode.StatusAwaitingContact))

	var server sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.SpanKind() == trace.SpanKindServer && attr(s, "http.route") == "/v1/episodes" && attr(s, "http.request.method") == "POST" {
			server = s
		}
	}
	if server == nil {
		t.Fatalf("no server span for POST /v1/episodes among %d spans", len(rec.Ended()))
	}
	traceID := server.SpanContext().TraceID()
	inTrace := func(name string) sdktrace.ReadOnlySpan {
		t.Helper()
		var found sdktrace.ReadOnlySpan
		testenv.Eventually(t, 20*time.Second, "a span "+name+" in the request's trace", func() bool {
			// Started: the workflow's span lasts as long as the episode.
			for _, s := range rec.Started() {
				if s.Name() == name && s.SpanContext().TraceID() == traceID {
					found = s
					return true
				}
			}
			return false
		})
		return found
	}
	start := inTrace("StartWorkflow:Episode")
	if start.Parent().SpanID() != server.SpanContext().SpanID() {
		t.Errorf("StartWorkflow's parent is %s, want the server span %s", start.Parent().SpanID(), server.SpanContext().SpanID())
	}
	inTrace("RunWorkflow:Episode")
	inTrace("StartActivity:SaveEpisode")
	inTrace("RunActivity:SaveEpisode")

	if !strings.Contains(spanText(server), "http.route=/v1/episodes") {
		t.Fatalf("the span search misses attributes: %s", spanText(server))
	}
	for _, s := range rec.Started() {
		if text := spanText(s); strings.Contains(text, canary) {
			t.Fatalf("span %s carries the child's details: %s", s.Name(), text)
		}
	}
}
