package testenv

import (
	"bytes"
	"crypto/rand"
	"log/slog"
	"sync"
	"testing"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"homeward/payloadcrypt"
)

// newKeyRing is a fresh random key ring for one Env, or nil when the
// options ask for plaintext payloads.
func newKeyRing(t testing.TB, opts Options) *payloadcrypt.KeyRing {
	t.Helper()
	if opts.PlaintextPayloads {
		return nil
	}
	key := make([]byte, payloadcrypt.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatalf("testenv: payload key: %v", err)
	}
	id := "test-" + randomHex(3)
	ring, err := payloadcrypt.NewKeyRing(id, map[string][]byte{id: key})
	if err != nil {
		t.Fatalf("testenv: key ring: %v", err)
	}
	return ring
}

// encrypted sets the client's converters from ring (nil: none), as
// `homeward serve` does.
func encrypted(o client.Options, ring *payloadcrypt.KeyRing) client.Options {
	if ring != nil {
		o.DataConverter, o.FailureConverter = payloadcrypt.Converters(ring)
	}
	return o
}

// codecOf is the API's codec for ring: a nil interface without one.
func codecOf(ring *payloadcrypt.KeyRing) converter.PayloadCodec {
	if ring == nil {
		return nil
	}
	return payloadcrypt.NewCodec(ring)
}

// logCapture keeps every log line the Env's Homeward writes, at every
// level, for tests that check what logs may carry.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logCapture) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// handler sends records to h and, at every level down to debug, to l.
func (l *logCapture) handler(h slog.Handler) slog.Handler {
	return slog.NewMultiHandler(h, slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// Logs is everything the Env's Homeward has logged so far, debug level
// included, as JSON lines: the API, the activities, and the Temporal SDK's
// client and workers.
func (e *Env) Logs() string {
	e.logs.mu.Lock()
	defer e.logs.mu.Unlock()
	return e.logs.buf.String()
}
