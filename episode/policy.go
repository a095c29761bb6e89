package episode

import (
	"errors"
	"fmt"
	"time"
)

// Policy holds every duration and count that governs an episode. It is
// fixed into the episode when it starts, so a configuration change only
// affects new episodes.
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
	// ActionGrace is how long an action of the plan may stay open past its
	// due date before managers are told. Zero (episodes opened before it
	// existed) means the default.
	ActionGrace time.Duration `json:"action_grace,omitempty"`
}

// DefaultPolicy is the statutory 72 hours and the one-week follow-up, with
// the team's working defaults for everything the guidance leaves open.
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
		ActionGrace:          48 * time.Hour,
	}
}

// Validate rejects a policy that would make the workflow misbehave.
func (p Policy) Validate() error {
	var errs []error
	positive := func(name string, d time.Duration) {
		if d <= 0 {
			errs = append(errs, fmt.Errorf("%s must be positive, got %s", name, d))
		}
	}
	positive("offer window", p.OfferWindow)
	positive("contact spacing", p.ContactSpacing)
	positive("contact reminder delay", p.ContactReminderDelay)
	positive("re-offer interval", p.ReofferInterval)
	positive("follow-up delay", p.FollowUpDelay)
	if p.DeadlineWarningLead < 0 || p.DeadlineWarningLead >= p.OfferWindow {
		errs = append(errs, fmt.Errorf("deadline warning lead must be between 0 and the offer window, got %s", p.DeadlineWarningLead))
	}
	if p.FollowUpGrace < 0 {
		errs = append(errs, fmt.Errorf("follow-up grace must not be negative, got %s", p.FollowUpGrace))
	}
	if p.ActionGrace < 0 {
		errs = append(errs, fmt.Errorf("action grace must not be negative, got %s", p.ActionGrace))
	}
	if p.MaxContactAttempts < 1 {
		errs = append(errs, fmt.Errorf("maximum contact attempts must be at least 1, got %d", p.MaxContactAttempts))
	}
	if p.ReofferCount < 0 {
		errs = append(errs, fmt.Errorf("re-offer count must not be negative, got %d", p.ReofferCount))
	}
	return errors.Join(errs...)
}
