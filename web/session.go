package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"homeward/store"
)

// SessionCookie holds the session's secret; the store keeps only its hash.
const SessionCookie = "homeward_session"

const ctxSession = "homeward.web.session"

// StartSession signs u in: a new session is recorded and its cookie set on
// the answer. Every way of signing in (one-time link, OpenID Connect) ends
// here; the caller then redirects, e.g. to HomeOf(u).
func (w *Web) StartSession(c *gin.Context, u store.User) error {
	if u.ID == "" || !u.Active {
		return errors.New("web: start session: the user is not active")
	}
	id, err := randomToken()
	if err != nil {
		return err
	}
	csrf, err := randomToken()
	if err != nil {
		return err
	}
	if err := w.d.Store.CreateWebSession(c.Request.Context(), hash(id), u.ID, csrf, w.now()); err != nil {
		return fmt.Errorf("web: start session: %w", err)
	}
	http.SetCookie(c.Writer, &http.Cookie{
		Name: SessionCookie, Value: id, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: w.secureCookies(),
		MaxAge: int(w.d.SessionMax.Seconds()),
	})
	return nil
}

// HomeOf is the page a user starts from.
func HomeOf(u store.User) string {
	switch u.Role {
	case store.RoleInterviewer:
		return "/mine"
	case store.RoleCoordinator, store.RoleManager, store.RoleAdmin:
		return "/board"
	}
	return "/"
}

// session is the live session of the request, if any.
func (w *Web) session(c *gin.Context) (store.WebSession, bool, error) {
	if v, ok := c.Get(ctxSession); ok {
		return v.(store.WebSession), true, nil
	}
	ck, err := c.Request.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return store.WebSession{}, false, nil
	}
	ws, err := w.d.Store.TouchWebSession(c.Request.Context(), hash(ck.Value), w.now(), w.d.IdleTimeout, w.d.SessionMax)
	if errors.Is(err, store.ErrNotFound) {
		return store.WebSession{}, false, nil
	}
	if err != nil {
		return store.WebSession{}, false, err
	}
	c.Set(ctxSession, ws)
	return ws, true, nil
}

// signedIn lets only a live session through; anyone else goes to the
// sign-in page. Every POST must also carry the session's CSRF token.
func (w *Web) signedIn(c *gin.Context) {
	ws, ok, err := w.session(c)
	if err != nil {
		w.unavailable(c, "session", err)
		return
	}
	if !ok {
		w.toSignIn(c)
		return
	}
	if c.Request.Method == http.MethodPost && !validCSRF(c, ws) {
		w.refuse(c, http.StatusForbidden, "This form has expired or did not come from Homeward. Nothing was recorded. Go back, reload the page and try again.")
		return
	}
	c.Next()
}

// validCSRF compares the form's csrf field with the session's token.
func validCSRF(c *gin.Context, ws store.WebSession) bool {
	got := c.PostForm("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ws.CSRFToken)) == 1
}

func sessionOf(c *gin.Context) store.WebSession {
	v, _ := c.Get(ctxSession)
	ws, _ := v.(store.WebSession)
	return ws
}

// signOut ends the session server-side, so the cookie is worthless even
// if kept.
func (w *Web) signOut(c *gin.Context) {
	ck, err := c.Request.Cookie(SessionCookie)
	if err == nil {
		if err := w.d.Store.EndWebSession(c.Request.Context(), hash(ck.Value), w.now()); err != nil {
			w.unavailable(c, "sign out", err)
			return
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: w.secureCookies()})
	c.Redirect(http.StatusSeeOther, "/?signed_out=1")
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("web: random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func hash(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// secureCookies: cookies are Secure when staff open Homeward over HTTPS,
// as HOMEWARD_PUBLIC_URL says, whatever Host a request names (a proxy may
// forward plain HTTP, and a request's Host is the client's to choose).
// `make run` serves plain http://localhost, where a Secure cookie would be
// dropped.
func (w *Web) secureCookies() bool {
	return strings.HasPrefix(strings.ToLower(w.d.PublicURL), "https://")
}
