// Package activities holds the side effects of an episode: writing the case
// records and sending emails. Each activity is idempotent, because Temporal
// may run it more than once.
package activities

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/sdk/client"

	"homeward/episode"
	"homeward/mail"
	"homeward/store"
)

// Activities holds what the activities depend on.
type Activities struct {
	Store    *store.Store
	Mailer   mail.Sender
	Clock    func() time.Time
	BaseURL  string         // links in emails point here
	Location *time.Location // emails show instants in this zone
	Logger   *slog.Logger
	// Temporal and TaskQueue let an activity start or signal a child's
	// record; the worker fills them in.
	Temporal  client.Client
	TaskQueue string
	// Counts hears of escalations and emails for the metrics; nil: nobody.
	Counts Counts
}

func (a *Activities) now() time.Time {
	if a.Clock != nil {
		return a.Clock().UTC()
	}
	return time.Now().UTC()
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// SaveEpisode writes a snapshot of the episode to the case records. Older
// snapshots than the one stored are ignored, so retries and replays are safe.
func (a *Activities) SaveEpisode(ctx context.Context, in SaveEpisodeInput) (SaveEpisodeResult, error) {
	applied, err := a.Store.SaveEpisode(ctx, in.State, in.Referral, in.Answers...)
	if err != nil {
		return SaveEpisodeResult{}, fmt.Errorf("saving episode %s version %d: %w", in.State.EpisodeID, in.State.Version, err)
	}
	return SaveEpisodeResult{Applied: applied}, nil
}

// SendEscalation records the escalation and emails it to every active
// manager and to the addresses the episode's policy adds (the
// commissioner's team mailboxes); while none of them has it, to the
// admins. Each address is emailed once per episode and kind: deliveries
// are recorded as they succeed, and a retry sends only what is still owed.
// It is sent only once someone has it; until then it fails, so that
// Temporal retries it, and the escalations list shows it undelivered.
func (a *Activities) SendEscalation(ctx context.Context, in SendEscalationInput) (SendEscalationResult, error) {
	e := in.Escalation
	commissioner := in.CommissionerID
	if commissioner == "" {
		// Started before commissioners: the records may know it.
		c, err := a.Store.EpisodeCommissioner(ctx, in.EpisodeID)
		if err != nil {
			return SendEscalationResult{}, fmt.Errorf("finding the commissioner of episode %s: %w", in.EpisodeID, err)
		}
		commissioner = c
	}
	isNew, err := a.Store.RecordEscalation(ctx, in.EpisodeID, in.Reference, commissioner, e)
	if err != nil {
		return SendEscalationResult{}, fmt.Errorf("recording escalation %s of episode %s: %w", e.Kind, in.EpisodeID, err)
	}
	if isNew {
		a.counts().EscalationRaised(e.Kind)
	}
	// The provider's managers and the episode's commissioner's, no other.
	managers, err := a.Store.ActiveUsersFor(ctx, store.RoleManager, commissioner)
	if err != nil {
		return SendEscalationResult{}, fmt.Errorf("listing managers: %w", err)
	}
	d := delivery{
		key: escalationKey(in.EpisodeID, e), what: escalationEmailOf(e.Kind),
		msg:       escalationEmail(in.Reference, a.episodeLink(in.EpisodeID), e, a.location()),
		episodeID: in.EpisodeID, reference: in.Reference, commission: commissioner, escalation: e,
		groups: []group{
			fixed("managers", usersTo("manager", managers)),
			// The managers are not held up while the records catch up.
			a.policyAddresses(in.EpisodeID),
			a.admins(commissioner),
		},
	}
	sent, sendErr := a.send(ctx, d)
	if sent == 0 {
		return SendEscalationResult{}, sendErr
	}
	at := a.now()
	if err := a.Store.MarkEscalationSent(ctx, in.EpisodeID, e.Kind, e.Action, at, sent); err != nil {
		return SendEscalationResult{}, fmt.Errorf("marking escalation %s of episode %s sent: %w", e.Kind, in.EpisodeID, err)
	}
	if sendErr != nil {
		return SendEscalationResult{}, sendErr
	}
	a.logger().Info("Escalation sent", "episode", in.EpisodeID, "reference", in.Reference, "kind", e.Kind, "recipients", sent)
	return SendEscalationResult{SentAt: at, Recipients: sent}, nil
}

// escalationKey is what makes an escalation's email go to each manager
// once: the episode and the kind, and for an overdue action its number.
func escalationKey(episodeID string, e episode.Escalation) string {
	if e.Action > 0 {
		return fmt.Sprintf("escalation:%s:%s:%d", episodeID, e.Kind, e.Action)
	}
	return fmt.Sprintf("escalation:%s:%s", episodeID, e.Kind)
}

// SendReminder reminds the assigned interviewer that a contact attempt is
// overdue; with nobody assigned, the coordinators are reminded instead,
// and while none of them has it, the policy's addresses and the admins.
func (a *Activities) SendReminder(ctx context.Context, in SendReminderInput) (SendReminderResult, error) {
	recipients, err := a.interviewerOrCoordinators(ctx, in.InterviewerID, in.CommissionerID)
	if err != nil {
		return SendReminderResult{}, err
	}
	d := delivery{
		key:  fmt.Sprintf("reminder:%s:%d:%s", in.EpisodeID, in.Attempt, in.Contact.Purpose),
		what: ContactReminderEmail, msg: reminderEmail(in.Reference, a.episodeLink(in.EpisodeID), in.Attempt, in.Contact, a.location()),
		episodeID: in.EpisodeID, reference: in.Reference, commission: in.CommissionerID,
		groups: append([]group{fixed("the interviewer or the coordinators", recipients)}, a.policyAndAdmins(in.EpisodeID, in.CommissionerID)...),
	}
	sent, err := a.send(ctx, d)
	if err != nil {
		return SendReminderResult{}, err
	}
	return SendReminderResult{SentAt: a.now(), Recipients: sent}, nil
}

// SendActionReminder reminds the owner of an action that it is due: the
// address the plan gives, else the assigned interviewer, else the
// coordinators; while none of them has it, the policy's addresses and the
// admins. Each is reminded once per action.
func (a *Activities) SendActionReminder(ctx context.Context, in SendActionReminderInput) (SendReminderResult, error) {
	recipients := []recipient{{Email: in.OwnerEmail, who: "the action's owner"}}
	if in.OwnerEmail == "" {
		var err error
		if recipients, err = a.interviewerOrCoordinators(ctx, in.InterviewerID, in.CommissionerID); err != nil {
			return SendReminderResult{}, err
		}
	}
	d := delivery{
		// Under "reminder:<episode>:", so the episode's purge deletes it too.
		key:  fmt.Sprintf("reminder:%s:action:%d", in.EpisodeID, in.Action),
		what: ActionReminderEmail, msg: actionReminderEmail(in.Reference, a.episodeLink(in.EpisodeID), in.Action, in.DueAt, a.location()),
		episodeID: in.EpisodeID, reference: in.Reference, commission: in.CommissionerID,
		groups: append([]group{fixed("the action's owner", recipients)}, a.policyAndAdmins(in.EpisodeID, in.CommissionerID)...),
	}
	sent, err := a.send(ctx, d)
	if err != nil {
		return SendReminderResult{}, err
	}
	return SendReminderResult{SentAt: a.now(), Recipients: sent}, nil
}

// interviewerOrCoordinators is the assigned interviewer when active, else
// the coordinators who may see the episode.
func (a *Activities) interviewerOrCoordinators(ctx context.Context, interviewerID, commissionerID string) ([]recipient, error) {
	if interviewerID != "" {
		u, err := a.Store.UserByID(ctx, interviewerID)
		switch {
		case err == nil && u.Active:
			return usersTo("interviewer", []store.User{u}), nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return nil, fmt.Errorf("looking up the interviewer: %w", err)
		}
	}
	coordinators, err := a.Store.ActiveUsersFor(ctx, store.RoleCoordinator, commissionerID)
	if err != nil {
		return nil, fmt.Errorf("listing coordinators: %w", err)
	}
	return usersTo("coordinator", coordinators), nil
}

// recipient is one address an email goes to; who names it in logs (a user
// id, or the place of an address in the policy), never the address.
type recipient struct {
	Email string
	who   string
}

// usersTo are users in a role as recipients, each named by role and id.
func usersTo(role string, users []store.User) []recipient {
	out := make([]recipient, len(users))
	for i, u := range users {
		out[i] = recipient{Email: u.Email, who: role + " " + u.ID}
	}
	return out
}

// recordsWait is how long an escalation waits for the episode's first
// record, which holds the policy it opened under, before it is retried.
const recordsWait = 20 * time.Second

// escalationAddresses are the policy's addresses of the episode. An
// escalation raised as the episode opens may come before its records: it
// waits for them a little, then fails so that Temporal retries it.
func (a *Activities) escalationAddresses(ctx context.Context, episodeID string) ([]recipient, error) {
	deadline := time.Now().Add(recordsWait)
	for {
		addrs, recorded, err := a.Store.EscalationAddresses(ctx, episodeID)
		if err != nil {
			return nil, fmt.Errorf("reading the escalation addresses of episode %s: %w", episodeID, err)
		}
		if recorded {
			out := make([]recipient, len(addrs))
			for i, addr := range addrs {
				out[i] = recipient{Email: addr, who: fmt.Sprintf("escalation address %d", i+1)}
			}
			return out, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("episode %s is not in the records yet: its escalation addresses are not known", episodeID)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// messageID is the same for the same email to the same person, so that if a
// crash between sending and recording makes us send again, mail clients see
// one message.
func messageID(key, recipient string) string {
	sum := sha256.Sum256([]byte(key + "\x00" + recipient))
	return hex.EncodeToString(sum[:16]) + "@homeward"
}

func (a *Activities) episodeLink(episodeID string) string {
	return a.BaseURL + "/episodes/" + episodeID
}

func (a *Activities) location() *time.Location {
	if a.Location != nil {
		return a.Location
	}
	return time.UTC
}

// Escalation kinds by name, for messages.
var escalationTitles = map[episode.EscalationKind]string{
	episode.EscalationDeadlineWarning:      "Offer deadline at risk",
	episode.EscalationDeadlineBreached:     "Offer deadline missed",
	episode.EscalationUnableToContact:      "Unable to contact the child",
	episode.EscalationSafeguardingConcern:  "Safeguarding concern disclosed",
	episode.EscalationFollowUpOverdue:      "Follow-up overdue",
	episode.EscalationRepeatMissing:        "Repeatedly missing: strategy meeting",
	episode.EscalationActionOverdue:        "Action of the plan overdue",
	episode.EscalationReportOverdue:        "Return report not sent in time",
	episode.EscalationReportUnacknowledged: "Return report not acknowledged",
}
