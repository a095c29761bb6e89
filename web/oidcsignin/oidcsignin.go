// Package oidcsignin signs staff in to the web interface through the
// organisation's identity provider: the OpenID Connect authorization code
// flow with PKCE, against the same issuer, and with the same mapping of a
// token to a Homeward user, as the API's bearer JWTs.
package oidcsignin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"homeward/api"
	"homeward/store"
)

// Paths the handlers are mounted at: Start at StartPath, Callback at
// CallbackPath (the redirect URL registered with the identity provider).
const (
	StartPath    = "/sign-in/oidc"
	CallbackPath = "/sign-in/callback"
)

// flowCookie holds one sign-in's state, nonce and PKCE verifier between
// Start and Callback; it is scoped to /sign-in/ and short-lived.
const (
	flowCookie = "homeward_oidc"
	cookiePath = "/sign-in/"
	flowMaxAge = 10 * time.Minute
)

// Config is how the web signs staff in through the identity provider.
type Config struct {
	// Authenticator checks ID tokens and maps them to users, as the API
	// does; its Audience is ClientID.
	Authenticator *api.OIDCAuthenticator
	ClientID      string
	// ClientSecret is empty for a public client (PKCE alone).
	ClientSecret string
	// RedirectURL is HOMEWARD_PUBLIC_URL + CallbackPath.
	RedirectURL string
	// Scopes requested; default openid, profile, email.
	Scopes []string
	// StartSession starts the signed-in user's web session (sets its
	// cookie); an error answers 503 when the store is unreachable, 500
	// otherwise.
	StartSession func(c *gin.Context, u store.User) error
	// RenderError, when set, renders a refused sign-in in the web's own
	// layout; default a plain page of this package.
	RenderError func(c *gin.Context, status int, message string)
	Logger      *slog.Logger // default slog.Default()
}

// Handler serves Start and Callback.
type Handler struct{ cfg Config }

// New makes the handler of cfg.
func New(cfg Config) *Handler {
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RenderError == nil {
		cfg.RenderError = renderError
	}
	return &Handler{cfg: cfg}
}

// Start (GET /sign-in/oidc) sends the browser to the identity provider,
// keeping the sign-in's state, nonce and PKCE verifier in a cookie.
func (h *Handler) Start(c *gin.Context) {
	conf, ok := h.oauth2Config(c)
	if !ok {
		return
	}
	f := flow{state: randomString(), nonce: randomString(), verifier: oauth2.GenerateVerifier()}
	h.setCookie(c, f.encode(), int(flowMaxAge/time.Second))
	c.Redirect(http.StatusFound, conf.AuthCodeURL(f.state,
		oauth2.S256ChallengeOption(f.verifier), oidc.Nonce(f.nonce)))
}

// Callback (GET /sign-in/callback) finishes the sign-in the identity
// provider sends back: one use per Start, whatever the outcome.
func (h *Handler) Callback(c *gin.Context) {
	f, ok := h.takeFlow(c)
	if !ok {
		return
	}
	if e := c.Query("error"); e != "" {
		h.issuerRefused(c, e)
		return
	}
	code := c.Query("code")
	if code == "" {
		h.refuse(c, http.StatusBadRequest, "The sign-in service sent no sign-in code. Please sign in again.", nil)
		return
	}
	conf, ok := h.oauth2Config(c)
	if !ok {
		return
	}
	rawIDToken, ok := h.exchange(c, conf, code, f.verifier)
	if !ok {
		return
	}
	user, err := h.cfg.Authenticator.UserFromIDToken(c.Request.Context(), rawIDToken, f.nonce)
	if err != nil {
		h.userRefused(c, err)
		return
	}
	if err := h.cfg.StartSession(c, user); err != nil {
		h.failed(c, "start session", err, store.Unavailable(err))
		return
	}
	c.Redirect(http.StatusSeeOther, "/")
}

// takeFlow reads and clears the flow cookie, and checks the state the
// identity provider sent back is the one it holds.
func (h *Handler) takeFlow(c *gin.Context) (flow, bool) {
	raw, err := c.Cookie(flowCookie)
	h.setCookie(c, "", -1) // one callback per sign-in: a replay finds nothing
	f, ok := decodeFlow(raw)
	if err != nil || !ok {
		h.refuse(c, http.StatusBadRequest, "This sign-in has expired or was started in another browser. Please sign in again.", err)
		return flow{}, false
	}
	if state := c.Query("state"); subtle.ConstantTimeCompare([]byte(state), []byte(f.state)) != 1 {
		h.refuse(c, http.StatusBadRequest, "This sign-in does not match the one this browser started. Please sign in again.", nil)
		return flow{}, false
	}
	return f, true
}

