package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gin-gonic/gin"

	"homeward/store"
)

// LinkLifetime is how long a one-time sign-in link works.
const LinkLifetime = 15 * time.Minute

// NewSignInLink records a one-time sign-in link for u and returns it, with
// publicURL (e.g. http://localhost:8080) in front.
func NewSignInLink(ctx context.Context, st *store.Store, u store.User, publicURL string, now time.Time) (string, error) {
	token, err := randomToken()
	if err != nil {
		return "", err
	}
	now = now.UTC()
	if err := st.CreateSignInLink(ctx, hash(token), u.ID, now, now.Add(LinkLifetime)); err != nil {
		return "", fmt.Errorf("sign-in link: %w", err)
	}
	return publicURL + "/sign-in/link?token=" + url.QueryEscape(token), nil
}

// signInPage is what the sign-in page offers: a link always; the
// organisation's identity provider where it is set up.
type signInPage struct {
	PublicURL string
	Provider  bool
}

// home is the sign-in page, or, when signed in, the user's own page.
func (w *Web) home(c *gin.Context) {
	_, ok, err := w.session(c)
	if err != nil {
		w.unavailable(c, "home", err)
		return
	}
	if ok {
		u := sessionOf(c).User
		if next := safeNext(c.Query("next")); next != "" {
			c.Redirect(http.StatusSeeOther, next)
			return
		}
		// Back from the identity provider, to the page asked for first.
		if h := w.AfterSignIn(c, u); h != "/" {
			c.Redirect(http.StatusSeeOther, h)
			return
		}
		if u.Role == store.RoleCommissionerOfficer {
			w.render(c, http.StatusOK, "officer", view{Title: "Homeward"})
			return
		}
	}
	v := view{Title: "Sign in — Homeward", Data: signInPage{PublicURL: w.d.PublicURL, Provider: w.providerSignIn}}
	if c.Query("signed_out") != "" {
		v.Notice = "You have signed out."
	}
	w.render(c, http.StatusOK, "home", v)
}

// linkPage shows a button: only the POST uses the link, so a link preview
// fetching the page does not use it up.
func (w *Web) linkPage(c *gin.Context) {
	w.render(c, http.StatusOK, "link", view{Title: "Sign in — Homeward", Data: c.Query("token")})
}

// useLink signs in with a one-time link, once.
func (w *Web) useLink(c *gin.Context) {
	if !sameOrigin(c) {
		w.refuse(c, http.StatusForbidden, "This sign-in did not come from Homeward's own page.")
		return
	}
	u, err := w.d.Store.UseSignInLink(c.Request.Context(), hash(c.PostForm("token")), w.now())
	if errors.Is(err, store.ErrNotFound) {
		w.refuse(c, http.StatusForbidden, "This sign-in link has been used, has expired or is not known. Ask for a new one.")
		return
	}
	if err != nil {
		w.unavailable(c, "use sign-in link", err)
		return
	}
	if err := w.StartSession(c, u); err != nil {
		w.unavailable(c, "start session", err)
		return
	}
	c.Redirect(http.StatusSeeOther, w.AfterSignIn(c, u))
}

// sameOrigin refuses a form posted from another site when the browser
// says where it came from (a forged sign-in into someone else's account).
func sameOrigin(c *gin.Context) bool {
	if s := c.GetHeader("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return false
	}
	o := c.GetHeader("Origin")
	if o == "" || o == "null" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == c.Request.Host
}
