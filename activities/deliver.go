package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"homeward/episode"
	"homeward/mail"
	"homeward/store"
)

// delivery is one email owed under key: to each group of recipients in
// turn, and to a fallback group only while nobody has it yet.
type delivery struct {
	key        string
	what       Email
	msg        mail.Message
	episodeID  string
	reference  string
	commission string
	escalation episode.Escalation // for an escalation's email
	groups     []group
}

// group is a list of recipients, read when its turn comes (a group may
// wait for the records).
type group struct {
	who      string // the group in words, for a try when it is empty
	none     string // why nobody was tried when it is empty; default noneActive
	list     func(ctx context.Context) ([]recipient, error)
	fallback bool
}

func fixed(who string, to []recipient) group {
	return group{who: who, list: func(context.Context) ([]recipient, error) { return to, nil }}
}

// noneActive is why nobody in a role was tried.
const noneActive = "nobody active in this role to send it to"

// noAddresses is why none of the policy's escalation addresses was tried.
const noAddresses = "the commissioner's policy lists none"

// errNobodyReached is the activity's failure while no recipient has an
// email: Temporal retries it, as the relay may come back.
var errNobodyReached = errors.New("nobody has received it yet")

// send delivers d and returns how many recipients have it. An error after
// some have it (sent > 0) is a passing failure for the others: the caller
// records what was sent and returns the error so that the rest are retried.
// With nobody reached, the email is recorded as undelivered, with who was
// tried and why, until a retry reaches someone.
func (a *Activities) send(ctx context.Context, d delivery) (sent int, err error) {
	r, err := a.newRound(ctx, d.key)
	if err != nil {
		return 0, err
	}
	var owed error
	for _, g := range d.groups {
		if g.fallback && sent > 0 {
			continue
		}
		to, err := g.list(ctx)
		if err != nil {
			return sent, err
		}
		if len(to) == 0 {
			why := g.none
			if why == "" {
				why = noneActive
			}
			r.tries = append(r.tries, store.DeliveryTry{Recipient: g.who, Reason: why})
			continue
		}
		n, failed, err := a.deliver(ctx, d, to, r)
		if err != nil {
			return sent + n, err
		}
		sent += n
		if owed == nil {
			owed = failed
		}
	}
	if sent == 0 {
		return 0, a.recordUndelivered(ctx, d, r.tries)
	}
	if err := a.Store.ClearUndelivered(ctx, d.key); err != nil {
		return sent, fmt.Errorf("recording that %s was delivered: %w", d.key, err)
	}
	return sent, owed
}

func (a *Activities) recordUndelivered(ctx context.Context, d delivery, tries []store.DeliveryTry) error {
	isNew, err := a.Store.RecordUndelivered(ctx, store.UndeliveredEmail{
		MessageKey: d.key, EpisodeID: d.episodeID, Reference: d.reference, CommissionerID: d.commission,
		Email: d.what.Kind, EscalationKind: d.escalation.Kind, Action: d.escalation.Action,
		Tried: tries, LastTriedAt: a.now(),
	})
	if err != nil {
		return fmt.Errorf("recording that %s reached nobody: %w", d.key, err)
	}
	if isNew {
		a.counts().EmailUndelivered(d.what)
	}
	whys := make([]string, len(tries))
	for i, t := range tries {
		whys[i] = t.Recipient + ": " + t.Reason
	}
	a.logger().Error("Email reached nobody; it will be tried again", "key", d.key, "tried", strings.Join(whys, "; "))
	return fmt.Errorf("%s: %w (%d tried)", d.key, errNobodyReached, len(tries))
}

// round is one attempt at a delivery: who already has it or was refused
// it for good (read once, lower case), who was tried and why they do not
// have it, and every address listed so far, so that one listed in two
// groups counts once.
type round struct {
	delivered map[string]bool
	refused   map[string]string
	tries     []store.DeliveryTry
	listed    map[string]bool
}

