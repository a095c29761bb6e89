package payloadcrypt

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"
)

// KeySize is the length of every key: AES-256.
const KeySize = 32

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// KeyRing holds the keys payloads may be encrypted with, by id, and names
// the current one, which encrypts. Every key in the ring decrypts.
type KeyRing struct {
	current string
	ids     []string // in the order given
	aeads   map[string]cipher.AEAD
}

// NewKeyRing makes a ring of keys (id → 32 bytes) encrypting with current.
func NewKeyRing(current string, keys map[string][]byte) (*KeyRing, error) {
	r := &KeyRing{current: current, aeads: map[string]cipher.AEAD{}}
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := r.add(id, keys[id]); err != nil {
			return nil, err
		}
	}
	if err := r.checkCurrent(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *KeyRing) add(id string, key []byte) error {
	if !keyIDPattern.MatchString(id) {
		return fmt.Errorf("payloadcrypt: key id %q must be 1 to 64 letters, digits, '.', '_' or '-'", id)
	}
	if _, dup := r.aeads[id]; dup {
		return fmt.Errorf("payloadcrypt: key id %q appears twice", id)
	}
	if len(key) != KeySize {
		return fmt.Errorf("payloadcrypt: key %q is %d bytes, want %d (AES-256)", id, len(key), KeySize)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return fmt.Errorf("payloadcrypt: key %q: %w", id, err)
	}
	r.aeads[id] = aead
	r.ids = append(r.ids, id)
	return nil
}

func (r *KeyRing) checkCurrent() error {
	if len(r.aeads) == 0 {
		return errors.New("payloadcrypt: the key ring has no keys")
	}
	if _, ok := r.aeads[r.current]; !ok {
		return fmt.Errorf("payloadcrypt: the current key %q is not in the key ring (ids: %s)", r.current, strings.Join(r.ids, ", "))
	}
	return nil
}

// Current is the id of the key that encrypts.
func (r *KeyRing) Current() string { return r.current }

// IDs are the ids of every key in the ring.
func (r *KeyRing) IDs() []string { return slices.Clone(r.ids) }

func (r *KeyRing) aead(id string) (cipher.AEAD, error) {
	a, ok := r.aeads[id]
	if !ok {
		return nil, fmt.Errorf("payloadcrypt: payload encrypted with key %q, which is not in the key ring (have: %s); add that key to HOMEWARD_PAYLOAD_KEYS_FILE or HOMEWARD_PAYLOAD_KEYS", id, strings.Join(r.ids, ", "))
	}
	return a, nil
}

