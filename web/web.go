// Package web is Homeward's web interface for staff. It records nothing
// itself: every page reads, and every form records, through the API's own
// handlers in-process (see client.go), as the signed-in user, so the API's
// roles, commissioner scoping, audit trail and idempotency apply unchanged.
package web

import (
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"homeward/store"
	"homeward/web/oidcsignin"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/*
var staticFS embed.FS

// CSP is the Content-Security-Policy of every web answer: nothing inline,
// nothing from elsewhere.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// Deps is what the web interface needs.
type Deps struct {
	// API is the API's handler (the gin engine of api.NewRouter); every read
	// and every record goes through it.
	API http.Handler
	// Store keeps web sessions and sign-in links, nothing else.
	Store *store.Store
	// PublicURL is where staff open Homeward (HOMEWARD_PUBLIC_URL); sign-in
	// links start with it. Default http://localhost:8080.
	PublicURL   string
	IdleTimeout time.Duration // HOMEWARD_WEB_IDLE_TIMEOUT, default 30m
	SessionMax  time.Duration // HOMEWARD_WEB_SESSION_MAX, default 12h
	Clock       func() time.Time
	Logger      *slog.Logger
	// Location is how instants are shown; default Europe/London.
	Location *time.Location
}

// Web is the mounted web interface.
type Web struct {
	d     Deps
	pages map[string]*page
	// providerSignIn is set when staff may sign in through the
	// organisation's identity provider (MountProviderSignIn).
	providerSignIn bool
}

// ProviderSignIn is the identity provider's sign-in flow
// (web/oidcsignin): Start sends the browser to the provider, Callback
// takes it back and starts a session through Web.StartSession.
type ProviderSignIn interface {
	Start(c *gin.Context)
	Callback(c *gin.Context)
}

// MountProviderSignIn adds the identity provider's sign-in at
// /sign-in/oidc and /sign-in/callback, under the pages' security headers,
// and offers it on the sign-in page.
func (w *Web) MountProviderSignIn(r *gin.Engine, p ProviderSignIn) {
	g := r.Group("/", securityHeaders, w.limitForm)
	g.GET(oidcsignin.StartPath, p.Start)
	g.GET(oidcsignin.CallbackPath, p.Callback)
	w.providerSignIn = true
}

// Mount adds the web interface's routes to r, the API's engine, outside /v1.
func Mount(r *gin.Engine, d Deps) *Web {
	w := &Web{d: withDefaults(d)}
	w.pages = loadPages(w.funcs())
	static, _ := fs.Sub(staticFS, "static")
	g := r.Group("/", securityHeaders, w.limitForm)
	g.StaticFS("/static", http.FS(static))
	g.GET("/favicon.ico", favicon)
	g.GET("/", w.home)
	g.GET("/sign-in/link", w.linkPage)
	g.POST("/sign-in/link", w.useLink)

	in := g.Group("/", w.signedIn)
	in.POST("/sign-out", w.signOut)
	w.pageRoutes(in)
	return w
}

// maxForm is the largest form body a page accepts: the longest form (a
// held interview) with every field at its maximum, in any script,
// percent-encoded, stays under it.
const maxForm = 2 << 20

// limitForm reads every form a page is sent, as the API reads a body: a
// plain form (no multipart, which no page sends and which would spill to
// disk) of at most maxForm bytes.
func (w *Web) limitForm(c *gin.Context) {
	r := c.Request
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		w.refuse(c, http.StatusUnsupportedMediaType, "Homeward's forms are sent as plain forms, not as file uploads. Send it from the page.")
		return
	}
	tooLarge := "That form is larger than any of Homeward's forms can be (2 MB). Shorten the longest answer and send it again."
	if r.ContentLength > maxForm {
		w.refuse(c, http.StatusRequestEntityTooLarge, tooLarge)
		return
	}
	r.Body = http.MaxBytesReader(c.Writer, r.Body, maxForm)
	var big *http.MaxBytesError
	if err := r.ParseForm(); errors.As(err, &big) {
		w.refuse(c, http.StatusRequestEntityTooLarge, tooLarge)
	}
}

func withDefaults(d Deps) Deps {
	if d.PublicURL == "" {
		d.PublicURL = "http://localhost:8080"
	}
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	if d.IdleTimeout <= 0 {
		d.IdleTimeout = 30 * time.Minute
	}
	if d.SessionMax <= 0 {
		d.SessionMax = 12 * time.Hour
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Location == nil {
		loc, err := time.LoadLocation("Europe/London")
		if err != nil {
			loc = time.UTC
		}
		d.Location = loc
	}
	return d
}

func (w *Web) now() time.Time { return w.d.Clock().UTC() }

// securityHeaders replace the API's JSON-only policy with the pages' own.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if strings.HasPrefix(c.Request.URL.Path, "/static/") {
		h.Set("Cache-Control", "public, max-age=3600")
	} else {
		h.Set("Cache-Control", "no-store")
	}
	c.Next()
}

// favicon is Homeward's small icon, so browsers asking for it get no 404.
func favicon(c *gin.Context) {
	b, err := staticFS.ReadFile("static/favicon.ico")
	if err != nil {
		c.Status(http.StatusNotFound)
		return
	}
	c.Header("Cache-Control", "public, max-age=86400")
	c.Data(http.StatusOK, "image/x-icon", b)
}
