package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"homeward/config"
	"homeward/payloadcrypt"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testConfig(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestServeRefusesToRunWithoutPayloadKeys(t *testing.T) {
	_, err := payloadKeys(testConfig(t, nil), quietLog())
	if err == nil || !strings.Contains(err.Error(), "homeward keys new") || !strings.Contains(err.Error(), "HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS") {
		t.Fatalf("without keys: %v, want a refusal saying how to make a key", err)
	}
	ring, err := payloadKeys(testConfig(t, map[string]string{"HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS": "true"}), quietLog())
	if err != nil || ring != nil {
		t.Fatalf("plaintext allowed: %v %v", ring, err)
	}
	if _, err := config.Load(func(k string) (string, bool) {
		return "yes", k == "HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS"
	}); err == nil || !strings.Contains(err.Error(), "HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS") {
		t.Fatalf("HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS=yes: %v, want an error", err)
	}

	var out bytes.Buffer
	if err := run(t.Context(), []string{"keys", "new"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	line := strings.TrimSpace(out.String())
	second, _ := payloadcrypt.NewKeyLine(time.Now())
	ring, err = payloadKeys(testConfig(t, map[string]string{"HOMEWARD_PAYLOAD_KEYS": line + "," + second}), quietLog())
	if err != nil || ring.Current() != strings.Split(second, ":")[0] {
		t.Fatalf("inline keys: %v %v", ring, err)
	}
	file := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(file, []byte("# keys\n"+line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ring, err = payloadKeys(testConfig(t, map[string]string{"HOMEWARD_PAYLOAD_KEYS_FILE": file}), slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil || ring.Current() != strings.Split(line, ":")[0] {
		t.Fatalf("key file: %v %v", ring, err)
	}
	if strings.Contains(logs.String(), "chmod") {
		t.Fatalf("a 0600 key file was warned about: %s", logs.String())
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	if _, err := payloadKeys(testConfig(t, map[string]string{"HOMEWARD_PAYLOAD_KEYS_FILE": file}), slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "chmod 600") {
		t.Fatalf("a world-readable key file was not warned about: %s", logs.String())
	}
	if strings.Contains(logs.String(), strings.Split(line, ":")[1]) {
		t.Fatal("the log carries key material")
	}
	if apiCodec(nil) != nil {
		t.Fatal("no ring gives a non-nil codec: the API would serve /v1/codec")
	}
}

func TestDevMakesAKeyFileOnceAndReusesIt(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, map[string]string{"HOMEWARD_DATA_DIR": dir})
	if err := devPayloadKeys(&cfg, quietLog()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "payload-keys")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || cfg.PayloadKeysFile != path {
		t.Fatalf("key file %s: %v %v", cfg.PayloadKeysFile, fi, err)
	}
	first, err := payloadKeys(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	cfg2 := testConfig(t, map[string]string{"HOMEWARD_DATA_DIR": dir})
	if err := devPayloadKeys(&cfg2, quietLog()); err != nil {
		t.Fatal(err)
	}
	again, err := payloadKeys(cfg2, quietLog())
	if err != nil || again.Current() != first.Current() {
		t.Fatalf("second run: %v, key %s then %s", err, first.Current(), again.Current())
	}
	// Keys configured: no file is made.
	dir3 := t.TempDir()
	line, _ := payloadcrypt.NewKeyLine(time.Now())
	cfg3 := testConfig(t, map[string]string{"HOMEWARD_DATA_DIR": dir3, "HOMEWARD_PAYLOAD_KEYS": line})
	if err := devPayloadKeys(&cfg3, quietLog()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir3, "payload-keys")); !os.IsNotExist(err) {
		t.Fatalf("a key file was made although keys are configured: %v", err)
	}
}
