package mail

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// maxFileStem bounds the readable part of an outbox file name; the whole
// name stays well under the usual 255-byte limit.
const maxFileStem = 150

// Outbox is a Sender that writes each message as an .eml file
// (RFC 5322, CRLF line endings) into a directory instead of sending it.
// It is safe for concurrent use.
type Outbox struct {
	dir  string
	from string
}

var _ Sender = (*Outbox)(nil)

// NewOutbox returns an Outbox writing into dir, which is created (0o750,
// with parents) if missing. from is the default sender address (required).
func NewOutbox(dir, from string) (*Outbox, error) {
	dir = strings.TrimSpace(dir)
	if dir == "" {
		return nil, errors.New("mail: outbox directory is empty")
	}
	from, err := parseFrom(from)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("mail: outbox directory %q: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("mail: creating outbox directory: %w", err)
	}
	return &Outbox{dir: abs, from: from}, nil
}

// Dir returns the (absolute) outbox directory.
func (o *Outbox) Dir() string { return o.dir }

// Path returns the file that a message with the given Message-ID is (or
// would be) written to.
func (o *Outbox) Path(messageID string) (string, error) {
	id, err := normaliseMessageID(messageID)
	if err != nil {
		return "", err
	}
	return filepath.Join(o.dir, fileNameFor(id)), nil
}

// Send renders m and writes it to <dir>/<sanitised Message-ID>.eml
// atomically (temporary file in the same directory, fsync, rename). Sending
// the same Message-ID again replaces the file, so there is always exactly
// one file per Message-ID.
func (o *Outbox) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: outbox write not attempted: %w", err)
	}
	msg, id, err := buildMsg(m, o.from, time.Now())
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		return fmt.Errorf("mail: rendering <%s>: %w", id, err)
	}
	final := filepath.Join(o.dir, fileNameFor(id))
	if err := writeFileAtomic(final, buf.Bytes()); err != nil {
		return fmt.Errorf("mail: writing <%s> to outbox: %w", id, err)
	}
	return nil
}

// fileNameFor maps a validated Message-ID to a file name. Characters other
// than [A-Za-z0-9._@+=-] become '_'; when anything had to be replaced or
// cut, a hash of the full id is appended so distinct ids never share a file.
func fileNameFor(id string) string {
	var b strings.Builder
	changed := false
	for _, r := range id {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '.', r == '_', r == '@', r == '+', r == '=', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
			changed = true
		}
	}
	stem := b.String()
	if len(stem) > maxFileStem {
		stem = stem[:maxFileStem]
		changed = true
	}
	if changed {
		sum := sha256.Sum256([]byte(id))
		stem += "-" + hex.EncodeToString(sum[:8])
	}
	return stem + ".eml"
}

func writeFileAtomic(final string, data []byte) (err error) {
	dir := filepath.Dir(final)
	tmp, err := os.CreateTemp(dir, ".tmp-*.eml")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(0o640); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), final); err != nil {
		return err
	}
	// Persist the rename; best effort (not supported everywhere).
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
