package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	grpccodes "google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
)

// TestUnavailableErrors: errors meaning a dependency is down or slow are
// told from faults of ours, wrapped or not.
func TestUnavailableErrors(t *testing.T) {
	down := []error{
		serviceerror.NewUnavailable("frontend down"),
		serviceerror.NewDeadlineExceeded("too slow"),
		serviceerror.NewResourceExhausted(0, "rate limited"),
		fmt.Errorf("signal: %w", serviceerror.NewResourceExhausted(0, "busy")),
		&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")},
		fmt.Errorf("query: %w", context.DeadlineExceeded),
	}
	for _, err := range down {
		if !unavailable(err) {
			t.Errorf("%v: not taken as a dependency that is unavailable", err)
		}
	}
	for _, err := range []error{errors.New("a bug"), serviceerror.NewInvalidArgument("bad"), context.Canceled} {
		if unavailable(err) {
			t.Errorf("%v: taken as a dependency that is unavailable", err)
		}
	}
}

// TestCutShortAnswers503: a request cancelled under the handler (its caller
// gone, or the Temporal connection closed by a shutdown) answers 503 with
// Retry-After, not 500; a fault of ours still answers 500.
func TestCutShortAnswers503(t *testing.T) {
	gin.SetMode(gin.TestMode)
	h := &handlers{log: slog.New(slog.DiscardHandler)}
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("open episode: %w", context.Canceled), http.StatusServiceUnavailable},
		{serviceerror.NewCanceled("context canceled"), http.StatusServiceUnavailable},
		{grpcstatus.Error(grpccodes.Canceled, "grpc: the client connection is closing"), http.StatusServiceUnavailable},
		{errors.New("a bug"), http.StatusInternalServerError},
	} {
		rec := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(rec)
		c.Request = httptest.NewRequest(http.MethodPost, "/v1/episodes", nil)
		h.serverError(c, "open", tc.err)
		if rec.Code != tc.want {
			t.Errorf("%v: answered %d, want %d", tc.err, rec.Code, tc.want)
		}
		if tc.want == http.StatusServiceUnavailable && rec.Header().Get("Retry-After") == "" {
			t.Errorf("%v: 503 without Retry-After", tc.err)
		}
		if strings.Contains(rec.Body.String(), "canceled") || strings.Contains(rec.Body.String(), "bug") {
			t.Errorf("%v: the answer shows the error's text: %s", tc.err, rec.Body.String())
		}
	}
}
