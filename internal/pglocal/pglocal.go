// Package pglocal runs a PostgreSQL cluster from the server binaries
// installed on the machine, so that development ("make run") and tests need
// neither Docker nor a shared database server.
//
// The cluster is for development and tests only. It uses trust
// authentication: anybody who can open a connection may log in as the
// superuser without a password. That is tolerable only because the server
// listens on 127.0.0.1 and on a unix socket inside a directory that only the
// cluster's OS user can enter; never put data that matters in it and never
// widen listen_addresses.
//
// PostgreSQL refuses to run as root, so when this process is root the
// cluster is owned by, and the server runs as, the "postgres" OS user. Its
// DataDir must then sit below directories that user can traverse (Start
// checks this; os.MkdirTemp and t.TempDir directories are 0700 root), unless
// Options.Relocate lets Start keep the cluster in a folder of that user's.
package pglocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// superuser is the role initdb creates; fixing it keeps URLs identical
	// whichever OS user runs the server.
	superuser       = "postgres"
	defaultDatabase = "homeward"
	binDirEnv       = "HOMEWARD_PG_BIN"
	serverLogName   = "server.log"

	// A unix socket path must fit in sun_path (108 bytes including the NUL),
	// and postgres puts "<dir>/.s.PGSQL.<port>" and a ".lock" file next to it.
	maxSocketDirLen = 107 - len("/.s.PGSQL.65535.lock")
)

// Options configures Start. Only DataDir is required.
type Options struct {
	// DataDir holds the cluster. A missing or empty directory is initialised
	// with initdb; an initialised one is reused, so data survives restarts.
	DataDir string
	// Port is the TCP port on 127.0.0.1. Zero picks a free port at each
	// start, which avoids clashes but changes URL(); set it when other tools
	// need a stable address.
	Port int
	// BinDir holds initdb, pg_ctl and postgres. Empty means: $HOMEWARD_PG_BIN,
	// then the directory of pg_ctl on $PATH, then the newest
	// /usr/lib/postgresql/*/bin (where Debian installs them off $PATH).
	BinDir string
	// Database is created if missing so that URL() is immediately usable;
	// defaults to "homeward".
	Database string
	// Ephemeral trades durability for speed (fsync, synchronous_commit and
	// full_page_writes off, initdb --no-sync): a killed server loses its
	// last commits and an OS crash can corrupt the cluster. Only for
	// throwaway test clusters.
	Ephemeral bool
	// Relocate lets the cluster live elsewhere when its OS user cannot reach
	// DataDir (root hands the server to "postgres", and DataDir is inside a
	// 0700 home): in a folder of that user's named after DataDir's path,
	// with a symlink at DataDir pointing to it. Cluster.DataDir says where.
	Relocate bool
	// Logger receives progress messages; nil discards them.
	Logger *slog.Logger

	// tiedToProcess runs postgres as a direct child that receives SIGQUIT
	// (immediate shutdown) when this process dies, even by SIGKILL, instead of
	// detaching it through pg_ctl. Test clusters use it so that a crashed or
	// killed test binary does not leave a server behind.
	tiedToProcess bool
}

// Cluster is a running PostgreSQL server, either started by Start or found
// already running on the data directory.
type Cluster struct {
	dataDir   string
	user      string
	database  string
	port      int
	socketDir string
	// tempSocketDir is set when the socket directory was created for this
	// start (DataDir too long for a socket path) and must be removed on Stop.
	tempSocketDir bool
	// started is false when Start adopted a server somebody else started;
	// Stop must then leave it alone.
	started bool

	run *runner
	log *slog.Logger

	// child and childDone are set only for tiedToProcess clusters.
	child     *exec.Cmd
	childDone chan struct{}

	mu      sync.Mutex
	stopped bool
}

