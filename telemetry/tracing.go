package telemetry

import (
	"context"
	"fmt"
	"strings"

	"github.com/gin-gonic/gin"
	"go.opentelemetry.io/contrib/instrumentation/github.com/gin-gonic/gin/otelgin"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// Tracing follows a request from the API through the Temporal client into
// the episode's workflow and its activities.
type Tracing struct {
	provider   trace.TracerProvider
	propagator propagation.TextMapPropagator
	temporal   interceptor.Interceptor
	shutdown   func(context.Context) error
}

// TracingEnabled reports whether the environment asks for traces: an OTLP
// endpoint is set (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and OTEL_SDK_DISABLED is not true.
func TracingEnabled(getenv func(string) string) bool {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	return strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != "" ||
		strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != ""
}

// NewTracing exports spans by OTLP over HTTP when the environment asks for
// it (TracingEnabled), configured by the standard OTEL_* variables
// (endpoint, headers, timeout, OTEL_SERVICE_NAME, OTEL_TRACES_SAMPLER).
// Otherwise it returns nil: no exporter, no spans, no cost.
func NewTracing(ctx context.Context, getenv func(string) string) (*Tracing, error) {
	if !TracingEnabled(getenv) {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", "homeward")),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	t, err := TracingWith(tp)
	if err != nil {
		return nil, err
	}
	t.shutdown = tp.Shutdown
	return t, nil
}

// TracingWith traces through provider (a test's, with an in-memory
// exporter). Trace context travels in W3C traceparent headers.
func TracingWith(provider trace.TracerProvider) (*Tracing, error) {
	t := &Tracing{
		provider:   provider,
		propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		shutdown:   func(context.Context) error { return nil },
	}
	// The interceptor carries the span into Temporal: the client's calls
	// (start, update, signal, query), and in the worker the workflow and
	// its activities, which join the trace through the workflow's headers.
	i, err := temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer:            provider.Tracer("homeward/temporal"),
		TextMapPropagator: t.propagator,
	})
	if err != nil {
		return nil, fmt.Errorf("Temporal tracing interceptor: %w", err)
	}
	t.temporal = i
	return t, nil
}

// Shutdown sends the spans still buffered; nil-safe.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.shutdown(ctx)
}

// middleware starts a server span per request, named by method and route
// template. Its attributes are the method, route, path, status and the
// client's address and agent: never a body, never a query string.
func (t *Tracing) middleware() gin.HandlerFunc {
	return otelgin.Middleware("homeward",
		otelgin.WithTracerProvider(t.provider), otelgin.WithPropagators(t.propagator))
}

// Middleware is what the API's engine runs first on every request: the
// request's span (outermost, so it times everything), then its count.
// Either may be nil.
func Middleware(m *Metrics, t *Tracing) []gin.HandlerFunc {
	var out []gin.HandlerFunc
	if t != nil {
		out = append(out, t.middleware())
	}
	if m != nil {
		out = append(out, m.CountRequests)
	}
	return out
}

// ClientOptions adds to a Temporal client's options the metrics handler
// and the tracing interceptor; workers made from the client use both.
// Either may be nil.
func ClientOptions(o client.Options, m *Metrics, t *Tracing) client.Options {
	if m != nil {
		o.MetricsHandler = m.TemporalHandler()
	}
	if t != nil {
		o.Interceptors = append(append([]interceptor.ClientInterceptor{}, o.Interceptors...), t.temporal)
	}
	return o
}
