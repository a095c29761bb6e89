package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"homeward/store"
)

// OIDCAuthenticator signs staff in with the ID tokens the issuer the API
// trusts gives at the end of an authorization code flow (the web's
// sign-in): each token is checked and mapped to a Homeward user exactly as
// the API checks and maps a bearer JWT.
type OIDCAuthenticator struct {
	auth  *oidcAuth
	store *store.Store
}

// NewOIDCAuthenticator takes the API's OIDCConfig, with Audience set to the
// client id the ID tokens are issued to.
func NewOIDCAuthenticator(cfg OIDCConfig, st *store.Store) *OIDCAuthenticator {
	return &OIDCAuthenticator{auth: newOIDCAuth(cfg), store: st}
}

// HTTPClient is the client that reaches the issuer.
func (a *OIDCAuthenticator) HTTPClient() *http.Client { return a.auth.cfg.HTTPClient }

// Endpoint is the issuer's authorization and token endpoints, from its
// discovery document. The error wraps ErrSignInUnavailable when the issuer
// cannot be reached or names no such endpoints.
func (a *OIDCAuthenticator) Endpoint(ctx context.Context) (oauth2.Endpoint, error) {
	if _, err := a.auth.getVerifier(ctx); err != nil {
		return oauth2.Endpoint{}, err
	}
	a.auth.mu.Lock()
	defer a.auth.mu.Unlock()
	if a.auth.endpoint.AuthURL == "" || a.auth.endpoint.TokenURL == "" {
		return oauth2.Endpoint{}, fmt.Errorf("%w: discovery names no authorization or token endpoint", errIssuerUnavailable)
	}
	return a.auth.endpoint, nil
}

// UserFromIDToken checks rawIDToken (signature, issuer, audience, times)
// and that it carries nonce, then maps it to the Homeward user it signs in,
// creating or updating them as a bearer JWT would. A token Homeward refuses
// gives a *SignInRefusal (its cause is ErrUserInactive for a deactivated
// user); an issuer or database that cannot be reached gives an error
// wrapping ErrSignInUnavailable.
func (a *OIDCAuthenticator) UserFromIDToken(ctx context.Context, rawIDToken, nonce string) (store.User, error) {
	user, err := a.auth.signIn(ctx, a.store, rawIDToken, func(tok *oidc.IDToken) error {
		// The nonce ties the token to the browser that started this sign-in:
		// a token replayed from another sign-in is refused.
		if nonce == "" || subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(nonce)) != 1 {
			return invalidToken("the ID token's nonce is not this sign-in's", nil)
		}
		return nil
	})
	var failure *storeFailure
	if errors.As(err, &failure) && unavailable(failure.err) {
		return store.User{}, fmt.Errorf("%w: %v", ErrSignInUnavailable, failure)
	}
	return user, err
}
