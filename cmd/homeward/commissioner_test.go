package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"homeward/internal/pglocal"
	"homeward/store"
)

func TestCommissionerAddAndUserAddCommissioner(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dbURL := pglocal.NewTestDatabase(t)

	if code, out := homeward(t, dbURL, "commissioner add --name Aldershire"); code != 0 || !strings.Contains(out, "Created commissioner Aldershire") {
		t.Fatalf("commissioner add: exit %d: %s", code, out)
	}
	if code, out := homeward(t, dbURL, "commissioner add --name aldershire"); code != 1 || !strings.Contains(out, "already exists") {
		t.Fatalf("commissioner add again: exit %d: %s", code, out)
	}
	if code, out := homeward(t, dbURL, "commissioner add"); code != 1 || !strings.Contains(out, "--name is required") {
		t.Fatalf("commissioner add without a name: exit %d: %s", code, out)
	}
	// --commissioner names an existing commissioner or creates it.
	for _, c := range []struct{ email, commissioner string }{
		{"a@example.org", "Aldershire"}, {"b@example.org", "Bexton"}, {"p@example.org", ""},
	} {
		args := "user add --name Staff --email " + c.email + " --role manager"
		if c.commissioner != "" {
			args += " --commissioner " + c.commissioner
		}
		if code, out := homeward(t, dbURL, args); code != 0 || !strings.Contains(out, "hw_") {
			t.Fatalf("%s: exit %d: %s", args, code, out)
		}
	}

	st, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := map[string]string{}
	rows, err := st.Pool.Query(ctx, `SELECT u.email, COALESCE(c.name, '') FROM users u LEFT JOIN commissioners c ON c.id = u.commissioner_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var email, name string
		if err := rows.Scan(&email, &name); err != nil {
			t.Fatal(err)
		}
		got[email] = name
	}
	if got["a@example.org"] != "Aldershire" || got["b@example.org"] != "Bexton" || got["p@example.org"] != "" || len(got) != 3 {
		t.Errorf("users' commissioners = %v", got)
	}
}