// Start makes sure a server runs on opts.DataDir and that opts.Database
// exists, initialising the cluster first when the directory is empty. If a
// server already runs on the directory (an earlier run that was not stopped,
// or another process), it is reused rather than treated as an error.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.DataDir == "" {
		return nil, errors.New("pglocal: Options.DataDir is required")
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, fmt.Errorf("pglocal: data dir: %w", err)
	}
	// pg_ctl pastes the path into a double-quoted /bin/sh command line.
	if strings.ContainsAny(dataDir, "\"$`\\\n") {
		return nil, fmt.Errorf("pglocal: data dir %q contains characters pg_ctl cannot quote", dataDir)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	database := opts.Database
	if database == "" {
		database = defaultDatabase
	}
	binDir, err := findBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	run, err := newRunner(binDir)
	if err != nil {
		return nil, err
	}
	if opts.Relocate {
		if dataDir, err = run.resolveDataDir(ctx, dataDir, log); err != nil {
			return nil, err
		}
	}
	c := &Cluster{
		dataDir:  dataDir,
		user:     superuser,
		database: database,
		run:      run,
		log:      log.With("datadir", dataDir),
	}

	if err := c.prepareDataDir(ctx, opts.Ephemeral); err != nil {
		return nil, err
	}
	adopted, err := c.adoptRunning(ctx, opts.Port)
	if err != nil {
		return nil, err
	}
	if adopted {
		// It may still be starting up if another process launched it just now.
		if err := c.waitAccepting(ctx, nil, 30*time.Second); err != nil {
			return nil, fmt.Errorf("pglocal: server already running on %s (port %d) does not accept connections: %w", c.dataDir, c.port, err)
		}
		if err := c.ensureDatabase(ctx); err != nil {
			return nil, err
		}
		c.log.Info("reusing running PostgreSQL; it will be left running on Stop", "port", c.port, "url", c.URL())
		return c, nil
	}

	if err := c.start(ctx, opts); err != nil {
		c.removeTempSocketDir()
		return nil, err
	}
	if err := c.ensureDatabase(ctx); err != nil {
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if serr := c.Stop(stopCtx); serr != nil {
			c.log.Warn("stopping PostgreSQL after failed database creation", "err", serr)
		}
		return nil, err
	}
	c.log.Info("PostgreSQL started", "port", c.port, "url", c.URL(),
		"psql", fmt.Sprintf("psql -h %s -p %d -U %s %s", c.socketDir, c.port, c.user, c.database))
	return c, nil
}

// DataDir is the cluster's directory: Options.DataDir, or where Relocate
// put the cluster.
func (c *Cluster) DataDir() string { return c.dataDir }

// URL is a connection URL for the database named in Options.
func (c *Cluster) URL() string { return c.URLFor(c.database) }

