package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gin-gonic/gin"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"homeward/store"
)

// OIDCConfig lets staff sign in with bearer JWTs from an OpenID Connect
// issuer. A signed-in staff member becomes (or stays) a Homeward user keyed
// by issuer and subject, with the role their token maps to.
type OIDCConfig struct {
	Issuer   string // the iss every token must carry; discovery is fetched from it
	Audience string // must be among a token's aud
	// RoleClaim names the claim (a string or an array of strings) holding
	// roles; default "roles".
	RoleClaim string
	// RoleMap maps claim values to roles; nil maps Homeward role names to
	// themselves.
	RoleMap map[string]store.Role
	// CommissionerClaim, when set, names the claim (a string) holding the
	// name of the commissioner the staff member works for, matched
	// case-insensitively, or ProviderClaimValue for the provider's staff
	// (who see every commissioner). A missing or empty claim, or a name
	// Homeward does not know, is refused: a token that forgets to say is
	// never taken for the provider's. Every sign-in places the user as the
	// token says. Empty: tokens never place users, and a commissioner an
	// administrator gave a user is kept.
	CommissionerClaim string
	// ProviderClaimValue is the value of the commissioner claim that places
	// a staff member with the provider, matched case-insensitively; default
	// "provider".
	ProviderClaimValue string
	// Algorithms are the signature algorithms accepted; default RS256,
	// ES256. "none" and HMAC algorithms are always refused.
	Algorithms []string
	// HTTPClient fetches discovery and keys; default a client with a 10s
	// timeout.
	HTTPClient *http.Client
	// Leeway is the clock skew allowed on exp and nbf; default 1 minute.
	Leeway time.Duration
	// RefetchInterval is the least time between two fetches of the issuer's
	// keys, so tokens with unknown key ids cannot make Homeward hammer the
	// issuer; default 30s.
	RefetchInterval time.Duration
	// Clock is the time tokens are checked against; default time.Now.
	Clock func() time.Time
}

// rolePrecedence decides between several roles a token maps to.
var rolePrecedence = []store.Role{store.RoleAdmin, store.RoleManager, store.RoleCoordinator, store.RoleInterviewer, store.RoleCommissionerOfficer}

// refusedAlgs are never accepted, whatever the configuration says.
func refusedAlg(alg string) bool {
	return strings.EqualFold(alg, "none") || strings.HasPrefix(strings.ToUpper(alg), "HS")
}

type oidcAuth struct {
	cfg  OIDCConfig
	algs []jose.SignatureAlgorithm

	mu          sync.Mutex
	verifier    *oidc.IDTokenVerifier
	endpoint    oauth2.Endpoint // the issuer's authorization and token endpoints
	lastAttempt time.Time       // of discovery, when it failed
}

