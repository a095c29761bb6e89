package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"homeward/config"
	"homeward/payloadcrypt"
)

// runKeys is `homeward keys new`: print a fresh payload key line.
func runKeys(args []string, stdout io.Writer) error {
	if len(args) != 1 || args[0] != "new" {
		return errUsage
	}
	line, err := payloadcrypt.NewKeyLine(time.Now())
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, line)
	return err
}

const noKeysMessage = `no payload encryption keys: Temporal would store children's data in the clear.
Make a key with ` + "`homeward keys new`" + ` and put the line it prints in a file named by
HOMEWARD_PAYLOAD_KEYS_FILE (one key a line, the last is current) or in HOMEWARD_PAYLOAD_KEYS;
or set HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS=true to run without encryption`

// payloadKeys reads the configured key ring. Without keys it refuses,
// unless plaintext payloads are allowed, when it returns a nil ring.
func payloadKeys(cfg config.Config, log *slog.Logger) (*payloadcrypt.KeyRing, error) {
	ring, err := payloadcrypt.Load(cfg.PayloadKeysFile, cfg.PayloadKeys, cfg.PayloadKeyCurrent)
	if err != nil {
		return nil, err
	}
	if ring == nil {
		if !cfg.AllowPlaintextPayloads {
			return nil, errors.New(noKeysMessage)
		}
		log.Warn("Temporal payloads are NOT encrypted (HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS=true)")
		return nil, nil
	}
	if cfg.PayloadKeysFile != "" {
		if fi, err := os.Stat(cfg.PayloadKeysFile); err == nil && fi.Mode().Perm()&0o077 != 0 {
			log.Warn("The payload key file can be read by other users of this machine; chmod 600 it",
				"path", cfg.PayloadKeysFile, "mode", fi.Mode().Perm().String())
		}
	}
	log.Info("Temporal payloads are encrypted", "current_key", ring.Current(), "keys", len(ring.IDs()))
	return ring, nil
}

// devPayloadKeys makes `homeward dev` encrypt with a key file in the data
// folder when no keys are configured, made on the first run and reused
// after, so dev data stays readable across restarts.
func devPayloadKeys(cfg *config.Config, log *slog.Logger) error {
	if cfg.PayloadKeysFile != "" || cfg.PayloadKeys != "" || cfg.AllowPlaintextPayloads {
		return nil
	}
	path := filepath.Join(cfg.DataDir, "payload-keys")
	_, created, err := payloadcrypt.EnsureKeyFile(path, time.Now())
	if err != nil {
		return fmt.Errorf("dev payload key file %s: %w", path, err)
	}
	if created {
		log.Info("Made a payload encryption key file", "path", path)
	}
	cfg.PayloadKeysFile = path
	return nil
}

// withPayloadEncryption sets the client's converters from ring (nil: none).
func withPayloadEncryption(o client.Options, ring *payloadcrypt.KeyRing) client.Options {
	if ring != nil {
		o.DataConverter, o.FailureConverter = payloadcrypt.Converters(ring)
	}
	return o
}

// apiCodec is the codec the API's /v1/codec endpoints use: a nil interface
// (not a typed nil) without keys, so the API answers that none is configured.
func apiCodec(ring *payloadcrypt.KeyRing) converter.PayloadCodec {
	if ring == nil {
		return nil
	}
	return payloadcrypt.NewCodec(ring)
}