// URLFor is a connection URL for another database of the same cluster, e.g.
// "postgres" for administrative connections.
func (c *Cluster) URLFor(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(c.user),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop shuts the server down with a fast shutdown (open transactions are
// rolled back, committed data is kept) and waits for it to exit. A server
// that was already running when Start found it is left running, because
// somebody else may be using it; that includes one left behind by an
// earlier run that exited without Stop ("pg_ctl stop -D DataDir" ends it).
// Calling Stop again does nothing.
func (c *Cluster) Stop(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return nil
	}
	if !c.started {
		c.stopped = true
		c.log.Info("leaving PostgreSQL running: it was not started by this process", "port", c.port)
		return nil
	}
	var err error
	if c.child != nil {
		err = c.stopChild(ctx)
		c.stopped = true // stopChild only returns once the process is gone
	} else {
		err = c.stopPgCtl(ctx)
		c.stopped = err == nil
	}
	if c.stopped {
		c.removeTempSocketDir()
		c.log.Info("PostgreSQL stopped", "port", c.port)
	}
	return err
}

func (c *Cluster) stopPgCtl(ctx context.Context) error {
	out, err := c.run.output(ctx, "pg_ctl", "stop", "-D", c.dataDir, "-m", "fast", "-w")
	if err == nil {
		return nil
	}
	// Somebody else may have stopped it already; that is what we wanted.
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if running, serr := c.status(sctx); serr == nil && !running {
		return nil
	}
	return fmt.Errorf("pglocal: pg_ctl stop -D %s: %w\n%s", c.dataDir, err, out)
}

func (c *Cluster) stopChild(ctx context.Context) error {
	_ = c.child.Process.Signal(syscall.SIGINT) // fast shutdown
	select {
	case <-c.childDone:
		return nil
	case <-ctx.Done():
	}
	_ = c.child.Process.Signal(syscall.SIGQUIT) // immediate shutdown
	select {
	case <-c.childDone:
	case <-time.After(10 * time.Second):
		_ = c.child.Process.Kill()
		<-c.childDone
	}
	return fmt.Errorf("pglocal: fast shutdown of %s did not finish (%w); forced an immediate shutdown", c.dataDir, ctx.Err())
}

func (c *Cluster) removeTempSocketDir() {
	if c.tempSocketDir {
		_ = os.RemoveAll(c.socketDir)
		c.tempSocketDir = false
	}
}

// prepareDataDir creates and initialises the cluster directory when needed
// and checks that the server's OS user will be able to use it, because
// initdb and postgres report such problems far less clearly.
func (c *Cluster) prepareDataDir(ctx context.Context, ephemeral bool) error {
	fi, err := os.Stat(c.dataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Parents must stay traversable by the postgres user, hence 0755.
		if err := os.MkdirAll(filepath.Dir(c.dataDir), 0o755); err != nil {
			return fmt.Errorf("pglocal: creating parent of data dir: %w", err)
		}
		if err := os.Mkdir(c.dataDir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("pglocal: creating data dir: %w", err)
		}
	case err != nil:
		return fmt.Errorf("pglocal: data dir: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("pglocal: data dir %s is not a directory", c.dataDir)
	}
	if err := c.run.checkReachable(c.dataDir); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "PG_VERSION")); err == nil {
		return c.run.checkOwner(c.dataDir)
	}
	entries, err := os.ReadDir(c.dataDir)
	if err != nil {
		return fmt.Errorf("pglocal: reading data dir: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("pglocal: data dir %s is not empty but holds no PostgreSQL cluster (no PG_VERSION); refusing to initdb over it", c.dataDir)
	}
	// postgres refuses a data directory that others can read.
	if err := c.run.own(c.dataDir, 0o700); err != nil {
		return err
	}
	c.log.Info("initialising PostgreSQL cluster", "as", c.run.username)
	args := []string{"-D", c.dataDir, "--auth=trust", "--username=" + superuser, "--encoding=UTF8", "--locale=C"}
	if ephemeral {
		args = append(args, "--no-sync")
	}
	if out, err := c.run.output(ctx, "initdb", args...); err != nil {
		return fmt.Errorf("pglocal: initdb %s (as %s): %w\n%s", c.dataDir, c.run.username, err, out)
	}
	return nil
}

// adoptRunning points c at a server already running on the data directory
// and reports whether there was one. A postmaster.pid left by a killed server
// is cleared when only we can tell it is stale (see below).
func (c *Cluster) adoptRunning(ctx context.Context, wantPort int) (bool, error) {
	running, err := c.status(ctx)
	if err != nil {
		return false, err
	}
	pf, pfErr := readPIDFile(c.dataDir)
	if running && pfErr == nil && notPostmaster(pf.pid) {
		// pg_ctl and postgres only check that the recorded pid exists, so
		// they take a stale lock file for a live server forever when that
		// pid is a zombie (a killed postmaster under a PID 1 that does not
		// reap orphans, as in some containers) or was reused after a reboot.
		// postgres still refuses to start while any old backend is attached
		// to the shared memory segment, so removing the lock file does not
		// lose that protection.
		c.log.Warn("removing postmaster.pid of a server that is no longer running", "pid", pf.pid)
		if err := os.Remove(filepath.Join(c.dataDir, "postmaster.pid")); err != nil {
			return false, fmt.Errorf("pglocal: removing stale postmaster.pid: %w", err)
		}
		return false, nil
	}
	if !running {
		return false, nil
	}
	if pfErr != nil {
		return false, fmt.Errorf("pglocal: server running on %s but its postmaster.pid is unreadable: %w", c.dataDir, pfErr)
	}
	if wantPort != 0 && pf.port != wantPort {
		return false, fmt.Errorf("pglocal: server already running on %s listens on port %d, not the requested %d; stop it (pg_ctl stop -D %s) or use its port", c.dataDir, pf.port, wantPort, c.dataDir)
	}
	if pf.listenAddr == "" {
		return false, fmt.Errorf("pglocal: server already running on %s does not listen on TCP", c.dataDir)
	}
	c.port = pf.port
	c.socketDir = pf.socketDir
	return true, nil
}

func (c *Cluster) status(ctx context.Context) (bool, error) {
	out, err := c.run.output(ctx, "pg_ctl", "status", "-D", c.dataDir)
	if err == nil {
		return true, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 3 { // "no server running"
		return false, nil
	}
	return false, fmt.Errorf("pglocal: pg_ctl status -D %s: %w\n%s", c.dataDir, err, out)
}

// start launches a server, retrying the failures that go away by themselves:
// a picked port taken by someone else in the meantime, and backends of a
// killed server that have not yet noticed and let go of its shared memory.
func (c *Cluster) start(ctx context.Context, opts Options) error {
	if err := c.pickSocketDir(); err != nil {
		return err
	}
	const attempts = 5
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			var err error
			if port, err = freePort(); err != nil {
				return err
			}
		}
		logTail, err := c.startOnce(ctx, port, opts)
		if err == nil {
			c.port = port
			c.started = true
			return nil
		}
		retry := false
		switch {
		case opts.Port == 0 && strings.Contains(logTail, "Address already in use"):
			retry = true
		case strings.Contains(logTail, "pre-existing shared memory block"):
			retry = true
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Second):
			}
		}
		if !retry || attempt == attempts || ctx.Err() != nil {
			return err
		}
		c.log.Warn("PostgreSQL failed to start, retrying", "attempt", attempt, "err", err)
	}
}

