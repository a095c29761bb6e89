package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTemporalDefaultsWithoutProfileOrVariables(t *testing.T) {
	c, err := Load(env(map[string]string{"TEMPORAL_CONFIG_FILE": filepath.Join(t.TempDir(), "none.toml")}))
	if err != nil {
		t.Fatal(err)
	}
	opts, err := c.TemporalClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "localhost:7233" || opts.Namespace != "default" || opts.ConnectionOptions.TLS != nil || opts.Credentials != nil {
		t.Errorf("options = %+v, want plain text to localhost:7233, namespace default", opts)
	}
}

// A profile of Temporal's config file (as the Temporal CLI writes it) is
// used, and TEMPORAL_* variables win over it.
func TestTemporalProfileAndVariablesOverIt(t *testing.T) {
	file := filepath.Join(t.TempDir(), "temporal.toml")
	toml := `
[profile.default]
address = "localhost:7233"

[profile.cloud]
address = "homeward.a1b2c.tmprl.cloud:7233"
namespace = "homeward.a1b2c"
api_key = "secret-key"
`
	if err := os.WriteFile(file, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{
		"TEMPORAL_CONFIG_FILE": file, "TEMPORAL_PROFILE": "cloud", "TEMPORAL_NAMESPACE": "homeward-staging.a1b2c",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.TemporalAddress != "homeward.a1b2c.tmprl.cloud:7233" || c.TemporalNamespace != "homeward-staging.a1b2c" {
		t.Errorf("address, namespace = %q, %q; want the profile's address and the variable's namespace", c.TemporalAddress, c.TemporalNamespace)
	}
	opts, err := c.TemporalClientOptions()
	if err != nil {
		t.Fatal(err)
	}
	if opts.Credentials == nil || opts.ConnectionOptions.TLS == nil {
		t.Errorf("options = %+v, want the API key sent over TLS", opts)
	}
}

func TestTemporalProblemsAreNamed(t *testing.T) {
	dir := t.TempDir()
	for name, vars := range map[string]map[string]string{
		"a missing CA file":  {"TEMPORAL_TLS_SERVER_CA_CERT_PATH": filepath.Join(dir, "missing.pem")},
		"half a client pair": {"TEMPORAL_TLS_CLIENT_CERT_PATH": filepath.Join(dir, "client.pem")},
		"an unknown profile": {"TEMPORAL_PROFILE": "nowhere"},
	} {
		vars["TEMPORAL_CONFIG_FILE"] = filepath.Join(dir, "none.toml")
		_, err := Load(env(vars))
		if err == nil || !strings.Contains(err.Error(), "TEMPORAL_") {
			t.Errorf("%s: %v, want an error naming the TEMPORAL_ variable", name, err)
		}
	}
}
