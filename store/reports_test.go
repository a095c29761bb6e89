package store_test

import (
	"errors"
	"testing"

	"homeward/store"
)

// TestReturnReportReadScopes: a report is read under row-level security by
// the provider's staff, and by a commissioner's officers only for their
// commissioner's episodes (through the store's login, scoped in SQL), once
// it was sent to them.
func TestReturnReportReadScopes(t *testing.T) {
	f := newRLSFixture(t)
	ctx := ctxT(t)
	for _, ep := range []string{f.epA, f.epB} {
		if err := f.s.SaveReturnReport(ctx, store.ReturnReport{EpisodeID: ep, Version: 1, PDF: []byte("%PDF"), HTML: "<p>r</p>", ProducedAt: t0}); err != nil {
			t.Fatal(err)
		}
	}
	aOff := userIn(t, f.s, "a.off@example.org", store.RoleCommissionerOfficer, f.a.ID)
	// Before it is sent to them, an officer cannot read it; the staff can.
	if _, err := f.s.ReturnReportFor(ctx, aOff, f.epA); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("A's officer, report not sent yet: err = %v, want ErrNotFound", err)
	}
	for _, ep := range []string{f.epA, f.epB} {
		if err := f.s.MarkReturnReportSent(ctx, ep, t0); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		caller store.Caller
		ep     string
		reads  bool
	}{
		{"A's officer, A's episode", aOff, f.epA, true},
		{"A's officer, B's episode", aOff, f.epB, false},
		{"A's coordinator, A's episode", f.aCoord, f.epA, true},
		{"A's coordinator, B's episode", f.aCoord, f.epB, false},
		{"A's interviewer assigned", f.aIv, f.epA, true},
		{"A's interviewer not assigned", f.aIv2, f.epA, false},
		{"provider", provider, f.epB, true},
	}
	for _, c := range cases {
		r, err := f.s.ReturnReportFor(ctx, c.caller, c.ep)
		switch {
		case c.reads && (err != nil || string(r.PDF) != "%PDF" || r.Reference == ""):
			t.Errorf("%s: %+v, %v; want the report", c.name, r, err)
		case !c.reads && !errors.Is(err, store.ErrNotFound):
			t.Errorf("%s: err = %v, want ErrNotFound", c.name, err)
		}
	}
}