func newOIDCAuth(cfg OIDCConfig) *oidcAuth {
	if cfg.RoleClaim == "" {
		cfg.RoleClaim = "roles"
	}
	if cfg.ProviderClaimValue = strings.TrimSpace(cfg.ProviderClaimValue); cfg.ProviderClaimValue == "" {
		cfg.ProviderClaimValue = "provider"
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{"RS256", "ES256"}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Leeway <= 0 {
		cfg.Leeway = time.Minute
	}
	if cfg.RefetchInterval <= 0 {
		cfg.RefetchInterval = 30 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	a := &oidcAuth{cfg: cfg}
	var kept []string
	for _, alg := range cfg.Algorithms {
		if refusedAlg(alg) {
			continue
		}
		kept = append(kept, alg)
		a.algs = append(a.algs, jose.SignatureAlgorithm(alg))
	}
	a.cfg.Algorithms = kept
	return a
}

// ErrSignInUnavailable means a sign-in cannot be checked now: the issuer or
// the database cannot be reached.
var ErrSignInUnavailable = errors.New("api: sign-in cannot be checked now")

// errIssuerUnavailable means discovery or the keys could not be fetched.
var errIssuerUnavailable = fmt.Errorf("%w: the OpenID Connect issuer is unavailable", ErrSignInUnavailable)

// getVerifier discovers the issuer on first use, and again after a failure
// at most once every 5 seconds.
func (a *oidcAuth) getVerifier(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.verifier != nil {
		return a.verifier, nil
	}
	if !a.lastAttempt.IsZero() && time.Since(a.lastAttempt) < 5*time.Second {
		return nil, errIssuerUnavailable
	}
	a.lastAttempt = time.Now()
	dctx, cancel := context.WithTimeout(oidc.ClientContext(ctx, a.cfg.HTTPClient), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(dctx, a.cfg.Issuer) // checks the document names the same issuer
	if err != nil {
		return nil, fmt.Errorf("%w: discovery: %v", errIssuerUnavailable, err)
	}
	var doc struct {
		JWKSURI string `json:"jwks_uri"`
	}
	if err := p.Claims(&doc); err != nil || doc.JWKSURI == "" {
		return nil, fmt.Errorf("%w: discovery names no jwks_uri", errIssuerUnavailable)
	}
	a.endpoint = p.Endpoint()
	keys := &keySet{url: doc.JWKSURI, client: a.cfg.HTTPClient, algs: a.algs, interval: a.cfg.RefetchInterval}
	a.verifier = oidc.NewVerifier(a.cfg.Issuer, keys, &oidc.Config{
		ClientID:             a.cfg.Audience,
		SupportedSigningAlgs: a.cfg.Algorithms,
		// exp and nbf are checked below, with Leeway.
		SkipExpiryCheck: true,
	})
	return a.verifier, nil
}

// keySet is the issuer's public keys, cached, fetched again when a token
// names a key id it does not hold, at most once per interval.
type keySet struct {
	url      string
	client   *http.Client
	algs     []jose.SignatureAlgorithm
	interval time.Duration

	fetchMu   sync.Mutex // one fetch at a time
	mu        sync.Mutex
	keys      []jose.JSONWebKey
	lastFetch time.Time
	fetches   int
}

type keysFailedKey struct{}

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, k.algs)
	if err != nil {
		return nil, fmt.Errorf("malformed jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("want exactly one signature")
	}
	if payload, ok := k.verifyWith(k.cached(), jws); ok {
		return payload, nil
	}
	keys, err := k.refresh(ctx)
	if err != nil {
		if failed, ok := ctx.Value(keysFailedKey{}).(*bool); ok {
			*failed = true
		}
		return nil, err
	}
	if payload, ok := k.verifyWith(keys, jws); ok {
		return payload, nil
	}
	return nil, errors.New("no key of the issuer verifies the signature")
}

func (k *keySet) cached() []jose.JSONWebKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys
}

func (k *keySet) verifyWith(keys []jose.JSONWebKey, jws *jose.JSONWebSignature) ([]byte, bool) {
	h := jws.Signatures[0].Header
	for i := range keys {
		key := &keys[i]
		if h.KeyID != "" && key.KeyID != h.KeyID {
			continue
		}
		if key.Algorithm != "" && key.Algorithm != h.Algorithm {
			continue
		}
		if payload, err := jws.Verify(key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// refresh fetches the keys unless they were fetched less than interval
// ago, and returns what is cached then.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	k.mu.Lock()
	recent := !k.lastFetch.IsZero() && time.Since(k.lastFetch) < k.interval
	keys := k.keys
	k.mu.Unlock()
	if recent {
		if keys == nil {
			return nil, errIssuerUnavailable
		}
		return keys, nil
	}
	fetched, err := k.fetch(ctx)
	k.mu.Lock()
	defer k.mu.Unlock()
	k.lastFetch = time.Now()
	k.fetches++
	if err != nil {
		if k.keys == nil {
			return nil, err
		}
		return k.keys, nil // keep the keys we know
	}
	k.keys = fetched
	return fetched, nil
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errIssuerUnavailable, err)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: fetch keys: %v", errIssuerUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: fetch keys: status %d", errIssuerUnavailable, resp.StatusCode)
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, fmt.Errorf("%w: keys are not a JWK set: %v", errIssuerUnavailable, err)
	}
	var keys []jose.JSONWebKey
	for _, raw := range set.Keys {
		var key jose.JSONWebKey
		// Keys of kinds go-jose does not know are skipped, as are private
		// and symmetric keys: only public keys verify.
		if err := key.UnmarshalJSON(raw); err != nil || !key.Valid() || !key.IsPublic() {
			continue
		}
		if key.Use != "" && key.Use != "sig" {
			continue
		}
		keys = append(keys, key)
	}
	if keys == nil {
		keys = []jose.JSONWebKey{}
	}
	return keys, nil
}

