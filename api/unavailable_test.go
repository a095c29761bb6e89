package api_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"homeward/api"
	"homeward/internal/pglocal"
	"homeward/store"
)

// TestPostgresDown: with PostgreSQL stopped, a signed-in request answers
// 503 with Retry-After and a message that says retrying is safe, never
// 500 and never the driver's words. The test runs its own cluster so that
// stopping it harms no other test.
func TestPostgresDown(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "homeward-pgdown-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	// When root, the postgres user must be able to traverse into data/.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cluster, err := pglocal.Start(ctx, pglocal.Options{DataDir: filepath.Join(dir, "data"), Database: "homeward", Ephemeral: true})
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() { _ = cluster.Stop(context.Background()) })
	st, err := store.Open(ctx, cluster.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	token, hash, err := api.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, "Dee Manager", "dee@test.homeward", store.RoleManager, hash); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.NewRouter(api.Deps{Store: st}))
	defer srv.Close()
	if st, _, body := getWithHeaders(t, srv.URL, "/v1/audit", token); st != 200 {
		t.Fatalf("with PostgreSQL up: %d %s", st, body)
	}

	if err := cluster.Stop(ctx); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	// Twice: the first may meet a pooled connection the server closed, the
	// second must open a new one and be refused.
	for i := 0; i < 2; i++ {
		st, header, body := getWithHeaders(t, srv.URL, "/v1/audit", token)
		e := wantError(t, st, body, 503, "unavailable", "")
		if got := header.Get("Retry-After"); got != "5" {
			t.Fatalf("Retry-After = %q, want 5", got)
		}
		if msg := strings.ToLower(e.Error.Message); !strings.Contains(msg, "temporarily unavailable") || !strings.Contains(msg, "safe") {
			t.Fatalf("message %q does not say the service is temporarily unavailable and that retrying is safe", e.Error.Message)
		}
		noGoErrorText(t, body)
	}
}
