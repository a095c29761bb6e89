package main

import (
	"homeward/api"
	"homeward/config"
	"homeward/store"
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
