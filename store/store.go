// Package store holds Homeward's case records in PostgreSQL: the users of
// the service and a projection of every episode workflow that people list,
// search and report on. The Temporal workflows are the source of truth; the
// episode tables are written only by idempotent activities, so every write
// here can be repeated without duplicating a row, and an older snapshot never
// overwrites a newer one.
//
// Errors never carry personal data: values are validated in Go before they
// reach PostgreSQL, and PostgreSQL errors are reported by SQLSTATE and
// constraint only.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	// ErrNotFound is returned when the thing asked for does not exist,
	// including when its id is not even a well-formed uuid.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when a write would break a uniqueness rule,
	// such as a second user with the same email.
	ErrConflict = errors.New("conflict")
	// ErrInvalid is returned when an input can never be stored, such as an
	// episode id that is not a uuid. Retrying will not help.
	ErrInvalid = errors.New("invalid")
	// ErrForbidden is returned when the caller may see a record but may not
	// change it, such as another commissioner's legal hold.
	ErrForbidden = errors.New("forbidden")
)

// Store is the case records database.
type Store struct{ Pool *pgxpool.Pool }

// Open connects to databaseURL and pings it. The error names the host and
// database but never the password.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, fmt.Errorf("store: cannot parse the database URL (%s)", describeURL(databaseURL))
	}
	where := describeConfig(cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	prev := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		if prev != nil {
			if err := prev(ctx, c); err != nil {
				return err
			}
		}
		// Return every instant in UTC.
		c.TypeMap().RegisterType(&pgtype.Type{
			Name: "timestamptz", OID: pgtype.TimestamptzOID,
			Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
		})
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, redact("store: open "+where, err, cfg.ConnConfig.Password)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, redact("store: connect to "+where, err, cfg.ConnConfig.Password)
	}
	return &Store{Pool: pool}, nil
}

// redactedError prints its cause without the password; errors.Is and
// errors.As still see the cause.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redact(prefix string, err error, password string) error {
	return &redactedError{msg: prefix + ": " + safeMessage(err, password), err: err}
}

func describeConfig(host string, port uint16, db string) string {
	if port != 0 {
		host = fmt.Sprintf("%s:%d", host, port)
	}
	return fmt.Sprintf("host %s database %s", host, db)
}

// describeURL names the host and database of a URL that pgx could not
// parse, reading it by hand: url.Parse may have failed too. The user
// information, password included, is dropped.
func describeURL(raw string) string {
	rest := raw
	if i := strings.Index(rest, "://"); i >= 0 {
		rest = rest[i+3:]
	} else {
		return "host and database not shown"
	}
	// Everything up to the last @ goes, whatever characters the password has.
	if i := strings.LastIndex(rest, "@"); i >= 0 {
		rest = rest[i+1:]
	}
	rest, _, _ = strings.Cut(rest, "?")
	hostPart, db, _ := strings.Cut(rest, "/")
	return fmt.Sprintf("host %s database %s", hostPart, db)
}

// safeMessage is err's message with the password, should it appear, removed.
func safeMessage(err error, password string) string {
	msg := err.Error()
	if password != "" {
		msg = strings.ReplaceAll(msg, password, "xxxxx")
		if esc := url.QueryEscape(password); esc != password {
			msg = strings.ReplaceAll(msg, esc, "xxxxx")
		}
	}
	return msg
}

// Close closes the pool.
func (s *Store) Close() { s.Pool.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.Pool.Ping(ctx); err != nil {
		return wrap("ping", err)
	}
	return nil
}

// dbError reports a database error by operation, SQLSTATE and constraint:
// PostgreSQL messages and details can quote the values that failed, which
// may be personal data. The original error stays reachable with errors.As.
type dbError struct {
	op  string
	err error
}

func (e *dbError) Error() string {
	var pg *pgconn.PgError
	if errors.As(e.err, &pg) {
		msg := fmt.Sprintf("store: %s: postgres error %s", e.op, pg.Code)
		if pg.ConstraintName != "" {
			msg += " on constraint " + pg.ConstraintName
		}
		return msg
	}
	return "store: " + e.op + ": " + e.err.Error()
}

func (e *dbError) Unwrap() error { return e.err }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &dbError{op: op, err: err}
}

// isUniqueViolation reports whether err is a unique violation, and on which
// constraint.
func isUniqueViolation(err error) (string, bool) {
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.Code == "23505" {
		return pg.ConstraintName, true
	}
	return "", false
}

// parseID returns the canonical form of a uuid, or false.
func parseID(id string) (string, bool) {
	u, err := uuid.Parse(strings.TrimSpace(id))
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// nullableID is the canonical uuid, or nil for an empty or malformed one.
func nullableID(id string) *string {
	if c, ok := parseID(id); ok {
		return &c
	}
	return nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// pageBounds applies the default and maximum page size.
func pageBounds(limit, offset int) (int, int) {
	switch {
	case limit <= 0:
		limit = 50
	case limit > 200:
		limit = 200
	}
	if offset < 0 {
		offset = 0
	}
	return limit, offset
}
