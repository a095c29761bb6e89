// Package devtemporal runs an embedded, single-process Temporal server for
// local development (`make run`). Unlike the in-memory test servers, its state
// lives in a SQLite file, so workflows, signals and timers survive a restart of
// the process.
//
// It follows what the Temporal CLI's dev server (`temporal server start-dev
// --db-filename ...`) does: SQLite persistence, all services in one process
// with static (non-ringpop) membership, one history shard and dev-friendly
// dynamic config, but without the UI.
package devtemporal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	"go.temporal.io/server/common/primitives/timestamp"
	"go.temporal.io/server/common/resolver"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

const (
	// numHistoryShards is persisted in the cluster metadata on first start and
	// can never change for an existing database. Keep it constant.
	numHistoryShards = 1

	clusterName = "active"

	// namespaceRetention only affects how long closed workflows are kept.
	namespaceRetention = 7 * 24 * time.Hour

	// readyTimeout bounds how long Start waits for the frontend to answer.
	readyTimeout = 60 * time.Second

	defaultNamespace    = "default"
	defaultIP           = "127.0.0.1"
	defaultFrontendPort = 7233
)

// Options configures Start.
type Options struct {
	// DBFile is the SQLite file. It is created (with the schema and the
	// namespace) on first start and reused afterwards. Required.
	DBFile string
	// Namespace is registered on first start (and on any start where it is
	// missing). Default "default".
	Namespace string
	// IP the frontend binds to. Default "127.0.0.1". The internal services
	// (history, matching, worker) always bind to 127.0.0.1.
	IP string
	// FrontendPort is the frontend gRPC port. 0 picks a free port (see
	// FrontendHostPort); set it to DefaultFrontendPort (7233) for the usual
	// one. History/matching/worker always get free ports on 127.0.0.1.
	FrontendPort int
	// Logger receives the server's logs at warn level and above. nil
	// discards server logs entirely.
	Logger *slog.Logger
}

// DefaultFrontendPort is the conventional Temporal frontend port.
const DefaultFrontendPort = defaultFrontendPort

// Server is a running embedded Temporal server.
type Server struct {
	srv          temporal.Server
	hostPort     string
	httpHostPort string
	namespace    string
	logLevel     *slog.LevelVar

	stopOnce sync.Once
	stopErr  error
}

// FrontendHostPort returns the dialable frontend address, e.g. "127.0.0.1:7233".
func (s *Server) FrontendHostPort() string { return s.hostPort }

// FrontendHTTPHostPort returns the frontend's HTTP API address (used by
// Nexus and the HTTP/JSON API). It is a free port chosen at each start.
func (s *Server) FrontendHTTPHostPort() string { return s.httpHostPort }

// Namespace returns the namespace registered by Start.
func (s *Server) Namespace() string { return s.namespace }

// Stop shuts all services down gracefully. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		// The server routinely emits warnings while shutting down (the CLI
		// dev server suppresses them the same way).
		s.logLevel.Set(slog.LevelError)
		s.stopErr = s.srv.Stop()
	})
	return s.stopErr
}

