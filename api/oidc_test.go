package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"homeward/api"
	"homeward/internal/testenv"
	"homeward/store"
)

// testIssuer is a real OpenID Connect issuer: discovery and JWKS served
// over HTTP, keys made here.
type testIssuer struct {
	srv         *httptest.Server
	rsaKey      *rsa.PrivateKey
	ecKey       *ecdsa.PrivateKey
	jwksFetches atomic.Int64

	mu   sync.Mutex
	keys []jose.JSONWebKey // published
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	iss := &testIssuer{rsaKey: rk, ecKey: ek}
	iss.keys = []jose.JSONWebKey{
		{Key: &rk.PublicKey, KeyID: "rsa-1", Algorithm: "RS256", Use: "sig"},
		{Key: &ek.PublicKey, KeyID: "ec-1", Algorithm: "ES256", Use: "sig"},
		// A key that names no algorithm: only the allowlist keeps RS512
		// (or HS256 with this key as the secret) out.
		{Key: &rk.PublicKey, KeyID: "rsa-any", Use: "sig"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                iss.srv.URL,
			"jwks_uri":                              iss.srv.URL + "/jwks",
			"authorization_endpoint":                iss.srv.URL + "/authorize",
			"token_endpoint":                        iss.srv.URL + "/token",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		iss.jwksFetches.Add(1)
		iss.mu.Lock()
		set := jose.JSONWebKeySet{Keys: iss.keys}
		iss.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	})
	iss.srv = httptest.NewServer(mux)
	t.Cleanup(iss.srv.Close)
	return iss
}

func (iss *testIssuer) publish(k jose.JSONWebKey) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys = append(iss.keys, k)
}

// claims are a valid token's claims for subject, changed by edit.
func (iss *testIssuer) claims(sub string, edit func(map[string]any)) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss":            iss.srv.URL,
		"sub":            sub,
		"aud":            []string{"homeward", "other-app"},
		"iat":            now.Unix(),
		"nbf":            now.Add(-time.Minute).Unix(),
		"exp":            now.Add(10 * time.Minute).Unix(),
		"name":           "Staff " + sub,
		"email":          sub + "@staff.example.org",
		"email_verified": true,
		"roles":          []string{"everyone", "rhi-coordinators"},
	}
	if edit != nil {
		edit(c)
	}
	return c
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// rawJWT builds a JWT by hand, for algorithms go-jose will not sign with.
func rawJWT(header, claims map[string]any, sig func(signingInput string) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	return in + "." + base64.RawURLEncoding.EncodeToString(sig(in))
}

