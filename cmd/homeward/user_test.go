package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"homeward/internal/pglocal"
	"homeward/store"
)

var signInLink = regexp.MustCompile(`http://localhost:8080/sign-in/link\?token=(\S+)`)

// user add and user link print one-time web sign-in links that work once.
func TestUserAddAndUserLinkPrintSignInLinks(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbURL := pglocal.NewTestDatabase(t)
	code, out := homeward(t, dbURL, "user add --name Sam --email sam@example.org --role coordinator --commissioner Leeds")
	first := signInLink.FindStringSubmatch(out)
	if code != 0 || first == nil {
		t.Fatalf("user add: exit %d, want a sign-in link: %s", code, out)
	}
	code, out = homeward(t, dbURL, "user link --email SAM@example.org")
	second := signInLink.FindStringSubmatch(out)
	if code != 0 || second == nil || second[1] == first[1] {
		t.Fatalf("user link: exit %d, want a new sign-in link: %s", code, out)
	}
	if code, out := homeward(t, dbURL, "user link --email nobody@example.org"); code != 1 || !strings.Contains(out, "no active user") {
		t.Fatalf("user link for nobody: exit %d: %s", code, out)
	}

	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, m := range [][]string{first, second} {
		token, _ := url.QueryUnescape(m[1])
		sum := sha256.Sum256([]byte(token))
		u, err := st.UseSignInLink(ctx, sum[:], time.Now())
		if err != nil || u.Email != "sam@example.org" || u.CommissionerID == "" {
			t.Fatalf("use link: %+v, %v", u, err)
		}
		if _, err := st.UseSignInLink(ctx, sum[:], time.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("link used twice: %v", err)
		}
	}
}