// startOnce returns the new part of server.log along with any error, so the
// caller can decide whether the failure is worth a retry.
func (c *Cluster) startOnce(ctx context.Context, port int, opts Options) (string, error) {
	logPath := filepath.Join(c.dataDir, serverLogName)
	var offset int64
	if fi, err := os.Stat(logPath); err == nil {
		offset = fi.Size()
	}
	args := []string{
		"-p", strconv.Itoa(port),
		"-k", c.socketDir,
		"-c", "listen_addresses=127.0.0.1",
	}
	if opts.Ephemeral {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	c.port = port // waitAccepting connects to it
	var out string
	var err error
	if opts.tiedToProcess {
		err = c.startChild(ctx, args, logPath)
	} else {
		out, err = c.run.output(ctx, "pg_ctl", "start", "-w", "-D", c.dataDir, "-l", logPath, "-o", shellJoin(args))
	}
	if err == nil {
		return "", nil
	}
	tail := readTail(logPath, offset, 4096)
	msg := fmt.Sprintf("pglocal: starting PostgreSQL on %s, port %d: %v", c.dataDir, port, err)
	if out = strings.TrimSpace(out); out != "" {
		msg += "\npg_ctl output:\n" + out
	}
	if tail != "" {
		msg += "\n" + serverLogName + " (end):\n" + tail
	}
	return tail, errors.New(msg)
}

// startChild runs postgres as our own child with a parent-death signal.
func (c *Cluster) startChild(ctx context.Context, args []string, logPath string) error {
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("opening %s: %w", serverLogName, err)
	}
	defer logFile.Close()
	// Keep the log usable by a later pg_ctl run as the cluster's user.
	if err := c.run.own(logPath, 0o600); err != nil {
		return err
	}
	// Not tied to ctx: ctx only bounds the start, not the server's life.
	cmd := c.run.command(context.Background(), "postgres", append([]string{"-D", c.dataDir}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	dieWithParent(cmd.SysProcAttr)

	started := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		// The kernel sends the parent-death signal when the *thread* that
		// forked the child exits, and the Go runtime may retire threads.
		// Holding this thread until postgres exits pins it.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("running postgres: %w", err)
	}
	c.child, c.childDone = cmd, done
	if err := c.waitAccepting(ctx, done, time.Minute); err != nil {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		c.child, c.childDone = nil, nil
		return err
	}
	return nil
}

// waitAccepting polls until a connection succeeds; died, if not nil, aborts
// the wait when the server process exits.
func (c *Cluster) waitAccepting(ctx context.Context, died <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		conn, err := pgx.Connect(cctx, c.URLFor("postgres"))
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections after %v: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for connections: %w (last attempt: %v)", ctx.Err(), err)
		case <-died:
			return errors.New("postgres exited during startup")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) ensureDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, c.URLFor("postgres"))
	if err != nil {
		return fmt.Errorf("pglocal: connecting to create database %q: %w", c.database, err)
	}
	defer conn.Close(context.Background())
	var one int
	err = conn.QueryRow(ctx, "SELECT 1 FROM pg_database WHERE datname=$1", c.database).Scan(&one)
	if err == nil {
		return nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pglocal: looking up database %q: %w", c.database, err)
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{c.database}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" { // created concurrently
		return nil
	}
	if err != nil {
		return fmt.Errorf("pglocal: creating database %q: %w", c.database, err)
	}
	c.log.Info("created database", "database", c.database)
	return nil
}

