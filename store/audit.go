package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// AuditEntry is one row of the audit trail: who did what to which episode,
// when, from where and with what outcome. It holds ids, roles, routes,
// addresses and outcomes only, never a child's name, contact details or
// story.
type AuditEntry struct {
	ID             int64     `json:"id"`
	At             time.Time `json:"at"`
	UserID         string    `json:"user_id"`
	Role           string    `json:"role"`
	CommissionerID string    `json:"commissioner_id,omitempty"`
	// Action names what was done, such as "episode.read" or "retention.purge".
	Action string `json:"action"`
	// Resource is what it was done to: a route such as
	// "GET /v1/episodes/:id" (the pattern, never the raw URL) or a table.
	Resource  string `json:"resource"`
	EpisodeID string `json:"episode_id,omitempty"`
	ClientIP  string `json:"client_ip,omitempty"`
	// Outcome is "attempt", "ok", "accepted", "denied", "not_found",
	// "refused", "invalid", "error" or another short word.
	Outcome   string `json:"outcome"`
	Status    int    `json:"status,omitempty"` // HTTP status, when there is one
	RequestID string `json:"request_id,omitempty"`
	PrevHash  []byte `json:"prev_hash"`
	Hash      []byte `json:"hash"`
}

// Querier is what AppendAudit writes through: a pgx.Tx (the row is then
// part of that transaction), a *pgxpool.Pool or a *pgx.Conn (the row is
// committed on its own).
type Querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// auditGenesis is the prev_hash of the first row.
var auditGenesis = make([]byte, sha256.Size)

// Field limits: an audit row is small, whatever a caller passes.
const (
	maxAuditShort = 100
	maxAuditLong  = 300
)

// AppendAudit appends e to the audit trail through q. Only the who, what,
// where and outcome fields of e are used; id and time are set by the
// database. Action and Outcome are required.
//
// Inside a transaction (q is a pgx.Tx) the row commits or rolls back with
// that transaction, so a write and its audit row are never apart. The row
// is inserted unchained, taking no lock, so no request waits for another's
// audit row; ChainAudit gives it its place in the hash chain shortly after.
func AppendAudit(ctx context.Context, q Querier, e AuditEntry) error {
	e, err := normaliseAudit(e)
	if err != nil {
		return err
	}
	if _, err := q.Exec(ctx, `INSERT INTO audit_log
		(at, user_id, role, commissioner_id, action, resource, episode_id, client_ip, outcome, status, request_id)
		VALUES (clock_timestamp(), $1, $2, NULLIF($3, ''), $4, $5, $6, $7, $8, $9, $10)`,
		e.UserID, e.Role, e.CommissionerID, e.Action, e.Resource, nullableID(e.EpisodeID),
		e.ClientIP, e.Outcome, e.Status, e.RequestID); err != nil {
		return wrap("audit: append", err)
	}
	return nil
}

// AppendAudit appends e in a transaction of its own; see AppendAudit.
func (s *Store) AppendAudit(ctx context.Context, e AuditEntry) error {
	return AppendAudit(ctx, s.Pool, e)
}

func normaliseAudit(e AuditEntry) (AuditEntry, error) {
	clip := func(s string, n int) string {
		s = strings.TrimSpace(s)
		if len(s) > n {
			s = s[:n]
		}
		return strings.ToValidUTF8(s, "")
	}
	e.UserID = clip(e.UserID, maxAuditShort)
	e.Role = clip(e.Role, maxAuditShort)
	e.CommissionerID = clip(e.CommissionerID, maxAuditShort)
	e.Action = clip(e.Action, maxAuditShort)
	e.Resource = clip(e.Resource, maxAuditLong)
	e.ClientIP = clip(e.ClientIP, maxAuditShort)
	e.Outcome = clip(e.Outcome, maxAuditShort)
	e.RequestID = clip(e.RequestID, maxAuditShort)
	// The column is a uuid: keep its canonical text, or none.
	if id, ok := parseID(e.EpisodeID); ok {
		e.EpisodeID = id
	} else {
		e.EpisodeID = ""
	}
	if e.Action == "" || e.Outcome == "" {
		return e, fmt.Errorf("store: audit: %w: action and outcome are required", ErrInvalid)
	}
	return e, nil
}

// auditHash is sha256(prev || the canonical encoding of e): every field is
// length-prefixed, instants are microseconds since the epoch.
func auditHash(prev []byte, e AuditEntry) []byte {
	var b bytes.Buffer
	b.Write(prev)
	b.WriteString("homeward-audit-v1")
	num := func(v int64) { _ = binary.Write(&b, binary.BigEndian, v) }
	str := func(s string) {
		num(int64(len(s)))
		b.WriteString(s)
	}
	num(e.ID)
	num(e.At.UnixMicro())
	for _, s := range []string{e.UserID, e.Role, e.CommissionerID, e.Action, e.Resource,
		e.EpisodeID, e.ClientIP, e.Outcome, e.RequestID} {
		str(s)
	}
	num(int64(e.Status))
	sum := sha256.Sum256(b.Bytes())
	return sum[:]
}

const auditColumns = `id, at, user_id, role, COALESCE(commissioner_id, ''), action, resource,
	COALESCE(episode_id::text, ''), client_ip, outcome, status, request_id, prev_hash, hash`

func scanAudit(row pgx.Row) (AuditEntry, error) {
	var e AuditEntry
	err := row.Scan(&e.ID, &e.At, &e.UserID, &e.Role, &e.CommissionerID, &e.Action, &e.Resource,
		&e.EpisodeID, &e.ClientIP, &e.Outcome, &e.Status, &e.RequestID, &e.PrevHash, &e.Hash)
	e.At = e.At.UTC()
	return e, err
}

// AuditFilter selects audit rows; zero fields select everything.
type AuditFilter struct {
	EpisodeID string
	UserID    string
	// CommissionerID keeps the rows of that commissioner's staff and of its
	// episodes, whoever acted on them.
	CommissionerID string
	From, To       time.Time // From inclusive, To exclusive
	Limit          int       // default 50, at most 200
	Offset         int
}

// ListAudit returns the audit rows that match f, newest first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]AuditEntry, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.EpisodeID != "" {
		id, ok := parseID(f.EpisodeID)
		if !ok {
			return nil, fmt.Errorf("store: list audit: %w: episode id is not a uuid", ErrInvalid)
		}
		where = append(where, "episode_id = "+arg(id))
	}
	if f.UserID != "" {
		where = append(where, "user_id = "+arg(strings.TrimSpace(f.UserID)))
	}
	if f.CommissionerID != "" {
		id, ok := parseID(f.CommissionerID)
		if !ok {
			return nil, fmt.Errorf("store: list audit: %w: commissioner id is not a uuid", ErrInvalid)
		}
		a := arg(id)
		where = append(where, "(commissioner_id = "+a+" OR episode_id IN (SELECT id FROM episodes WHERE commissioner_id = "+a+"::uuid))")
	}
	if !f.From.IsZero() {
		where = append(where, "at >= "+arg(f.From.UTC()))
	}
	if !f.To.IsZero() {
		where = append(where, "at < "+arg(f.To.UTC()))
	}
	f.Limit, f.Offset = pageBounds(f.Limit, f.Offset)
	q := `SELECT ` + auditColumns + ` FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC LIMIT " + arg(f.Limit) + " OFFSET " + arg(f.Offset)
	rows, err := s.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, wrap("list audit", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, wrap("list audit", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list audit", err)
	}
	return out, nil
}