// tokenClaims are the claims Homeward reads besides iss, sub and aud.
type tokenClaims struct {
	Exp               *json.Number `json:"exp"`
	Nbf               *json.Number `json:"nbf"`
	Name              string       `json:"name"`
	PreferredUsername string       `json:"preferred_username"`
	Email             string       `json:"email"`
	EmailVerified     *bool        `json:"email_verified"`
}

func numericDate(n *json.Number) (time.Time, bool) {
	if n == nil {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || f != f || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// roleFrom maps the role claim's values to one Homeward role.
func (a *oidcAuth) roleFrom(raw json.RawMessage) (store.Role, bool) {
	var values []string
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		values = []string{one}
	} else if err := json.Unmarshal(raw, &values); err != nil {
		// An array with other things in it: keep its strings.
		var mixed []any
		if json.Unmarshal(raw, &mixed) != nil {
			return "", false
		}
		for _, v := range mixed {
			if s, ok := v.(string); ok {
				values = append(values, s)
			}
		}
	}
	found := map[store.Role]bool{}
	for _, v := range values {
		if a.cfg.RoleMap != nil {
			if r, ok := a.cfg.RoleMap[v]; ok && r.Valid() {
				found[r] = true
			}
		} else if r := store.Role(v); r.Valid() {
			found[r] = true
		}
	}
	for _, r := range rolePrecedence {
		if found[r] {
			return r, true
		}
	}
	return "", false
}

// SignInRefusal is why a token signs no one in, in words for the person
// signing in; the API answers Status with Message and Detail.
type SignInRefusal struct {
	Status  int // 401: the token is not good; 403: it is, but lets no one in
	Message string
	Detail  Detail
	cause   error // why, for the log only
}

func (r *SignInRefusal) Error() string {
	if r.cause != nil {
		return r.Detail.Reason + ": " + r.cause.Error()
	}
	return r.Detail.Reason
}

func (r *SignInRefusal) Unwrap() error { return r.cause }

// ErrUserInactive is the cause of the refusal of a token whose Homeward
// user has been deactivated.
var ErrUserInactive = errors.New("api: the user is not active")

func invalidToken(reason string, cause error) *SignInRefusal {
	return &SignInRefusal{Status: http.StatusUnauthorized, Message: "The bearer token is not valid.",
		Detail: Detail{Field: "Authorization", Reason: reason}, cause: cause}
}

func refused(message, field, reason string) *SignInRefusal {
	return &SignInRefusal{Status: http.StatusForbidden, Message: message, Detail: Detail{Field: field, Reason: reason}}
}

// storeFailure is a failure of the store while signing someone in.
type storeFailure struct {
	op  string
	err error
}

func (f *storeFailure) Error() string { return f.op + ": " + f.err.Error() }
func (f *storeFailure) Unwrap() error { return f.err }

// commissionerFrom reads the commissioner claim: the commissioner's id, ""
// for the provider.
func (a *oidcAuth) commissionerFrom(ctx context.Context, st *store.Store, raw json.RawMessage) (string, error) {
	claim, provider := a.cfg.CommissionerClaim, a.cfg.ProviderClaimValue
	var name string
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &name); err != nil {
			return "", refused("Your sign-in does not say which commissioner you work for in a way Homeward understands.",
				"commissioner", "the token's "+claim+" claim must be a string")
		}
	}
	name = strings.TrimSpace(name)
	if name == "" {
		// Fail closed: the provider's staff see every commissioner, so only
		// a claim that says so places someone there.
		return "", refused("Your sign-in does not say who you work for: the identity provider must send the "+
			claim+" claim, with the name of your commissioner, or \""+provider+"\" for the provider's staff.",
			"commissioner", "the token must carry the "+claim+" claim: a commissioner's name, or \""+provider+"\" for the provider's staff")
	}
	if strings.EqualFold(name, provider) {
		return "", nil
	}
	com, err := st.CommissionerByName(ctx, name)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", a.unknownCommissioner()
	case err != nil:
		return "", &storeFailure{"commissioner by name", err}
	}
	return com.ID, nil
}