// oauth2Config is the client of the issuer's endpoints, found by
// discovery; an issuer that cannot be reached is answered 503.
func (h *Handler) oauth2Config(c *gin.Context) (*oauth2.Config, bool) {
	ep, err := h.cfg.Authenticator.Endpoint(c.Request.Context())
	if err != nil {
		h.failed(c, "discovery", err, true)
		return nil, false
	}
	return &oauth2.Config{
		ClientID: h.cfg.ClientID, ClientSecret: h.cfg.ClientSecret,
		Endpoint: ep, RedirectURL: h.cfg.RedirectURL, Scopes: h.cfg.Scopes,
	}, true
}

// exchange trades the code and the PKCE verifier for the ID token.
func (h *Handler) exchange(c *gin.Context, conf *oauth2.Config, code, verifier string) (string, bool) {
	ctx := oidc.ClientContext(c.Request.Context(), h.cfg.Authenticator.HTTPClient())
	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500:
		h.refuse(c, http.StatusBadRequest, "The sign-in service did not accept this sign-in. Please sign in again.", err)
		return "", false
	case err != nil:
		h.failed(c, "exchange code", err, true)
		return "", false
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		h.refuse(c, http.StatusBadRequest, "The sign-in service sent no identity. Please sign in again.", nil)
		return "", false
	}
	return raw, true
}

// issuerRefused answers an error the identity provider sent back instead
// of a code.
func (h *Handler) issuerRefused(c *gin.Context, code string) {
	if code == "access_denied" {
		h.refuse(c, http.StatusForbidden, "The sign-in service did not let you sign in to Homeward.", nil)
		return
	}
	h.refuse(c, http.StatusBadRequest, "The sign-in service could not sign you in. Please try again.",
		errors.New("issuer error "+code))
}

// userRefused answers an ID token that signs no one in.
func (h *Handler) userRefused(c *gin.Context, err error) {
	var refusal *api.SignInRefusal
	switch {
	case errors.Is(err, api.ErrSignInUnavailable):
		h.failed(c, "sign in", err, true)
	case errors.Is(err, api.ErrUserInactive):
		h.refuse(c, http.StatusForbidden, "Your Homeward account is not active; ask an administrator.", err)
	case errors.As(err, &refusal) && refusal.Status == http.StatusForbidden:
		h.refuse(c, http.StatusForbidden, refusal.Message, err)
	case errors.As(err, &refusal):
		h.refuse(c, http.StatusBadRequest, "Your sign-in could not be checked. Please sign in again.", err)
	default:
		h.failed(c, "sign in", err, false)
	}
}

// refuse answers a sign-in Homeward refuses; why goes to the log only.
func (h *Handler) refuse(c *gin.Context, status int, message string, why error) {
	h.cfg.Logger.InfoContext(c.Request.Context(), "Web sign-in refused", "status", status, "error", why)
	h.cfg.RenderError(c, status, message)
	c.Abort()
}

// failed answers a sign-in that could not be finished: 503 with
// Retry-After when a dependency cannot be reached, else 500.
func (h *Handler) failed(c *gin.Context, op string, err error, unreachable bool) {
	status, message := http.StatusInternalServerError, "Sign-in failed. Please try again."
	if unreachable {
		status, message = http.StatusServiceUnavailable, "The sign-in service cannot be reached just now. Please try again in a few seconds."
		c.Header("Retry-After", "5")
	}
	h.cfg.Logger.ErrorContext(c.Request.Context(), "Web sign-in failed", "op", op, "status", status, "error", err)
	h.cfg.RenderError(c, status, message)
	c.Abort()
}

// setCookie writes the flow cookie; maxAge < 0 deletes it.
func (h *Handler) setCookie(c *gin.Context, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: flowCookie, Value: value, Path: cookiePath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: !localhost(c.Request.Host),
	})
}

// localhost is whether host is this machine, where cookies may go over
// plain HTTP (make run).
func localhost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// flow is one sign-in between Start and Callback.
type flow struct{ state, nonce, verifier string }

// encode joins the parts with dots: none of them (base64url) holds one.
func (f flow) encode() string { return f.state + "." + f.nonce + "." + f.verifier }

func decodeFlow(raw string) (flow, bool) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return flow{}, false
	}
	return flow{state: parts[0], nonce: parts[1], verifier: parts[2]}, true
}

// randomString is 32 random bytes, base64url.
func randomString() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}
