// Package oidctest is a real OpenID Connect provider for tests, served over
// HTTP: discovery, keys, and an authorization code flow that enforces PKCE
// (S256) and uses each code once. It signs in whoever the test says.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Issuer is the provider. ClientID and ClientSecret are the one client it
// knows; an empty ClientSecret makes it a public client.
type Issuer struct {
	Server       *httptest.Server
	ClientID     string
	ClientSecret string

	key *rsa.PrivateKey

	mu sync.Mutex
	// claims are the ID token claims of the next sign-in, before iss, aud,
	// nonce and times are added; edit, when set, changes the whole token.
	claims map[string]any
	edit   func(map[string]any)
	codes  map[string]*grant
	// Authorizations are the queries of every authorization request.
	authorizations []url.Values
}

// grant is what a code was issued for.
type grant struct {
	clientID, redirectURI, challenge, nonce string
	claims                                  map[string]any
	used                                    bool
}

// New starts a provider for clientID; it is stopped in t.Cleanup.
func New(t testing.TB, clientID string) *Issuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	iss := &Issuer{ClientID: clientID, key: key, codes: map[string]*grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", iss.discovery)
	mux.HandleFunc("GET /jwks", iss.jwks)
	mux.HandleFunc("GET /authorize", iss.authorize)
	mux.HandleFunc("POST /token", iss.token)
	iss.Server = httptest.NewServer(mux)
	t.Cleanup(iss.Server.Close)
	return iss
}

// URL is the issuer identifier.
func (iss *Issuer) URL() string { return iss.Server.URL }

// SignInAs makes the next sign-ins those of a staff member with these
// claims (sub, name, email, roles, ...).
func (iss *Issuer) SignInAs(claims map[string]any) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.claims, iss.edit = claims, nil
}

// EditIDTokens changes every ID token issued from now on after its
// claims are complete (nil stops changing them).
func (iss *Issuer) EditIDTokens(edit func(map[string]any)) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.edit = edit
}

// Authorizations are the queries of the authorization requests so far.
func (iss *Issuer) Authorizations() []url.Values {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return append([]url.Values(nil), iss.authorizations...)
}

func (iss *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	u := iss.Server.URL
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                u,
		"jwks_uri":                              u + "/jwks",
		"authorization_endpoint":                u + "/authorize",
		"token_endpoint":                        u + "/token",
		"response_types_supported":              []string{"code"},
		"code_challenge_methods_supported":      []string{"S256"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func (iss *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &iss.key.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
	}})
}

// authorize signs the configured staff member in at once and sends the
// browser back with a code, or with an error when the request is not a
// code request of the known client with an S256 challenge.
func (iss *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	iss.mu.Lock()
	iss.authorizations = append(iss.authorizations, q)
	iss.mu.Unlock()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || back.Scheme == "" || q.Get("client_id") != iss.ClientID {
		http.Error(w, "unknown client or redirect_uri", http.StatusBadRequest)
		return
	}
	answer := url.Values{"state": {q.Get("state")}}
	switch {
	case q.Get("response_type") != "code":
		answer.Set("error", "unsupported_response_type")
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		answer.Set("error", "invalid_request") // PKCE with S256 is required
	default:
		answer.Set("code", iss.issueCode(q))
	}
	back.RawQuery = answer.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (iss *Issuer) issueCode(q url.Values) string {
	code := random()
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.codes[code] = &grant{
		clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), claims: iss.claims,
	}
	return code
}

// token trades a code for tokens: once, for the client it was issued to,
// with the verifier of its challenge.
func (iss *Issuer) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request")
		return
	}
	clientID, secret, basic := r.BasicAuth()
	if !basic {
		clientID, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if clientID != iss.ClientID || (iss.ClientSecret != "" && secret != iss.ClientSecret) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	g := iss.redeem(r.PostForm.Get("code"))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code":
		oauthError(w, "unsupported_grant_type")
	case g == nil || g.clientID != clientID || g.redirectURI != r.PostForm.Get("redirect_uri"):
		oauthError(w, "invalid_grant")
	case !verifies(r.PostForm.Get("code_verifier"), g.challenge):
		oauthError(w, "invalid_grant") // PKCE: a missing or wrong verifier
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": random(), "token_type": "Bearer", "expires_in": 300,
			"id_token": iss.idToken(g),
		})
	}
}

// redeem is the grant of code, nil when unknown or used before.
func (iss *Issuer) redeem(code string) *grant {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	g := iss.codes[code]
	if g == nil || g.used {
		return nil
	}
	g.used = true
	return g
}

func verifies(verifier, challenge string) bool {
	if verifier == "" {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

func (iss *Issuer) idToken(g *grant) string {
	now := time.Now()
	c := map[string]any{}
	for k, v := range g.claims {
		c[k] = v
	}
	c["iss"], c["aud"], c["nonce"] = iss.Server.URL, iss.ClientID, g.nonce
	c["iat"], c["exp"] = now.Unix(), now.Add(5*time.Minute).Unix()
	iss.mu.Lock()
	edit := iss.edit
	iss.mu.Unlock()
	if edit != nil {
		edit(c)
	}
	return iss.Sign(c)
}

// Sign signs claims with the issuer's key, as an ID token.
func (iss *Issuer) Sign(claims map[string]any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: iss.key, KeyID: "rsa-1"}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := s.Sign(payload)
	if err != nil {
		panic(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return tok
}

func oauthError(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func random() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
