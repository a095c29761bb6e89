package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"homeward/store"
)

// PurgeExpiredInput is the retention policy to apply and the batch size.
type PurgeExpiredInput struct {
	Policy    store.RetentionPolicy `json:"policy"`
	BatchSize int                   `json:"batch_size"`
}

// PurgeExpiredResult is what the purge did, and when it counted from.
type PurgeExpiredResult struct {
	store.PurgeCounts
	At time.Time `json:"at"`
}

// PurgeExpired removes or anonymises the case records past retention (see
// store.RetentionPolicy), batch by batch, each batch in its own
// transaction with its audit entries. It heartbeats after every batch. It
// is idempotent: a retry, or a second run, finds nothing more to do than
// what is still left.
func (a *Activities) PurgeExpired(ctx context.Context, in PurgeExpiredInput) (PurgeExpiredResult, error) {
	now := a.now()
	heartbeat := func(c store.PurgeCounts) {
		if activity.IsActivity(ctx) {
			activity.RecordHeartbeat(ctx, c)
		}
	}
	counts, err := a.Store.PurgeExpired(ctx, now, in.Policy, in.BatchSize, heartbeat)
	if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			return PurgeExpiredResult{}, temporal.NewNonRetryableApplicationError(
				"the retention policy is not valid", "InvalidRetentionPolicy", err)
		}
		// What committed so far stays done; the retry carries on from there.
		a.logger().Warn("Retention purge stopped", "episodes_purged", counts.EpisodesPurged,
			"children_removed", counts.ChildrenRemoved, "notes_anonymised", counts.NotesAnonymised,
			"deliveries_removed", counts.DeliveriesRemoved, "people_of_concern_removed", counts.PeopleRemoved, "error", err)
		return PurgeExpiredResult{}, fmt.Errorf("retention purge: %w", err)
	}
	a.logger().Info("Retention purge done", "episodes_purged", counts.EpisodesPurged,
		"children_removed", counts.ChildrenRemoved, "notes_anonymised", counts.NotesAnonymised,
		"deliveries_removed", counts.DeliveriesRemoved, "people_of_concern_removed", counts.PeopleRemoved)
	return PurgeExpiredResult{PurgeCounts: counts, At: now}, nil
}
