// Package api is Homeward's HTTP API: coordinators open episodes,
// interviewers record outcomes, managers see escalations. Every outcome is
// checked against the episode's current state and then signalled to the
// episode's Temporal workflow, which is the source of truth; reads come from
// the PostgreSQL projection.
package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"homeward/episode"
	"homeward/store"
	"homeward/workflows"
)

// Deps is what the API needs.
type Deps struct {
	Store     *store.Store
	Temporal  client.Client
	TaskQueue string // default workflows.TaskQueue
	// Policy is fixed into every episode opened through this API for a
	// commissioner that has no policy of its own.
	Policy episode.Policy
	Clock  func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()
	// QueryTimeout bounds the query of an episode's state. Default 2s.
	QueryTimeout time.Duration
	// OutcomeTimeout bounds the wait for an episode to answer an outcome;
	// past it the answer is 503 and a retry with the same key is safe.
	// Default 10s.
	OutcomeTimeout time.Duration
	// Codec serves /v1/codec/encode and /v1/codec/decode (the Temporal web
	// UI's codec endpoint); nil answers 404 there.
	Codec converter.PayloadCodec
	// OIDC lets staff sign in with JWTs of an OpenID Connect issuer; nil
	// accepts only hw_ API tokens (see oidc.go).
	OIDC *OIDCConfig
	// Edges sets rate limits, trusted proxies and CORS (see edges.go).
	Edges EdgeConfig
	// Middleware runs first on every request, routes mounted later
	// included: the request's span and its metrics (package telemetry).
	Middleware []gin.HandlerFunc
}

type handlers struct {
	Deps
	log     *slog.Logger
	openapi openAPIDocs
	// Set by setupEdges (edges.go).
	oidc        *oidcAuth
	limiter     *userLimiter
	corsOrigins map[string]bool
}

func (h *handlers) now() time.Time { return h.Clock().UTC() }

// NewRouter builds the API. The caller may set gin's mode first.
func NewRouter(d Deps) *gin.Engine { return newRouter(d, nil) }

// newRouter builds the API; extra, when not nil, adds routes to /v1 behind
// the same middleware (for tests of the middleware only).
func newRouter(d Deps, extra func(v1 *gin.RouterGroup)) *gin.Engine {
	if d.TaskQueue == "" {
		d.TaskQueue = workflows.TaskQueue
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Policy.Equal(episode.Policy{}) {
		d.Policy = episode.DefaultPolicy()
	}
	if d.QueryTimeout <= 0 {
		d.QueryTimeout = 2 * time.Second
	}
	if d.OutcomeTimeout <= 0 {
		d.OutcomeTimeout = 10 * time.Second
	}
	if d.Codec != nil && d.Temporal != nil {
		d.Temporal = memoDecodingClient{Client: d.Temporal, codec: d.Codec}
	}
	docs, err := loadOpenAPI()
	if err != nil {
		// The document is embedded: a broken one is a build mistake.
		panic(fmt.Sprintf("api: embedded OpenAPI document: %v", err))
	}
	h := &handlers{Deps: d, log: d.Logger, openapi: docs}

	r := gin.New()
	r.Use(d.Middleware...)
	h.setupEdges(r)
	r.HandleMethodNotAllowed = true
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	r.Use(h.logRequests, h.recover, h.securityHeaders, h.cors)
	r.NoRoute(func(c *gin.Context) {
		abort(c, http.StatusNotFound, "There is nothing at this path.", Detail{Field: "path", Reason: "no such route"})
	})
	r.NoMethod(func(c *gin.Context) {
		abort(c, http.StatusMethodNotAllowed, "This path does not accept the "+c.Request.Method+" method.",
			Detail{Field: "method", Reason: "allowed: " + c.Writer.Header().Get("Allow")})
	})

	r.GET("/healthz", h.healthz)
	r.GET("/readyz", h.readyz)

	const (
		coord = store.RoleCoordinator
		iv    = store.RoleInterviewer
		mgr   = store.RoleManager
		admin = store.RoleAdmin
	)
	v1 := r.Group("/v1", h.authenticate, h.rateLimit, h.auditTrail, h.rejectNUL, h.checkQuery)
	v1.GET("/openapi.json", h.openAPIJSON)
	v1.GET("/openapi.yaml", h.openAPIYAML)
	v1.POST("/episodes", allow(coord, admin), h.createEpisode)
	v1.GET("/episodes", h.listEpisodes)
	v1.GET("/episodes/:id", h.getEpisode)
	v1.POST("/episodes/:id/assignment", allow(coord, mgr, admin), h.assign)
	v1.POST("/episodes/:id/contact-attempts", allow(iv), h.contactAttempt)
	v1.POST("/episodes/:id/interview", allow(iv), h.interview)
	v1.POST("/episodes/:id/agreement", allow(iv), h.agreement)
	v1.POST("/episodes/:id/follow-up", allow(iv), h.followUp)
	v1.POST("/episodes/:id/action-plan", allow(iv), h.actionPlan)
	v1.POST("/episodes/:id/carers-account", allow(iv), h.carersAccount)
	v1.POST("/episodes/:id/closure", allow(coord, mgr, admin), h.closure)
	v1.GET("/escalations", allow(mgr, admin), h.listEscalations)
	v1.POST("/escalations/:id/acknowledgement", allow(mgr, admin), h.acknowledgeEscalation)
	v1.GET("/audit", allow(mgr, admin), h.listAudit)
	h.holdRoutes(v1)
	h.policyRoutes(v1)
	h.childRoutes(v1)
	h.exportRoutes(v1)
	h.kpiRoutes(v1)
	h.hotspotRoutes(v1)
	h.reportRoutes(v1)
	h.letterRoutes(v1)
	codec := h.codec()
	v1.POST("/codec/encode", providerAdmin, codec)
	v1.POST("/codec/decode", providerAdmin, codec)
	if extra != nil {
		extra(v1)
	}
	return r
}

// NewToken makes a new API token and the hash the store keeps of it.
func NewToken() (token string, hash []byte, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("api: new token: %w", err)
	}
	token = "hw_" + base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is the hash of token the store looks users up by.
func HashToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

const (
	ctxUser      = "homeward.user"
	ctxRequestID = "homeward.request_id"
)

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func requestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

func currentUser(c *gin.Context) store.User {
	u, _ := c.Get(ctxUser)
	user, _ := u.(store.User)
	return user
}

// logRequests gives every request an id and logs one line when it is done:
// never bodies, names or notes.
func (h *handlers) logRequests(c *gin.Context) {
	start := time.Now()
	id := c.GetHeader("X-Request-ID")
	if !requestIDPattern.MatchString(id) {
		b := make([]byte, 8)
		_, _ = rand.Read(b)
		id = hex.EncodeToString(b)
	}
	c.Set(ctxRequestID, id)
	c.Header("X-Request-ID", id)
	c.Next()

	status := c.Writer.Status()
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	h.log.LogAttrs(c.Request.Context(), level, "HTTP request",
		slog.String("method", c.Request.Method),
		slog.String("route", c.FullPath()),
		slog.Int("status", status),
		slog.Duration("duration", time.Since(start)),
		slog.String("user_id", currentUser(c).ID),
		slog.String("request_id", id),
	)
}

// recover turns a panic into a logged 500 in the error shape.
func (h *handlers) recover(c *gin.Context) {
	defer func() {
		v := recover()
		if v == nil {
			return
		}
		if v == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as documented
			panic(v)
		}
		h.log.ErrorContext(c.Request.Context(), "Handler panicked",
			"request_id", requestID(c), "route", c.FullPath(), "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		if !c.Writer.Written() {
			abort(c, http.StatusInternalServerError, "internal error")
		} else {
			c.Abort()
		}
	}()
	c.Next()
}

