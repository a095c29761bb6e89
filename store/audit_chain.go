package store

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// The audit chain is built behind the requests: AppendAudit inserts a row
// without hashes, and ChainAudit, run about every 200 ms by the chainer,
// gives each unchained row, lowest id first, the next place in the chain
// (chain_pos) with prev_hash and hash, under the audit_head row lock. Only
// the chainer takes that lock, so requests never queue on it.
//
// Rows are chained in the order the chainer sees them committed. Ids come
// from a sequence and may commit out of order (a transaction holding id 5
// can commit after the one holding id 6); a row that commits late is not
// skipped or refused but chained after those already chained. That needs
// no guess at how long a transaction may stay open (a grace period) and no
// reasoning about transaction ids; verification walks chain_pos instead of
// id (migration 0020).

// AuditStaleAfter is how long a row may stay unchained before VerifyAudit
// counts it as a failure: the chainer is meant to chain it within a second.
const AuditStaleAfter = time.Minute

// auditChainBatch bounds the rows one ChainAudit transaction chains.
const auditChainBatch = 1000

// ChainAudit chains up to limit unchained rows (auditChainBatch when limit
// <= 0) and says how many it chained.
func (s *Store) ChainAudit(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		limit = auditChainBatch
	}
	var n int
	err := pgx.BeginFunc(ctx, s.Pool, func(tx pgx.Tx) error {
		var pos int64
		var prev []byte
		// Chainers in other processes wait here and then see what this one
		// chained.
		if err := tx.QueryRow(ctx, `SELECT last_pos, last_hash FROM audit_head FOR UPDATE`).Scan(&pos, &prev); err != nil {
			return wrap("audit chain: lock chain head", err)
		}
		rows, err := tx.Query(ctx, `SELECT `+auditColumns+` FROM audit_log
			WHERE hash IS NULL ORDER BY id LIMIT $1`, limit)
		if err != nil {
			return wrap("audit chain: read unchained rows", err)
		}
		entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) { return scanAudit(r) })
		if err != nil {
			return wrap("audit chain: read unchained rows", err)
		}
		if len(entries) == 0 {
			return nil
		}
		ids, prevs, hashes, places := make([]int64, len(entries)), make([][]byte, len(entries)), make([][]byte, len(entries)), make([]int64, len(entries))
		for i, e := range entries {
			pos++
			ids[i], prevs[i], places[i] = e.ID, prev, pos
			prev = auditHash(prev, e)
			hashes[i] = prev
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_log a SET prev_hash = u.prev, hash = u.hash, chain_pos = u.pos
			FROM unnest($1::bigint[], $2::bytea[], $3::bytea[], $4::bigint[]) AS u(id, prev, hash, pos)
			WHERE a.id = u.id`, ids, prevs, hashes, places); err != nil {
			return wrap("audit chain: chain rows", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_head SET last_pos = $1, last_hash = $2, last_id = $3`, pos, prev, ids[len(ids)-1]); err != nil {
			return wrap("audit chain: move chain head", err)
		}
		n = len(entries)
		return nil
	})
	return n, err
}

// AuditChainer chains the audit trail in the background until stopped.
type AuditChainer struct {
	stop context.CancelFunc
	done sync.WaitGroup
}

// auditChainEvery is how often the chainer looks for unchained rows.
const auditChainEvery = 200 * time.Millisecond

// StartAuditChainer starts chaining the audit trail every 200 ms. Stop it
// with Stop, which makes a last pass.
func (s *Store) StartAuditChainer(log *slog.Logger) *AuditChainer {
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &AuditChainer{stop: cancel}
	c.done.Add(1)
	go func() {
		defer c.done.Done()
		tick := time.NewTicker(auditChainEvery)
		defer tick.Stop()
		failing := false
		for {
			select {
			case <-ctx.Done():
				s.chainAll(context.Background(), log)
				return
			case <-tick.C:
			}
			err := s.chainAll(ctx, log)
			if err != nil && !failing && ctx.Err() == nil {
				log.Warn("Audit rows not chained yet; retrying", "error", err)
			}
			failing = err != nil
		}
	}()
	return c
}

// chainAll chains batches until none is left.
func (s *Store) chainAll(ctx context.Context, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		n, err := s.ChainAudit(ctx, auditChainBatch)
		if err != nil || n < auditChainBatch {
			return err
		}
	}
}

// Stop stops the chainer after a last pass and waits for it.
func (c *AuditChainer) Stop() {
	c.stop()
	c.done.Wait()
}

// AuditCheck is what VerifyAudit found.
type AuditCheck struct {
	Rows int64 // chained rows walked
	// Unchained counts rows not given their place in the chain yet;
	// Stale those of them older than AuditStaleAfter.
	Unchained, Stale int64
	OK               bool
	// Stalled: the chain is intact but FirstBroken is a row left unchained
	// past AuditStaleAfter.
	Stalled bool
	// FirstBroken is the id of the first row at which the chain breaks (or
	// the oldest stale unchained row), and Reason says how; both empty when
	// OK.
	FirstBroken int64
	Reason      string
}

