package pglocal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestMain(m *testing.M) {
	code := m.Run()
	StopTestClusters()
	os.Exit(code)
}

// newDataDir returns a not-yet-existing data dir path whose parent the
// postgres user can traverse (t.TempDir's parents are 0700 root).
func newDataDir(t *testing.T) string {
	t.Helper()
	base, err := os.MkdirTemp("", "pglocal-unittest-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	return filepath.Join(base, "data")
}

func mustStart(t *testing.T, opts Options) *Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := Start(ctx, opts)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(context.Background()); err != nil {
			t.Errorf("cleanup Stop: %v", err)
		}
	})
	return c
}

func connect(t *testing.T, dbURL string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect %s: %v", dbURL, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func exec1(t *testing.T, conn *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func queryString(t *testing.T, conn *pgx.Conn, sql string, args ...any) string {
	t.Helper()
	var s string
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func assertNotAccepting(t *testing.T, dbURL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if conn, err := pgx.Connect(ctx, dbURL); err == nil {
		conn.Close(ctx)
		t.Fatalf("server at %s still accepts connections", dbURL)
	}
}

// TestDataSurvivesRestartAndKill9 is the guarantee "make run" needs.
func TestDataSurvivesRestartAndKill9(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	c := mustStart(t, Options{DataDir: dir, Database: "restart_db"})
	if !c.started {
		t.Fatal("fresh cluster reported as adopted")
	}
	wantPrefix := "postgres://postgres@127.0.0.1:" + strconv.Itoa(c.port) + "/restart_db?sslmode=disable"
	if c.URL() != wantPrefix {
		t.Fatalf("URL() = %q, want %q", c.URL(), wantPrefix)
	}
	if c.socketDir != dir {
		t.Errorf("socket dir = %q, want the (short) data dir %q", c.socketDir, dir)
	}

	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode = %v, want 0700", fi.Mode().Perm())
	}
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		if err != nil {
			t.Fatal(err)
		}
		if uid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)); uid != pg.Uid {
			t.Errorf("data dir owner uid = %s, want postgres (%s)", uid, pg.Uid)
		}
	}

	conn := connect(t, c.URL())
	if got := queryString(t, conn, "SELECT current_database()||'/'||current_user"); got != "restart_db/postgres" {
		t.Fatalf("connected to %q, want restart_db/postgres", got)
	}
	if got := queryString(t, conn, "SHOW fsync"); got != "on" {
		t.Errorf("fsync = %s on a non-ephemeral cluster", got)
	}
	exec1(t, conn, "CREATE TABLE notes (body text)")
	exec1(t, conn, "INSERT INTO notes VALUES ($1)", "survives restart")
	conn.Close(context.Background())

	if err := c.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	assertNotAccepting(t, c.URL())
	if _, err := os.Stat(filepath.Join(dir, "postmaster.pid")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("postmaster.pid after Stop: %v", err)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	c2 := mustStart(t, Options{DataDir: dir, Database: "restart_db"})
	if !c2.started {
		t.Fatal("restarted cluster reported as adopted")
	}
	conn2 := connect(t, c2.URL())
	if got := queryString(t, conn2, "SELECT body FROM notes"); got != "survives restart" {
		t.Fatalf("row after restart = %q", got)
	}
	exec1(t, conn2, "INSERT INTO notes VALUES ($1)", "survives kill -9")
	conn2.Close(context.Background())

	// Now crash it: the next Start must recover rather than fail on the
	// stale postmaster.pid or adopt the dead server.
	pf, err := readPIDFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if pf.port != c2.port {
		t.Fatalf("postmaster.pid port = %d, want %d", pf.port, c2.port)
	}
	if err := syscall.Kill(pf.pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); processAlive(pf.pid); {
		if time.Now().After(deadline) {
			t.Fatal("postmaster survived SIGKILL")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Where PID 1 does not reap orphans the postmaster stays a zombie, which
	// pg_ctl takes for a live server; Start must see through that too.
	t.Logf("killed postmaster %d; zombie: %v", pf.pid, isZombie(pf.pid))

	c3 := mustStart(t, Options{DataDir: dir, Database: "restart_db", Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if !c3.started {
		t.Fatal("Start after kill -9 adopted the dead server instead of starting one")
	}
	var n int
	if err := connect(t, c3.URL()).QueryRow(context.Background(), "SELECT count(*) FROM notes").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("%d rows after crash recovery, want 2", n)
	}
}

func TestStartReusesRunningCluster(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	first := mustStart(t, Options{DataDir: dir, Ephemeral: true})
	if got := queryString(t, connect(t, first.URL()), "SHOW fsync"); got != "off" {
		t.Errorf("fsync = %s on an ephemeral cluster", got)
	}

	second := mustStart(t, Options{DataDir: dir, Database: "other_db"})
	if second.started {
		t.Fatal("second Start claims to have started the server")
	}
	if second.port != first.port {
		t.Fatalf("second Start port = %d, want running server's %d", second.port, first.port)
	}
	// The adopted cluster still creates the database it was asked for.
	conn := connect(t, second.URL())
	if got := queryString(t, conn, "SELECT current_database()"); got != "other_db" {
		t.Fatalf("second cluster's database = %q", got)
	}
	conn.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Start(ctx, Options{DataDir: dir, Port: first.port + 1}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("Start with a conflicting port: err = %v, want 'already running'", err)
	}

	if err := second.Stop(context.Background()); err != nil {
		t.Fatalf("Stop of adopted cluster: %v", err)
	}
	if got := queryString(t, connect(t, first.URL()), "SELECT 'alive'"); got != "alive" {
		t.Fatal("server not usable after the adopting Cluster stopped")
	}

	pf, err := readPIDFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if notPostmaster(pf.pid) {
		t.Fatalf("live postmaster %d taken for a stale one", pf.pid)
	}

	if err := first.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	assertNotAccepting(t, first.URL())

	// After a reboot postmaster.pid may name a pid now used by some other
	// program (here: this test binary), which pg_ctl reports as running.
	stale := fmt.Sprintf("%d\n%s\n%d\n%d\n%s\n127.0.0.1\n  0  0\nready   \n",
		os.Getpid(), dir, time.Now().Unix(), first.port, dir)
	if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	third := mustStart(t, Options{DataDir: dir, Ephemeral: true})
	if !third.started {
		t.Fatal("Start adopted a postmaster.pid naming a non-postgres process")
	}
	if got := queryString(t, connect(t, third.URL()), "SELECT 'up'"); got != "up" {
		t.Fatal("server started over a stale postmaster.pid is not usable")
	}
	if err := third.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	// A start failure must explain itself with the server's own words.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), Options{DataDir: dir, Port: busyPort})
	if err == nil {
		t.Fatalf("Start on busy port %d succeeded", busyPort)
	}
	t.Logf("expected start error:\n%v", err)
	for _, want := range []string{"port " + strconv.Itoa(busyPort), "server.log", "Address already in use"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start error lacks %q:\n%v", want, err)
		}
	}
}

func TestStartRejectsForeignDirectory(t *testing.T) {
	t.Parallel()
	dir := newDataDir(t)
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "precious.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Start(context.Background(), Options{DataDir: dir})
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("err = %v, want 'not empty'", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "precious.txt")); err != nil {
		t.Fatalf("existing file touched: %v", err)
	}
}

func TestStartReportsUnreachableDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to another user")
	}
	t.Parallel()
	parent := t.TempDir() // 0700, owned by root
	_, err := Start(context.Background(), Options{DataDir: filepath.Join(parent, "data")})
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("err = %v, want 'cannot reach'", err)
	}
}