// pickSocketDir uses the data directory itself (private to the cluster's
// user, so the trust-authenticated socket is not reachable by other users)
// unless its path is too long for a socket address or contains characters
// unix_socket_directories would split on; then it makes a private temp dir.
func (c *Cluster) pickSocketDir() error {
	if len(c.dataDir) <= maxSocketDirLen && !strings.ContainsAny(c.dataDir, " ,'\"\\") {
		c.socketDir = c.dataDir
		return nil
	}
	parent := os.TempDir()
	if len(parent) > maxSocketDirLen-len("/pgsock-1234567890") {
		parent = "/tmp"
	}
	dir, err := os.MkdirTemp(parent, "pgsock-")
	if err != nil {
		return fmt.Errorf("pglocal: creating socket dir: %w", err)
	}
	if err := c.run.own(dir, 0o700); err != nil {
		_ = os.RemoveAll(dir)
		return err
	}
	c.socketDir, c.tempSocketDir = dir, true
	return nil
}

// pidFile is the part of postmaster.pid we need (see miscadmin.h for the layout).
type pidFile struct {
	pid        int
	port       int
	socketDir  string
	listenAddr string
}

func readPIDFile(dataDir string) (pidFile, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return pidFile{}, err
	}
	return parsePIDFile(string(b))
}

func parsePIDFile(s string) (pidFile, error) {
	lines := strings.Split(s, "\n")
	if len(lines) < 4 {
		return pidFile{}, fmt.Errorf("postmaster.pid has %d lines, want at least 4", len(lines))
	}
	var pf pidFile
	var err error
	if pf.pid, err = strconv.Atoi(strings.TrimSpace(lines[0])); err != nil {
		return pidFile{}, fmt.Errorf("postmaster.pid: bad pid line %q", lines[0])
	}
	if pf.port, err = strconv.Atoi(strings.TrimSpace(lines[3])); err != nil {
		return pidFile{}, fmt.Errorf("postmaster.pid: bad port line %q", lines[3])
	}
	if len(lines) > 4 {
		pf.socketDir = strings.TrimSpace(lines[4])
	}
	if len(lines) > 5 {
		pf.listenAddr = strings.TrimSpace(lines[5])
	}
	return pf, nil
}

// runner runs the PostgreSQL binaries as the user that must own the
// cluster: initdb and postgres refuse to run as root, so root hands them to
// the "postgres" OS user.
type runner struct {
	binDir   string
	username string
	home     string              // the cluster user's home; empty when not root
	cred     *syscall.Credential // nil: run as ourselves
	uid, gid int                 // -1 when cred is nil
	env      []string
}

func newRunner(binDir string) (*runner, error) {
	r := &runner{binDir: binDir, uid: -1, gid: -1}
	root := os.Geteuid() == 0
	for _, kv := range os.Environ() {
		// PG* variables (PGDATA, PGPORT, PGHOST...) would override what we
		// pass; HOME and USER must describe the user the server runs as.
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		if root && (strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "USER=") || strings.HasPrefix(kv, "LOGNAME=")) {
			continue
		}
		r.env = append(r.env, kv)
	}
	if !root {
		if u, err := user.Current(); err == nil {
			r.username = u.Username
		} else {
			r.username = strconv.Itoa(os.Geteuid())
		}
		return r, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pglocal: running as root, so the server must run as the \"postgres\" OS user, but looking it up failed: %w", err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pglocal: postgres user ids: %w", err)
	}
	r.username, r.uid, r.gid, r.home = u.Username, uid, gid, u.HomeDir
	// Groups is empty so root's supplementary groups are dropped.
	r.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	r.env = append(r.env, "HOME="+u.HomeDir, "USER="+u.Username, "LOGNAME="+u.Username)
	return r, nil
}

