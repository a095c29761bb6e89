package payloadcrypt_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"homeward/payloadcrypt"
)

func key(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, payloadcrypt.KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func ring(t *testing.T, current string, keys map[string][]byte) *payloadcrypt.KeyRing {
	t.Helper()
	r, err := payloadcrypt.NewKeyRing(current, keys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

const secret = "Riley Example, 1 Secret Road, stayed at a friend's flat"

func jsonPayload(t *testing.T) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"story": secret})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTripHidesEverything(t *testing.T) {
	c := payloadcrypt.NewCodec(ring(t, "k1", map[string][]byte{"k1": key(t)}))
	orig := jsonPayload(t)
	enc, err := c.Encode([]*commonpb.Payload{orig, orig})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range enc {
		if len(p.Metadata) != 2 || string(p.Metadata["encoding"]) != "binary/encrypted" || string(p.Metadata["encryption-key-id"]) != "k1" {
			t.Fatalf("metadata = %v, want only encoding binary/encrypted and encryption-key-id k1", p.Metadata)
		}
		if bytes.Contains(p.Data, []byte("Riley")) || bytes.Contains(p.Data, []byte("json/plain")) {
			t.Fatalf("ciphertext carries the plaintext or its metadata")
		}
	}
	if bytes.Equal(enc[0].Data, enc[1].Data) {
		t.Fatalf("the same payload encrypted twice gave the same bytes: the nonce is not random")
	}
	dec, err := c.Decode(enc)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range dec {
		if string(p.Metadata["encoding"]) != "json/plain" || !bytes.Contains(p.Data, []byte(secret)) {
			t.Fatalf("decoded = %v", p)
		}
	}
}

func TestRotation(t *testing.T) {
	k1, k2 := key(t), key(t)
	old := payloadcrypt.NewCodec(ring(t, "k1", map[string][]byte{"k1": k1}))
	encOld, err := old.Encode([]*commonpb.Payload{jsonPayload(t)})
	if err != nil {
		t.Fatal(err)
	}
	// The new key is added and made current; the old one stays to decrypt.
	r, err := payloadcrypt.ParseKeys("test", "k1:"+base64.StdEncoding.EncodeToString(k1)+"\nk2:"+base64.StdEncoding.EncodeToString(k2)+"\n", "")
	if err != nil {
		t.Fatal(err)
	}
	if r.Current() != "k2" {
		t.Fatalf("current = %s, want the last line's k2", r.Current())
	}
	c := payloadcrypt.NewCodec(r)
	dec, err := c.Decode(encOld)
	if err != nil || !bytes.Contains(dec[0].Data, []byte(secret)) {
		t.Fatalf("old payload after rotation: %v %v", dec, err)
	}
	encNew, err := c.Encode([]*commonpb.Payload{jsonPayload(t)})
	if err != nil {
		t.Fatal(err)
	}
	if id := string(encNew[0].Metadata["encryption-key-id"]); id != "k2" {
		t.Fatalf("new payload key id = %s, want k2", id)
	}
	// The codec with only k1 cannot read what k2 wrote, and says which key it lacks.
	if _, err := old.Decode(encNew); err == nil || !strings.Contains(err.Error(), `"k2"`) {
		t.Fatalf("decode with an unknown key id: %v, want an error naming k2", err)
	}
	// HOMEWARD_PAYLOAD_KEY_CURRENT picks another current key.
	r1, err := payloadcrypt.ParseKeys("test", "k1:"+base64.StdEncoding.EncodeToString(k1)+", k2:"+base64.StdEncoding.EncodeToString(k2), "k1")
	if err != nil || r1.Current() != "k1" {
		t.Fatalf("current = %v %v, want k1", r1, err)
	}
}

func TestUnknownKeyID(t *testing.T) {
	c := payloadcrypt.NewCodec(ring(t, "k1", map[string][]byte{"k1": key(t)}))
	enc, _ := c.Encode([]*commonpb.Payload{jsonPayload(t)})
	enc[0].Metadata["encryption-key-id"] = []byte("k-gone")
	_, err := c.Decode(enc)
	if err == nil || !strings.Contains(err.Error(), `"k-gone"`) || !strings.Contains(err.Error(), "not in the key ring") {
		t.Fatalf("err = %v, want one naming k-gone as not in the key ring", err)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	k1, k2 := key(t), key(t)
	c := payloadcrypt.NewCodec(ring(t, "k1", map[string][]byte{"k1": k1, "k2": k2}))
	enc, _ := c.Encode([]*commonpb.Payload{jsonPayload(t)})

	flipped := &commonpb.Payload{Metadata: enc[0].Metadata, Data: bytes.Clone(enc[0].Data)}
	flipped.Data[len(flipped.Data)-20] ^= 1
	if _, err := c.Decode([]*commonpb.Payload{flipped}); err == nil {
		t.Fatal("a flipped ciphertext bit decrypted")
	}
	// Relabelled with another key's id: the id is authenticated, even when
	// both ids hold the same key.
	same := payloadcrypt.NewCodec(ring(t, "k1", map[string][]byte{"k1": k1, "k1-copy": k1}))
	enc1, _ := same.Encode([]*commonpb.Payload{jsonPayload(t)})
	relabelled := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/encrypted"), "encryption-key-id": []byte("k1-copy")}, Data: enc1[0].Data}
	if _, err := same.Decode([]*commonpb.Payload{relabelled}); err == nil {
		t.Fatal("a payload relabelled with another key id decrypted")
	}
	short := &commonpb.Payload{Metadata: enc[0].Metadata, Data: enc[0].Data[:10]}
	if _, err := c.Decode([]*commonpb.Payload{short}); err == nil {
		t.Fatal("a truncated ciphertext decrypted")
	}
	if _, err := c.Decode(enc); err != nil {
		t.Fatalf("the untouched payload: %v", err)
	}
}

func TestPlaintextPassesThrough(t *testing.T) {
	c := payloadcrypt.NewCodec(ring(t, "k1", map[string][]byte{"k1": key(t)}))
	plain := jsonPayload(t)
	nilPayload := &commonpb.Payload{Metadata: map[string][]byte{"encoding": []byte("binary/null")}}
	dec, err := c.Decode([]*commonpb.Payload{plain, nilPayload})
	if err != nil {
		t.Fatal(err)
	}
	if dec[0] != plain || dec[1] != nilPayload {
		t.Fatalf("plaintext payloads were changed")
	}
}

func TestConvertersEncryptFailures(t *testing.T) {
	dc, fc := payloadcrypt.Converters(ring(t, "k1", map[string][]byte{"k1": key(t)}))
	p, err := dc.ToPayload(secret)
	if err != nil || bytes.Contains(p.Data, []byte("Riley")) || string(p.Metadata["encoding"]) != "binary/encrypted" {
		t.Fatalf("data converter payload = %v, %v", p, err)
	}
	var back string
	if err := dc.FromPayload(p, &back); err != nil || back != secret {
		t.Fatalf("data converter round trip = %q %v", back, err)
	}
	f := fc.ErrorToFailure(temporal.NewApplicationError("could not reach "+secret, "Test"))
	if strings.Contains(f.String(), "Riley") {
		t.Fatalf("failure carries the message in the clear: %v", f)
	}
	if got := fc.FailureToError(f); !strings.Contains(got.Error(), secret) {
		t.Fatalf("failure round trip = %v", got)
	}
}

func TestKeyParsingErrors(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	short := base64.StdEncoding.EncodeToString([]byte("SECRETSECRET"))
	cases := []struct{ name, text, current, want string }{
		{"no colon", "justakey", "", "not id:base64-key"},
		{"bad base64", "k1:" + "SECRET!!notbase64", "", `key "k1" is not valid base64`},
		{"short", "k1:" + short, "", `key "k1" is 12 bytes, want 32`},
		{"bad id", "k 1:" + good, "", `key id "k 1"`},
		{"duplicate", "k1:" + good + "\nk1:" + good, "", `line 2: key id "k1" appears twice`},
		{"empty", "# only a comment\n\n", "", "no keys"},
		{"unknown current", "k1:" + good, "k9", `current key "k9" is not in the key ring`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := payloadcrypt.ParseKeys("KEYS", tc.text, tc.current)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			for _, material := range []string{good, short, "SECRET"} {
				if strings.Contains(err.Error(), material) {
					t.Fatalf("error %q carries key material", err)
				}
			}
		})
	}
	// Comments, blank lines and spaces are fine.
	r, err := payloadcrypt.ParseKeys("KEYS", "# keys\n\n  old:"+good+"  # retired\nnew:"+good+"\n", "")
	if err != nil || r.Current() != "new" || len(r.IDs()) != 2 {
		t.Fatalf("ring = %v %v", r, err)
	}
	if _, err := payloadcrypt.Load("", "", ""); err != nil {
		t.Fatalf("no keys configured: %v, want a nil ring", err)
	}
	if _, err := payloadcrypt.Load("/nonexistent/keys", "", ""); err == nil || !strings.Contains(err.Error(), "HOMEWARD_PAYLOAD_KEYS_FILE") {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := payloadcrypt.Load("f", "k1:"+good, ""); err == nil {
		t.Fatal("both file and inline keys were accepted")
	}
}

func TestEnsureKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "payload-keys")
	now := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	r1, created, err := payloadcrypt.EnsureKeyFile(path, now)
	if err != nil || !created {
		t.Fatalf("first run: %v created=%v", err, created)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v %v, want 0600", fi.Mode(), err)
	}
	if !strings.HasPrefix(r1.Current(), "k20261122-") {
		t.Fatalf("id = %s", r1.Current())
	}
	enc, _ := payloadcrypt.NewCodec(r1).Encode([]*commonpb.Payload{jsonPayload(t)})
	r2, created, err := payloadcrypt.EnsureKeyFile(path, now)
	if err != nil || created || r2.Current() != r1.Current() {
		t.Fatalf("second run: %v created=%v %s", err, created, r2.Current())
	}
	if _, err := payloadcrypt.NewCodec(r2).Decode(enc); err != nil {
		t.Fatalf("the reused key file does not decrypt the first run's payload: %v", err)
	}
	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := payloadcrypt.EnsureKeyFile(path, now); err == nil || errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a broken key file was accepted: %v", err)
	}
}

func TestNewKeyLineParses(t *testing.T) {
	line, err := payloadcrypt.NewKeyLine(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := payloadcrypt.ParseKeys("new", line, ""); err != nil {
		t.Fatalf("a new key line does not parse: %v", err)
	}
}

func TestWithKeyCopies(t *testing.T) {
	r := ring(t, "k1", map[string][]byte{"k1": key(t)})
	r2, err := r.WithKey("k2", key(t), true)
	if err != nil || r2.Current() != "k2" || len(r2.IDs()) != 2 {
		t.Fatalf("with k2: %v %v", r2, err)
	}
	if r.Current() != "k1" || len(r.IDs()) != 1 {
		t.Fatalf("the original ring changed: %s %v", r.Current(), r.IDs())
	}
	if _, err := r2.WithKey("k1", key(t), false); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate id: %v", err)
	}
	if _, err := r.WithKey("k3", []byte("short"), false); err == nil || strings.Contains(err.Error(), "short") {
		t.Fatalf("short key: %v (must fail without quoting the key)", err)
	}
}
