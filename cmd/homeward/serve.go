package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"homeward/activities"
	"homeward/api"
	"homeward/config"
	"homeward/internal/devtemporal"
	"homeward/internal/pglocal"
	"homeward/mail"
	"homeward/payloadcrypt"
	"homeward/store"
	"homeward/web"
	"homeward/worker"
)

// services are the connections a Homeward process holds.
type services struct {
	cfg      config.Config
	log      *slog.Logger
	store    *store.Store
	temporal client.Client
	ring     *payloadcrypt.KeyRing // nil: payloads are not encrypted
}

func connect(ctx context.Context, cfg config.Config, log *slog.Logger) (*services, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("DATABASE_URL is not set (homeward dev starts a local PostgreSQL for you)")
	}
	ring, err := payloadKeys(cfg, log)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("migrating the database: %w", err)
	}
	tc, err := client.DialContext(ctx, withPayloadEncryption(client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    tlog.NewStructuredLogger(log.With("component", "temporal")),
	}, ring))
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("connecting to Temporal at %s: %w", cfg.TemporalAddress, err)
	}
	return &services{cfg: cfg, log: log, store: st, temporal: tc, ring: ring}, nil
}

func (s *services) close() {
	s.temporal.Close()
	s.store.Close()
}

// serve runs the API on ln (when not nil) and the worker (when withWorker)
// until ctx ends, then shuts down gracefully: the API stops taking requests
// and finishes those in flight, the worker finishes running activities.
func (s *services) serve(ctx context.Context, ln net.Listener, withWorker bool) error {
	// Every process chains the audit rows written (by its requests or its
	// activities); stopped last, after a final pass.
	defer s.store.StartAuditChainer(s.log).Stop()
	errc := make(chan error, 2)
	if withWorker {
		loc, _ := s.cfg.Location()
		mailer, err := mail.New(s.cfg.SMTPURL, s.cfg.MailFrom, s.cfg.OutboxDir)
		if err != nil {
			return fmt.Errorf("email: %w", err)
		}
		w := worker.New(s.temporal, s.cfg.TaskQueue, &activities.Activities{
			Store: s.store, Mailer: mailer, BaseURL: s.cfg.Web.PublicURL, Location: loc, Logger: s.log,
		})
		if err := w.Start(); err != nil {
			return fmt.Errorf("starting the worker: %w", err)
		}
		defer w.Stop()
		s.log.Info("Worker started", "task_queue", s.cfg.TaskQueue)
		if err := ensureRetentionSchedule(ctx, s.cfg, s.temporal, s.log); err != nil {
			return fmt.Errorf("retention schedule: %w", err)
		}
	}
	var srv *http.Server
	if ln != nil {
		gin.SetMode(gin.ReleaseMode)
		srv = &http.Server{
			Handler:           s.router(),
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
		}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}()
		s.log.Info("API listening", "address", ln.Addr().String())
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.log.Info("Shutting down")
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			s.log.Warn("API shutdown", "error", err)
		}
	}
	return runErr
}

// router is the API with the web interface mounted beside it.
func (s *services) router() *gin.Engine {
	r := api.NewRouter(api.Deps{
		Store: s.store, Temporal: s.temporal, TaskQueue: s.cfg.TaskQueue,
		Policy: s.cfg.Policy, Logger: s.log, Codec: apiCodec(s.ring),
		OIDC: oidcConfig(s.cfg.Security), Edges: edgeConfig(s.cfg.Security),
	})
	loc, _ := s.cfg.Location()
	w := web.Mount(r, web.Deps{
		API: r, Store: s.store, PublicURL: s.cfg.Web.PublicURL, Logger: s.log, Location: loc,
		IdleTimeout: s.cfg.Web.IdleTimeout, SessionMax: s.cfg.Web.SessionMax,
	})
	if p := webOIDCSignIn(s.cfg.Security, s.store, w.StartSession, s.log); p != nil {
		w.MountProviderSignIn(r, p)
	}
	return r
}

func loadConfig(defaultFormat string) (config.Config, *slog.Logger, error) {
	cfg, err := config.FromEnv()
	if cfg.LogFormat == "" {
		cfg.LogFormat = defaultFormat
	}
	log := newLogger(os.Stderr, cfg.LogLevel, cfg.LogFormat)
	return cfg, log, err
}

func runServer(ctx context.Context, _ io.Writer, withAPI, withWorker bool) error {
	cfg, log, err := loadConfig("json")
	if err != nil {
		return err
	}
	svc, err := connect(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer svc.close()
	var ln net.Listener
	if withAPI {
		if ln, err = net.Listen("tcp", cfg.Listen); err != nil {
			return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
		}
	}
	return svc.serve(ctx, ln, withWorker)
}

func runMigrate(ctx context.Context, _ io.Writer) error {
	cfg, log, err := loadConfig("json")
	if err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	log.Info("Migrations applied")
	return nil
}

// devPostgresPort keeps the local cluster on one port across runs, so that
// psql and `homeward user add` find it.
func devPostgresPort() (int, error) {
	v := os.Getenv("HOMEWARD_PG_PORT")
	if v == "" {
		return 54329, nil
	}
	return strconv.Atoi(v)
}

// ensureDataDir makes the data folder traversable but not listable: the
// local PostgreSQL runs as its own OS user when Homeward runs as root, and
// must reach its folder inside.
func ensureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return err
	}
	return os.Chmod(dir, 0o711)
}

