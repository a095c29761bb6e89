package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Security is how the API signs staff in and guards its edges.
type Security struct {
	// OIDCIssuer (HOMEWARD_OIDC_ISSUER) is the OpenID Connect issuer whose
	// bearer JWTs sign staff in; empty turns sign-in by JWT off (only hw_
	// API tokens work).
	OIDCIssuer string
	// OIDCAudience (HOMEWARD_OIDC_AUDIENCE) must be among a token's aud;
	// required with an issuer.
	OIDCAudience string
	// OIDCClientID (HOMEWARD_OIDC_CLIENT_ID, default OIDCAudience) is the
	// client id the web signs in with (authorization code flow with PKCE);
	// the ID tokens it gets must be issued to it.
	OIDCClientID string
	// OIDCClientSecret (HOMEWARD_OIDC_CLIENT_SECRET, default empty: a
	// public client, PKCE alone) is the secret of a confidential client.
	OIDCClientSecret string
	// OIDCRedirectURL is where the identity provider sends the browser back
	// after the web's sign-in: HOMEWARD_PUBLIC_URL (default
	// http://localhost:8080) + /sign-in/callback. Register it with the
	// identity provider.
	OIDCRedirectURL string
	// OIDCRoleClaim (HOMEWARD_OIDC_ROLE_CLAIM, default "roles") names the
	// claim (a string or an array of strings) holding the staff member's roles.
	OIDCRoleClaim string
	// OIDCRoleMap (HOMEWARD_OIDC_ROLE_MAP, "group=role,group=role") maps
	// claim values to Homeward roles; nil maps role names to themselves.
	OIDCRoleMap map[string]string
	// OIDCCommissionerClaim (HOMEWARD_OIDC_COMMISSIONER_CLAIM, default
	// empty) names the claim (a string) holding the name of the commissioner
	// the staff member works for, or OIDCProviderValue for the provider's
	// staff; a token without it is refused. Set, every sign-in places the
	// user as the token says; empty, tokens never place users with a
	// commissioner.
	OIDCCommissionerClaim string
	// OIDCProviderValue (HOMEWARD_OIDC_PROVIDER_VALUE, default "provider")
	// is the commissioner claim's value for the provider's staff.
	OIDCProviderValue string
	// OIDCAlgorithms (HOMEWARD_OIDC_ALGORITHMS, default "RS256,ES256") are
	// the signature algorithms accepted; only asymmetric ones may be named.
	OIDCAlgorithms []string
	// RateLimit (HOMEWARD_RATE_LIMIT, default 10) is the requests per
	// second each signed-in user may make on average; 0 turns it off.
	RateLimit float64
	// RateBurst (HOMEWARD_RATE_BURST, default 40) is how many requests a
	// user may make at once.
	RateBurst int
	// TrustedProxies (HOMEWARD_TRUSTED_PROXIES, comma-separated IPs or
	// CIDRs, default none) are the peers whose X-Forwarded-For is believed.
	TrustedProxies []string
	// CORSOrigins (HOMEWARD_CORS_ORIGINS, comma-separated, default none)
	// are the browser origins allowed to call the API, matched exactly.
	CORSOrigins []string
}

// roleNames are Homeward's roles (store.Roles).
var roleNames = map[string]bool{"coordinator": true, "interviewer": true, "manager": true, "admin": true, "commissioner_officer": true}

