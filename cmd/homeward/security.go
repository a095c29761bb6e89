package main

import (
	"log/slog"

	"github.com/gin-gonic/gin"

	"homeward/api"
	"homeward/config"
	"homeward/store"
	"homeward/web/oidcsignin"
)

// oidcConfig is the API's sign-in by OpenID Connect; nil when no issuer is
// configured.
func oidcConfig(s config.Security) *api.OIDCConfig {
	if s.OIDCIssuer == "" {
		return nil
	}
	var roles map[string]store.Role
	if s.OIDCRoleMap != nil {
		roles = make(map[string]store.Role, len(s.OIDCRoleMap))
		for k, v := range s.OIDCRoleMap {
			roles[k] = store.Role(v)
		}
	}
	return &api.OIDCConfig{
		Issuer: s.OIDCIssuer, Audience: s.OIDCAudience, RoleClaim: s.OIDCRoleClaim,
		RoleMap: roles, Algorithms: s.OIDCAlgorithms, CommissionerClaim: s.OIDCCommissionerClaim,
		ProviderClaimValue: s.OIDCProviderValue,
	}
}

// webOIDCSignIn is the web's sign-in through the identity provider, with
// the API's issuer and role mapping and the web's client id; nil when no
// issuer is configured. startSession starts the signed-in user's session.
func webOIDCSignIn(s config.Security, st *store.Store, startSession func(*gin.Context, store.User) error, log *slog.Logger) *oidcsignin.Handler {
	cfg := oidcConfig(s)
	if cfg == nil {
		return nil
	}
	cfg.Audience = s.OIDCClientID // ID tokens are issued to the client
	return oidcsignin.New(oidcsignin.Config{
		Authenticator: api.NewOIDCAuthenticator(*cfg, st),
		ClientID:      s.OIDCClientID, ClientSecret: s.OIDCClientSecret, RedirectURL: s.OIDCRedirectURL,
		StartSession: startSession, Logger: log,
	})
}

// edgeConfig is the API's rate limit, trusted proxies and CORS origins.
func edgeConfig(s config.Security) api.EdgeConfig {
	limit := s.RateLimit
	if limit == 0 {
		limit = -1 // HOMEWARD_RATE_LIMIT=0 turns the limit off
	}
	return api.EdgeConfig{
		RateLimit: limit, RateBurst: s.RateBurst,
		TrustedProxies: s.TrustedProxies, CORSOrigins: s.CORSOrigins,
	}
}
