package web

import (
	"testing"
	"time"

	"homeward/store"
)

// My episodes lists the next contact due first; episodes with none keep
// the API's order after them.
func TestMineNextContactFirst(t *testing.T) {
	now := time.Now()
	row := func(ref string, due time.Duration) mineRow {
		r := mineRow{boardRow: boardRow{EpisodeSummary: store.EpisodeSummary{Reference: ref}}}
		if due != 0 {
			r.EpisodeSummary.NextContact = &store.NextContactSummary{Method: "phone", DueAt: now.Add(due)}
		}
		return r
	}
	rows := []mineRow{row("A", 0), row("B", 5*time.Hour), row("C", 0), row("D", -time.Hour), row("E", time.Hour)}
	sortByNextContact(rows)
	got := ""
	for _, r := range rows {
		got += r.Reference
	}
	if got != "DEBAC" {
		t.Fatalf("order %s, want DEBAC", got)
	}
}
