package api

import (
	"testing"
	"time"
)

// TestUserLimiterMemory: the limiter forgets idle users and never holds
// more than its maximum, so many users (or many tokens) cannot grow it.
func TestUserLimiterMemory(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newUserLimiter(1, 2, 10*time.Minute, 3)
	// Distinct instants: with a tie, either user would rightly be forgotten.
	for i, u := range []string{"a", "b", "c"} {
		if _, ok := l.allow(u, t0.Add(time.Duration(i)*time.Millisecond)); !ok {
			t.Fatalf("%s limited on its first request", u)
		}
	}
	if l.size() != 3 {
		t.Fatalf("size %d, want 3", l.size())
	}
	// Full of active users: a new one replaces the longest idle.
	l.allow("a", t0.Add(time.Second))
	l.allow("d", t0.Add(2*time.Second))
	if l.size() != 3 {
		t.Fatalf("size %d after a 4th user, want at most 3", l.size())
	}
	if _, kept := l.users["b"]; kept {
		t.Fatalf("the longest idle user b was not the one forgotten")
	}
	// Everyone idle past 10 minutes is swept on the next request.
	l.allow("e", t0.Add(20*time.Minute))
	if l.size() != 1 {
		t.Fatalf("size %d after everyone went idle, want 1", l.size())
	}
}

func TestUserLimiterRate(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newUserLimiter(2, 3, 10*time.Minute, 100)
	for i := 0; i < 3; i++ {
		if _, ok := l.allow("a", t0); !ok {
			t.Fatalf("request %d limited within the burst", i)
		}
	}
	wait, ok := l.allow("a", t0)
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("4th request: ok %v wait %s; want limited for about 0.5s", ok, wait)
	}
	// A refused request takes no token: after 0.5s one is there.
	if _, ok := l.allow("a", t0.Add(500*time.Millisecond)); !ok {
		t.Fatalf("limited after the bucket refilled")
	}
	if _, ok := l.allow("b", t0); !ok {
		t.Fatalf("another user limited by the first")
	}
}

func TestNULField(t *testing.T) {
	cases := map[string]string{
		`{"notes": "a\u0000b"}`:                         "notes",
		`{"child": {"first_name": "\u0000"}}`:           "child.first_name",
		`{"a": 1, "b": [1, {"c": "x"}], "d": "\u0000"}`: "d",
		`{"contact": {"carers": [{"name": "\u0000"}]}}`: "contact.carers.name",
		`"\u0000"`:                         "body",
		`{"k\u0000": 1}`:                   "body",
		`{"x": {"y": 1}, "z": ["\u0000"]}`: "z",
	}
	for in, want := range cases {
		got, ok := nulField([]byte(in))
		if !ok || got != want {
			t.Errorf("nulField(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{`{"notes": "\\u0000"}`, `{"a": "b"}`, `{"a": "\u0000`} {
		if got, ok := nulField([]byte(in)); ok {
			t.Errorf("nulField(%s) = %q, want none", in, got)
		}
	}
}
