package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"homeward/api"
	"homeward/internal/oidctest"
	"homeward/internal/testenv"
	"homeward/store"
	"homeward/web"
	"homeward/web/oidcsignin"
)

// lateProvider is the provider sign-in, made once the server's address
// (its redirect URL) is known.
type lateProvider struct{ h *oidcsignin.Handler }

func (p *lateProvider) Start(c *gin.Context)    { p.h.Start(c) }
func (p *lateProvider) Callback(c *gin.Context) { p.h.Callback(c) }

// Staff sign in through the organisation's identity provider: the sign-in
// page offers it, and the provider's answer becomes a web session that
// opens the coordinator's board.
func TestSignInThroughTheIdentityProvider(t *testing.T) {
	const clientID = "homeward-web"
	iss := oidctest.New(t, clientID)
	iss.SignInAs(map[string]any{"sub": "cora", "name": "Cora Provider", "email": "cora@staff.example.org",
		"email_verified": true, "roles": []string{"rhi-coordinators"}})
	late := &lateProvider{}
	var w *web.Web
	env := testenv.Start(t, testenv.Options{Mount: func(r *gin.Engine, e *testenv.Env) {
		w = web.Mount(r, web.Deps{API: r, Store: e.Store, Logger: e.Logger})
		w.MountProviderSignIn(r, late)
	}})
	late.h = oidcsignin.New(oidcsignin.Config{
		Authenticator: api.NewOIDCAuthenticator(api.OIDCConfig{Issuer: iss.URL(), Audience: clientID,
			RoleMap: map[string]store.Role{"rhi-coordinators": store.RoleCoordinator}}, env.Store),
		ClientID: clientID, RedirectURL: env.URL + oidcsignin.CallbackPath, StartSession: w.StartSession,
	})
	s := &site{env: env, clock: &clock{}}
	b := s.browser(t)

	// A page asked for before signing in is where the sign-in ends.
	if p := b.get("/referrals/new"); p.Status != http.StatusSeeOther {
		t.Fatalf("no session: %d", p.Status)
	}
	home := b.get("/")
	if !strings.Contains(home.Body, `href="`+oidcsignin.StartPath+`"`) {
		t.Fatalf("the sign-in page does not offer the identity provider:\n%s", home.Body)
	}
	start := b.get(oidcsignin.StartPath)
	if start.Status != http.StatusFound || start.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("start: %d, CSP %q", start.Status, start.Header.Get("Content-Security-Policy"))
	}
	// The provider signs Cora in and sends the browser back.
	resp, err := b.c.Get(start.location())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Path != oidcsignin.CallbackPath {
		t.Fatalf("the provider sent the browser to %q", resp.Header.Get("Location"))
	}
	done := b.get(back.RequestURI())
	if done.Status != http.StatusSeeOther {
		t.Fatalf("callback: %d %s", done.Status, done.Body)
	}
	if p := b.get("/"); p.Status != http.StatusSeeOther || p.location() != "/referrals/new" {
		t.Fatalf("signed in, / answers %d to %q, want the page asked for", p.Status, p.location())
	}
	if p := b.get("/"); p.Status != http.StatusSeeOther || p.location() != "/board" {
		t.Fatalf("then / answers %d to %q, want the board", p.Status, p.location())
	}
	if p := b.get("/board"); p.Status != http.StatusOK || !strings.Contains(p.Body, "Cora Provider") {
		t.Fatalf("board: %d", p.Status)
	}
}