// Start starts the server and returns once the frontend answers health checks
// and the namespace is visible. ctx bounds only the start-up, not the
// lifetime of the server; call Stop to shut it down.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.DBFile == "" {
		return nil, errors.New("devtemporal: DBFile is required")
	}
	if opts.Namespace == "" {
		opts.Namespace = defaultNamespace
	}
	if opts.IP == "" || opts.IP == "localhost" {
		opts.IP = defaultIP
	}
	if net.ParseIP(opts.IP) == nil {
		return nil, fmt.Errorf("devtemporal: IP %q is not an IP address", opts.IP)
	}
	if opts.FrontendPort < 0 || opts.FrontendPort > 65535 {
		return nil, fmt.Errorf("devtemporal: invalid frontend port %d", opts.FrontendPort)
	}

	dbFile, err := filepath.Abs(opts.DBFile)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: resolving DB file path: %w", err)
	}

	// Ports. The frontend is checked up-front because the server's listener
	// failure path only logs (our logger never exits the process).
	frontendPort := opts.FrontendPort
	if frontendPort == 0 {
		if frontendPort, err = freePort(opts.IP); err != nil {
			return nil, err
		}
	} else if err := checkPortFree(opts.IP, frontendPort); err != nil {
		return nil, fmt.Errorf("devtemporal: frontend port %d unavailable (is another Temporal server running?): %w", frontendPort, err)
	}
	// The frontend HTTP API (Nexus, HTTP/JSON) gets a free port next to the
	// frontend's IP; history, matching and worker get free ports on 127.0.0.1.
	taken := []int{frontendPort}
	httpPort, err := freePortExcluding(opts.IP, taken)
	if err != nil {
		return nil, err
	}
	taken = append(taken, httpPort)
	var internalPorts [3]int // history, matching, worker
	for i := range internalPorts {
		if internalPorts[i], err = freePortExcluding(internalIP, taken); err != nil {
			return nil, err
		}
		taken = append(taken, internalPorts[i])
	}

	frontendAddr := net.JoinHostPort(dialableIP(opts.IP), strconv.Itoa(frontendPort))
	httpAddr := net.JoinHostPort(dialableIP(opts.IP), strconv.Itoa(httpPort))

	// Persistence: file-backed SQLite, schema + namespace on first start.
	sqlCfg := &config.SQL{
		PluginName:   sqliteplugin.PluginName,
		DatabaseName: dbFile,
		// Write-ahead log, synced at checkpoints: a crash of the process
		// loses nothing, and each commit is not an fsync. With the default
		// rollback journal every workflow start's visibility row cost two
		// fsyncs, and the server fell behind at a few episodes a second.
		ConnectAttributes: map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "normal"},
	}
	if err := prepareDatabase(sqlCfg, opts.Namespace); err != nil {
		return nil, err
	}

	// Logging: warn+ through slog (or nothing).
	levelVar := new(slog.LevelVar)
	levelVar.Set(slog.LevelWarn)
	var serverLogger log.Logger = log.NewNoopLogger()
	if opts.Logger != nil {
		serverLogger = slogLogger{log: slog.New(levelHandler{min: levelVar, inner: opts.Logger.Handler()}).
			With("component", "temporal-server")}
	}

	cfg := buildConfig(sqlCfg, opts.IP, frontendPort, httpPort, frontendAddr, httpAddr, internalPorts)

	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: creating authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, serverLogger)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: creating claim mapper: %w", err)
	}

	internalAddr := func(port int) string { return net.JoinHostPort(internalIP, strconv.Itoa(port)) }
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices), // frontend, history, matching, worker
		// Static membership instead of ringpop: no membership ports, and no
		// stale cluster_membership rows from the previous run to wait out.
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: static.SingleLocalHost(frontendAddr),
			primitives.HistoryService:  static.SingleLocalHost(internalAddr(internalPorts[0])),
			primitives.MatchingService: static.SingleLocalHost(internalAddr(internalPorts[1])),
			primitives.WorkerService:   static.SingleLocalHost(internalAddr(internalPorts[2])),
		}),
		temporal.WithLogger(serverLogger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(devDynamicConfig()),
	)
	if err != nil {
		return nil, fmt.Errorf("devtemporal: creating server: %w", err)
	}
	if err := srv.Start(); err != nil {
		_ = srv.Stop()
		return nil, fmt.Errorf("devtemporal: starting server: %w", err)
	}

	s := &Server{srv: srv, hostPort: frontendAddr, httpHostPort: httpAddr, namespace: opts.Namespace, logLevel: levelVar}
	if err := waitReady(ctx, frontendAddr, opts.Namespace); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("devtemporal: server did not become ready: %w", err)
	}
	return s, nil
}

const internalIP = "127.0.0.1"

func buildConfig(sqlCfg *config.SQL, ip string, frontendPort, httpPort int, frontendAddr, httpAddr string, internalPorts [3]int) *config.Config {
	const store = "sqlite-default"
	cfg := &config.Config{}
	cfg.Global.Membership = config.Membership{
		MaxJoinDuration:  30 * time.Second,
		BroadcastAddress: internalIP,
	}
	// No metrics endpoint and no pprof: nil Metrics means a no-op handler.
	cfg.Global.Metrics = nil

	cfg.Persistence = config.Persistence{
		DefaultStore:     store,
		VisibilityStore:  store,
		NumHistoryShards: numHistoryShards,
		DataStores:       map[string]config.DataStore{store: {SQL: sqlCfg}},
	}
	cfg.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {
				Enabled:                true,
				InitialFailoverVersion: 1,
				RPCAddress:             frontendAddr,
				HTTPAddress:            httpAddr,
				// ClusterID left empty: generated on first start, then
				// read back from the database.
			},
		},
	}
	cfg.DCRedirectionPolicy.Policy = "noop"

	internal := func(port int) config.Service {
		return config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: internalIP}}
	}
	cfg.Services = map[string]config.Service{
		string(primitives.FrontendService): {RPC: config.RPC{GRPCPort: frontendPort, HTTPPort: httpPort, BindOnIP: ip}},
		string(primitives.HistoryService):  internal(internalPorts[0]),
		string(primitives.MatchingService): internal(internalPorts[1]),
		string(primitives.WorkerService):   internal(internalPorts[2]),
	}

	cfg.Archival.History.State = "disabled"
	cfg.Archival.Visibility.State = "disabled"
	cfg.NamespaceDefaults.Archival.History.State = "disabled"
	cfg.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The server's own system workers (scanner, etc.) dial the frontend here.
	cfg.PublicClient.HostPort = frontendAddr
	return cfg
}

