package config

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
)

// Homeward's own defaults when neither a TEMPORAL_* variable nor a profile
// names the cluster.
const (
	defaultTemporalAddress   = "localhost:7233"
	defaultTemporalNamespace = "default"
)

// loadTemporal reads the Temporal connection as every Temporal SDK and the
// Temporal CLI read it (package envconfig): the profile TEMPORAL_PROFILE
// (default "default") of the TOML file TEMPORAL_CONFIG_FILE (default
// temporalio/temporal.toml in the user's config folder; a missing file is
// no profile), then TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
// TEMPORAL_TLS* and TEMPORAL_GRPC_META_* over it. Variables win over the
// profile, and both over Homeward's defaults.
func loadTemporal(env envconfig.EnvLookup) (envconfig.ClientConfigProfile, []error) {
	prof, err := envconfig.LoadClientConfigProfile(envconfig.LoadClientConfigProfileOptions{EnvLookup: env})
	if err != nil {
		return prof, []error{fmt.Errorf("TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE: %w", err)}
	}
	prof.Address, prof.Namespace = strings.TrimSpace(prof.Address), strings.TrimSpace(prof.Namespace)
	if prof.Address == "" {
		prof.Address = defaultTemporalAddress
	}
	if prof.Namespace == "" {
		prof.Namespace = defaultTemporalNamespace
	}
	// Certificates and keys are read now, so a wrong path stops start-up
	// with the variable's name rather than at the first dial.
	if _, err := prof.ToClientOptions(envconfig.ToClientOptionsRequest{}); err != nil {
		return prof, []error{fmt.Errorf("TEMPORAL_TLS_*: %w", err)}
	}
	return prof, nil
}

// TemporalClientOptions are the options to dial Temporal with: address and
// namespace from TemporalAddress and TemporalNamespace (which `homeward
// dev` points at its embedded server), TLS, client certificate, API key and
// gRPC headers from the profile. A remote codec (TEMPORAL_CODEC_*) is never
// used: Homeward encrypts payloads itself.
func (c Config) TemporalClientOptions() (client.Options, error) {
	prof := c.Temporal
	prof.Address = c.TemporalAddress
	prof.Namespace = c.TemporalNamespace
	return prof.ToClientOptions(envconfig.ToClientOptionsRequest{})
}

// envLookup gives envconfig Homeward's lookup. environ lists the whole
// environment for TEMPORAL_GRPC_META_*; nil when the lookup cannot.
type envLookup struct {
	lookup  func(string) (string, bool)
	environ func() []string
}

func (e envLookup) LookupEnv(key string) (string, bool) { return e.lookup(key) }

func (e envLookup) Environ() []string {
	if e.environ == nil {
		return nil
	}
	return e.environ()
}
