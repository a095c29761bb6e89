// Package testenv starts Homeward for API and integration tests with real
// parts only: an in-process Temporal server (temporaltest), a throwaway
// PostgreSQL database (pglocal), an in-process SMTP server (smtptest), a
// worker with the real activities, and the API on an httptest server.
//
//	func TestSomething(t *testing.T) {
//		env := testenv.Start(t, testenv.Options{})
//		_, token := env.AddUser(t, store.RoleCoordinator)
//		status, body := env.Do(t, "POST", "/v1/episodes", token, referral)
//		...
//	}
//
// Packages using it should stop the shared PostgreSQL cluster from TestMain
// with pglocal.StopTestClusters().
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/temporaltest"

	"homeward/activities"
	"homeward/api"
	"homeward/episode"
	"homeward/internal/pglocal"
	"homeward/internal/smtptest"
	"homeward/mail"
	"homeward/payloadcrypt"
	"homeward/store"
	"homeward/telemetry"
	"homeward/worker"
)

// MailFrom is the sender address of every email sent in a test Env.
const MailFrom = "Homeward <homeward@test>"

// Options configures Start.
type Options struct {
	// Policy is fixed into episodes opened through the API; default
	// episode.DefaultPolicy().
	Policy *episode.Policy
	// NoWorker leaves the Env without a worker; StartWorker starts one.
	NoWorker bool
	// QueryTimeout is the API's Deps.QueryTimeout; default the API's (2s).
	QueryTimeout time.Duration
	// OutcomeTimeout is the API's Deps.OutcomeTimeout; default the API's (10s).
	OutcomeTimeout time.Duration
	// PlaintextPayloads turns Temporal payload encryption off (it is on,
	// with a random key per Env, by default).
	PlaintextPayloads bool
	// OIDC is the API's sign-in by OpenID Connect; nil: only hw_ tokens.
	OIDC *api.OIDCConfig
	// Edges is the API's rate limit, trusted proxies and CORS origins; nil
	// turns the rate limit off (so tests that poll are not limited).
	Edges *api.EdgeConfig
	// Mount, when set, adds routes to the API's engine before it serves,
	// e.g. the web interface: web.Mount(r, web.Deps{API: r, Store: e.Store}).
	// e.URL is not known yet when it runs.
	Mount func(r *gin.Engine, e *Env)
	// Tracing traces requests, the Temporal client and the worker (e.g.
	// telemetry.TracingWith a provider with an in-memory exporter); nil:
	// no tracing.
	Tracing *telemetry.Tracing
	// DatabaseURL is the database to use instead of a fresh one on the
	// shared test cluster (e.g. a cluster the test stops and starts).
	DatabaseURL string
	// TemporalVia, when set, maps the Temporal server's frontend address to
	// the one the API and the Env's workers dial, e.g. a proxy the test can
	// cut.
	TemporalVia func(frontend string) string
}

// Env is a running Homeward.
type Env struct {
	URL       string // base URL of the API, no trailing slash
	Store     *store.Store
	Temporal  client.Client
	SMTP      *smtptest.Server
	Mailer    mail.Sender
	Clock     func() time.Time
	Policy    episode.Policy
	TaskQueue string // unique to this Env
	Namespace string
	// DatabaseURL is the Env's database.
	DatabaseURL string
	// TemporalServer is the in-process Temporal server.
	TemporalServer *temporaltest.TestServer
	// API is the httptest server in front of the API.
	API *httptest.Server
	// Activities are the real activities the Env's workers run.
	Activities *activities.Activities
	Logger     *slog.Logger
	// KeyRing encrypts the Env's Temporal payloads; nil with PlaintextPayloads.
	KeyRing *payloadcrypt.KeyRing
	// Metrics are the Env's: its API requests, Temporal client and worker,
	// activities and records, served at MetricsURL.
	Metrics    *telemetry.Metrics
	MetricsURL string // the /metrics address, as HOMEWARD_METRICS_LISTEN serves it

	// Commissioner is the commissioner AddUser's users work for (AddUserIn
	// places a user elsewhere, or with the provider).
	Commissioner store.Commissioner

	logs       *logCapture
	mu         sync.Mutex
	stopWorker func()
	http       *http.Client
}

var ginMode sync.Once

var users atomic.Int64

