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
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"

	"homeward/activities"
	"homeward/api"
	"homeward/config"
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
	watch    *watch                // metrics and traces (telemetry.go)
}

func connect(ctx context.Context, cfg config.Config, log *slog.Logger) (*services, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("DATABASE_URL is not set (homeward dev starts a local PostgreSQL for you)")
	}
	ring, err := payloadKeys(cfg, log)
	if err != nil {
		return nil, err
	}
	watch, err := newWatch(ctx, cfg, log)
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
	tc, err := dialTemporal(ctx, cfg, log, ring, watch.clientOptions)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &services{cfg: cfg, log: log, store: st, temporal: tc, ring: ring, watch: watch}, nil
}

func (s *services) close() {
	s.temporal.Close()
	s.store.Close()
	s.watch.close()
}

// serve runs the API on ln (when not nil) and the worker (when withWorker)
// until ctx ends, then shuts down gracefully: the API stops taking requests
// and finishes those in flight, the worker finishes running activities.
func (s *services) serve(ctx context.Context, ln net.Listener, withWorker bool) error {
	// Every process chains the audit rows written (by its requests or its
	// activities); stopped last, after a final pass.
	defer s.store.StartAuditChainer(s.log).Stop()
	errc := make(chan error, 2)
	stopMetrics, err := s.watch.serveMetrics(s.store)
	if err != nil {
		return err
	}
	defer stopMetrics()
	if withWorker {
		loc, _ := s.cfg.Location()
		mailer, err := mail.New(s.cfg.SMTPURL, s.cfg.MailFrom, s.cfg.OutboxDir)
		if err != nil {
			return fmt.Errorf("email: %w", err)
		}
		w := worker.New(s.temporal, s.cfg.TaskQueue, &activities.Activities{
			Store: s.store, Mailer: mailer, BaseURL: s.cfg.Web.PublicURL, Location: loc, Logger: s.log,
			Counts: s.watch.counts(),
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
		Middleware: s.watch.middleware(),
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

// errNoRelay stops a production worker with no SMTP relay: its
// escalations would go nowhere a manager reads.
var errNoRelay = errors.New("HOMEWARD_SMTP_URL is not set: a worker sends escalations and reminders through an SMTP relay " +
	"and does not start without one (to write the emails to a folder instead, for a trial, set HOMEWARD_OUTBOX_DIR)")

func runServer(ctx context.Context, _ io.Writer, withAPI, withWorker bool) error {
	cfg, log, err := loadConfig("json")
	if err != nil {
		return err
	}
	if withWorker && strings.TrimSpace(cfg.SMTPURL) == "" && !cfg.OutboxAsked {
		return errNoRelay
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