// devDynamicConfig mirrors the defaults of `temporal server start-dev`.
func devDynamicConfig() dynamicconfig.StaticClient {
	return dynamicconfig.StaticClient{
		// Search attributes / Nexus endpoints visible immediately after creation.
		dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
		dynamicconfig.ForceNexusEndpointRefreshOnRead.Key():         true,
		// With the SA cache bypassed, persistence QPS limits need raising
		// (same values and ratio as the CLI).
		dynamicconfig.FrontendPersistenceMaxQPS.Key(): 10000,
		dynamicconfig.HistoryPersistenceMaxQPS.Key():  45000,
		// Frontend request limits: server defaults for overall RPS, but a
		// higher visibility (List/Count workflows) limit than the default 10.
		dynamicconfig.FrontendRPS.Key():                                  2400,
		dynamicconfig.FrontendMaxNamespaceRPSPerInstance.Key():           2400,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// Host-level mutable state cache, as in the CLI.
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): 8096,
	}
}

// prepareDatabase creates the SQLite schema if the database does not have it
// yet and registers the namespace if it is missing (no-op otherwise).
func prepareDatabase(sqlCfg *config.SQL, namespace string) error {
	if err := os.MkdirAll(filepath.Dir(sqlCfg.DatabaseName), 0o755); err != nil {
		return fmt.Errorf("devtemporal: creating directory for DB file: %w", err)
	}

	present, err := schemaPresent(sqlCfg)
	if err != nil {
		return err
	}
	if !present {
		if err := sqliteschema.SetupSchema(sqlCfg); err != nil {
			return fmt.Errorf("devtemporal: setting up SQLite schema in %s: %w", sqlCfg.DatabaseName, err)
		}
	}

	nsCfg, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, nil)
	if err != nil {
		return fmt.Errorf("devtemporal: namespace config: %w", err)
	}
	nsCfg.Detail.Config.Retention = timestamp.DurationPtr(namespaceRetention)
	// CreateNamespaces is a no-op for a namespace that already exists.
	if err := sqliteschema.CreateNamespaces(sqlCfg, nsCfg); err != nil {
		return fmt.Errorf("devtemporal: registering namespace %q: %w", namespace, err)
	}
	return nil
}

// schemaTables are a few tables every Temporal SQLite schema has.
var schemaTables = []string{"namespaces", "executions", "cluster_metadata_info", "executions_visibility"}

// schemaPresent reports whether the database already holds the Temporal
// schema. An empty or freshly created file reports false; a file that holds
// only part of the schema (or unrelated tables) is an error rather than
// something to paper over.
func schemaPresent(sqlCfg *config.SQL) (bool, error) {
	db, err := sql.NewSQLAdminDB(sqlplugin.DbKindUnknown, sqlCfg, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
	if err != nil {
		return false, fmt.Errorf("devtemporal: opening SQLite DB %s: %w", sqlCfg.DatabaseName, err)
	}
	defer func() { _ = db.Close() }()

	tables, err := db.ListTables(sqlCfg.DatabaseName)
	if err != nil {
		return false, fmt.Errorf("devtemporal: reading tables of %s: %w", sqlCfg.DatabaseName, err)
	}
	if len(tables) == 0 {
		return false, nil
	}
	var missing []string
	for _, t := range schemaTables {
		if !slices.Contains(tables, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		return false, fmt.Errorf("devtemporal: %s is not a (complete) Temporal database: missing tables %v; delete it to start fresh", sqlCfg.DatabaseName, missing)
	}
	return true, nil
}

// waitReady polls the frontend until it answers a health check and knows the
// namespace.
func waitReady(ctx context.Context, hostPort, namespace string) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()

	quiet := sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))
	var lastErr error
	for {
		lastErr = checkOnce(ctx, hostPort, namespace, quiet)
		if lastErr == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), lastErr)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func checkOnce(ctx context.Context, hostPort, namespace string, logger sdklog.Logger) error {
	attemptCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := client.DialContext(attemptCtx, client.Options{HostPort: hostPort, Namespace: namespace, Logger: logger})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.CheckHealth(attemptCtx, &client.CheckHealthRequest{}); err != nil {
		return err
	}
	resp, err := c.WorkflowService().DescribeNamespace(attemptCtx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	if err != nil {
		return err
	}
	if st := resp.GetNamespaceInfo().GetState(); st != enumspb.NAMESPACE_STATE_REGISTERED {
		return fmt.Errorf("namespace %q is in state %s", namespace, st)
	}
	return nil
}

func freePort(ip string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, fmt.Errorf("devtemporal: finding a free port on %s: %w", ip, err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func freePortExcluding(ip string, taken []int) (int, error) {
	for range 20 {
		p, err := freePort(ip)
		if err != nil {
			return 0, err
		}
		if !slices.Contains(taken, p) {
			return p, nil
		}
	}
	return 0, fmt.Errorf("devtemporal: could not find a distinct free port on %s", ip)
}

func checkPortFree(ip string, port int) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return err
	}
	return l.Close()
}

// dialableIP turns a wildcard bind address into one clients can dial.
func dialableIP(ip string) string {
	parsed := net.ParseIP(ip)
	switch {
	case parsed == nil:
		return ip
	case parsed.IsUnspecified() && parsed.To4() != nil:
		return "127.0.0.1"
	case parsed.IsUnspecified():
		return "::1"
	}
	return ip
}
