//go:build dev

// The development build (`go run -tags dev ./cmd/homeward`, which make run
// and make user use): `homeward dev` with an embedded Temporal server and a
// local PostgreSQL cluster. The production build links neither.

package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/contrib/envconfig"

	"homeward/config"
	"homeward/internal/devtemporal"
	"homeward/internal/pglocal"
)

// devDatabase is the development cluster in the data folder, started if it
// is not running, for commands run without DATABASE_URL.
func devDatabase(ctx context.Context, cfg config.Config, log *slog.Logger) (string, func(), error) {
	cluster, stop, err := localDatabase(ctx, cfg, log)
	if err != nil {
		return "", nil, err
	}
	return cluster.URL(), stop, nil
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
	// The embedded server speaks plain text: no TLS or API key of a
	// Temporal profile applies to it.
	cfg.TemporalAddress, cfg.Temporal = ts.FrontendHostPort(), envconfig.ClientConfigProfile{}

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
  go run -tags dev ./cmd/homeward user add --name "Sam Okafor" --email sam@example.org --role coordinator --commissioner Leeds
A new sign-in link later: go run -tags dev ./cmd/homeward user link --email sam@example.org

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