func (a *oidcAuth) unknownCommissioner() *SignInRefusal {
	return refused("Your sign-in names a commissioner Homeward does not know; ask an administrator.",
		"commissioner", "the token's "+a.cfg.CommissionerClaim+" claim names no commissioner known to Homeward")
}

func badToken(c *gin.Context, reason string) {
	c.Header("WWW-Authenticate", `Bearer realm="homeward", error="invalid_token"`)
	abort(c, http.StatusUnauthorized, "The bearer token is not valid.",
		Detail{Field: "Authorization", Reason: reason})
}

// authenticateJWT signs a staff member in with a JWT from the configured
// issuer: it is the path of every bearer token that is not an hw_ token.
func (h *handlers) authenticateJWT(c *gin.Context, raw string) {
	if h.oidc == nil {
		badToken(c, "the token is not a Homeward API token, and sign-in by OpenID Connect is not configured")
		return
	}
	user, err := h.oidc.signIn(c.Request.Context(), h.Store, raw, notAnIDToken)
	if err != nil {
		h.refuseJWT(c, err)
		return
	}
	c.Set(ctxUser, user)
	c.Next()
}

// notAnIDToken refuses an ID token sent as a bearer token: it says who
// signed in to a client, not that the client may call the API. An ID token
// carries the sign-in's nonce or the hash of its access token; an access
// token never does.
func notAnIDToken(tok *oidc.IDToken) error {
	if tok.Nonce != "" || tok.AccessTokenHash != "" {
		return invalidToken("the token is an ID token: send the access token as the bearer token", nil)
	}
	return nil
}

// refuseJWT answers a bearer JWT that signs no one in.
func (h *handlers) refuseJWT(c *gin.Context, err error) {
	ctx := c.Request.Context()
	var refusal *SignInRefusal
	var failure *storeFailure
	switch {
	case errors.As(err, &refusal) && refusal.Status == http.StatusUnauthorized:
		h.log.InfoContext(ctx, "Bearer JWT refused", "request_id", requestID(c), "error", err)
		badToken(c, refusal.Detail.Reason)
	case errors.As(err, &refusal):
		abort(c, refusal.Status, refusal.Message, refusal.Detail)
	case errors.As(err, &failure):
		h.serverError(c, failure.op, failure.err)
	default: // the issuer cannot be reached
		h.log.WarnContext(ctx, "OpenID Connect issuer unavailable", "request_id", requestID(c), "error", err)
		abort(c, http.StatusServiceUnavailable, "The sign-in service is unavailable; try again shortly.",
			Detail{Field: "Authorization", Reason: "the token cannot be checked now"})
	}
}

// signIn verifies raw, lets check refuse it, and maps it to the Homeward
// user it signs in. Errors are a *SignInRefusal, a *storeFailure, or wrap
// errIssuerUnavailable.
func (a *oidcAuth) signIn(ctx context.Context, st *store.Store, raw string, check func(*oidc.IDToken) error) (store.User, error) {
	tok, err := a.verify(ctx, raw)
	if err != nil {
		return store.User{}, err
	}
	if check != nil {
		if err := check(tok); err != nil {
			return store.User{}, err
		}
	}
	return a.userFrom(ctx, st, tok)
}

// verify checks raw's signature, issuer, audience and times.
func (a *oidcAuth) verify(ctx context.Context, raw string) (*oidc.IDToken, error) {
	v, err := a.getVerifier(ctx)
	if err != nil {
		return nil, err
	}
	keysFailed := false
	tok, err := v.Verify(context.WithValue(ctx, keysFailedKey{}, &keysFailed), raw)
	if err != nil {
		if keysFailed {
			return nil, fmt.Errorf("%w: keys: %v", errIssuerUnavailable, err)
		}
		return nil, invalidToken("the token is not a valid token of the configured issuer for Homeward", err)
	}
	var cl tokenClaims
	if err := tok.Claims(&cl); err != nil {
		return nil, invalidToken("the token's claims cannot be read", err)
	}
	now := a.cfg.Clock()
	exp, ok := numericDate(cl.Exp)
	if !ok {
		return nil, invalidToken("the token has no valid exp", nil)
	}
	if now.After(exp.Add(a.cfg.Leeway)) {
		return nil, invalidToken("the token has expired", nil)
	}
	if cl.Nbf != nil {
		nbf, ok := numericDate(cl.Nbf)
		if !ok || now.Add(a.cfg.Leeway).Before(nbf) {
			return nil, invalidToken("the token is not valid yet", nil)
		}
	}
	if tok.Subject == "" {
		return nil, invalidToken("the token has no sub", nil)
	}
	return tok, nil
}