func TestOIDCSignIn(t *testing.T) {
	iss := newTestIssuer(t)
	env := testenv.Start(t, testenv.Options{NoWorker: true, OIDC: &api.OIDCConfig{
		Issuer:   iss.srv.URL,
		Audience: "homeward",
		RoleMap: map[string]store.Role{
			"rhi-coordinators": store.RoleCoordinator, "rhi-managers": store.RoleManager,
		},
		Leeway:          time.Minute,
		RefetchInterval: 2 * time.Second,
	}})
	get := func(t *testing.T, path, token string) (int, []byte) {
		t.Helper()
		return env.Do(t, "GET", path, token, nil)
	}
	ctx := context.Background()

	t.Run("valid RS256 token creates the user with the mapped role", func(t *testing.T) {
		tok := sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("alice", nil))
		if st, body := get(t, "/v1/episodes", tok); st != 200 {
			t.Fatalf("status %d: %s", st, body)
		}
		u, err := env.Store.UserByOIDC(ctx, iss.srv.URL, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if u.Role != store.RoleCoordinator || u.Email != "alice@staff.example.org" || u.Name != "Staff alice" || !u.Active {
			t.Fatalf("user = %+v", u)
		}
		// Signing in again is the same user.
		if st, body := get(t, "/v1/episodes", tok); st != 200 {
			t.Fatalf("again: status %d: %s", st, body)
		}
		again, _ := env.Store.UserByOIDC(ctx, iss.srv.URL, "alice")
		if again.ID != u.ID {
			t.Fatalf("second sign-in made another user: %s != %s", again.ID, u.ID)
		}
		// A coordinator may not read escalations: the role is enforced.
		st, body := get(t, "/v1/escalations", tok)
		wantError(t, st, body, 403, "forbidden", "role")
	})

	t.Run("valid ES256 token with a string role claim; role changes follow the issuer", func(t *testing.T) {
		tok := sign(t, jose.ES256, iss.ecKey, "ec-1", iss.claims("bob", func(c map[string]any) { c["roles"] = "rhi-managers" }))
		if st, body := get(t, "/v1/escalations", tok); st != 200 {
			t.Fatalf("status %d: %s", st, body)
		}
		u, err := env.Store.UserByOIDC(ctx, iss.srv.URL, "bob")
		if err != nil || u.Role != store.RoleManager {
			t.Fatalf("user = %+v, %v; want a manager", u, err)
		}
		// A manager is among the managers escalations reach.
		managers, err := env.Store.ActiveUsers(ctx, store.RoleManager)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range managers {
			found = found || m.ID == u.ID
		}
		if !found {
			t.Fatalf("the signed-in manager is not among the active managers")
		}
		tok = sign(t, jose.ES256, iss.ecKey, "ec-1", iss.claims("bob", nil))
		if st, body := get(t, "/v1/episodes", tok); st != 200 {
			t.Fatalf("status %d: %s", st, body)
		}
		if u2, _ := env.Store.UserByOIDC(ctx, iss.srv.URL, "bob"); u2.Role != store.RoleCoordinator || u2.ID != u.ID {
			t.Fatalf("after the role changed: %+v", u2)
		}
	})

	t.Run("hw_ API tokens still work", func(t *testing.T) {
		_, token := env.AddUser(t, store.RoleCoordinator)
		if st, body := get(t, "/v1/episodes", token); st != 200 {
			t.Fatalf("status %d: %s", st, body)
		}
		st, body := get(t, "/v1/episodes", "hw_not-a-real-token")
		wantError(t, st, body, 401, "unauthorized", "Authorization")
	})

	pubDER, err := x509.MarshalPKIXPublicKey(&iss.rsaKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	refused := []struct {
		name  string
		token func(t *testing.T) string
	}{
		{"tampered signature", func(t *testing.T) string {
			tok := sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("mallory", nil))
			parts := strings.Split(tok, ".")
			// Same signature, another payload: a manager now.
			c, _ := json.Marshal(iss.claims("mallory", func(c map[string]any) { c["roles"] = "rhi-managers" }))
			return parts[0] + "." + base64.RawURLEncoding.EncodeToString(c) + "." + parts[2]
		}},
		{"alg none", func(t *testing.T) string {
			return rawJWT(map[string]any{"alg": "none", "typ": "JWT"}, iss.claims("mallory", nil),
				func(string) []byte { return nil })
		}},
		{"alg none with the RSA kid", func(t *testing.T) string {
			return rawJWT(map[string]any{"alg": "none", "kid": "rsa-1"}, iss.claims("mallory", nil),
				func(string) []byte { return []byte("x") })
		}},
		{"HS256 signed with the RSA public key", func(t *testing.T) string {
			return rawJWT(map[string]any{"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, iss.claims("mallory", nil),
				func(in string) []byte {
					m := hmac.New(sha256.New, pubPEM)
					m.Write([]byte(in))
					return m.Sum(nil)
				})
		}},
		{"HS256 signed with the RSA public key DER", func(t *testing.T) string {
			return rawJWT(map[string]any{"alg": "HS256", "typ": "JWT", "kid": "rsa-any"}, iss.claims("mallory", nil),
				func(in string) []byte {
					m := hmac.New(sha256.New, pubDER)
					m.Write([]byte(in))
					return m.Sum(nil)
				})
		}},
		{"RS512, not in the allowlist", func(t *testing.T) string {
			return sign(t, jose.RS512, iss.rsaKey, "rsa-any", iss.claims("mallory", nil))
		}},
		{"wrong audience", func(t *testing.T) string {
			return sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("mallory", func(c map[string]any) { c["aud"] = "another-app" }))
		}},
		{"wrong issuer", func(t *testing.T) string {
			return sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("mallory", func(c map[string]any) { c["iss"] = "https://evil.example.org" }))
		}},
		{"expired past the leeway", func(t *testing.T) string {
			return sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("mallory", func(c map[string]any) {
				c["exp"] = time.Now().Add(-2 * time.Minute).Unix()
			}))
		}},
		{"no exp", func(t *testing.T) string {
			return sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("mallory", func(c map[string]any) { delete(c, "exp") }))
		}},
		{"not valid yet", func(t *testing.T) string {
			return sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("mallory", func(c map[string]any) {
				c["nbf"] = time.Now().Add(5 * time.Minute).Unix()
			}))
		}},
		{"unknown key id", func(t *testing.T) string {
			return sign(t, jose.RS256, otherKey, "rsa-unknown", iss.claims("mallory", nil))
		}},
		{"known key id, other key", func(t *testing.T) string {
			return sign(t, jose.RS256, otherKey, "rsa-1", iss.claims("mallory", nil))
		}},
		{"EC token with the RSA kid", func(t *testing.T) string {
			return sign(t, jose.ES256, iss.ecKey, "rsa-1", iss.claims("mallory", nil))
		}},
		{"not a JWT", func(t *testing.T) string { return "eyJhbGciOi.not.a-jwt" }},
	}
	for _, tc := range refused {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			st, body := get(t, "/v1/episodes", tc.token(t))
			wantError(t, st, body, 401, "unauthorized", "Authorization")
			if _, err := env.Store.UserByOIDC(ctx, iss.srv.URL, "mallory"); err == nil {
				t.Fatalf("a refused token created a user")
			}
		})
	}

	t.Run("expired within the leeway is accepted", func(t *testing.T) {
		tok := sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("carol", func(c map[string]any) {
			c["exp"] = time.Now().Add(-20 * time.Second).Unix()
		}))
		if st, body := get(t, "/v1/episodes", tok); st != 200 {
			t.Fatalf("status %d: %s", st, body)
		}
	})

	t.Run("a role that maps to no Homeward role is 403", func(t *testing.T) {
		for _, roles := range []any{[]string{"everyone"}, "coordinator", nil, 42, []any{1, "x"}} {
			tok := sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("dave", func(c map[string]any) { c["roles"] = roles }))
			st, body := get(t, "/v1/episodes", tok)
			wantError(t, st, body, 403, "forbidden", "role")
		}
		if _, err := env.Store.UserByOIDC(ctx, iss.srv.URL, "dave"); err == nil {
			t.Fatalf("a token without a role created a user")
		}
	})

	t.Run("no verified email is 403", func(t *testing.T) {
		tok := sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("erin", func(c map[string]any) { delete(c, "email") }))
		st, body := get(t, "/v1/episodes", tok)
		wantError(t, st, body, 403, "forbidden", "email")
		tok = sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("erin", func(c map[string]any) { c["email_verified"] = false }))
		st, body = get(t, "/v1/episodes", tok)
		wantError(t, st, body, 403, "forbidden", "email")
		// A provider that does not say the address is verified has not
		// verified it.
		tok = sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("erin", func(c map[string]any) { delete(c, "email_verified") }))
		st, body = get(t, "/v1/episodes", tok)
		wantError(t, st, body, 403, "forbidden", "email")
		if _, err := env.Store.UserByOIDC(ctx, iss.srv.URL, "erin"); err == nil {
			t.Fatalf("a token without a verified email created a user")
		}
	})

	t.Run("an ID token is not an API bearer token", func(t *testing.T) {
		for claim, value := range map[string]string{"nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ"} {
			tok := sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("ida", func(c map[string]any) { c[claim] = value }))
			st, body := get(t, "/v1/episodes", tok)
			wantError(t, st, body, 401, "unauthorized", "Authorization")
			if !strings.Contains(string(body), "ID token") {
				t.Errorf("with %s: %s; want the reason", claim, body)
			}
		}
	})

	t.Run("an email another user has is 403, not a takeover", func(t *testing.T) {
		other, _ := env.AddUser(t, store.RoleManager)
		tok := sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("heidi", func(c map[string]any) { c["email"] = other.Email }))
		st, body := get(t, "/v1/episodes", tok)
		wantError(t, st, body, 403, "forbidden", "email")
		if _, err := env.Store.UserByOIDC(ctx, iss.srv.URL, "heidi"); err == nil {
			t.Fatalf("a user was created with another user's email")
		}
	})

	t.Run("without a commissioner claim configured, tokens place no one and an admin's placement is kept", func(t *testing.T) {
		tok := sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("ivan", func(c map[string]any) {
			c["local_authority"] = env.Commissioner.Name
		}))
		if st, body := get(t, "/v1/episodes", tok); st != 200 {
			t.Fatalf("status %d: %s", st, body)
		}
		u, _ := env.Store.UserByOIDC(ctx, iss.srv.URL, "ivan")
		if u.CommissionerID != "" {
			t.Fatalf("a claim Homeward was not told to read placed the user: %+v", u)
		}
		other := env.AddCommissioner(t, "Placed by an admin")
		if err := env.Store.SetUserCommissioner(ctx, u.ID, other.ID); err != nil {
			t.Fatal(err)
		}
		// A changed name makes the sign-in update the user.
		tok = sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("ivan", func(c map[string]any) { c["name"] = "Ivan Renamed" }))
		if st, body := get(t, "/v1/episodes", tok); st != 200 {
			t.Fatalf("status %d: %s", st, body)
		}
		if u2, _ := env.Store.UserByOIDC(ctx, iss.srv.URL, "ivan"); u2.Name != "Ivan Renamed" || u2.CommissionerID != other.ID {
			t.Fatalf("after signing in again: %+v; want the admin's commissioner %s kept", u2, other.ID)
		}
	})

	t.Run("a deactivated user is refused", func(t *testing.T) {
		tok := sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims("frank", nil))
		if st, body := get(t, "/v1/episodes", tok); st != 200 {
			t.Fatalf("status %d: %s", st, body)
		}
		u, _ := env.Store.UserByOIDC(ctx, iss.srv.URL, "frank")
		if err := env.Store.SetUserActive(ctx, u.ID, false); err != nil {
			t.Fatal(err)
		}
		st, body := get(t, "/v1/episodes", tok)
		wantError(t, st, body, 401, "unauthorized", "Authorization")
		if u2, _ := env.Store.UserByOIDC(ctx, iss.srv.URL, "frank"); u2.Active {
			t.Fatalf("signing in reactivated the user")
		}
	})

	t.Run("unknown key ids refetch the keys, bounded; rotation works", func(t *testing.T) {
		time.Sleep(2100 * time.Millisecond) // past RefetchInterval
		before := iss.jwksFetches.Load()
		start := time.Now()
		for i := 0; i < 10; i++ {
			tok := sign(t, jose.RS256, otherKey, "rsa-unknown", iss.claims("mallory", nil))
			st, body := get(t, "/v1/episodes", tok)
			wantError(t, st, body, 401, "unauthorized", "Authorization")
		}
		fetched := iss.jwksFetches.Load() - before
		if max := 1 + int64(time.Since(start)/(2*time.Second)); fetched < 1 || fetched > max {
			t.Fatalf("10 tokens with an unknown kid fetched the keys %d times; want 1..%d", fetched, max)
		}
		// The issuer rotates in a new key: tokens it signs work once the
		// interval has passed.
		newKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		iss.publish(jose.JSONWebKey{Key: &newKey.PublicKey, KeyID: "ec-2", Algorithm: "ES256", Use: "sig"})
		time.Sleep(2100 * time.Millisecond)
		tok := sign(t, jose.ES256, newKey, "ec-2", iss.claims("grace", nil))
		if st, body := get(t, "/v1/episodes", tok); st != 200 {
			t.Fatalf("rotated key: status %d: %s", st, body)
		}
	})
}