func (a *Activities) newRound(ctx context.Context, key string) (*round, error) {
	done, err := a.Store.DeliveredTo(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading deliveries: %w", err)
	}
	refused, err := a.Store.RefusedFor(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("reading refusals: %w", err)
	}
	r := &round{delivered: map[string]bool{}, refused: refused, listed: map[string]bool{}}
	for _, addr := range done {
		r.delivered[strings.ToLower(addr)] = true
	}
	return r, nil
}

// deliver sends d's message to each of to that has not had it under d's key
// yet and was not refused it for good, once however often it is listed
// (case aside). It returns how many of to have it now and, when some could
// not be reached for now, the first such failure. A recipient the relay
// refuses for good is recorded and never tried again for this email.
func (a *Activities) deliver(ctx context.Context, d delivery, to []recipient, rd *round) (count int, owed, err error) {
	for _, r := range to {
		addr := strings.ToLower(r.Email)
		switch {
		case rd.listed[addr]:
			continue
		case rd.delivered[addr]:
			count++
		case rd.refused[addr] != "":
			rd.tries = append(rd.tries, store.DeliveryTry{Recipient: r.who, Address: r.Email, Reason: rd.refused[addr]})
		default:
			ok, failed, err := a.sendOne(ctx, d, r, &rd.tries)
			if err != nil {
				return count, nil, err
			}
			if ok {
				count++
			} else if owed == nil {
				owed = failed
			}
		}
		rd.listed[addr] = true
	}
	return count, owed, nil
}

// sendOne sends d's message to r. failed is a passing failure (retry);
// err is a failure to record what happened.
func (a *Activities) sendOne(ctx context.Context, d delivery, r recipient, tries *[]store.DeliveryTry) (ok bool, failed, err error) {
	m := d.msg
	m.To = r.Email
	m.MessageID = messageID(d.key, r.Email)
	sendErr := a.Mailer.Send(ctx, m)
	if sendErr == nil {
		a.counts().EmailSent(d.what)
		if err := a.Store.RecordDelivery(ctx, d.key, r.Email, m.MessageID, a.now()); err != nil {
			return false, nil, fmt.Errorf("recording delivery of %s: %w", d.key, err)
		}
		return true, nil, nil
	}
	permanent := mail.IsPermanent(sendErr)
	a.counts().EmailFailed(d.what, permanent)
	reason := mail.Describe(sendErr)
	*tries = append(*tries, store.DeliveryTry{Recipient: r.who, Address: r.Email, Reason: reason})
	if !permanent {
		return false, fmt.Errorf("sending %s to %s: %s", d.key, r.who, reason), nil
	}
	a.logger().Warn("Email refused for good", "key", d.key, "recipient", r.who, "reason", reason)
	if err := a.Store.RecordRefusal(ctx, d.key, d.episodeID, r.Email, reason, a.now()); err != nil {
		return false, nil, fmt.Errorf("recording a refusal of %s: %w", d.key, err)
	}
	return false, nil, nil
}

// policyAndAdmins are the fallbacks of an email nobody received: the
// commissioner's escalation addresses, then the admins.
func (a *Activities) policyAndAdmins(episodeID, commissionerID string) []group {
	addresses := a.policyAddresses(episodeID)
	addresses.fallback = true
	return []group{addresses, a.admins(commissionerID)}
}

// policyAddresses are the addresses the episode's policy lists, read when
// their turn comes (they may wait for the episode's records).
func (a *Activities) policyAddresses(episodeID string) group {
	return group{who: "the policy's escalation addresses", none: noAddresses,
		list: func(ctx context.Context) ([]recipient, error) { return a.escalationAddresses(ctx, episodeID) }}
}

func (a *Activities) admins(commissionerID string) group {
	return group{who: "admins", fallback: true, list: func(ctx context.Context) ([]recipient, error) {
		admins, err := a.Store.ActiveUsersFor(ctx, store.RoleAdmin, commissionerID)
		if err != nil {
			return nil, fmt.Errorf("listing admins: %w", err)
		}
		return usersTo("admin", admins), nil
	}}
}
