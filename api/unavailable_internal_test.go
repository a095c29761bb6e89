package api

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"go.temporal.io/api/serviceerror"
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