// ParseKeys reads keys written one `id:base64-32-bytes` per entry, entries
// separated by newlines or commas; blank entries and `#` comments are
// ignored. The last key is current unless current names one. source names
// where the text came from in errors, which never contain key material.
func ParseKeys(source, text, current string) (*KeyRing, error) {
	r := &KeyRing{aeads: map[string]cipher.AEAD{}}
	var errs []error
	lines := strings.Split(text, "\n")
	for n, line := range lines {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		for _, entry := range strings.Split(line, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			where := source
			if len(lines) > 1 {
				where = fmt.Sprintf("%s line %d", source, n+1)
			}
			id, enc, ok := strings.Cut(entry, ":")
			id, enc = strings.TrimSpace(id), strings.TrimSpace(enc)
			if !ok || id == "" || enc == "" {
				errs = append(errs, fmt.Errorf("%s: an entry is not id:base64-key (make one with `homeward keys new`)", where))
				continue
			}
			if !keyIDPattern.MatchString(id) {
				errs = append(errs, fmt.Errorf("%s: key id %q must be 1 to 64 letters, digits, '.', '_' or '-'", where, id))
				continue
			}
			key, err := base64.StdEncoding.DecodeString(enc)
			if err != nil {
				key, err = base64.RawStdEncoding.DecodeString(enc)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: key %q is not valid base64", where, id))
				continue
			}
			if len(key) != KeySize {
				errs = append(errs, fmt.Errorf("%s: key %q is %d bytes, want %d (AES-256; make one with `homeward keys new`)", where, id, len(key), KeySize))
				continue
			}
			if err := r.add(id, key); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s", where, strings.TrimPrefix(err.Error(), "payloadcrypt: ")))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(r.ids) == 0 {
		return nil, fmt.Errorf("%s: no keys (make one with `homeward keys new`)", source)
	}
	r.current = current
	if current == "" {
		r.current = r.ids[len(r.ids)-1]
	}
	if err := r.checkCurrent(); err != nil {
		return nil, fmt.Errorf("%s: %s", source, strings.TrimPrefix(err.Error(), "payloadcrypt: "))
	}
	return r, nil
}

// Load reads the key ring from a key file (file) or from inline keys
// (comma separated), the way Homeward's configuration names them
// (HOMEWARD_PAYLOAD_KEYS_FILE, HOMEWARD_PAYLOAD_KEYS,
// HOMEWARD_PAYLOAD_KEY_CURRENT). Both empty gives a nil ring and no error.
func Load(file, inline, current string) (*KeyRing, error) {
	switch {
	case file != "" && inline != "":
		return nil, errors.New("set HOMEWARD_PAYLOAD_KEYS_FILE or HOMEWARD_PAYLOAD_KEYS, not both")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("HOMEWARD_PAYLOAD_KEYS_FILE: %w", err)
		}
		return ParseKeys("HOMEWARD_PAYLOAD_KEYS_FILE "+file, string(b), current)
	case inline != "":
		return ParseKeys("HOMEWARD_PAYLOAD_KEYS", inline, current)
	}
	if current != "" {
		return nil, errors.New("HOMEWARD_PAYLOAD_KEY_CURRENT is set but no keys are (HOMEWARD_PAYLOAD_KEYS_FILE or HOMEWARD_PAYLOAD_KEYS)")
	}
	return nil, nil
}

// NewKeyLine makes a fresh random key as a key-file line, `id:base64`; the
// id is "k" and the date and a random suffix, so ids sort by age.
func NewKeyLine(now time.Time) (string, error) {
	key := make([]byte, KeySize)
	suffix := make([]byte, 3)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	if _, err := rand.Read(suffix); err != nil {
		return "", err
	}
	id := fmt.Sprintf("k%s-%x", now.UTC().Format("20060102"), suffix)
	return id + ":" + base64.StdEncoding.EncodeToString(key), nil
}

// EnsureKeyFile reads the key file at path, first writing one with a fresh
// key (mode 0600) when there is none. It is for `homeward dev`, whose data
// must stay readable across restarts.
func EnsureKeyFile(path string, now time.Time) (ring *KeyRing, created bool, err error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		line, err := NewKeyLine(now)
		if err != nil {
			return nil, false, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, false, err
		}
		content := "# Homeward payload encryption keys, one id:base64 per line; the last is current.\n" +
			"# Losing this file makes the Temporal histories in this data folder unreadable.\n" + line + "\n"
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, false, fmt.Errorf("creating the payload key file: %w", err)
		}
		if _, err := f.WriteString(content); err != nil {
			f.Close()
			return nil, false, fmt.Errorf("writing the payload key file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, false, fmt.Errorf("writing the payload key file: %w", err)
		}
		created = true
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false, err
	}
	ring, err = ParseKeys(path, string(b), "")
	return ring, created, err
}

// WithKey is a copy of the ring with one more key, made current when
// current is true. The ring itself is not changed.
func (r *KeyRing) WithKey(id string, key []byte, current bool) (*KeyRing, error) {
	n := &KeyRing{current: r.current, aeads: map[string]cipher.AEAD{}}
	for _, old := range r.ids {
		n.aeads[old] = r.aeads[old]
		n.ids = append(n.ids, old)
	}
	if err := n.add(id, key); err != nil {
		return nil, err
	}
	if current {
		n.current = id
	}
	return n, nil
}
