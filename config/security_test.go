package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestSecurityDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Security
	if s.OIDCIssuer != "" || s.OIDCRoleClaim != "roles" || s.OIDCRoleMap != nil || s.OIDCCommissionerClaim != "" || s.OIDCProviderValue != "provider" ||
		!reflect.DeepEqual(s.OIDCAlgorithms, []string{"RS256", "ES256"}) ||
		s.RateLimit != 10 || s.RateBurst != 40 || s.TrustedProxies != nil || s.CORSOrigins != nil {
		t.Errorf("security defaults = %+v", s)
	}
}

func TestSecurityFromEnvironment(t *testing.T) {
	c, err := Load(env(map[string]string{
		"HOMEWARD_OIDC_ISSUER":     "https://login.example.org/realms/rhi",
		"HOMEWARD_OIDC_AUDIENCE":   "homeward",
		"HOMEWARD_OIDC_ROLE_CLAIM": "groups",
		"HOMEWARD_OIDC_ROLE_MAP":   "rhi-coordinators=coordinator, rhi-managers=manager, la-missing=commissioner_officer",
		"HOMEWARD_OIDC_ALGORITHMS": "ES256",
		"HOMEWARD_RATE_LIMIT":      "2.5",
		"HOMEWARD_RATE_BURST":      "5",
		"HOMEWARD_TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.1",
		"HOMEWARD_CORS_ORIGINS":    "https://app.example.org,http://localhost:5173",

		"HOMEWARD_OIDC_COMMISSIONER_CLAIM": "local_authority",
		"HOMEWARD_OIDC_PROVIDER_VALUE":     " RHI Provider ",
		"HOMEWARD_OIDC_CLIENT_ID":          "homeward-web",
		"HOMEWARD_OIDC_CLIENT_SECRET":      "s3cret",
		"HOMEWARD_PUBLIC_URL":              "https://homeward.example.org/",
	}))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Security
	want := Security{
		OIDCIssuer: "https://login.example.org/realms/rhi", OIDCAudience: "homeward", OIDCRoleClaim: "groups",
		OIDCRoleMap:    map[string]string{"rhi-coordinators": "coordinator", "rhi-managers": "manager", "la-missing": "commissioner_officer"},
		OIDCAlgorithms: []string{"ES256"}, RateLimit: 2.5, RateBurst: 5,
		TrustedProxies: []string{"10.0.0.0/8", "192.0.2.1"},
		CORSOrigins:    []string{"https://app.example.org", "http://localhost:5173"},

		OIDCCommissionerClaim: "local_authority",
		OIDCProviderValue:     "RHI Provider",
		OIDCClientID:          "homeward-web", OIDCClientSecret: "s3cret",
		OIDCRedirectURL: "https://homeward.example.org/sign-in/callback",
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("security = %+v\nwant %+v", s, want)
	}
}

func TestSecurityRefusesBadValues(t *testing.T) {
	for k, v := range map[string]string{
		"HOMEWARD_OIDC_ISSUER":     "http://login.example.org", // http only for localhost
		"HOMEWARD_OIDC_ROLE_MAP":   "rhi=superuser",
		"HOMEWARD_OIDC_ALGORITHMS": "RS256,HS256",
		"HOMEWARD_RATE_LIMIT":      "fast",
		"HOMEWARD_RATE_BURST":      "0",
		"HOMEWARD_TRUSTED_PROXIES": "10.0.0.0/33",
		"HOMEWARD_CORS_ORIGINS":    "*",
	} {
		vars := map[string]string{k: v}
		if k == "HOMEWARD_OIDC_ISSUER" {
			vars["HOMEWARD_OIDC_AUDIENCE"] = "homeward"
		}
		if _, err := Load(env(vars)); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%q: err = %v, want one naming it", k, v, err)
		}
	}
	for _, alg := range []string{"none", "HS256", "HS512"} {
		if _, err := Load(env(map[string]string{"HOMEWARD_OIDC_ALGORITHMS": alg})); err == nil {
			t.Errorf("HOMEWARD_OIDC_ALGORITHMS=%s accepted", alg)
		}
	}
	if _, err := Load(env(map[string]string{"HOMEWARD_OIDC_ISSUER": "https://login.example.org"})); err == nil ||
		!strings.Contains(err.Error(), "HOMEWARD_OIDC_AUDIENCE") {
		t.Errorf("an issuer without an audience: err = %v", err)
	}
}

func TestWebSignInClient(t *testing.T) {
	issuer := map[string]string{"HOMEWARD_OIDC_ISSUER": "https://login.example.org", "HOMEWARD_OIDC_AUDIENCE": "homeward"}
	c, err := Load(env(issuer))
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Security; s.OIDCClientID != "homeward" || s.OIDCClientSecret != "" ||
		s.OIDCRedirectURL != "http://localhost:8080/sign-in/callback" {
		t.Errorf("by default: client %q secret %q redirect %q; want the audience, none, localhost",
			s.OIDCClientID, s.OIDCClientSecret, s.OIDCRedirectURL)
	}
	for _, public := range []string{"http://homeward.example.org", "homeward.example.org", "https://homeward.example.org/?x=1"} {
		vars := map[string]string{"HOMEWARD_PUBLIC_URL": public}
		for k, v := range issuer {
			vars[k] = v
		}
		if _, err := Load(env(vars)); err == nil || !strings.Contains(err.Error(), "HOMEWARD_PUBLIC_URL") {
			t.Errorf("HOMEWARD_PUBLIC_URL=%q with an issuer: err = %v, want one naming it", public, err)
		}
	}
}
