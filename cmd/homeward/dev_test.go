//go:build dev

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"homeward/config"
)

// syncBuffer is written by the running command and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var runningAt = regexp.MustCompile(`Homeward is running at (http://\S+)`)

// startDev runs `homeward dev` as `make run` does and returns its URL and a
// stop function that shuts it down gracefully.
func startDev(t *testing.T) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"dev"}, out, io.Discard) }()
	var url string
	deadline := time.Now().Add(3 * time.Minute)
	for url == "" {
		if m := runningAt.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
			break
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("homeward dev stopped: %v\n%s", err, out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("homeward dev did not start:\n%s", out.String())
		}
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("homeward dev ended with %v", err)
			}
		case <-time.After(time.Minute):
			t.Errorf("homeward dev did not shut down within a minute")
		}
	}
	t.Cleanup(stop)
	return url, stop
}

func addUser(t *testing.T, role string) string {
	t.Helper()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"user", "add", "--name", "Dev " + role, "--email", role + "@dev.test", "--role", role, "--commissioner", "Devshire"}, &out, io.Discard); err != nil {
		t.Fatalf("user add %s: %v", role, err)
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "hw_") {
			return line
		}
	}
	t.Fatalf("user add printed no token: %s", out.String())
	return ""
}

func call(t *testing.T, method, url, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestDevSurvivesRestart is `make run` as a person uses it: start, add
// users, open an episode, stop, start again, and the episode and its
// deadline timer carry on.
func TestDevSurvivesRestart(t *testing.T) {
	base, err := os.MkdirTemp("", "homeward-dev-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	// The local PostgreSQL runs as its own OS user when the tests run as root.
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(base, "data")
	t.Setenv("HOMEWARD_DATA_DIR", dataDir)
	t.Setenv("HOMEWARD_OUTBOX_DIR", "")
	t.Setenv("HOMEWARD_LISTEN", "127.0.0.1:0")
	t.Setenv("HOMEWARD_PG_PORT", "0")
	t.Setenv("HOMEWARD_DEV_TEMPORAL_PORT", "0")
	t.Setenv("HOMEWARD_LOG_LEVEL", "warn")
	for _, k := range []string{"DATABASE_URL", "HOMEWARD_SMTP_URL", "HOMEWARD_PUBLIC_URL", "TEMPORAL_ADDRESS"} {
		t.Setenv(k, "")
	}

	url, stop := startDev(t)
	coordinator := addUser(t, "coordinator")
	addUser(t, "manager")

	// The deadline passes while Homeward is stopped.
	now := time.Now().UTC()
	body := fmt.Sprintf(`{"child": {"first_name": "Dev"}, "reported_missing_at": %q, "returned_at": %q,
		"risk_grade": "low", "category": "missing", "contact": {"address": "1 Road"}}`,
		now.Add(-80*time.Hour).Format(time.RFC3339), now.Add(-72*time.Hour+5*time.Second).Format(time.RFC3339))
	status, ep := call(t, "POST", url+"/v1/episodes", coordinator, body)
	if status != 201 {
		t.Fatalf("open episode = %d %v", status, ep)
	}
	id := ep["id"].(string)
	stop()
	time.Sleep(6 * time.Second)

	url, _ = startDev(t)
	outbox := filepath.Join(dataDir, "outbox")
	var breach bool
	deadline := time.Now().Add(30 * time.Second)
	for !breach && time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(outbox, "*.eml"))
		for _, f := range files {
			data, _ := os.ReadFile(f)
			if bytes.Contains(data, []byte("X-Homeward-Escalation: deadline_breached")) {
				breach = true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !breach {
		t.Fatalf("no breach email in %s after the restart", outbox)
	}
	status, got := call(t, "GET", url+"/v1/episodes/"+id, coordinator, "")
	if status != 200 || got["id"] != id {
		t.Fatalf("episode after restart = %d %v", status, got)
	}
}

// TestLocalDatabaseInUnreachableFolder is `make run` by root in a clone under
// a 0700 folder: the postgres user cannot enter the data folder, so the
// cluster lives in a folder of its own, and the start-up message says where.
func TestLocalDatabaseInUnreachableFolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the local PostgreSQL to another OS user, whom a 0700 folder of root's keeps out")
	}
	var relocated string
	t.Cleanup(func() { _ = os.RemoveAll(relocated) })
	t.Setenv("HOMEWARD_PG_PORT", "0")
	dataDir := filepath.Join(t.TempDir(), ".homeward") // t.TempDir is 0700, owned by root
	cfg := config.Config{DataDir: dataDir}
	log := slog.New(slog.DiscardHandler)

	for run := 1; run <= 2; run++ {
		cluster, stop, err := localDatabase(context.Background(), cfg, log)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		if run == 1 {
			relocated = cluster.DataDir()
		}
		place := clusterPlace(cluster, dataDir)
		stop()
		if cluster.DataDir() != relocated || strings.HasPrefix(relocated, dataDir) {
			t.Fatalf("run %d: cluster at %s, want %s outside %s", run, cluster.DataDir(), relocated, dataDir)
		}
		if !strings.Contains(place, relocated) || !strings.Contains(place, "cannot reach") {
			t.Errorf("run %d: start-up message says PostgreSQL is at %q", run, place)
		}
	}
}
