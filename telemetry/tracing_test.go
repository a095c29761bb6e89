package telemetry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"homeward/telemetry"
)

// collector is an OTLP/HTTP trace receiver: it keeps the names of the
// spans it is sent.
type collector struct {
	mu    sync.Mutex
	names []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "not an OTLP trace export", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.names = append(c.names, s.Name)
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

func (c *collector) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.names...)
}

// request sends one request through an engine with the middleware.
func request(t *testing.T, mw []gin.HandlerFunc) {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.Use(mw...)
	r.GET("/v1/episodes/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	w := httptest.NewRecorder()
	r.ServeHTTP(w, httptest.NewRequest("GET", "/v1/episodes/6f0c1a52-0000-4000-8000-000000000000?x=1", nil))
	if w.Code != http.StatusNoContent {
		t.Fatalf("request = %d", w.Code)
	}
}

func TestTracesGoToTheOTLPEndpointWhenSet(t *testing.T) {
	col := &collector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	ctx := context.Background()
	tr, err := telemetry.NewTracing(ctx, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	if tr == nil {
		t.Fatal("no tracing with OTEL_EXPORTER_OTLP_ENDPOINT set")
	}
	if o := telemetry.ClientOptions(client.Options{}, nil, tr); len(o.Interceptors) != 1 {
		t.Fatalf("the Temporal client has %d interceptors, want the tracing one", len(o.Interceptors))
	}
	request(t, telemetry.Middleware(nil, tr))
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(sctx); err != nil { // sends what is buffered
		t.Fatal(err)
	}
	names := col.received()
	if len(names) != 1 || names[0] != "GET /v1/episodes/:id" {
		t.Fatalf("the collector received spans %q, want the request's", names)
	}
}

func TestNoTracingWithoutAnEndpoint(t *testing.T) {
	for _, env := range []map[string]string{
		{},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "  "},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"},
	} {
		tr, err := telemetry.NewTracing(context.Background(), func(k string) string { return env[k] })
		if err != nil || tr != nil {
			t.Fatalf("with %v: tracing %v, error %v; want none", env, tr, err)
		}
		if mw := telemetry.Middleware(nil, tr); len(mw) != 0 {
			t.Fatalf("with %v: %d middleware, want none", env, len(mw))
		}
		if o := telemetry.ClientOptions(client.Options{}, nil, tr); len(o.Interceptors) != 0 || o.MetricsHandler != nil {
			t.Fatalf("with %v: the Temporal client is given %d interceptors", env, len(o.Interceptors))
		}
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		if !telemetry.TracingEnabled(func(k string) string {
			if k == v {
				return "http://collector:4318"
			}
			return ""
		}) {
			t.Errorf("%s alone does not turn tracing on", v)
		}
	}
}
