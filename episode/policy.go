package episode

import (
	"errors"
	"fmt"
	"net/mail"
	"reflect"
	"strings"
	"time"
)

// Policy holds every duration and count that governs an episode. It is
// fixed into the episode when it starts, so a change to the configured
// defaults or to a commissioner's policy only affects new episodes.
//
// The fields after FollowUpGrace came later: episodes opened before them
// carry zero values (no repeat trigger of their own, no extra addresses).
type Policy struct {
	OfferWindow          time.Duration `json:"offer_window"`
	DeadlineWarningLead  time.Duration `json:"deadline_warning_lead"`
	ContactSpacing       time.Duration `json:"contact_spacing"`
	ContactReminderDelay time.Duration `json:"contact_reminder_delay"`
	MaxContactAttempts   int           `json:"max_contact_attempts"`
	ReofferInterval      time.Duration `json:"reoffer_interval"`
	ReofferCount         int           `json:"reoffer_count"`
	FollowUpDelay        time.Duration `json:"follow_up_delay"`
	FollowUpGrace        time.Duration `json:"follow_up_grace"`
	// RepeatEpisodes episodes of one child opened within RepeatWindow call
	// for a strategy meeting (local protocols: 3 in 30 days, or in 90).
	// Zero (episodes opened before the trigger existed) means the default.
	RepeatEpisodes int           `json:"repeat_episodes,omitempty"`
	RepeatWindow   time.Duration `json:"repeat_window,omitempty"`
	// EscalationAddresses receive the episode's escalations besides the
	// managers: mailboxes at the commissioner that are not Homeward users
	// (a missing-children coordinator's team, say).
	EscalationAddresses []string `json:"escalation_addresses,omitempty"`
	// ActionGrace is how long an action of the plan may stay open past its
	// due date before managers are told. Zero (episodes opened before it
	// existed) means the default.
	ActionGrace time.Duration `json:"action_grace,omitempty"`
	// ReportApproval: a manager approves the return report before it is
	// sent to the commissioner.
	ReportApproval bool `json:"report_approval,omitempty"`
	// ReportDue is how long after the interview the report must be sent;
	// ReportAcknowledgeWithin how long after it is sent the commissioner
	// must acknowledge it. Zero means the defaults (72 hours, 5 days).
	ReportDue               time.Duration `json:"report_due,omitempty"`
	ReportAcknowledgeWithin time.Duration `json:"report_acknowledge_within,omitempty"`
}

// Default strategy-meeting trigger.
const (
	DefaultRepeatEpisodes = 3
	DefaultRepeatWindow   = 30 * 24 * time.Hour
)

// RepeatRule is the strategy-meeting trigger in force: n episodes within
// window.
func (p Policy) RepeatRule() (n int, window time.Duration) {
	n, window = p.RepeatEpisodes, p.RepeatWindow
	if n <= 0 {
		n = DefaultRepeatEpisodes
	}
	if window <= 0 {
		window = DefaultRepeatWindow
	}
	return n, window
}

// Limits of a policy. The offer window is the statutory 72 hours at most.
const (
	MaxOfferWindow         = 72 * time.Hour
	MaxPolicyDuration      = 366 * 24 * time.Hour
	MaxContactAttempts     = 50
	MaxReoffers            = 20
	MaxRepeatEpisodes      = 100
	MaxEscalationAddresses = 20
	MaxAddressLength       = 254 // RFC 5321's longest usable address
)

// DefaultPolicy is the statutory 72 hours and the one-week follow-up, with
// the team's working defaults for everything the guidance leaves open, and
// the strategy-meeting trigger of several local protocols: 3 episodes in
// 30 days.
func DefaultPolicy() Policy {
	return Policy{
		OfferWindow:          72 * time.Hour,
		DeadlineWarningLead:  24 * time.Hour,
		ContactSpacing:       4 * time.Hour,
		ContactReminderDelay: time.Hour,
		MaxContactAttempts:   6,
		ReofferInterval:      72 * time.Hour,
		ReofferCount:         2,
		FollowUpDelay:        7 * 24 * time.Hour,
		FollowUpGrace:        48 * time.Hour,
		RepeatEpisodes:       DefaultRepeatEpisodes,
		RepeatWindow:         DefaultRepeatWindow,
		ActionGrace:          48 * time.Hour,
	}
}

