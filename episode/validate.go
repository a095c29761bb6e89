package episode

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on what one outcome may carry. Every free-text field and list is
// bounded, so no outcome, and no number of outcomes, can grow an episode's
// workflow history past what Temporal accepts. The OpenAPI document states
// the same numbers.
const (
	// MaxShortText bounds names, numbers, references and venues.
	MaxShortText = 200
	// MaxText bounds notes, details and accounts of what happened.
	MaxText = 4000
	// MaxItemText bounds one item of a list (a push factor, an action).
	MaxItemText = 500
	// MaxItems bounds every list.
	MaxItems = 20
	// ClockSkew is how far ahead of the instant the outcome was received a
	// client's "now" may be.
	ClockSkew = 2 * time.Minute
)

// RoleInterviewer is the role whose outcomes count only on episodes
// assigned to them; FieldAssignedInterviewer is what a refusal names.
const (
	RoleInterviewer          = "interviewer"
	FieldAssignedInterviewer = "assigned_interviewer"
)

// Problems lists every problem found with one input.
type Problems []*Problem

func (ps *Problems) add(field, format string, a ...any) {
	*ps = append(*ps, invalid(field, format, a...))
}

func (ps *Problems) text(field, v string, max int) {
	if utf8.RuneCountInString(v) > max {
		ps.add(field, "must be at most %d characters", max)
	}
}

