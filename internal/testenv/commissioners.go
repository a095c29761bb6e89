package testenv

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"

	"homeward/store"
)

// newCommissioner creates a commissioner named name.
func newCommissioner(t testing.TB, st *store.Store, name string) store.Commissioner {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := st.CreateCommissioner(ctx, name)
	if err != nil {
		t.Fatalf("testenv: create commissioner: %v", err)
	}
	return c
}

// placeUser makes u work for commissionerID ("" for the provider).
func placeUser(t testing.TB, st *store.Store, u store.User, commissionerID string) store.User {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := st.SetUserCommissioner(ctx, u.ID, commissionerID); err != nil {
		t.Fatalf("testenv: place user: %v", err)
	}
	u.CommissionerID = commissionerID
	return u
}

// AddCommissioner adds another commissioner.
func (e *Env) AddCommissioner(t testing.TB, name string) store.Commissioner {
	t.Helper()
	return newCommissioner(t, e.Store, name)
}

// AddUserIn adds an active user with role who works for commissionerID,
// or for the provider (every commissioner) when it is "".
func (e *Env) AddUserIn(t testing.TB, role store.Role, commissionerID string) (store.User, string) {
	t.Helper()
	u, token := e.AddUser(t, role)
	return placeUser(t, e.Store, u, commissionerID), token
}

// Codec is the payload codec an API built in a test needs to read the
// memo of the Env's workflows (nil when payloads are plaintext).
func (e *Env) Codec() converter.PayloadCodec { return codecOf(e.KeyRing) }
