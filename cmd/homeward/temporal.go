package main

import (
	"context"
	"fmt"
	"log/slog"

	"go.temporal.io/sdk/client"
	tlog "go.temporal.io/sdk/log"

	"homeward/config"
	"homeward/payloadcrypt"
)

// dialTemporal connects to Temporal as the configuration's Temporal profile
// says (address, namespace, TLS, client certificate, API key), with
// Homeward's logger and payload encryption; with, when set, adds more
// (the metrics handler and tracing interceptor).
func dialTemporal(ctx context.Context, cfg config.Config, log *slog.Logger, ring *payloadcrypt.KeyRing,
	with func(client.Options) client.Options) (client.Client, error) {
	opts, err := cfg.TemporalClientOptions()
	if err != nil {
		return nil, fmt.Errorf("Temporal client options: %w", err)
	}
	opts.Logger = tlog.NewStructuredLogger(log.With("component", "temporal"))
	opts = withPayloadEncryption(opts, ring)
	if with != nil {
		opts = with(opts)
	}
	tc, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connecting to Temporal at %s: %w", cfg.TemporalAddress, err)
	}
	return tc, nil
}