// userFrom maps a verified token to its Homeward user, created or brought
// up to date as the token says.
func (a *oidcAuth) userFrom(ctx context.Context, st *store.Store, tok *oidc.IDToken) (store.User, error) {
	var cl tokenClaims
	var all map[string]json.RawMessage
	if err := tok.Claims(&cl); err != nil || tok.Claims(&all) != nil {
		return store.User{}, invalidToken("the token's claims cannot be read", err)
	}
	role, ok := a.roleFrom(all[a.cfg.RoleClaim])
	if !ok {
		return store.User{}, refused("Your sign-in gives you no Homeward role.",
			"role", "the token's "+a.cfg.RoleClaim+" claim maps to no Homeward role")
	}
	// email_verified must be there and true: a provider that does not say
	// has not checked the address, and the address is who the user is.
	if cl.Email == "" || cl.EmailVerified == nil || !*cl.EmailVerified {
		return store.User{}, refused("Your sign-in has no verified email address; Homeward needs one to reach you.",
			"email", "the token must carry a verified email")
	}
	id := store.OIDCIdentity{Issuer: tok.Issuer, Subject: tok.Subject, Name: displayName(cl), Email: cl.Email, Role: role}
	if a.cfg.CommissionerClaim != "" {
		cid, err := a.commissionerFrom(ctx, st, all[a.cfg.CommissionerClaim])
		if err != nil {
			return store.User{}, err
		}
		id.Commissioner = &cid
	}
	if role == store.RoleCommissionerOfficer && (id.Commissioner == nil || *id.Commissioner == "") {
		return store.User{}, refused("A commissioner officer works for one commissioner: the identity provider must send the "+
			a.cfg.CommissionerClaim+" claim with the commissioner's name.",
			"commissioner", "a commissioner officer needs a commissioner")
	}
	user, err := a.upsert(ctx, st, id)
	if err != nil {
		return store.User{}, err
	}
	if !user.Active {
		return store.User{}, invalidToken("the token's user is not active", ErrUserInactive)
	}
	return user, nil
}

// displayName is the name a token gives its staff member.
func displayName(cl tokenClaims) string {
	for _, n := range []string{cl.Name, cl.PreferredUsername} {
		if n != "" {
			return n
		}
	}
	return cl.Email
}

// upsert finds the user of id, and writes them only when the token says
// something new about them.
func (a *oidcAuth) upsert(ctx context.Context, st *store.Store, id store.OIDCIdentity) (store.User, error) {
	user, err := st.UserByOIDC(ctx, id.Issuer, id.Subject)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.User{}, &storeFailure{"user by oidc", err}
	}
	if err == nil && user.Name == id.Name && strings.EqualFold(user.Email, id.Email) && user.Role == id.Role &&
		(id.Commissioner == nil || user.CommissionerID == *id.Commissioner) {
		return user, nil
	}
	user, err = st.UpsertOIDCUser(ctx, id)
	switch {
	case errors.Is(err, store.ErrConflict):
		return store.User{}, refused("Another Homeward user has your email address; ask an administrator.",
			"email", "belongs to another Homeward user")
	case errors.Is(err, store.ErrInvalid) && id.Commissioner != nil && *id.Commissioner != "" && strings.Contains(err.Error(), "commissioner"):
		// The commissioner was removed since it was looked up.
		return store.User{}, a.unknownCommissioner()
	case errors.Is(err, store.ErrInvalid):
		return store.User{}, refused("Your sign-in lacks what Homeward needs to know about you.",
			"Authorization", "the token must carry a name or email")
	case err != nil:
		return store.User{}, &storeFailure{"upsert oidc user", err}
	}
	return user, nil
}