// LocalAuthorityChildIDPattern is what a local authority's child id may be:
// it goes into the SSDA903 return and Annex A as it is, so it starts with a
// letter or digit (never a spreadsheet formula's =, +, - or @) and holds
// letters, digits, spaces and / . _ - only, at most 50 characters.
var LocalAuthorityChildIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 /._-]{0,49}$`)

// LocalAuthorityChildIDReason says so in an error.
const LocalAuthorityChildIDReason = "must start with a letter or digit and hold only letters, digits, spaces and / . _ -, at most 50 characters"

func (ps *Problems) required(field, v string) bool {
	if strings.TrimSpace(v) == "" {
		ps.add(field, "is required")
		return false
	}
	return true
}

func (ps *Problems) list(field string, items []string, maxItem int) {
	if len(items) > MaxItems {
		ps.add(field, "must have at most %d items", MaxItems)
		return
	}
	for i, it := range items {
		f := field + "[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(it) == "" {
			ps.add(f, "must not be empty")
		}
		ps.text(f, it, maxItem)
	}
}

func oneOf[T ~string](ps *Problems, field string, v T, allowed []T) {
	if v == "" {
		ps.add(field, "is required")
		return
	}
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	ps.add(field, "must be one of %s", strings.Join(names, ", "))
}

// instant checks a required instant that cannot be after the outcome was
// received (the event's RecordedAt, when known).
func (ps *Problems) instant(field string, t time.Time, received time.Time) {
	switch {
	case t.IsZero():
		ps.add(field, "is required")
	case !received.IsZero() && t.After(received.Add(ClockSkew)):
		ps.add(field, "must not be in the future")
	}
}

// Validate checks the event on its own, without the episode: what is
// required, the allowed values, that nothing happened after it was
// received, and the size of every field. It finds every problem, so a
// person can correct them all at once.
func (ev Event) Validate() Problems {
	var ps Problems
	switch ev.Type {
	case EventAssignment:
		if ev.Assignment == nil || strings.TrimSpace(ev.Assignment.InterviewerID) == "" {
			ps.add("interviewer_id", "is required")
		} else {
			ps.text("override_reason", ev.Assignment.OverrideReason, MaxText)
		}
	case EventContactAttempt:
		validateAttempt(&ps, ev.Attempt, ev.RecordedAt)
	case EventInterview:
		validateInterview(&ps, ev.Interview, ev.RecordedAt)
	case EventSharedInterview:
		validateShared(&ps, ev.Shared, ev.RecordedAt)
	case EventAgreement:
		validateAgreement(&ps, ev.Agreement)
	case EventFollowUp:
		validateFollowUp(&ps, ev.FollowUp, ev.RecordedAt)
	case EventClosure:
		validateClosure(&ps, ev.Closure)
	case EventActionPlan:
		validateActionPlan(&ps, ev.ActionPlan)
	case EventCarersAccount:
		validateCarersAccount(&ps, ev.Carers, ev.RecordedAt)
	case EventReportAcknowledgement, EventReportApproval, EventLetterGiven:
	default:
		ps.add("type", "unknown event type %q", ev.Type)
	}
	return ps
}

func validateAttempt(ps *Problems, a *AttemptInput, received time.Time) {
	if a == nil {
		ps.add("method", "is required")
		return
	}
	oneOf(ps, "method", a.Method, Methods)
	oneOf(ps, "outcome", a.Outcome, AttemptOutcomes)
	ps.instant("attempted_at", a.AttemptedAt, received)
	ps.text("notes", a.Notes, MaxText)
}

func validateInterview(ps *Problems, u *InterviewUpdate, received time.Time) {
	if u == nil {
		ps.add("outcome", "is required")
		return
	}
	oneOf(ps, "outcome", u.Outcome, InterviewOutcomes)
	switch u.Outcome {
	case InterviewScheduled, InterviewRescheduled:
		if u.ScheduledFor == nil {
			ps.add("scheduled_for", "is required when the interview is scheduled")
		}
	case InterviewHeld:
		if u.HeldAt == nil {
			ps.add("held_at", "is required when the interview was held")
		}
		if u.Record == nil {
			ps.add("record", "is required when the interview was held")
		}
	}
	if u.HeldAt != nil {
		ps.instant("held_at", *u.HeldAt, received)
	}
	ps.text("venue", u.Venue, MaxShortText)
	ps.text("notes", u.Notes, MaxText)
	if u.Record != nil {
		validateRecord(ps, u.Record)
	}
	if len(u.Covers) > 0 && u.Outcome != InterviewHeld {
		ps.add("covers", "is only for a held interview")
	}
	if len(u.Covers) > MaxItems {
		ps.add("covers", "must have at most %d items", MaxItems)
	}
}

func validateShared(ps *Problems, sh *SharedInterview, received time.Time) {
	if sh == nil || sh.Primary == "" {
		ps.add("primary_episode_id", "is required")
		return
	}
	ps.instant("held_at", sh.HeldAt, received)
	if sh.Record == nil {
		ps.add("record", "is required when the interview was held")
	} else {
		validateRecord(ps, sh.Record)
	}
	ps.text("venue", sh.Venue, MaxShortText)
}

func validateRecord(ps *Problems, r *InterviewRecord) {
	ri := r.RiskIndicators
	for _, a := range []struct {
		field string
		v     Answer
	}{
		{"gone_missing_before", ri.GoneMissingBefore},
		{"often_away_without_authorisation", ri.OftenAwayWithoutAuthorisation},
		{"sexual_exploitation_or_trafficking", ri.SexualExploitationOrTrafficking},
		{"hurt_or_harmed_while_away", ri.HurtOrHarmedWhileAway},
		{"criminal_exploitation_or_drugs", ri.CriminalExploitationOrDrugs},
		{"contact_with_people_posing_risk", ri.ContactWithRiskyPeople},
	} {
		switch a.v {
		case "", AnswerYes, AnswerNo, AnswerUnknown: // blank is unknown
		default:
			ps.add("record.risk_indicators."+a.field, "must be one of yes, no, unknown")
		}
	}
	ps.list("record.push_factors", r.PushFactors, MaxItemText)
	ps.list("record.pull_factors", r.PullFactors, MaxItemText)
	ps.list("record.follow_up_support", r.FollowUpSupport, MaxItemText)
	ps.list("record.referrals_made", r.ReferralsMade, MaxItemText)
	ps.text("record.where_child_was", r.WhereChildWas, MaxText)
	ps.text("record.who_with", r.WhoWith, MaxText)
	ps.text("record.what_happened", r.WhatHappened, MaxText)
	ps.text("record.safeguarding_details", r.SafeguardingDetails, MaxText)
	validatePlaces(ps, r.Places)
	validatePeople(ps, r.PeopleOfConcern)
}

// postcodeDistrict is a UK outward code, checked loosely: one or two
// letters, a digit, and an optional digit or letter ("M1", "LS14", "EC1A").
// It does not check that the district exists.
var postcodeDistrict = regexp.MustCompile(`^[A-Za-z]{1,2}[0-9][0-9A-Za-z]?$`)

func validatePlaces(ps *Problems, places []Place) {
	if len(places) > MaxItems {
		ps.add("record.places", "must have at most %d items", MaxItems)
		return
	}
	for i, p := range places {
		f := "record.places[" + strconv.Itoa(i) + "]"
		switch p.Type {
		case PlaceAddress, PlacePark, PlaceTownCentre, PlaceStation, PlaceParty, PlaceOther:
		default:
			ps.add(f+".type", "must be one of address, park, town_centre, station, party, other")
		}
		if strings.TrimSpace(p.Name) == "" && p.PostcodeDistrict == "" {
			ps.add(f+".name", "is required unless postcode_district is given")
		}
		ps.text(f+".name", p.Name, MaxShortText)
		if p.PostcodeDistrict != "" && !postcodeDistrict.MatchString(p.PostcodeDistrict) {
			ps.add(f+".postcode_district", "must be a UK postcode district (the outward code, such as LS1 or M14)")
		}
	}
}

// isUUID is a uuid in its canonical form, as the records store it.
var isUUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`).MatchString

