package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"homeward/internal/testenv"
	"homeward/store"
	"homeward/web"
)

// The session cookie is Secure when HOMEWARD_PUBLIC_URL is https, even for
// a request whose Host is localhost (a proxy forwarding to the process);
// with make run's http://localhost it is not, so the browser keeps it.
func TestSessionCookieSecureFollowsThePublicURL(t *testing.T) {
	for _, c := range []struct {
		publicURL string
		secure    bool
	}{{"https://homeward.example.org", true}, {"http://localhost:8080", false}} {
		s := &site{clock: &clock{}}
		s.env = testenv.Start(t, testenv.Options{Mount: func(r *gin.Engine, e *testenv.Env) {
			web.Mount(r, web.Deps{API: r, Store: e.Store, Clock: s.clock.now, Logger: e.Logger, PublicURL: c.publicURL})
		}})
		u, _ := s.env.AddUser(t, store.RoleCoordinator)
		b := s.browser(t)
		token := hidden(t, b.get(s.link(t, u)).Body, "token")
		req, err := http.NewRequest("POST", s.env.URL+"/sign-in/link", strings.NewReader(url.Values{"token": {token}}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "localhost:8080"
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var session *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == web.SessionCookie {
				session = ck
			}
		}
		if session == nil {
			t.Fatalf("%s: sign-in set no session cookie (%d)", c.publicURL, resp.StatusCode)
		}
		if session.Secure != c.secure {
			t.Errorf("%s: session cookie Secure = %v, want %v", c.publicURL, session.Secure, c.secure)
		}
	}
}
