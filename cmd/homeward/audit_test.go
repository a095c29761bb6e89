package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"homeward/internal/pglocal"
	"homeward/store"
)

// runMainEnv makes the test binary run main() instead of the tests, so a
// test can see the command's real exit status.
const runMainEnv = "HOMEWARD_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		os.Args = append([]string{"homeward"}, strings.Fields(os.Getenv(runMainEnv+"_ARGS"))...)
		main()
		os.Exit(0)
	}
	code := m.Run()
	pglocal.StopTestClusters()
	os.Exit(code)
}

// homeward runs the command in a child process and returns its exit status
// and output.
func homeward(t *testing.T, dbURL string, args string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runMainEnv+"=1", runMainEnv+"_ARGS="+args, "DATABASE_URL="+dbURL)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode(), out.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

func TestAuditVerify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbURL := pglocal.NewTestDatabase(t)
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := st.AppendAudit(ctx, store.AuditEntry{UserID: "u", Role: "manager", Action: "episode.read", Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ChainAudit(ctx, 0); err != nil {
		t.Fatal(err)
	}

	// In process.
	t.Setenv("DATABASE_URL", dbURL)
	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"audit", "verify"}, &out, &errOut); err != nil {
		t.Fatalf("audit verify: %v\n%s", err, errOut.String())
	}
	if got := out.String(); got != "audit chain intact: 3 rows chained, 0 not chained yet\n" {
		t.Fatalf("audit verify said %q", got)
	}
	if err := run(ctx, []string{"audit"}, &out, &errOut); !errors.Is(err, errUsage) {
		t.Fatalf("audit without verify: %v, want usage", err)
	}

	// As a process: exit status 0 while intact.
	if code, text := homeward(t, dbURL, "audit verify"); code != 0 || !strings.Contains(text, "audit chain intact: 3 rows") {
		t.Fatalf("intact chain: exit %d: %s", code, text)
	}

	// A row not chained yet is counted; one left unchained past a minute
	// (no chainer running) fails.
	if _, err := st.Pool.Exec(ctx, `INSERT INTO audit_log (at, action, outcome) VALUES (clock_timestamp(), 'episode.read', 'ok')`); err != nil {
		t.Fatal(err)
	}
	if code, text := homeward(t, dbURL, "audit verify"); code != 0 || !strings.Contains(text, "audit chain intact: 3 rows chained, 1 not chained yet") {
		t.Fatalf("a fresh unchained row: exit %d: %s", code, text)
	}
	if _, err := st.Pool.Exec(ctx, `INSERT INTO audit_log (at, action, outcome) VALUES (clock_timestamp() - interval '2 minutes', 'episode.read', 'ok')`); err != nil {
		t.Fatal(err)
	}
	if code, text := homeward(t, dbURL, "audit verify"); code != 1 || !strings.Contains(text, "audit rows not chained, the oldest row 5: ") {
		t.Fatalf("a stale unchained row: exit %d: %s", code, text)
	}
	if _, err := st.ChainAudit(ctx, 0); err != nil {
		t.Fatal(err)
	}

	// Someone with the database's superuser edits row 2.
	conn, err := st.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, sql := range []string{
		"SET session_replication_role = replica",
		"UPDATE audit_log SET outcome = 'denied' WHERE id = 2",
		"RESET session_replication_role",
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	conn.Release()

	err = run(ctx, []string{"audit", "verify"}, &out, &errOut)
	if err == nil || !strings.HasPrefix(err.Error(), "audit chain broken at row 2: ") {
		t.Fatalf("tampered chain: %v", err)
	}
	code, text := homeward(t, dbURL, "audit verify")
	if code != 1 || !strings.Contains(text, "audit chain broken at row 2: ") {
		t.Fatalf("tampered chain: exit %d: %s", code, text)
	}
	t.Log(strings.TrimSpace(text))
}