// TestStartRelocatesUnreachableDataDir is `make run` in a clone under root's
// 0700 home: the cluster goes to a folder of the postgres user's, the data
// dir links to it, the next start finds it with its data, and a start after
// the data dir was deleted begins afresh.
func TestStartRelocatesUnreachableDataDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("only root hands the cluster to another OS user, whom a 0700 folder of root's keeps out")
	}
	t.Parallel()
	var relocated string
	t.Cleanup(func() { _ = os.RemoveAll(relocated) }) // runs after the clusters stop
	dir := filepath.Join(t.TempDir(), "data")         // t.TempDir is 0700, owned by root
	opts := Options{DataDir: dir, Relocate: true, Ephemeral: true}

	c := mustStart(t, opts)
	relocated = c.DataDir()
	if strings.HasPrefix(relocated, filepath.Dir(dir)) {
		t.Fatalf("cluster at %s, want it outside the unreachable %s", relocated, filepath.Dir(dir))
	}
	if link, err := os.Readlink(dir); err != nil || link != relocated {
		t.Fatalf("data dir link = %q, %v; want it to point to %s", link, err, relocated)
	}
	conn := connect(t, c.URL())
	exec1(t, conn, "CREATE TABLE notes (body text)")
	exec1(t, conn, "INSERT INTO notes VALUES ('kept')")
	conn.Close(context.Background())
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	c2 := mustStart(t, opts)
	if c2.DataDir() != relocated {
		t.Fatalf("second start used %s, want %s", c2.DataDir(), relocated)
	}
	if got := queryString(t, connect(t, c2.URL()), "SELECT body FROM notes"); got != "kept" {
		t.Fatalf("row after restart = %q", got)
	}
	if err := c2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	if err := os.Remove(dir); err != nil {
		t.Fatal(err)
	}
	c3 := mustStart(t, opts)
	if got := queryString(t, connect(t, c3.URL()), "SELECT coalesce(to_regclass('notes')::text, 'none')"); got != "none" {
		t.Fatalf("after the data dir was deleted the cluster still has table %s", got)
	}
}

