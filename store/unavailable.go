package store

import (
	"errors"
	"io"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable reports whether err means PostgreSQL could not be reached,
// dropped the connection or is shutting down or overloaded: the same
// request may succeed a little later. Errors about the request itself
// (constraints, bad values) are not.
func Unavailable(err error) bool {
	if err == nil {
		return false
	}
	var (
		connect *pgconn.ConnectError
		pg      *pgconn.PgError
	)
	switch {
	case errors.As(err, &connect), pgconn.Timeout(err),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return true
	case errors.As(err, &pg):
		// 08: connection exception; 53: insufficient resources (too many
		// connections, disk full); 57P: admin or crash shutdown, cannot
		// connect now.
		return strings.HasPrefix(pg.Code, "08") || strings.HasPrefix(pg.Code, "53") || strings.HasPrefix(pg.Code, "57P")
	}
	return false
}