// Start starts everything; it is all stopped in t.Cleanup.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	ginMode.Do(func() { gin.SetMode(gin.ReleaseMode) })

	// Logs go to the test log, and stop going there before the test ends.
	var done atomic.Bool
	t.Cleanup(func() { done.Store(true) })
	// Every line is also kept, debug included, for Env.Logs.
	logs := &logCapture{}
	logger := slog.New(logs.handler(slog.NewTextHandler(&testWriter{t: t, done: &done}, &slog.HandlerOptions{Level: slog.LevelInfo})))
	quiet := slog.New(logs.handler(slog.NewTextHandler(&testWriter{t: t, done: &done}, &slog.HandlerOptions{Level: slog.LevelWarn})))

	policy := episode.DefaultPolicy()
	if opts.Policy != nil {
		policy = *opts.Policy
	}
	e := &Env{
		Clock:     func() time.Time { return time.Now().UTC() },
		Policy:    policy,
		TaskQueue: "homeward-test-" + randomHex(6),
		Logger:    logger,
		KeyRing:   newKeyRing(t, opts),
		logs:      logs,
		http:      &http.Client{Timeout: 60 * time.Second},
	}

	metrics, err := telemetry.NewMetrics(quiet)
	if err != nil {
		t.Fatalf("testenv: metrics: %v", err)
	}
	e.Metrics = metrics
	base := telemetry.ClientOptions(client.Options{Logger: sdklog.NewStructuredLogger(quiet)}, metrics, opts.Tracing)
	tsOpts := []temporaltest.TestServerOption{}
	if tt, ok := t.(*testing.T); ok {
		tsOpts = append(tsOpts, temporaltest.WithT(tt)) // stops it in t.Cleanup
	}
	e.TemporalServer = temporaltest.NewServer(append(tsOpts,
		temporaltest.WithBaseClientOptions(encrypted(base, e.KeyRing)))...)
	if _, ok := t.(*testing.T); !ok {
		t.Cleanup(e.TemporalServer.Stop) // a *testing.F or *testing.B
	}
	e.Temporal = e.TemporalServer.GetDefaultClient()
	e.Namespace = e.TemporalServer.GetDefaultNamespace()
	if opts.TemporalVia != nil {
		e.Temporal = dialVia(t, opts.TemporalVia(e.TemporalServer.GetFrontendHostPort()), e.Namespace, encrypted(base, e.KeyRing))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	e.DatabaseURL = opts.DatabaseURL
	if e.DatabaseURL == "" {
		e.DatabaseURL = pglocal.NewTestDatabase(t)
	}
	st, err := store.Open(ctx, e.DatabaseURL)
	if err != nil {
		t.Fatalf("testenv: open store: %v", err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("testenv: migrate: %v", err)
	}
	// As in every Homeward process, the audit rows are chained behind the
	// requests.
	t.Cleanup(st.StartAuditChainer(nil).Stop)
	e.Store = st
	metrics.WatchWorkload(st, telemetry.WorkloadOptions{CacheFor: time.Nanosecond}) // tests read what they just did
	ms := httptest.NewServer(metrics.Mux())
	t.Cleanup(ms.Close)
	e.MetricsURL = ms.URL + "/metrics"
	e.Commissioner = newCommissioner(t, st, "Test commissioner")

	e.SMTP = smtptest.Start(t)
	e.Mailer, err = mail.New(e.SMTP.URL(), MailFrom, "")
	if err != nil {
		t.Fatalf("testenv: mailer: %v", err)
	}

	router := api.NewRouter(api.Deps{
		Store:          st,
		Temporal:       e.Temporal,
		TaskQueue:      e.TaskQueue,
		Policy:         policy,
		Clock:          e.Clock,
		Logger:         logger,
		QueryTimeout:   opts.QueryTimeout,
		OutcomeTimeout: opts.OutcomeTimeout,
		Codec:          codecOf(e.KeyRing),
		OIDC:           opts.OIDC,
		Edges:          edges(opts),
		Middleware:     telemetry.Middleware(metrics, opts.Tracing),
	})
	if opts.Mount != nil {
		opts.Mount(router, e)
	}
	e.API = httptest.NewServer(router)
	t.Cleanup(e.API.Close)
	e.URL = e.API.URL

	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatalf("testenv: load Europe/London: %v", err)
	}
	e.Activities = &activities.Activities{
		Store:    st,
		Mailer:   e.Mailer,
		Clock:    e.Clock,
		BaseURL:  e.URL,
		Location: london,
		Logger:   logger,
		Counts:   metrics,
	}
	// Registered last, so workers stop first: before the API, the store
	// and the Temporal server they use.
	t.Cleanup(e.StopWorker)
	if !opts.NoWorker {
		stop := e.StartWorker(t)
		e.mu.Lock()
		e.stopWorker = stop
		e.mu.Unlock()
	}
	return e
}

