package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"homeward/store"
)

// nextCookie keeps, while someone signs in, the page they asked for: a
// sign-in link opened from an email arrives without it.
const nextCookie = "homeward_next"

// safeNext is next when it is a path of this site ("/episodes/…"), else
// "": never another site's address, "//host" or "/\host" (which browsers
// read as another host), nor the sign-in pages themselves.
func safeNext(next string) string {
	if len(next) > 512 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || !strings.HasPrefix(u.Path, "/") ||
		strings.HasPrefix(u.Path, "//") || u.Path == "/" || strings.HasPrefix(u.Path, "/sign-") {
		return ""
	}
	return next
}

// toSignIn sends someone without a session to the sign-in page,
// remembering in a cookie the page they asked for (a query would be lost
// on the way through a sign-in link).
func (w *Web) toSignIn(c *gin.Context) {
	if c.Request.Method == http.MethodGet {
		if next := safeNext(c.Request.URL.RequestURI()); next != "" {
			http.SetCookie(c.Writer, &http.Cookie{Name: nextCookie, Value: url.QueryEscape(next), Path: "/",
				MaxAge: int(LinkLifetime.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode,
				Secure: w.secureCookies()})
		}
	}
	c.Redirect(http.StatusSeeOther, "/")
	c.Abort()
}

// AfterSignIn is where u goes once signed in: the page they asked for
// when it is a path of this site, else their home. It forgets the page.
// Every way of signing in (link, OpenID Connect) should redirect here.
func (w *Web) AfterSignIn(c *gin.Context, u store.User) string {
	next := safeNext(c.PostForm("next"))
	if ck, err := c.Request.Cookie(nextCookie); err == nil {
		if v, err := url.QueryUnescape(ck.Value); err == nil && next == "" {
			next = safeNext(v)
		}
		http.SetCookie(c.Writer, &http.Cookie{Name: nextCookie, Value: "", Path: "/", MaxAge: -1,
			HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: w.secureCookies()})
	}
	if next == "" || !usesPage(u.Role, pathOf(next)) {
		return HomeOf(u)
	}
	return next
}

// pathOf is next (a safe path of this site) without its query.
func pathOf(next string) string {
	path, _, _ := strings.Cut(next, "?")
	return path
}
