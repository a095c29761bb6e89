// Package telemetry is how Homeward is watched: Prometheus metrics served
// at /metrics on their own address, and OpenTelemetry traces exported by
// OTLP when an endpoint is configured.
//
// No metric label and no span attribute carries a child's detail; metric
// labels never carry an episode's id or reference either, only kinds of
// things (a route template, a status, an escalation's kind).
package telemetry

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"

	"homeward/activities"
	"homeward/episode"
)

// Metrics holds one process's metrics on its own registry.
type Metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	raised   *prometheus.CounterVec
	emailed  *prometheus.CounterVec
	sent     *prometheus.CounterVec
	failures *prometheus.CounterVec
	nobody   *prometheus.CounterVec
	temporal client.MetricsHandler
	log      *slog.Logger
}

// emailKinds are the values of the email label.
var emailKinds = []string{"escalation", activities.ContactReminderEmail.Kind,
	activities.ActionReminderEmail.Kind, activities.ReturnReportEmail.Kind, activities.ReportUndeliveredEmail.Kind}

// durationBuckets suit both a request (milliseconds) and an outcome that
// waits for its episode (up to the 10-second timeout).
var durationBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// NewMetrics makes the metrics: Go and process figures, HTTP requests,
// escalations and emails, and the Temporal SDK's own through
// TemporalHandler.
func NewMetrics(log *slog.Logger) (*Metrics, error) {
	if log == nil {
		log = slog.Default()
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{registry: reg, log: log}
	m.requests = newCounter(reg, "homeward_http_requests_total",
		"HTTP requests answered, by route template (never the path itself), method and status.", "route", "method", "status")
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "homeward_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route template and method.",
		Buckets: durationBuckets,
	}, []string{"route", "method"})
	reg.MustRegister(m.duration)
	m.raised = newCounter(reg, "homeward_escalations_raised_total", "Escalations raised, by kind.", "kind")
	m.emailed = newCounter(reg, "homeward_escalations_emailed_total",
		"Escalation emails handed to the mail relay (one per recipient), by kind.", "kind")
	m.sent = newCounter(reg, "homeward_emails_sent_total", "Emails handed to the mail relay, by what they are about.", "email")
	m.failures = newCounter(reg, "homeward_email_failures_total",
		"Emails the relay refused, by what they are about and whether for now (temporary: retried) or for good (permanent).", "email", "failure")
	m.nobody = newCounter(reg, "homeward_emails_undelivered_total",
		"Emails that reached nobody, fallbacks included (each counted once; they are retried until someone has one, "+
			"and the escalations list shows them meanwhile), by what they are about.", "email")
	for _, k := range episode.EscalationKinds {
		m.raised.WithLabelValues(string(k))
		m.emailed.WithLabelValues(string(k))
	}
	for _, e := range emailKinds {
		m.sent.WithLabelValues(e)
		m.failures.WithLabelValues(e, "temporary")
		m.failures.WithLabelValues(e, "permanent")
		m.nobody.WithLabelValues(e)
	}
	th, err := temporalHandler(reg, log)
	if err != nil {
		return nil, err
	}
	m.temporal = th
	return m, nil
}

func newCounter(reg *prometheus.Registry, name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	reg.MustRegister(c)
	return c
}

// temporalHandler passes the Temporal SDK's metrics (requests, polls, task
// latencies, by namespace, task queue and workflow or activity type) to
// the registry through OpenTelemetry's Prometheus exporter.
func temporalHandler(reg *prometheus.Registry, log *slog.Logger) (client.MetricsHandler, error) {
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutTargetInfo(), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, err
	}
	seconds := sdkmetric.NewView(sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: durationBuckets}})
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(seconds))
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                mp.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		// The default panics; a metric that cannot be made is not worth that.
		OnError: func(err error) { log.Warn("Temporal SDK metric", "error", err) },
	}), nil
}

// Registry is where every metric of the process is, for a collector to
// join (Watch) or a test to read.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// TemporalHandler is the client.Options.MetricsHandler of the process's
// Temporal client; its workers report through it too.
func (m *Metrics) TemporalHandler() client.MetricsHandler { return m.temporal }

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// Mux is what HOMEWARD_METRICS_LISTEN serves: GET /metrics, nothing else.
func (m *Metrics) Mux() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	return mux
}

// CountRequests counts every request by its route template: a request that
// matched no route is counted under "unmatched", so no path (which may
// hold an id) becomes a label.
func (m *Metrics) CountRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	method := knownMethod(c.Request.Method)
	m.requests.WithLabelValues(route, method, strconv.Itoa(c.Writer.Status())).Inc()
	m.duration.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
}

// knownMethod keeps the method label to the methods HTTP defines.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// EscalationRaised counts an escalation raised (activities.Counts).
func (m *Metrics) EscalationRaised(kind episode.EscalationKind) {
	m.raised.WithLabelValues(string(kind)).Inc()
}

// EmailSent counts an email handed to the relay (activities.Counts).
func (m *Metrics) EmailSent(e activities.Email) {
	m.sent.WithLabelValues(e.Kind).Inc()
	if e.Escalation != "" {
		m.emailed.WithLabelValues(string(e.Escalation)).Inc()
	}
}

// EmailFailed counts an email the relay refused (activities.Counts).
func (m *Metrics) EmailFailed(e activities.Email, permanent bool) {
	failure := "temporary"
	if permanent {
		failure = "permanent"
	}
	m.failures.WithLabelValues(e.Kind, failure).Inc()
}

// EmailUndelivered counts an email that reached nobody (activities.Counts).
func (m *Metrics) EmailUndelivered(e activities.Email) {
	m.nobody.WithLabelValues(e.Kind).Inc()
}

var _ activities.Counts = (*Metrics)(nil)