// VerifyAudit walks the chained audit trail in chain order, one row at a
// time, and checks that each row's prev_hash is the hash of the row before,
// that each row's hash matches its contents, and that the chain ends where
// its head says. A row edited in place breaks at that row; a row deleted
// breaks at the row after it; a row inserted breaks at it (or at the row
// after, if it was hashed as a forger would); rows removed from the end
// break at the head's row. Rows not chained yet are counted; one older than
// AuditStaleAfter is a failure, and a row with a hash but no place in the
// chain was inserted. It reads one snapshot, so appends made meanwhile do
// not disturb it.
func (s *Store) VerifyAudit(ctx context.Context) (AuditCheck, error) {
	var res AuditCheck
	err := pgx.BeginTxFunc(ctx, s.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var w chainWalk
		if err := tx.QueryRow(ctx, `SELECT last_pos, last_hash, last_id FROM audit_head`).Scan(&w.headPos, &w.headHash, &w.headID); err != nil {
			return wrap("audit verify: read chain head", err)
		}
		rows, err := tx.Query(ctx, `SELECT `+auditColumns+`, chain_pos, clock_timestamp() - at > $1 FROM audit_log
			ORDER BY chain_pos NULLS LAST, id`, AuditStaleAfter)
		if err != nil {
			return wrap("audit verify: read", err)
		}
		defer rows.Close()
		w.start()
		for rows.Next() {
			var e AuditEntry
			var pos *int64
			var stale bool
			err := rows.Scan(&e.ID, &e.At, &e.UserID, &e.Role, &e.CommissionerID, &e.Action, &e.Resource,
				&e.EpisodeID, &e.ClientIP, &e.Outcome, &e.Status, &e.RequestID, &e.PrevHash, &e.Hash, &pos, &stale)
			if err != nil {
				return wrap("audit verify: read row", err)
			}
			e.At = e.At.UTC()
			w.row(e, pos, stale)
		}
		if err := rows.Err(); err != nil {
			return wrap("audit verify: read", err)
		}
		res = w.finish()
		return nil
	})
	if err != nil {
		return AuditCheck{}, err
	}
	return res, nil
}

// chainWalk checks rows in chain order, then the unchained ones.
type chainWalk struct {
	headPos  int64
	headID   int64 // the id of the row at the head
	headHash []byte
	prev     []byte
	prevID   int64
	prevPos  int64
	staleID  int64
	ended    bool // the chained rows are behind, and the head checked
	res      AuditCheck
}

func (w *chainWalk) start() {
	w.prev, w.res.OK = auditGenesis, true
}

func (w *chainWalk) broken(id int64, reason string) {
	if w.res.OK {
		w.res.OK, w.res.FirstBroken, w.res.Reason = false, id, reason
	}
}

func (w *chainWalk) row(e AuditEntry, pos *int64, stale bool) {
	if pos == nil {
		w.endChain()
		w.unchained(e, stale)
		return
	}
	w.res.Rows++
	if !w.res.OK {
		return // count the rest
	}
	switch {
	case !bytes.Equal(e.PrevHash, w.prev):
		if w.prevID == 0 {
			w.broken(e.ID, "it does not start the chain: rows before it were removed or it was inserted")
		} else {
			w.broken(e.ID, fmt.Sprintf("its prev_hash is not the hash of row %d: a row between them was removed, or one of them was inserted or altered", w.prevID))
		}
	case !bytes.Equal(auditHash(e.PrevHash, e), e.Hash):
		w.broken(e.ID, "its contents do not match its hash: the row was altered")
	case *pos > w.headPos:
		w.broken(e.ID, fmt.Sprintf("it lies beyond the chain head (place %d): it was inserted", w.headPos))
	}
	w.prev, w.prevID, w.prevPos = e.Hash, e.ID, *pos
}

func (w *chainWalk) unchained(e AuditEntry, stale bool) {
	if e.Hash != nil || e.PrevHash != nil {
		w.broken(e.ID, "it has a hash but no place in the chain: it was inserted")
		return
	}
	w.res.Unchained++
	if stale {
		w.res.Stale++
		if w.staleID == 0 {
			w.staleID = e.ID
		}
	}
}

// endChain checks that the chain ends at its head, once.
func (w *chainWalk) endChain() {
	if w.ended {
		return
	}
	w.ended = true
	if !w.res.OK || (w.prevPos == w.headPos && bytes.Equal(w.prev, w.headHash)) {
		return
	}
	if w.prevPos < w.headPos {
		w.broken(w.headID, fmt.Sprintf("the chain head names row %d but the chain ends at row %d: rows were removed from the end", w.headID, w.prevID))
		return
	}
	w.broken(w.headID, "the chain head's hash does not match that row: the head or the row was altered")
}

func (w *chainWalk) finish() AuditCheck {
	w.endChain()
	if w.res.OK && w.staleID != 0 {
		w.res.Stalled = true
		w.broken(w.staleID, fmt.Sprintf("%d rows are not chained more than %s after they were written: is the audit chainer running?", w.res.Stale, AuditStaleAfter))
	}
	return w.res
}