// Equal reports whether p and q are the same policy (no addresses and an
// empty list of them are the same).
func (p Policy) Equal(q Policy) bool {
	if len(p.EscalationAddresses) == 0 && len(q.EscalationAddresses) == 0 {
		p.EscalationAddresses, q.EscalationAddresses = nil, nil
	}
	return reflect.DeepEqual(p, q)
}

// Problems lists every rule the policy breaks, each under the JSON name
// of its field: a policy that would make the workflow misbehave, or that
// the statutory guidance does not allow.
func (p Policy) Problems() Problems {
	var ps Problems
	duration := func(field string, d, lowest, highest time.Duration) {
		switch {
		case d < lowest && lowest == 0:
			ps.add(field, "must not be negative")
		case d < lowest:
			ps.add(field, "must be positive")
		case d > highest:
			ps.add(field, "must be at most %s", hours(highest))
		}
	}
	count := func(field string, n, lowest, highest int) {
		if n < lowest || n > highest {
			ps.add(field, "must be from %d to %d", lowest, highest)
		}
	}
	if p.OfferWindow > MaxOfferWindow {
		ps.add("offer_window", "must not be longer than the statutory %s", hours(MaxOfferWindow))
	} else {
		duration("offer_window", p.OfferWindow, time.Nanosecond, MaxOfferWindow)
	}
	if p.DeadlineWarningLead < 0 || p.DeadlineWarningLead >= p.OfferWindow {
		ps.add("deadline_warning_lead", "must be 0 or more and shorter than the offer window")
	}
	duration("contact_spacing", p.ContactSpacing, time.Nanosecond, MaxPolicyDuration)
	duration("contact_reminder_delay", p.ContactReminderDelay, time.Nanosecond, MaxPolicyDuration)
	count("max_contact_attempts", p.MaxContactAttempts, 1, MaxContactAttempts)
	duration("reoffer_interval", p.ReofferInterval, time.Nanosecond, MaxPolicyDuration)
	count("reoffer_count", p.ReofferCount, 0, MaxReoffers)
	duration("follow_up_delay", p.FollowUpDelay, time.Nanosecond, MaxPolicyDuration)
	duration("follow_up_grace", p.FollowUpGrace, 0, MaxPolicyDuration)
	duration("action_grace", p.ActionGrace, 0, MaxPolicyDuration)
	duration("report_due", p.ReportDue, 0, MaxPolicyDuration)
	duration("report_acknowledge_within", p.ReportAcknowledgeWithin, 0, MaxPolicyDuration)
	count("repeat_episodes", p.RepeatEpisodes, 2, MaxRepeatEpisodes)
	duration("repeat_window", p.RepeatWindow, time.Nanosecond, MaxPolicyDuration)
	ps = append(ps, addressProblems(p.EscalationAddresses)...)
	return ps
}

// Validate is Problems as one error, for the configuration.
func (p Policy) Validate() error {
	var errs []error
	for _, prob := range p.Problems() {
		errs = append(errs, fmt.Errorf("%s %s", prob.Field, prob.Reason))
	}
	return errors.Join(errs...)
}

// addressProblems checks each address is a bare email address (no display
// name) and that none is listed twice.
func addressProblems(addrs []string) Problems {
	var ps Problems
	if len(addrs) > MaxEscalationAddresses {
		ps.add("escalation_addresses", "must have at most %d items", MaxEscalationAddresses)
		return ps
	}
	seen := map[string]bool{}
	for i, a := range addrs {
		field := fmt.Sprintf("escalation_addresses[%d]", i)
		parsed, err := mail.ParseAddress(a)
		switch {
		case len(a) > MaxAddressLength:
			ps.add(field, "must be at most %d characters", MaxAddressLength)
		case err != nil || parsed.Address != a || !strings.Contains(a, "@"):
			ps.add(field, "must be an email address such as team@council.example")
		case seen[strings.ToLower(a)]:
			ps.add(field, "is listed twice")
		}
		seen[strings.ToLower(a)] = true
	}
	return ps
}

// hours shows a limit in hours and in the API's whole minutes.
func hours(d time.Duration) string {
	return fmt.Sprintf("%d hours (%d minutes)", int64(d/time.Hour), int64(d/time.Minute))
}
