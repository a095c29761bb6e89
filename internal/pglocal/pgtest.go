package pglocal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestDatabaseURLEnv names a server for NewTestDatabase to use instead of
// starting its own, e.g. a CI service container. The URL must name an
// existing database (such as "postgres") and a role allowed to CREATE
// DATABASE.
const TestDatabaseURLEnv = "HOMEWARD_TEST_DATABASE_URL"

// testClusterPrefix names the temp directories of test clusters so that
// later runs can find and delete the ones whose test binary died.
const testClusterPrefix = "pglocal-testcluster-"

// testCluster is the one throwaway cluster a test binary shares between all
// NewTestDatabase calls: initdb costs about a second, a database a few ms.
var testCluster struct {
	mu  sync.Mutex
	c   *Cluster
	dir string
	err error // a failed start is not retried by every test
}

// NewTestDatabase gives a test an empty database of its own and returns its
// URL; the database is dropped when the test ends.
//
// If $HOMEWARD_TEST_DATABASE_URL is set the database is created on that
// server. Otherwise the first call starts an Ephemeral cluster in a temp
// directory, shared by the whole test binary. Packages using it should stop
// it from TestMain:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		pglocal.StopTestClusters()
//		os.Exit(code)
//	}
//
// If they do not, or the test binary is killed, the server still goes away
// on Linux (it gets SIGQUIT when the test process dies), and its directory
// under os.TempDir() is deleted by the next test binary that starts a
// cluster.
func NewTestDatabase(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	admin := os.Getenv(TestDatabaseURLEnv)
	if admin == "" {
		c, err := sharedTestCluster(ctx)
		if err != nil {
			t.Fatalf("pglocal: starting test cluster (set %s to use an existing server): %v", TestDatabaseURLEnv, err)
		}
		admin = c.URLFor("postgres")
	}
	name := testDatabaseName(t.Name())
	dbURL, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("pglocal: %s: %v", TestDatabaseURLEnv, err)
	}
	ident := pgx.Identifier{name}.Sanitize()
	if err := adminExec(ctx, admin, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("pglocal: creating test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE: a test that forgot to close its pool must not fail the drop.
		if err := adminExec(ctx, admin, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Logf("pglocal: dropping test database %s: %v", name, err)
		}
	})
	return dbURL
}

// StopTestClusters stops the cluster NewTestDatabase started, if any, and
// deletes its files. Call it from TestMain after m.Run: a cluster shared by
// all tests cannot be stopped from any single test's Cleanup. A later
// NewTestDatabase call starts a new cluster.
func StopTestClusters() {
	testCluster.mu.Lock()
	defer testCluster.mu.Unlock()
	if c := testCluster.c; c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := c.Stop(ctx); err != nil {
			fmt.Fprintf(os.Stderr, "pglocal: stopping test cluster: %v\n", err)
		}
		cancel()
	}
	if testCluster.dir != "" {
		if err := os.RemoveAll(testCluster.dir); err != nil {
			fmt.Fprintf(os.Stderr, "pglocal: removing test cluster: %v\n", err)
		}
	}
	testCluster.c, testCluster.dir, testCluster.err = nil, "", nil
}

func sharedTestCluster(ctx context.Context) (*Cluster, error) {
	testCluster.mu.Lock()
	defer testCluster.mu.Unlock()
	if testCluster.c != nil || testCluster.err != nil {
		return testCluster.c, testCluster.err
	}
	sweepTestClusters()
	testCluster.c, testCluster.dir, testCluster.err = startTestCluster(ctx)
	return testCluster.c, testCluster.err
}

func startTestCluster(ctx context.Context) (*Cluster, string, error) {
	dir, err := os.MkdirTemp("", testClusterPrefix)
	if err != nil {
		return nil, "", err
	}
	// When root, the postgres user must be able to traverse into data/.
	err = os.Chmod(dir, 0o755)
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", err
	}
	c, err := Start(ctx, Options{
		DataDir:       filepath.Join(dir, "data"),
		Database:      "postgres", // always exists; tests get their own databases
		Ephemeral:     true,
		tiedToProcess: true,
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, "", err
	}
	return c, dir, nil
}

// sweepTestClusters deletes test cluster directories left behind by test
// binaries that died without calling StopTestClusters.
func sweepTestClusters() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), testClusterPrefix+"*"))
	for _, dir := range dirs {
		if !testClusterInUse(dir) {
			_ = os.RemoveAll(dir)
		}
	}
}

func testClusterInUse(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
	if err != nil {
		// Its owner may be between creating the directory and writing owner.pid.
		fi, err := os.Stat(dir)
		return err != nil || time.Since(fi.ModTime()) < time.Minute
	}
	if owner, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && processAlive(owner) {
		return true
	}
	// Without a parent-death signal the server can outlive its owner; never
	// delete files from under a live server.
	pf, err := readPIDFile(filepath.Join(dir, "data"))
	return err == nil && processAlive(pf.pid)
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	return !isZombie(pid)
}

// testDatabaseName keeps the test's name recognisable in psql and adds
// randomness so parallel tests and test binaries sharing a server never
// collide. The result fits PostgreSQL's 63-byte identifier limit.
func testDatabaseName(testName string) string {
	var b strings.Builder
	underscore := false
	for _, r := range strings.ToLower(testName) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		if ok {
			b.WriteRune(r)
		} else if !underscore {
			b.WriteByte('_')
		}
		underscore = !ok
		if b.Len() >= 40 {
			break
		}
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	return "t_" + strings.Trim(b.String(), "_") + "_" + hex.EncodeToString(rnd[:])
}

// withDatabase swaps the database in a postgres:// URL, keeping user,
// password, host and parameters.
func withDatabase(serverURL, db string) (string, error) {
	u, err := url.Parse(serverURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("want a postgres:// URL, got %q", serverURL)
	}
	u.Path, u.RawPath = "/"+db, ""
	return u.String(), nil
}

func adminExec(ctx context.Context, serverURL, sql string) error {
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}