func TestURLForRoundTrips(t *testing.T) {
	c := &Cluster{user: "postgres", port: 5433, database: "homeward"}
	if got, want := c.URL(), "postgres://postgres@127.0.0.1:5433/homeward?sslmode=disable"; got != want {
		t.Fatalf("URL() = %q, want %q", got, want)
	}
	for _, db := range []string{"homeward", "odd name", "with/slash", "100%"} {
		cfg, err := pgconn.ParseConfig(c.URLFor(db))
		if err != nil {
			t.Fatalf("parse URLFor(%q): %v", db, err)
		}
		if cfg.Database != db || cfg.User != "postgres" || cfg.Host != "127.0.0.1" || cfg.Port != 5433 {
			t.Errorf("URLFor(%q) parses to db=%q user=%q host=%q port=%d", db, cfg.Database, cfg.User, cfg.Host, cfg.Port)
		}
	}
}

func TestPickSocketDirFallsBackForLongPaths(t *testing.T) {
	run, err := newRunner("/nonexistent")
	if err != nil {
		t.Fatal(err)
	}
	short := &Cluster{dataDir: "/tmp/short/data", run: run}
	if err := short.pickSocketDir(); err != nil {
		t.Fatal(err)
	}
	if short.socketDir != short.dataDir || short.tempSocketDir {
		t.Errorf("short data dir: socket dir %q (temp=%v)", short.socketDir, short.tempSocketDir)
	}

	long := &Cluster{dataDir: "/tmp/" + strings.Repeat("x", 120), run: run}
	if err := long.pickSocketDir(); err != nil {
		t.Fatal(err)
	}
	defer long.removeTempSocketDir()
	if !long.tempSocketDir || len(long.socketDir+"/.s.PGSQL.65535") > 107 {
		t.Fatalf("long data dir: socket dir %q (temp=%v)", long.socketDir, long.tempSocketDir)
	}
	fi, err := os.Stat(long.socketDir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("socket dir mode %v, want 0700", fi.Mode().Perm())
	}
	if run.cred != nil && int(fi.Sys().(*syscall.Stat_t).Uid) != run.uid {
		t.Errorf("socket dir not owned by %s", run.username)
	}
	dir := long.socketDir
	long.removeTempSocketDir()
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temp socket dir not removed: %v", err)
	}
}

func TestParsePIDFile(t *testing.T) {
	// As written by PostgreSQL 15.
	pf, err := parsePIDFile("4242\n/data\n1700000000\n54321\n/tmp/sock\n127.0.0.1\n  5432001     32768\nready   \n")
	if err != nil {
		t.Fatal(err)
	}
	want := pidFile{pid: 4242, port: 54321, socketDir: "/tmp/sock", listenAddr: "127.0.0.1"}
	if pf != want {
		t.Fatalf("got %+v, want %+v", pf, want)
	}
	if _, err := parsePIDFile("4242\n/data\n"); err == nil {
		t.Fatal("truncated file accepted")
	}
}