func (r *runner) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(r.binDir, name), args...)
	cmd.Dir = "/" // the server's user may not be allowed into our working directory
	cmd.Env = r.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: r.cred}
	return cmd
}

// output runs a binary to completion and returns its combined output, which
// goes into error messages.
func (r *runner) output(ctx context.Context, name string, args ...string) (string, error) {
	out, err := r.command(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// own gives path to the server's user with the given mode.
func (r *runner) own(path string, mode os.FileMode) error {
	if r.cred != nil {
		if err := os.Chown(path, r.uid, r.gid); err != nil {
			return fmt.Errorf("pglocal: giving %s to user %s: %w", path, r.username, err)
		}
	}
	if err := os.Chmod(path, mode); err != nil {
		return fmt.Errorf("pglocal: chmod %s: %w", path, err)
	}
	return nil
}

// checkReachable fails early when root puts the cluster under a directory
// the postgres user cannot enter (os.MkdirTemp and t.TempDir create 0700
// directories), which initdb would report only as "permission denied".
func (r *runner) checkReachable(path string) error {
	if r.cred == nil {
		return nil
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err != nil {
			return fmt.Errorf("pglocal: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if ok {
			perm := fi.Mode().Perm()
			var bit os.FileMode = 0o001
			switch {
			case int(st.Uid) == r.uid:
				bit = 0o100
			case int(st.Gid) == r.gid:
				bit = 0o010
			}
			if perm&bit == 0 {
				return fmt.Errorf("pglocal: the %s user cannot reach data dir %s: %s has mode %v and owner uid %d; use a path whose parents it can traverse, or chmod o+x %s",
					r.username, path, dir, perm, st.Uid, dir)
			}
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}

// checkOwner rejects an existing cluster that belongs to another user, which
// postgres would refuse with a less obvious message.
func (r *runner) checkOwner(dataDir string) error {
	if r.cred == nil {
		return nil
	}
	fi, err := os.Stat(dataDir)
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != r.uid {
		return fmt.Errorf("pglocal: cluster %s is owned by uid %d, but the server runs as %s (uid %d); chown -R %s %s",
			dataDir, st.Uid, r.username, r.uid, r.username, dataDir)
	}
	return nil
}

func findBinDir(explicit string) (string, error) {
	if explicit != "" {
		return explicit, checkBinDir(explicit)
	}
	if env := os.Getenv(binDirEnv); env != "" {
		if err := checkBinDir(env); err != nil {
			return "", fmt.Errorf("%w (from $%s)", err, binDirEnv)
		}
		return env, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		// Prefer the target of a symlink such as /usr/local/bin/pg_ctl: it is
		// where the matching initdb and postgres surely are.
		if real, err := filepath.EvalSymlinks(p); err == nil && checkBinDir(filepath.Dir(real)) == nil {
			return filepath.Dir(real), nil
		}
		if checkBinDir(filepath.Dir(p)) == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	version := func(dir string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if checkBinDir(dir) == nil {
			return dir, nil
		}
	}
	return "", fmt.Errorf("pglocal: no PostgreSQL server binaries found (looked at $%s, $PATH, /usr/lib/postgresql/*/bin); install the postgresql package or set $%s", binDirEnv, binDirEnv)
}

func checkBinDir(dir string) error {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("pglocal: PostgreSQL bin dir %s: %w", dir, err)
		}
		if fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("pglocal: PostgreSQL bin dir %s: %s is not executable", dir, name)
		}
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pglocal: finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// shellJoin quotes args for the /bin/sh command line pg_ctl builds from -o.
func shellJoin(args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(quoted, " ")
}

// readTail returns at most max bytes from the end of what was written to
// path after offset, trimmed to whole lines.
func readTail(path string, offset int64, max int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return ""
	}
	start := offset
	if fi.Size() < start { // log was truncated or replaced
		start = 0
	}
	cut := false
	if fi.Size()-start > max {
		start, cut = fi.Size()-max, true
	}
	b, err := io.ReadAll(io.NewSectionReader(f, start, fi.Size()-start))
	if err != nil {
		return ""
	}
	s := string(b)
	if i := strings.IndexByte(s, '\n'); cut && i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}