// localDatabase starts (or reuses) the development cluster in the data
// folder, or, when the cluster's OS user cannot reach that folder (a clone
// under root's 0700 home), in a folder of that user's that the data folder
// links to. The returned stop only stops a cluster this call started.
func localDatabase(ctx context.Context, cfg config.Config, log *slog.Logger) (*pglocal.Cluster, func(), error) {
	if err := ensureDataDir(cfg.DataDir); err != nil {
		return nil, nil, err
	}
	port, err := devPostgresPort()
	if err != nil {
		return nil, nil, fmt.Errorf("HOMEWARD_PG_PORT: %w", err)
	}
	dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "postgres"))
	if err != nil {
		return nil, nil, err
	}
	cluster, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir, Port: port, Database: "homeward", Relocate: true, Logger: log})
	if err != nil {
		return nil, nil, fmt.Errorf("starting the local PostgreSQL: %w", err)
	}
	return cluster, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cluster.Stop(sctx); err != nil {
			log.Warn("Stopping PostgreSQL", "error", err)
		}
	}, nil
}

func runDev(ctx context.Context, stdout, _ io.Writer) error {
	cfg, log, err := loadConfig("text")
	if err != nil {
		return err
	}
	if err := ensureDataDir(cfg.DataDir); err != nil {
		return err
	}
	if err := devPayloadKeys(&cfg, log); err != nil {
		return err
	}
	postgresAt := "not used: DATABASE_URL is set"
	if cfg.DatabaseURL == "" {
		cluster, stopDB, err := localDatabase(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer stopDB()
		cfg.DatabaseURL = cluster.URL()
		postgresAt = clusterPlace(cluster, cfg.DataDir)
	}
	temporalPort := 7233
	if v := os.Getenv("HOMEWARD_DEV_TEMPORAL_PORT"); v != "" {
		if temporalPort, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("HOMEWARD_DEV_TEMPORAL_PORT: %w", err)
		}
	}
	dbFile, err := filepath.Abs(filepath.Join(cfg.DataDir, "temporal.db"))
	if err != nil {
		return err
	}
	log.Info("Starting the embedded Temporal server (the first build of it takes a few minutes)")
	ts, err := devtemporal.Start(ctx, devtemporal.Options{DBFile: dbFile, Namespace: cfg.TemporalNamespace, FrontendPort: temporalPort, Logger: log})
	if err != nil {
		return fmt.Errorf("starting the embedded Temporal server: %w", err)
	}
	defer func() {
		if err := ts.Stop(); err != nil {
			log.Warn("Stopping Temporal", "error", err)
		}
	}()
	cfg.TemporalAddress = ts.FrontendHostPort()

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	if os.Getenv("HOMEWARD_PUBLIC_URL") == "" {
		cfg.Web.PublicURL = "http://localhost:" + portOf(ln.Addr())
	}
	svc, err := connect(ctx, cfg, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer svc.close()

	outbox := cfg.OutboxDir
	if cfg.SMTPURL != "" {
		outbox = "not used: email goes to " + redactURL(cfg.SMTPURL)
	}
	fmt.Fprintf(stdout, `
Homeward is running at %[1]s
  web:         open %[7]s in your browser and sign in with a link (below)
  data:        %[2]s (Temporal, outbox, payload keys; survives a restart)
  PostgreSQL:  %[6]s
  emails:      %[3]s
  Temporal:    %[4]s, namespace %[5]s
  API docs:    %[1]s/v1/openapi.yaml

Add a user, in another terminal; it prints a one-time sign-in link for the
web and an API token (each shown once):
  go run ./cmd/homeward user add --name "Sam Okafor" --email sam@example.org --role coordinator --commissioner Leeds
A new sign-in link later: go run ./cmd/homeward user link --email sam@example.org

Stop with Ctrl-C. Run it again and every episode and timer carries on.

`, cfg.Web.PublicURL, cfg.DataDir, outbox, cfg.TemporalAddress, cfg.TemporalNamespace, postgresAt, cfg.Web.PublicURL)
	return svc.serve(ctx, ln, true)
}

// clusterPlace says where the local cluster keeps its files, and why when
// that is outside the data folder.
func clusterPlace(c *pglocal.Cluster, dataDir string) string {
	inside, err := filepath.Abs(filepath.Join(dataDir, "postgres"))
	if err == nil && inside == c.DataDir() {
		return filepath.Join(dataDir, "postgres")
	}
	return fmt.Sprintf("%s (the postgres user cannot reach %s, so %s links there)",
		c.DataDir(), dataDir, filepath.Join(dataDir, "postgres"))
}

func portOf(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return strconv.Itoa(t.Port)
	}
	_, p, _ := net.SplitHostPort(a.String())
	return p
}

// redactURL hides the password of an SMTP URL.
func redactURL(raw string) string {
	if i := strings.Index(raw, "@"); i >= 0 {
		if j := strings.Index(raw, "://"); j >= 0 && j < i {
			return raw[:j+3] + "…@" + raw[i+1:]
		}
	}
	return raw
}