func validatePeople(ps *Problems, people []PersonOfConcern) {
	if len(people) > MaxItems {
		ps.add("record.people_of_concern", "must have at most %d items", MaxItems)
		return
	}
	for i, p := range people {
		f := "record.people_of_concern[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(p.Description) == "" {
			ps.add(f+".description", "is required")
		}
		ps.text(f+".description", p.Description, MaxShortText)
		if p.PersonID != "" && !isUUID(p.PersonID) {
			ps.add(f+".person_id", "must be a uuid")
		}
	}
}

func validateAgreement(ps *Problems, a *Agreement) {
	if a == nil {
		ps.add("shared_with", "is required")
		return
	}
	if !a.ConfidentialityExplained {
		ps.add("confidentiality_explained", "must be true: explain confidentiality to the child before recording the agreement")
	}
	if len(a.SharedWith) > MaxItems {
		ps.add("shared_with", "must have at most %d items", MaxItems)
	} else {
		for i, s := range a.SharedWith {
			f := "shared_with[" + strconv.Itoa(i) + "]"
			oneOf(ps, f+".party", s.Party, Parties)
			if strings.TrimSpace(s.What) == "" {
				ps.add(f+".what", "is required: say what will be shared")
			}
			ps.text(f+".what", s.What, MaxText)
		}
	}
	ps.text("notes", a.Notes, MaxText)
}

func validateFollowUp(ps *Problems, f *FollowUpRecord, received time.Time) {
	if f == nil {
		ps.add("completed_at", "is required")
		return
	}
	ps.instant("completed_at", f.CompletedAt, received)
	ps.required("outcome", f.Outcome)
	ps.text("outcome", f.Outcome, MaxText)
	ps.list("actions_taken", f.ActionsTaken, MaxItemText)
	validateReviews(ps, f.ActionReviews)
}

func validateClosure(ps *Problems, c *ClosureRequest) {
	if c == nil {
		ps.add("reason", "is required")
		return
	}
	oneOf(ps, "reason", c.Reason, ClosureReasons)
	if c.Reason == ClosureOther && strings.TrimSpace(c.Details) == "" {
		ps.add("details", "is required when the reason is other")
	}
	ps.text("details", c.Details, MaxText)
}

// Validate checks a referral's free text and lists against their limits.
// The API checks the rest of a referral (dates, choices) as it decodes it.
func (r Referral) Validate() Problems {
	var ps Problems
	ps.text("child.first_name", r.Child.FirstName, MaxShortText)
	ps.text("child.last_name", r.Child.LastName, MaxShortText)
	ps.text("child.gender", r.Child.Gender, MaxShortText)
	if id := r.Child.LocalAuthorityChildID; id != "" && !LocalAuthorityChildIDPattern.MatchString(id) {
		ps.add("child.local_authority_child_id", "%s", LocalAuthorityChildIDReason)
	}
	ps.text("child.police_person_reference", r.Child.PolicePersonReference, MaxShortText)
	ps.text("police_reference", r.PoliceReference, MaxShortText)
	ps.text("referral_source", r.Source, MaxShortText)
	c := r.Contact
	ps.text("contact.child_phone", c.ChildPhone, MaxShortText)
	ps.text("contact.child_mobile", c.ChildMobile, MaxShortText)
	ps.text("contact.address", c.Address, MaxItemText)
	if len(c.Carers) > MaxItems {
		ps.add("contact.carers", "must have at most %d items", MaxItems)
	} else {
		for i, k := range c.Carers {
			f := "contact.carers[" + strconv.Itoa(i) + "]"
			ps.text(f+".name", k.Name, MaxShortText)
			ps.text(f+".relationship", k.Relationship, MaxShortText)
			ps.text(f+".phone", k.Phone, MaxShortText)
			ps.text(f+".email", k.Email, MaxShortText)
		}
	}
	ps.text("preferences.worker_gender", r.Preferences.WorkerGender, MaxShortText)
	ps.text("preferences.language", r.Preferences.Language, MaxShortText)
	ps.text("preferences.notes", r.Preferences.Notes, MaxText)
	return ps
}
