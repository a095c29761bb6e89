package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"homeward/activities"
	"homeward/config"
	"homeward/store"
	"homeward/telemetry"
)

// watch is how the process is watched: metrics when HOMEWARD_METRICS_LISTEN
// is set, traces when an OTLP endpoint is; nil parts are off and cost
// nothing.
type watch struct {
	listen  string
	log     *slog.Logger
	metrics *telemetry.Metrics
	tracing *telemetry.Tracing
}

func newWatch(ctx context.Context, cfg config.Config, log *slog.Logger) (*watch, error) {
	w := &watch{listen: cfg.MetricsListen, log: log}
	if w.listen != "" {
		m, err := telemetry.NewMetrics(log)
		if err != nil {
			return nil, fmt.Errorf("metrics: %w", err)
		}
		w.metrics = m
	}
	t, err := telemetry.NewTracing(ctx, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("traces: %w", err)
	}
	if t != nil {
		log.Info("Traces are exported by OTLP")
	}
	w.tracing = t
	return w, nil
}

// clientOptions adds the Temporal SDK's metrics and the tracing interceptor.
func (w *watch) clientOptions(o client.Options) client.Options {
	return telemetry.ClientOptions(o, w.metrics, w.tracing)
}

func (w *watch) middleware() []gin.HandlerFunc { return telemetry.Middleware(w.metrics, w.tracing) }

// counts is what the activities report to; nil (not a typed nil) when off.
func (w *watch) counts() activities.Counts {
	if w.metrics == nil {
		return nil
	}
	return w.metrics
}

// serveMetrics serves /metrics on its own address, with the case records'
// figures read from st, until stop.
func (w *watch) serveMetrics(st *store.Store) (stop func(), err error) {
	if w.metrics == nil {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", w.listen)
	if err != nil {
		return nil, fmt.Errorf("metrics: listening on %s: %w", w.listen, err)
	}
	w.metrics.WatchWorkload(st, telemetry.WorkloadOptions{})
	srv := &http.Server{Handler: w.metrics.Mux(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			w.log.Error("Metrics server", "error", err)
		}
	}()
	w.log.Info("Metrics listening", "address", ln.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// close sends the spans still buffered.
func (w *watch) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := w.tracing.Shutdown(ctx); err != nil {
		w.log.Warn("Sending the last spans", "error", err)
	}
}
