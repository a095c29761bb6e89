package oidcsignin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/oauth2"

	"homeward/api"
	"homeward/internal/oidctest"
	"homeward/internal/pglocal"
	"homeward/store"
	"homeward/web/oidcsignin"
)

const clientID = "homeward-web"

var sites atomic.Int64

// site is a web server with the sign-in mounted, a real provider, a real
// store, and a browser (a client with a cookie jar).
type site struct {
	iss     *oidctest.Issuer
	sub     string // the staff member the provider signs in
	store   *store.Store
	srv     *httptest.Server
	jar     *cookiejar.Jar
	browser *http.Client // stops at each redirect

	mu      sync.Mutex
	started []store.User // the users StartSession was given
}

func newSite(t *testing.T, st *store.Store) *site {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	s := &site{iss: oidctest.New(t, clientID), store: st}
	// Each provider's staff have their own email addresses: Homeward
	// refuses a second user with the same one.
	s.sub = fmt.Sprintf("ada%d", sites.Add(1))
	s.iss.SignInAs(staff(s.sub, "rhi-coordinators"))
	r := gin.New()
	s.srv = httptest.NewServer(r)
	t.Cleanup(s.srv.Close)
	h := oidcsignin.New(oidcsignin.Config{
		Authenticator: api.NewOIDCAuthenticator(api.OIDCConfig{
			Issuer: s.iss.URL(), Audience: clientID,
			RoleMap: map[string]store.Role{"rhi-coordinators": store.RoleCoordinator},
		}, st),
		ClientID:    clientID,
		RedirectURL: s.srv.URL + oidcsignin.CallbackPath,
		StartSession: func(_ *gin.Context, u store.User) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.started = append(s.started, u)
			return nil
		},
	})
	r.GET(oidcsignin.StartPath, h.Start)
	r.GET(oidcsignin.CallbackPath, h.Callback)
	s.jar, _ = cookiejar.New(nil)
	s.browser = &http.Client{Jar: s.jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return s
}

func staff(sub string, roles ...string) map[string]any {
	return map[string]any{
		"sub": sub, "name": "Staff " + sub, "email": sub + "@staff.example.org",
		"email_verified": true, "roles": roles,
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := store.Open(ctx, pglocal.NewTestDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func (s *site) get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := s.browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// begin starts a sign-in and follows the browser to the provider, which
// signs the staff member in; it returns where the provider sends them back.
func (s *site) begin(t *testing.T) *url.URL {
	t.Helper()
	resp, _ := s.get(t, s.srv.URL+oidcsignin.StartPath)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("start: status %d", resp.StatusCode)
	}
	resp, body := s.get(t, resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d: %s", resp.StatusCode, body)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("the provider sent back %q", resp.Header.Get("Location"))
	}
	return back
}

func (s *site) startedUsers() []store.User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.User(nil), s.started...)
}

// forget forgets the sessions started so far.
func (s *site) forget() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started = nil
}

// wantRefused checks the answer is a short page of status, with message,
// naming nothing of what went wrong inside, and that no session started.
func (s *site) wantRefused(t *testing.T, resp *http.Response, body string, status int, message string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, status, body)
	}
	if !strings.Contains(body, message) {
		t.Errorf("page does not say %q: %s", message, body)
	}
	for _, inside := range []string{"invalid_grant", "nonce", "claim", "verifier", "oauth2", "token"} {
		if strings.Contains(body, inside) {
			t.Errorf("page names %q: %s", inside, body)
		}
	}
	if got := s.startedUsers(); len(got) != 0 {
		t.Errorf("sessions started for %+v", got)
	}
}

// flowCookie is the sign-in's cookie as the browser holds it.
func (s *site) flowCookie(t *testing.T) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(s.srv.URL + oidcsignin.CallbackPath)
	for _, c := range s.jar.Cookies(u) {
		if c.Name == "homeward_oidc" {
			return c
		}
	}
	t.Fatal("the browser holds no sign-in cookie")
	return nil
}