// sessionUserKey is unexported, so nothing from the network can set it:
// only the web interface, in the same process, after its own sign-in.
type sessionUserKey struct{}

// WithSessionUser returns ctx carrying u as the signed-in user of a
// request the web interface makes to the API in-process; authenticate
// takes it in place of a bearer token.
func WithSessionUser(ctx context.Context, u store.User) context.Context {
	return context.WithValue(ctx, sessionUserKey{}, u)
}

// authenticate finds the user of a web session (WithSessionUser) or by
// bearer token.
func (h *handlers) authenticate(c *gin.Context) {
	if u, ok := c.Request.Context().Value(sessionUserKey{}).(store.User); ok && u.ID != "" {
		c.Set(ctxUser, u)
		c.Next()
		return
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(c.GetHeader("Authorization")), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		c.Header("WWW-Authenticate", `Bearer realm="homeward"`)
		abort(c, http.StatusUnauthorized, "Authentication is required: send Authorization: Bearer <token>.",
			Detail{Field: "Authorization", Reason: "a bearer token is required"})
		return
	}
	if !strings.HasPrefix(token, "hw_") {
		h.authenticateJWT(c, token) // oidc.go
		return
	}
	user, err := h.Store.UserByTokenHash(c.Request.Context(), HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		c.Header("WWW-Authenticate", `Bearer realm="homeward", error="invalid_token"`)
		abort(c, http.StatusUnauthorized, "The bearer token is not valid.",
			Detail{Field: "Authorization", Reason: "the token is unknown or its user is not active"})
		return
	}
	if err != nil {
		h.serverError(c, "authenticate", err)
		return
	}
	c.Set(ctxUser, user)
	c.Next()
}

// providerAdmin lets only the provider's admins (an admin with no
// commissioner) through: the codec decrypts every commissioner's payloads
// and encrypts whatever it is given, so a commissioner's staff may not use it.
func providerAdmin(c *gin.Context) {
	u := currentUser(c)
	if u.Role == store.RoleAdmin && u.CommissionerID == "" {
		c.Next()
		return
	}
	abort(c, http.StatusForbidden, "Only the provider's administrators may use the payload codec.",
		Detail{Field: "role", Reason: fmt.Sprintf("is %s; must be admin of the provider, not of a commissioner", u.Role)})
}

// allow lets only the given roles through.
func allow(roles ...store.Role) gin.HandlerFunc {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	list := strings.Join(names, ", ")
	return func(c *gin.Context) {
		u := currentUser(c)
		for _, r := range roles {
			if u.Role == r {
				c.Next()
				return
			}
		}
		abort(c, http.StatusForbidden, "Your role may not do this.",
			Detail{Field: "role", Reason: fmt.Sprintf("is %s; must be one of %s", u.Role, list)})
	}
}