// TestOIDCCommissionerClaim: with a commissioner claim configured, the
// token says which commissioner a staff member works for, on every sign-in,
// and row-level security follows it.
func TestOIDCCommissionerClaim(t *testing.T) {
	iss := newTestIssuer(t)
	env := testenv.Start(t, testenv.Options{NoWorker: true, OIDC: &api.OIDCConfig{
		Issuer:            iss.srv.URL,
		Audience:          "homeward",
		RoleMap:           map[string]store.Role{"rhi-coordinators": store.RoleCoordinator},
		CommissionerClaim: "local_authority",
	}})
	ctx := context.Background()
	a := env.AddCommissioner(t, "Ashford Borough")
	b := env.AddCommissioner(t, "Bexton County")
	episodeIn := func(commissionerID, ref string) string {
		t.Helper()
		child, ep := uuid.NewString(), uuid.NewString()
		now := time.Now().UTC()
		if _, err := env.Store.Pool.Exec(ctx, `INSERT INTO children (id, first_name, date_of_birth) VALUES ($1, 'Sam', '2012-01-01')`, child); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Store.Pool.Exec(ctx, `INSERT INTO episodes (id, reference, child_id, status, returned_at, opened_at, offer_deadline, state, state_version, updated_at, commissioner_id)
			VALUES ($1, $2, $3, 'awaiting_contact', $4, $4, $4, '{}', 1, $4, $5)`, ep, ref, child, now, commissionerID); err != nil {
			t.Fatal(err)
		}
		return ep
	}
	epA := episodeIn(a.ID, "HW-OIDC-A")
	epB := episodeIn(b.ID, "HW-OIDC-B")
	// lists is the episodes of epA and epB the token's user sees.
	lists := func(t *testing.T, tok string) string {
		t.Helper()
		st, body := env.Do(t, "GET", "/v1/episodes", tok, nil)
		if st != 200 {
			t.Fatalf("list: status %d: %s", st, body)
		}
		var got struct {
			Episodes []struct {
				ID string `json:"id"`
			} `json:"episodes"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, e := range got.Episodes {
			switch e.ID {
			case epA:
				seen = append(seen, "A")
			case epB:
				seen = append(seen, "B")
			}
		}
		sort.Strings(seen)
		return strings.Join(seen, ",")
	}
	token := func(sub string, commissioner any) string {
		return sign(t, jose.RS256, iss.rsaKey, "rsa-1", iss.claims(sub, func(c map[string]any) {
			if commissioner != nil {
				c["local_authority"] = commissioner
			}
		}))
	}
	user := func(t *testing.T, sub string) store.User {
		t.Helper()
		u, err := env.Store.UserByOIDC(ctx, iss.srv.URL, sub)
		if err != nil {
			t.Fatalf("user %s: %v", sub, err)
		}
		return u
	}

	t.Run("a token naming commissioner A signs in a user who sees only A's episodes", func(t *testing.T) {
		// Matched case-insensitively.
		if got := lists(t, token("judy", "ashford BOROUGH")); got != "A" {
			t.Fatalf("judy sees %q, want A", got)
		}
		if u := user(t, "judy"); u.CommissionerID != a.ID {
			t.Fatalf("judy works for %q, want A (%s)", u.CommissionerID, a.ID)
		}
	})

	t.Run("a token naming an unknown commissioner is 403", func(t *testing.T) {
		st, body := env.Do(t, "GET", "/v1/episodes", token("ken", "Nowhere Council"), nil)
		wantError(t, st, body, 403, "forbidden", "commissioner")
		if _, err := env.Store.UserByOIDC(ctx, iss.srv.URL, "ken"); err == nil {
			t.Fatalf("a token naming an unknown commissioner created a user")
		}
		// Nor does it move, or let in, a user who exists.
		st, body = env.Do(t, "GET", "/v1/episodes", token("judy", "Nowhere Council"), nil)
		wantError(t, st, body, 403, "forbidden", "commissioner")
		if u := user(t, "judy"); u.CommissionerID != a.ID {
			t.Fatalf("a refused token moved judy to %q", u.CommissionerID)
		}
		// A claim that is not a string is refused too.
		st, body = env.Do(t, "GET", "/v1/episodes", token("ken", []string{a.Name}), nil)
		wantError(t, st, body, 403, "forbidden", "commissioner")
	})

	t.Run("signing in with another commissioner moves the user", func(t *testing.T) {
		before := user(t, "judy")
		if got := lists(t, token("judy", b.Name)); got != "B" {
			t.Fatalf("judy sees %q after moving, want B", got)
		}
		if u := user(t, "judy"); u.ID != before.ID || u.CommissionerID != b.ID {
			t.Fatalf("after moving: %+v, want user %s with B (%s)", u, before.ID, b.ID)
		}
	})

	t.Run("a token without the claim, or with an empty one, is 403 saying what to send", func(t *testing.T) {
		for _, claim := range []any{nil, "", "  "} {
			st, body := env.Do(t, "GET", "/v1/episodes", token("mia", claim), nil)
			e := wantError(t, st, body, 403, "forbidden", "commissioner")
			if !strings.Contains(e.Error.Message, "local_authority") || !strings.Contains(reason(e, "commissioner"), "local_authority") ||
				!strings.Contains(e.Error.Message, `"provider"`) {
				t.Fatalf("claim %q: the answer does not say what the identity provider must send: %s", claim, body)
			}
			if _, err := env.Store.UserByOIDC(ctx, iss.srv.URL, "mia"); err == nil {
				t.Fatalf("claim %q: a token without a commissioner created a user", claim)
			}
		}
		// Nor does it move a user who exists to the provider.
		lists(t, token("judy", a.Name))
		st, body := env.Do(t, "GET", "/v1/episodes", token("judy", nil), nil)
		wantError(t, st, body, 403, "forbidden", "commissioner")
		if u := user(t, "judy"); u.CommissionerID != a.ID {
			t.Fatalf("a token without the claim moved judy to %q", u.CommissionerID)
		}
	})

	t.Run("a token naming the provider signs in provider staff", func(t *testing.T) {
		if got := lists(t, token("leo", "Provider")); got != "A,B" {
			t.Fatalf("leo sees %q, want A,B", got)
		}
		if u := user(t, "leo"); u.CommissionerID != "" {
			t.Fatalf("leo works for %q, want the provider", u.CommissionerID)
		}
		if got := lists(t, token("judy", "provider")); got != "A,B" {
			t.Fatalf("judy sees %q once the token names the provider, want A,B", got)
		}
	})

	t.Run("the token wins over an administrator's placement", func(t *testing.T) {
		if err := env.Store.SetUserCommissioner(ctx, user(t, "leo").ID, b.ID); err != nil {
			t.Fatal(err)
		}
		if got := lists(t, token("leo", a.Name)); got != "A" {
			t.Fatalf("leo sees %q, want A", got)
		}
	})
}

// TestJWTWithoutOIDC: a bearer that is not an hw_ token is refused when no
// issuer is configured.
func TestJWTWithoutOIDC(t *testing.T) {
	r := api.NewRouter(api.Deps{})
	req := httptest.NewRequest("GET", "/v1/episodes", nil)
	req.Header.Set("Authorization", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	w := httptest.NewRecorder()
	r.ServeHTTP(w, req)
	testenv.CheckOpenAPI(t, req, nil, w.Code, w.Header(), w.Body.Bytes())
	wantError(t, w.Code, w.Body.Bytes(), 401, "unauthorized", "Authorization")
}