func TestOIDCSignInFlow(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()

	t.Run("a staff member signs in with PKCE and gets a session as the API maps them", func(t *testing.T) {
		s := newSite(t, st)
		resp, _ := s.get(t, s.srv.URL+oidcsignin.StartPath)
		set := resp.Header.Get("Set-Cookie")
		for _, want := range []string{"homeward_oidc=", "Path=/sign-in/", "Max-Age=600", "HttpOnly", "SameSite=Lax"} {
			if !strings.Contains(set, want) {
				t.Errorf("Set-Cookie %q lacks %q", set, want)
			}
		}
		s.jar, _ = cookiejar.New(nil) // start again, as a browser would
		s.browser.Jar = s.jar
		resp, body := s.get(t, s.begin(t).String())
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Fatalf("callback: status %d to %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		auths := s.iss.Authorizations()
		q := auths[len(auths)-1]
		if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 || q.Get("nonce") == "" ||
			!strings.Contains(q.Get("scope"), "openid") {
			t.Errorf("authorization request %v: want an S256 challenge, a nonce and scope openid", q)
		}
		started := s.startedUsers()
		want, err := st.UserByOIDC(ctx, s.iss.URL(), s.sub)
		if err != nil {
			t.Fatal(err)
		}
		if len(started) != 1 || started[0].ID != want.ID || started[0].Role != store.RoleCoordinator ||
			started[0].Email != s.sub+"@staff.example.org" || started[0].Name != "Staff "+s.sub || !started[0].Active {
			t.Fatalf("sessions started for %+v; want the coordinator %+v", started, want)
		}
	})

	t.Run("a callback whose state is not the browser's is refused", func(t *testing.T) {
		s := newSite(t, st)
		back := s.begin(t)
		q := back.Query()
		q.Set("state", "an-attackers-state")
		back.RawQuery = q.Encode()
		resp, body := s.get(t, back.String())
		s.wantRefused(t, resp, body, http.StatusBadRequest, "does not match")
	})

	t.Run("a callback replayed is refused", func(t *testing.T) {
		s := newSite(t, st)
		back := s.begin(t)
		stolen := s.flowCookie(t)
		if resp, body := s.get(t, back.String()); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first callback: status %d: %s", resp.StatusCode, body)
		}
		s.forget()
		resp, body := s.get(t, back.String())
		s.wantRefused(t, resp, body, http.StatusBadRequest, "has expired")
		// With the sign-in's cookie put back, the provider still refuses
		// the used code.
		s.jar.SetCookies(back, []*http.Cookie{{Name: stolen.Name, Value: stolen.Value, Path: "/sign-in/"}})
		resp, body = s.get(t, back.String())
		s.wantRefused(t, resp, body, http.StatusBadRequest, "did not accept")
	})

	t.Run("an ID token with another sign-in's nonce is refused before the user is written", func(t *testing.T) {
		s := newSite(t, st)
		s.iss.EditIDTokens(func(c map[string]any) { c["nonce"] = "the-nonce-of-another-sign-in" })
		resp, body := s.get(t, s.begin(t).String())
		s.wantRefused(t, resp, body, http.StatusBadRequest, "could not be checked")
		if _, err := st.UserByOIDC(ctx, s.iss.URL(), s.sub); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the user was written: %v", err)
		}
	})

	t.Run("an ID token for another client is refused", func(t *testing.T) {
		s := newSite(t, st)
		s.iss.EditIDTokens(func(c map[string]any) { c["aud"] = "another-app" })
		resp, body := s.get(t, s.begin(t).String())
		s.wantRefused(t, resp, body, http.StatusBadRequest, "could not be checked")
	})

	t.Run("the code with another PKCE verifier is refused", func(t *testing.T) {
		s := newSite(t, st)
		back := s.begin(t)
		// The cookie holds state.nonce.verifier: keep the state and the
		// nonce, change the verifier.
		c := s.flowCookie(t)
		parts := strings.Split(c.Value, ".")
		if len(parts) != 3 {
			t.Fatalf("cookie %q", c.Value)
		}
		forged := parts[0] + "." + parts[1] + "." + oauth2.GenerateVerifier()
		s.jar.SetCookies(back, []*http.Cookie{{Name: c.Name, Value: forged, Path: "/sign-in/"}})
		resp, body := s.get(t, back.String())
		s.wantRefused(t, resp, body, http.StatusBadRequest, "did not accept")
	})

	t.Run("the provider refuses a code without its verifier", func(t *testing.T) {
		// So that the flow above succeeding proves Homeward sends it.
		s := newSite(t, st)
		back := s.begin(t)
		resp, err := http.PostForm(s.iss.URL()+"/token", url.Values{
			"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
			"redirect_uri": {s.srv.URL + oidcsignin.CallbackPath}, "client_id": {clientID},
		})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d; want 400", resp.StatusCode)
		}
	})

	t.Run("a staff member whose roles map to no Homeward role is refused", func(t *testing.T) {
		s := newSite(t, st)
		s.iss.SignInAs(staff("norole", "everyone", "finance"))
		resp, body := s.get(t, s.begin(t).String())
		s.wantRefused(t, resp, body, http.StatusForbidden, "no Homeward role")
	})

	t.Run("a deactivated user is refused", func(t *testing.T) {
		s := newSite(t, st)
		s.iss.SignInAs(staff("gone", "rhi-coordinators"))
		if resp, body := s.get(t, s.begin(t).String()); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first sign-in: status %d: %s", resp.StatusCode, body)
		}
		u, err := st.UserByOIDC(ctx, s.iss.URL(), "gone")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SetUserActive(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		s.forget()
		resp, body := s.get(t, s.begin(t).String())
		s.wantRefused(t, resp, body, http.StatusForbidden, "not active")
	})

	t.Run("a sign-in the provider denies is refused", func(t *testing.T) {
		s := newSite(t, st)
		back := s.begin(t)
		back.RawQuery = url.Values{"state": {back.Query().Get("state")}, "error": {"access_denied"}}.Encode()
		resp, body := s.get(t, back.String())
		s.wantRefused(t, resp, body, http.StatusForbidden, "did not let you sign in")
	})

	t.Run("an issuer that cannot be reached gives 503 with Retry-After", func(t *testing.T) {
		s := newSite(t, st)
		s.iss.Server.Close()
		resp, body := s.get(t, s.srv.URL+oidcsignin.StartPath)
		s.wantRefused(t, resp, body, http.StatusServiceUnavailable, "cannot be reached")
		if resp.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
	})
}
