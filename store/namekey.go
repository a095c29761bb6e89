package store

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// NameKey is a name as names are compared: Unicode case folding of its
// composed form, spaces collapsed, so "ZOË", "zoë" and "Zoe\u0308" are one
// name and "STRASSE" is "Straße".
func NameKey(name string) string {
	folded := cases.Fold().String(norm.NFC.String(name))
	return norm.NFC.String(strings.Join(strings.Fields(folded), " "))
}

// fillNameKeys computes the name keys of children recorded before they
// were kept (migration 0022), a batch at a time.
func fillNameKeys(ctx context.Context, conn *pgx.Conn) error {
	for {
		rows, err := conn.Query(ctx, "SELECT id::text, first_name, last_name FROM children WHERE first_name_key IS NULL LIMIT 500")
		if err != nil {
			return wrap("migrate: read names to key", err)
		}
		type child struct{ id, first, last string }
		todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (child, error) {
			var c child
			err := r.Scan(&c.id, &c.first, &c.last)
			return c, err
		})
		if err != nil {
			return wrap("migrate: read names to key", err)
		}
		if len(todo) == 0 {
			return nil
		}
		batch := &pgx.Batch{}
		for _, c := range todo {
			batch.Queue("UPDATE children SET first_name_key = $2, last_name_key = $3 WHERE id = $1",
				c.id, NameKey(c.first), NameKey(c.last))
		}
		if err := conn.SendBatch(ctx, batch).Close(); err != nil {
			return wrap("migrate: key names", err)
		}
	}
}