// dialVia connects a Temporal client to hostPort; it is closed in t.Cleanup.
func dialVia(t testing.TB, hostPort, namespace string, o client.Options) client.Client {
	t.Helper()
	o.HostPort, o.Namespace = hostPort, namespace
	c, err := client.Dial(o)
	if err != nil {
		t.Fatalf("testenv: dial Temporal at %s: %v", hostPort, err)
	}
	t.Cleanup(c.Close)
	return c
}

// StartWorker starts another worker on the Env's task queue. stop may be
// called any number of times; it is also called in t.Cleanup.
func (e *Env) StartWorker(t testing.TB) (stop func()) {
	t.Helper()
	w := worker.New(e.Temporal, e.TaskQueue, e.Activities)
	if err := w.Start(); err != nil {
		t.Fatalf("testenv: start worker: %v", err)
	}
	var once sync.Once
	stop = func() { once.Do(w.Stop) }
	t.Cleanup(stop)
	return stop
}

// StopWorker stops the Env's default worker, if it runs.
func (e *Env) StopWorker() {
	e.mu.Lock()
	stop := e.stopWorker
	e.stopWorker = nil
	e.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// AddUser adds an active user with role and returns it with its token.
func (e *Env) AddUser(t testing.TB, role store.Role) (store.User, string) {
	t.Helper()
	token, hash, err := api.NewToken()
	if err != nil {
		t.Fatalf("testenv: token: %v", err)
	}
	n := users.Add(1)
	suffix := randomHex(4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	u, err := e.Store.CreateUser(ctx, fmt.Sprintf("Test %s %d", role, n),
		fmt.Sprintf("%s-%d-%s@test.homeward", role, n, suffix), role, hash)
	if err != nil {
		t.Fatalf("testenv: create %s: %v", role, err)
	}
	return placeUser(t, e.Store, u, e.Commissioner.ID), token
}

// Do sends a request to the API and returns the status and the body. body
// nil sends no body; []byte, string and json.RawMessage are sent as they
// are; anything else is sent as JSON. A body is sent with Content-Type
// application/json unless headers (name, value pairs) set another. The
// exchange is checked against the OpenAPI document (see CheckOpenAPI).
func (e *Env) Do(t testing.TB, method, path, token string, body any, headers ...string) (status int, respBody []byte) {
	t.Helper()
	if len(headers)%2 != 0 {
		t.Fatalf("testenv: Do: headers must be name, value pairs")
	}
	payload := encodeBody(t, body)
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(payload)
	}
	req, err := http.NewRequest(method, e.URL+path, r)
	if err != nil {
		t.Fatalf("testenv: Do: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatalf("testenv: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	respBody, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("testenv: %s %s: read body: %v", method, path, err)
	}
	CheckOpenAPI(t, req, payload, resp.StatusCode, resp.Header, respBody)
	return resp.StatusCode, respBody
}

// encodeBody is what Do sends for body.
func encodeBody(t testing.TB, body any) []byte {
	t.Helper()
	switch b := body.(type) {
	case nil:
		return nil
	case []byte:
		return b
	case json.RawMessage:
		return b
	case string:
		return []byte(b)
	}
	js, err := json.Marshal(body)
	if err != nil {
		t.Fatalf("testenv: Do: encode body: %v", err)
	}
	return js
}

// Eventually calls cond every 50ms until it is true, failing the test with
// msg when timeout passes first.
func Eventually(t *testing.T, timeout time.Duration, msg string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func edges(opts Options) api.EdgeConfig {
	if opts.Edges != nil {
		return *opts.Edges
	}
	return api.EdgeConfig{RateLimit: -1}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// testWriter sends log lines to t.Log until done.
type testWriter struct {
	t    testing.TB
	done *atomic.Bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	if _, ok := w.t.(*testing.T); !ok {
		// A *testing.F may not log once fuzzing runs; Env.Logs keeps the lines.
		return len(p), nil
	}
	if !w.done.Load() {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// Scrape reads the Env's /metrics as Prometheus would.
func (e *Env) Scrape(t testing.TB) string {
	t.Helper()
	resp, err := e.http.Get(e.MetricsURL)
	if err != nil {
		t.Fatalf("testenv: scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("testenv: scrape: %d %v", resp.StatusCode, err)
	}
	return string(body)
}
