package store_test

import (
	"testing"

	"homeward/store"
)

func TestNameKeyFoldsCaseAndForm(t *testing.T) {
	for _, same := range [][2]string{{"ZOË", "Zoë"}, {"łukasz", "Łukasz"}, {"Noe\u0308l", "NOËL"}, {"Straße", "STRASSE"}, {" Ó  Briain ", "ó briain"}} {
		if a, b := store.NameKey(same[0]), store.NameKey(same[1]); a != b {
			t.Errorf("NameKey(%q) = %q, NameKey(%q) = %q: want one name", same[0], a, same[1], b)
		}
	}
	if store.NameKey("Zoë") == store.NameKey("Zoe") {
		t.Error("Zoë and Zoe are different names")
	}
}

// Children recorded before names were keyed get their keys when the
// migrations run again.
func TestMigrateKeysTheNamesOfEarlierChildren(t *testing.T) {
	t.Parallel()
	s := openRaw(t)
	ctx := ctxT(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool.Exec(ctx, `INSERT INTO children (id, first_name, last_name)
		VALUES ('00000000-0000-4000-8000-000000000022', 'ŁUKASZ', 'Żuraw')`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var first, last *string
	if err := s.Pool.QueryRow(ctx, "SELECT first_name_key, last_name_key FROM children").Scan(&first, &last); err != nil {
		t.Fatal(err)
	}
	if first == nil || last == nil || *first != "łukasz" || *last != "żuraw" {
		t.Errorf("keys %v %v, want łukasz żuraw", first, last)
	}
}
