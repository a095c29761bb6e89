package main

import (
	"context"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
)

// The container health check is healthy exactly when the API answers
// /readyz with 200.
func TestHealthFollowsReadiness(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusServiceUnavailable)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	t.Setenv("HOMEWARD_LISTEN", ":"+port)

	if err := run(context.Background(), []string{"health"}, nil, nil); err == nil {
		t.Error("healthy while /readyz answers 503")
	}
	status.Store(http.StatusOK)
	if err := run(context.Background(), []string{"health"}, nil, nil); err != nil {
		t.Errorf("unhealthy while /readyz answers 200: %v", err)
	}
	srv.Close()
	if err := run(context.Background(), []string{"health"}, nil, nil); err == nil {
		t.Error("healthy with nothing listening")
	}
}
