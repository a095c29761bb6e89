package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// A production worker with no SMTP relay refuses to start, before it
// connects to anything, and says what to set; with the outbox asked for by
// name it goes on (here to fail at the database, which is not set).
func TestWorkerWithoutARelayRefusesToStart(t *testing.T) {
	t.Setenv("HOMEWARD_SMTP_URL", "")
	t.Setenv("HOMEWARD_OUTBOX_DIR", "")
	t.Setenv("DATABASE_URL", "")
	err := runServer(context.Background(), io.Discard, false, true)
	if !errors.Is(err, errNoRelay) || !strings.Contains(err.Error(), "HOMEWARD_SMTP_URL") || !strings.Contains(err.Error(), "HOMEWARD_OUTBOX_DIR") {
		t.Fatalf("err = %v; want the worker refused for want of HOMEWARD_SMTP_URL", err)
	}
	if err := runServer(context.Background(), io.Discard, true, false); errors.Is(err, errNoRelay) {
		t.Errorf("the API alone sends no email, yet was refused: %v", err)
	}
	t.Setenv("HOMEWARD_OUTBOX_DIR", t.TempDir())
	if err := runServer(context.Background(), io.Discard, false, true); errors.Is(err, errNoRelay) || err == nil {
		t.Errorf("with the outbox asked for: err = %v; want past the relay check", err)
	}
}