// asymmetricAlgs are the JWS algorithms HOMEWARD_OIDC_ALGORITHMS may name:
// never "none", never an HMAC (which would let a public key sign).
var asymmetricAlgs = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true,
	"PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true,
	"EdDSA": true,
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// loadSecurity reads the Security variables through get.
func loadSecurity(get func(key, def string) string) (Security, []error) {
	var errs []error
	s := Security{
		OIDCIssuer:    get("HOMEWARD_OIDC_ISSUER", ""), // exactly as the issuer names itself
		OIDCAudience:  get("HOMEWARD_OIDC_AUDIENCE", ""),
		OIDCRoleClaim: get("HOMEWARD_OIDC_ROLE_CLAIM", "roles"),
		RateLimit:     10,
		RateBurst:     40,

		OIDCCommissionerClaim: strings.TrimSpace(get("HOMEWARD_OIDC_COMMISSIONER_CLAIM", "")),
		OIDCProviderValue:     get("HOMEWARD_OIDC_PROVIDER_VALUE", "provider"),
	}
	if s.OIDCIssuer != "" {
		u, err := url.Parse(s.OIDCIssuer)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
			errs = append(errs, fmt.Errorf("HOMEWARD_OIDC_ISSUER: %q is not an https URL", s.OIDCIssuer))
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			errs = append(errs, fmt.Errorf("HOMEWARD_OIDC_ISSUER: %q must use https (http only for localhost)", s.OIDCIssuer))
		}
		if s.OIDCAudience == "" {
			errs = append(errs, fmt.Errorf("HOMEWARD_OIDC_AUDIENCE: is required with HOMEWARD_OIDC_ISSUER"))
		}
	}
	var err error
	if s.OIDCRedirectURL, err = redirectURL(get("HOMEWARD_PUBLIC_URL", "http://localhost:8080")); err != nil && s.OIDCIssuer != "" {
		errs = append(errs, err)
	}
	s.OIDCClientID = get("HOMEWARD_OIDC_CLIENT_ID", s.OIDCAudience)
	s.OIDCClientSecret = get("HOMEWARD_OIDC_CLIENT_SECRET", "")
	if v := get("HOMEWARD_OIDC_ROLE_MAP", ""); v != "" {
		s.OIDCRoleMap = map[string]string{}
		for _, pair := range splitList(v) {
			from, to, ok := strings.Cut(pair, "=")
			from, to = strings.TrimSpace(from), strings.TrimSpace(to)
			if !ok || from == "" || !roleNames[to] {
				errs = append(errs, fmt.Errorf("HOMEWARD_OIDC_ROLE_MAP: %q must be claim-value=role with role one of coordinator, interviewer, manager, admin, commissioner_officer", pair))
				continue
			}
			s.OIDCRoleMap[from] = to
		}
	}
	s.OIDCAlgorithms = splitList(get("HOMEWARD_OIDC_ALGORITHMS", "RS256,ES256"))
	for _, a := range s.OIDCAlgorithms {
		if !asymmetricAlgs[a] {
			errs = append(errs, fmt.Errorf("HOMEWARD_OIDC_ALGORITHMS: %q is not allowed (RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA)", a))
		}
	}
	if v := get("HOMEWARD_RATE_LIMIT", ""); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f != f {
			errs = append(errs, fmt.Errorf("HOMEWARD_RATE_LIMIT: %q is not a number of requests per second (0 turns it off)", v))
		} else {
			s.RateLimit = f
		}
	}
	if v := get("HOMEWARD_RATE_BURST", ""); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Errorf("HOMEWARD_RATE_BURST: %q is not a whole number of at least 1", v))
		} else {
			s.RateBurst = n
		}
	}
	for _, p := range splitList(get("HOMEWARD_TRUSTED_PROXIES", "")) {
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				errs = append(errs, fmt.Errorf("HOMEWARD_TRUSTED_PROXIES: %q is not an IP address or CIDR", p))
				continue
			}
		}
		s.TrustedProxies = append(s.TrustedProxies, p)
	}
	for _, o := range splitList(get("HOMEWARD_CORS_ORIGINS", "")) {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			errs = append(errs, fmt.Errorf("HOMEWARD_CORS_ORIGINS: %q is not an origin like https://app.example.org", o))
			continue
		}
		s.CORSOrigins = append(s.CORSOrigins, o)
	}
	return s, errs
}

// redirectURL is where the identity provider sends the web's sign-in back,
// under the public URL; https but for localhost, as its cookies need.
func redirectURL(public string) (string, error) {
	u, err := url.Parse(strings.TrimRight(public, "/"))
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.RawQuery != "" || u.Fragment != "":
		return "", fmt.Errorf("HOMEWARD_PUBLIC_URL: %q is not a URL like https://homeward.example.org", public)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "", fmt.Errorf("HOMEWARD_PUBLIC_URL: %q must use https to sign in by OpenID Connect (http only for localhost)", public)
	}
	return u.String() + "/sign-in/callback", nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
