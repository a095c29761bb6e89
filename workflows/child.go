package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"homeward/activities"
	"homeward/episode"
)

// childRecord counts one child's episodes and calls a strategy meeting
// when n of them open within the window (each commissioner's protocol; 3
// in 30 days by default). One workflow per child receives every opening in
// order, so referrals that arrive together can neither both miss the
// trigger nor both fire it. It ends when no window can fill any more, and
// the next opening starts it again.
type childRecord struct {
	childID  string
	openings []activities.ChildOpening
	sending  int
}

// ChildRecord is the workflow of one child's record.
func ChildRecord(ctx workflow.Context, in activities.ChildRecordInput) error {
	c := &childRecord{childID: in.ChildID, openings: in.Openings}
	ch := workflow.GetSignalChannel(ctx, activities.SignalEpisodeOpened)
	window := episode.DefaultRepeatWindow
	for {
		var ev activities.EpisodeOpened
		if c.receive(ctx, ch, &ev, c.idleFor(workflow.Now(ctx), window)) {
			_, window = repeatRule(ev)
			c.note(ctx, ev)
			if workflow.GetInfo(ctx).GetCurrentHistoryLength() < continueAfterEvents {
				continue
			}
		}
		// Ending, or continuing as new: once the emails are sent, and only
		// when no opening is waiting to be counted.
		if err := workflow.Await(ctx, func() bool { return c.sending == 0 || ch.Len() > 0 }); err != nil {
			return err
		}
		if ch.Len() > 0 || c.sending > 0 {
			continue
		}
		if c.idleFor(workflow.Now(ctx), window) > 0 {
			return workflow.NewContinueAsNewError(ctx, ChildRecord, activities.ChildRecordInput{ChildID: c.childID, Openings: c.openings})
		}
		return nil
	}
}

// receive waits up to idle for the next opening; a record that has
// counted nothing yet (it is started with its first opening) waits for it.
func (c *childRecord) receive(ctx workflow.Context, ch workflow.ReceiveChannel, ev *activities.EpisodeOpened, idle time.Duration) bool {
	if len(c.openings) == 0 {
		ch.Receive(ctx, ev)
		return true
	}
	if idle <= 0 {
		return ch.ReceiveAsync(ev)
	}
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	received := false
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(ch, func(r workflow.ReceiveChannel, _ bool) { r.Receive(ctx, ev); received = true })
	sel.AddFuture(workflow.NewTimer(tctx, idle), func(workflow.Future) {})
	sel.Select(ctx)
	return received
}

func repeatRule(ev activities.EpisodeOpened) (int, time.Duration) {
	return episode.Policy{RepeatEpisodes: ev.RepeatEpisodes, RepeatWindow: ev.RepeatWindow}.RepeatRule()
}

// idleFor is how long the record must stay to see every window that its
// openings can still fill: until the latest opening is a window old.
func (c *childRecord) idleFor(now time.Time, window time.Duration) time.Duration {
	var latest time.Time
	for _, o := range c.openings {
		if o.OpenedAt.After(latest) {
			latest = o.OpenedAt
		}
	}
	if latest.IsZero() {
		return 0
	}
	return latest.Add(window).Sub(now)
}

// note counts the opening (once) and, when n episodes not yet counted
// towards a meeting fall within the window that ends with this one, raises
// the repeat_missing escalation for this episode and marks them counted.
func (c *childRecord) note(ctx workflow.Context, ev activities.EpisodeOpened) {
	for _, o := range c.openings {
		if o.EpisodeID == ev.EpisodeID {
			return
		}
	}
	n, window := repeatRule(ev)
	c.openings = append(c.openings, activities.ChildOpening{EpisodeID: ev.EpisodeID, Reference: ev.Reference, OpenedAt: ev.OpenedAt.UTC()})
	since := ev.OpenedAt.Add(-window)
	var inWindow, uncounted []int
	kept := c.openings[:0:0]
	for _, o := range c.openings {
		if !o.OpenedAt.After(since) {
			continue // too old to count towards any window to come
		}
		kept = append(kept, o)
		inWindow = append(inWindow, len(kept)-1)
		if !o.Counted {
			uncounted = append(uncounted, len(kept)-1)
		}
	}
	c.openings = kept
	if len(uncounted) < n {
		return
	}
	for _, i := range uncounted {
		c.openings[i].Counted = true
	}
	days := int(window / (24 * time.Hour))
	c.raise(ctx, ev, episode.Escalation{
		Kind:        episode.EscalationRepeatMissing,
		Reason:      fmt.Sprintf("%d episodes opened within %d days", len(inWindow), days),
		DueAt:       ev.OpenedAt.UTC(),
		TriggeredAt: workflow.Now(ctx).UTC(),
	})
}

// raise emails the managers of the episode's commissioner, for as long as
// it takes; each gets it once (keyed by the episode and the kind).
func (c *childRecord) raise(ctx workflow.Context, ev activities.EpisodeOpened, e episode.Escalation) {
	c.sending++
	in := activities.SendEscalationInput{EpisodeID: ev.EpisodeID, Reference: ev.Reference, Escalation: e, CommissionerID: ev.CommissionerID}
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { c.sending-- }()
		deliverEscalation(ctx, in, func(error) bool { return false })
	})
}