func userTables(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	err := conn.QueryRow(context.Background(),
		"SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// The shared-cluster tests are not parallel: they run in this order, and
// the last one stops the cluster.

func sharedForTest(t *testing.T) (*Cluster, string) {
	t.Helper()
	c, err := sharedTestCluster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	testCluster.mu.Lock()
	defer testCluster.mu.Unlock()
	return c, testCluster.dir
}

func databasesLeft(t *testing.T, serverURL string, names ...string) int {
	t.Helper()
	var n int
	if err := connect(t, serverURL).QueryRow(context.Background(),
		"SELECT count(*) FROM pg_database WHERE datname = ANY($1)", names).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNewTestDatabase(t *testing.T) {
	var names []string
	t.Run("two empty databases", func(t *testing.T) {
		u1, u2 := NewTestDatabase(t), NewTestDatabase(t)
		c1, c2 := connect(t, u1), connect(t, u2)
		n1 := queryString(t, c1, "SELECT current_database()")
		n2 := queryString(t, c2, "SELECT current_database()")
		if n1 == n2 {
			t.Fatalf("both URLs lead to database %q", n1)
		}
		if !strings.HasPrefix(n1, "t_testnewtestdatabase_two_empty_databases_") {
			t.Errorf("database name %q does not name the test", n1)
		}
		if a, b := userTables(t, c1), userTables(t, c2); a != 0 || b != 0 {
			t.Fatalf("new databases not empty: %d and %d tables", a, b)
		}
		exec1(t, c1, "CREATE TABLE only_in_first (id int)")
		if n := userTables(t, c2); n != 0 {
			t.Fatalf("table created in first database visible in second (%d tables)", n)
		}
		if got := queryString(t, c1, "SHOW fsync"); got != "off" {
			t.Errorf("test cluster fsync = %s, want off", got)
		}
		names = []string{n1, n2}
	})
	if len(names) != 2 {
		t.FailNow()
	}
	c, dir := sharedForTest(t)
	if !c.started || c.child == nil {
		t.Fatal("test cluster is not a child of this process")
	}
	if !strings.HasPrefix(dir, os.TempDir()) {
		t.Errorf("test cluster dir %q not under os.TempDir()", dir)
	}
	if n := databasesLeft(t, c.URLFor("postgres"), names...); n != 0 {
		t.Errorf("%d test databases not dropped after their test", n)
	}
}

func TestNewTestDatabaseUsesEnvServer(t *testing.T) {
	// Point the env var at the shared cluster, but as a separate role, so
	// the new database's owner shows which URL was used.
	c, _ := sharedForTest(t)
	role := "env_" + strconv.Itoa(os.Getpid())
	exec1(t, connect(t, c.URLFor("postgres")), "CREATE ROLE "+role+" LOGIN CREATEDB")
	envURL := strings.Replace(c.URLFor("postgres"), "//postgres@", "//"+role+"@", 1)
	t.Setenv(TestDatabaseURLEnv, envURL)

	var name string
	t.Run("inner", func(t *testing.T) {
		u := NewTestDatabase(t)
		if !strings.HasPrefix(u, "postgres://"+role+"@127.0.0.1:"+strconv.Itoa(c.port)+"/t_") {
			t.Fatalf("URL %q not derived from %s=%s", u, TestDatabaseURLEnv, envURL)
		}
		conn := connect(t, u)
		name = queryString(t, conn, "SELECT current_database()")
		owner := queryString(t, conn, "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()")
		if owner != role {
			t.Fatalf("database owned by %q, want %q", owner, role)
		}
	})
	if name == "" {
		t.FailNow()
	}
	if n := databasesLeft(t, c.URLFor("postgres"), name); n != 0 {
		t.Fatalf("database %q left after the test", name)
	}
}

func TestStopTestClusters(t *testing.T) {
	c, dir := sharedForTest(t)
	StopTestClusters()
	assertNotAccepting(t, c.URLFor("postgres"))
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("test cluster dir after StopTestClusters: %v", err)
	}
	testCluster.mu.Lock()
	defer testCluster.mu.Unlock()
	if testCluster.c != nil {
		t.Fatal("stopped cluster still registered")
	}
}

func TestSweepRemovesOnlyDeadOwners(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(owner int) string {
		dir, err := os.MkdirTemp("", testClusterPrefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(owner)), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	orphan, live := mk(dead.Process.Pid), mk(os.Getpid())
	sweepTestClusters()
	if _, err := os.Stat(orphan); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("directory of a dead test binary kept: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("directory of a live test binary removed: %v", err)
	}
}
