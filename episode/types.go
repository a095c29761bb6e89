// Package episode holds the rules of one missing episode, from referral to
// exit, as plain data and pure functions. The Temporal workflow drives them:
// its update validator is State.Check, so the episode alone decides what
// may happen next.
package episode

import (
	"strings"
	"time"
)

// Status is where an episode stands.
type Status string

const (
	StatusAwaitingContact    Status = "awaiting_contact"
	StatusUnableToContact    Status = "unable_to_contact"
	StatusReofferPending     Status = "reoffer_pending"
	StatusOfferAccepted      Status = "offer_accepted"
	StatusInterviewScheduled Status = "interview_scheduled"
	StatusInterviewHeld      Status = "interview_held"
	StatusFollowUpDue        Status = "follow_up_due"
	StatusCompleted          Status = "completed"
	StatusDeclined           Status = "declined"
	StatusClosed             Status = "closed"
)

// Statuses lists every status, open ones first.
var Statuses = []Status{
	StatusAwaitingContact, StatusUnableToContact, StatusReofferPending,
	StatusOfferAccepted, StatusInterviewScheduled, StatusInterviewHeld,
	StatusFollowUpDue, StatusCompleted, StatusDeclined, StatusClosed,
}

// Open reports whether the episode still expects work.
func (s Status) Open() bool {
	switch s {
	case StatusCompleted, StatusDeclined, StatusClosed:
		return false
	}
	return true
}

// Method is a way of contacting the child.
type Method string

const (
	MethodPhone  Method = "phone"
	MethodText   Method = "text"
	MethodLetter Method = "letter"
	MethodVisit  Method = "visit"
)

// Methods is the order in which contact methods are tried.
var Methods = []Method{MethodPhone, MethodText, MethodLetter, MethodVisit}

// AttemptOutcome is what came of one contact attempt.
type AttemptOutcome string

const (
	OutcomeReachedOffered  AttemptOutcome = "reached_offered"
	OutcomeReachedDeclined AttemptOutcome = "reached_declined"
	OutcomeNoAnswer        AttemptOutcome = "no_answer"
	OutcomeWrongDetails    AttemptOutcome = "wrong_details"
	OutcomeNoReply         AttemptOutcome = "no_reply"
)

// AttemptOutcomes lists every outcome an interviewer may record.
var AttemptOutcomes = []AttemptOutcome{OutcomeReachedOffered, OutcomeReachedDeclined, OutcomeNoAnswer, OutcomeWrongDetails, OutcomeNoReply}

// Reached reports whether the attempt reached the child and made the offer.
func (o AttemptOutcome) Reached() bool {
	return o == OutcomeReachedOffered || o == OutcomeReachedDeclined
}

type RiskGrade string

const (
	RiskLow    RiskGrade = "low"
	RiskMedium RiskGrade = "medium"
	RiskHigh   RiskGrade = "high"
)

var RiskGrades = []RiskGrade{RiskLow, RiskMedium, RiskHigh}

// Category is how the DfE data return records the episode.
type Category string

const (
	CategoryMissing           Category = "missing"
	CategoryAwayFromPlacement Category = "away_from_placement"
)

var Categories = []Category{CategoryMissing, CategoryAwayFromPlacement}

// Referral is what the coordinator knows when the episode is opened.
type Referral struct {
	Child             Child          `json:"child"`
	ReportedMissingAt time.Time      `json:"reported_missing_at"`
	ReturnedAt        time.Time      `json:"returned_at"`
	PoliceReference   string         `json:"police_reference,omitempty"`
	RiskGrade         RiskGrade      `json:"risk_grade"`
	Category          Category       `json:"category"`
	LookedAfter       bool           `json:"looked_after"`
	Source            string         `json:"referral_source,omitempty"`
	Contact           ContactDetails `json:"contact"`
	Preferences       Preferences    `json:"preferences"`
}

// Child identifies the child. ID links the episode to a child already known.
type Child struct {
	ID          string `json:"id,omitempty"`
	FirstName   string `json:"first_name"`
	LastName    string `json:"last_name,omitempty"`
	DateOfBirth string `json:"date_of_birth,omitempty"` // YYYY-MM-DD
	Gender      string `json:"gender,omitempty"`
	// LocalAuthorityChildID is the local authority's CHILD id (SSDA903),
	// unique within a commissioner.
	LocalAuthorityChildID string `json:"local_authority_child_id,omitempty"`
	PolicePersonReference string `json:"police_person_reference,omitempty"`
}

// ContactDetails are the ways the child and their carers can be reached.
type ContactDetails struct {
	ChildPhone  string  `json:"child_phone,omitempty"`
	ChildMobile string  `json:"child_mobile,omitempty"`
	Address     string  `json:"address,omitempty"`
	Carers      []Carer `json:"carers,omitempty"`
}

type Carer struct {
	Name         string `json:"name"`
	Relationship string `json:"relationship,omitempty"`
	Phone        string `json:"phone,omitempty"`
	Email        string `json:"email,omitempty"`
}

// Preferences the child or referrer expressed, such as the worker's gender.
type Preferences struct {
	WorkerGender string `json:"worker_gender,omitempty"`
	Language     string `json:"language,omitempty"`
	Notes        string `json:"notes,omitempty"`
}

// Has reports whether there are details to contact the child by m.
func (c ContactDetails) Has(m Method) bool {
	switch m {
	case MethodPhone:
		if strings.TrimSpace(c.ChildPhone) != "" || strings.TrimSpace(c.ChildMobile) != "" {
			return true
		}
		for _, carer := range c.Carers {
			if strings.TrimSpace(carer.Phone) != "" {
				return true
			}
		}
		return false
	case MethodText:
		return strings.TrimSpace(c.ChildMobile) != ""
	case MethodLetter, MethodVisit:
		return strings.TrimSpace(c.Address) != ""
	}
	return false
}

// EventType names what an interviewer, coordinator or manager recorded.
type EventType string

const (
	EventAssignment     EventType = "assignment"
	EventContactAttempt EventType = "contact_attempt"
	EventInterview      EventType = "interview"
	EventAgreement      EventType = "agreement"
	EventFollowUp       EventType = "follow_up"
	EventClosure        EventType = "closure"
	EventActionPlan     EventType = "action_plan"
	EventCarersAccount  EventType = "carers_account"
	// EventSharedInterview records on this episode an interview held and
	// recorded on another open episode of the same child, which covered
	// this one too.
	EventSharedInterview EventType = "shared_interview"
)

// Event is one outcome sent to the episode. Exactly one payload is set.
type Event struct {
	Type  EventType `json:"type"`
	Actor string    `json:"actor"`
	// ActorRole is the sender's role; an interviewer's outcomes count only
	// on an episode assigned to them.
	ActorRole string `json:"actor_role,omitempty"`
	// RecordedAt is when the outcome was received; nothing it reports may
	// have happened later.
	RecordedAt time.Time              `json:"recorded_at"`
	Assignment *Assignment            `json:"assignment,omitempty"`
	Attempt    *AttemptInput          `json:"contact_attempt,omitempty"`
	Interview  *InterviewUpdate       `json:"interview,omitempty"`
	Agreement  *Agreement             `json:"agreement,omitempty"`
	FollowUp   *FollowUpRecord        `json:"follow_up,omitempty"`
	Closure    *ClosureRequest        `json:"closure,omitempty"`
	ActionPlan *ActionPlanInput       `json:"action_plan,omitempty"`
	Carers     *CarersAccount         `json:"carers_account,omitempty"`
	Shared     *SharedInterview       `json:"shared_interview,omitempty"`
	ReportAck  *ReportAcknowledgement `json:"report_acknowledgement,omitempty"`
	Approval   *ReportApproval        `json:"report_approval,omitempty"`
	Letter     *LetterGiven           `json:"letter_given,omitempty"`
}

// SharedInterview is one interview that covered several open episodes of
// the child, as the episodes it covered receive it.
type SharedInterview struct {
	// Primary is the episode the interview was recorded on.
	Primary          string           `json:"primary_episode_id"`
	PrimaryReference string           `json:"primary_reference"`
	HeldAt           time.Time        `json:"held_at"`
	Venue            string           `json:"venue,omitempty"`
	Record           *InterviewRecord `json:"record,omitempty"`
	// TakeOver lets the interviewer take this episode over when it is
	// assigned to someone else (or to nobody).
	TakeOver bool `json:"take_over,omitempty"`
	// TakerGender is what the interviewer taking over recorded ("" for
	// nothing), checked against the child's preferred worker gender as an
	// assignment is.
	TakerGender string `json:"taker_gender,omitempty"`
}

type Assignment struct {
	InterviewerID string `json:"interviewer_id"`
	// InterviewerGender is what the interviewer recorded ("" for nothing),
	// checked against the child's preferred worker gender.
	InterviewerGender string `json:"interviewer_gender,omitempty"`
	// OverrideReason is why a coordinator assigns against the child's
	// preference; it is kept with the episode.
	OverrideReason string `json:"override_reason,omitempty"`
}

// AssignmentOverride records an assignment made against the child's
// preferred worker gender, and why.
type AssignmentOverride struct {
	InterviewerID string    `json:"interviewer_id"`
	Reason        string    `json:"reason"`
	By            string    `json:"by"`
	At            time.Time `json:"at"`
}

type AttemptInput struct {
	Method      Method         `json:"method"`
	Outcome     AttemptOutcome `json:"outcome"`
	AttemptedAt time.Time      `json:"attempted_at"`
	Notes       string         `json:"notes,omitempty"`
}

// ContactAttempt is a recorded attempt; Seq counts from 1 within the episode.
type ContactAttempt struct {
	Seq         int            `json:"seq"`
	Method      Method         `json:"method"`
	Outcome     AttemptOutcome `json:"outcome"`
	AttemptedAt time.Time      `json:"attempted_at"`
	Notes       string         `json:"notes,omitempty"`
	RecordedBy  string         `json:"recorded_by"`
	RecordedAt  time.Time      `json:"recorded_at"`
}

// NextContact is the contact plan: the method to try next and when.
type NextContact struct {
	Method       Method    `json:"method"`
	DueAt        time.Time `json:"due_at"`
	Purpose      string    `json:"purpose"` // first_contact, retry or reoffer
	ReminderSent bool      `json:"reminder_sent"`
}

type InterviewOutcome string

const (
	InterviewScheduled    InterviewOutcome = "scheduled"
	InterviewRescheduled  InterviewOutcome = "rescheduled"
	InterviewDidNotAttend InterviewOutcome = "did_not_attend"
	InterviewHeld         InterviewOutcome = "held"
)

var InterviewOutcomes = []InterviewOutcome{InterviewScheduled, InterviewRescheduled, InterviewDidNotAttend, InterviewHeld}

// InterviewUpdate is one thing recorded about the interview.
type InterviewUpdate struct {
	Outcome      InterviewOutcome `json:"outcome"`
	ScheduledFor *time.Time       `json:"scheduled_for,omitempty"`
	HeldAt       *time.Time       `json:"held_at,omitempty"`
	Venue        string           `json:"venue,omitempty"`
	Notes        string           `json:"notes,omitempty"`
	Record       *InterviewRecord `json:"record,omitempty"`
	// Covers names other open episodes of the child that a held interview
	// covered too (their ids); each receives it as a shared interview.
	Covers []string `json:"covers,omitempty"`
	// TakeOver: the interviewer takes over covered episodes that are not
	// assigned to them.
	TakeOver bool `json:"take_over,omitempty"`
}

// Answer to a risk indicator.
type Answer string

const (
	AnswerYes     Answer = "yes"
	AnswerNo      Answer = "no"
	AnswerUnknown Answer = "unknown"
)

// RiskIndicators are the questions the domain asks of every held interview.
type RiskIndicators struct {
	GoneMissingBefore               Answer `json:"gone_missing_before"`
	OftenAwayWithoutAuthorisation   Answer `json:"often_away_without_authorisation"`
	SexualExploitationOrTrafficking Answer `json:"sexual_exploitation_or_trafficking"`
	HurtOrHarmedWhileAway           Answer `json:"hurt_or_harmed_while_away"`
	CriminalExploitationOrDrugs     Answer `json:"criminal_exploitation_or_drugs"`
	ContactWithRiskyPeople          Answer `json:"contact_with_people_posing_risk"`
}

// InterviewRecord is what a held interview found.
type InterviewRecord struct {
	PushFactors         []string       `json:"push_factors,omitempty"`
	PullFactors         []string       `json:"pull_factors,omitempty"`
	RiskIndicators      RiskIndicators `json:"risk_indicators"`
	WhereChildWas       string         `json:"where_child_was,omitempty"`
	WhoWith             string         `json:"who_with,omitempty"`
	WhatHappened        string         `json:"what_happened,omitempty"`
	HarmDisclosed       bool           `json:"harm_disclosed"`
	SafeguardingConcern bool           `json:"safeguarding_concern"`
	SafeguardingDetails string         `json:"safeguarding_details,omitempty"`
	FollowUpSupport     []string       `json:"follow_up_support,omitempty"`
	ReferralsMade       []string       `json:"referrals_made,omitempty"`
	// Places and PeopleOfConcern are where the child went and whom with,
	// collated across episodes into the commissioner's hot spots.
	Places          []Place           `json:"places,omitempty"`
	PeopleOfConcern []PersonOfConcern `json:"people_of_concern,omitempty"`
}

// PlaceType is what kind of place a child went to.
type PlaceType string

const (
	PlaceAddress    PlaceType = "address"
	PlacePark       PlaceType = "park"
	PlaceTownCentre PlaceType = "town_centre"
	PlaceStation    PlaceType = "station"
	PlaceParty      PlaceType = "party"
	PlaceOther      PlaceType = "other"
)

// Place is a place the child went to while away: a named place, a postcode
// district (the outward code, such as "LS1"), or both.
type Place struct {
	Type             PlaceType `json:"type"`
	Name             string    `json:"name,omitempty"`
	PostcodeDistrict string    `json:"postcode_district,omitempty"`
}

// PersonOfConcern is someone the child was with who may pose a risk.
// PersonID names a known person of concern of the same commissioner when
// the interviewer matches them; without it the record makes a new one.
type PersonOfConcern struct {
	PersonID    string `json:"person_id,omitempty"`
	Description string `json:"description"`
}

// Interview is the current state of the interview.
type Interview struct {
	Status       InterviewOutcome `json:"status"` // scheduled, did_not_attend or held
	ScheduledFor *time.Time       `json:"scheduled_for,omitempty"`
	Venue        string           `json:"venue,omitempty"`
	HeldAt       *time.Time       `json:"held_at,omitempty"`
	Record       *InterviewRecord `json:"record,omitempty"`
	Missed       int              `json:"missed"`
	Reschedules  int              `json:"reschedules"`
	// Covers are the other episodes the held interview covered; SharedFrom
	// is the reference of the episode it was recorded on, when this
	// episode received it as a shared interview.
	Covers     []string `json:"covers,omitempty"`
	SharedFrom string   `json:"shared_from,omitempty"`
	// History holds the updates not yet written to the case records;
	// Entries counts them all.
	History []InterviewEntry `json:"history"`
	Entries int              `json:"entries"`
}

// InterviewEntry is one recorded interview update, kept in order.
type InterviewEntry struct {
	Seq        int             `json:"seq"`
	Update     InterviewUpdate `json:"update"`
	RecordedBy string          `json:"recorded_by"`
	RecordedAt time.Time       `json:"recorded_at"`
}

// Party is someone the child agreed information may be shared with.
type Party string

const (
	PartySocialWorker    Party = "social_worker"
	PartyParentsOrCarers Party = "parents_or_carers"
	PartyPolice          Party = "police"
	PartySchool          Party = "school"
	PartyHealth          Party = "health"
)

var Parties = []Party{PartySocialWorker, PartyParentsOrCarers, PartyPolice, PartySchool, PartyHealth}

type Sharing struct {
	Party Party  `json:"party"`
	What  string `json:"what"`
}

// Agreement records what was explained and what will be shared with whom.
type Agreement struct {
	ConfidentialityExplained bool      `json:"confidentiality_explained"`
	ChildToldBeforeSharing   bool      `json:"child_told_before_sharing"`
	SharedWith               []Sharing `json:"shared_with"`
	Notes                    string    `json:"notes,omitempty"`
	RecordedBy               string    `json:"recorded_by,omitempty"`
	RecordedAt               time.Time `json:"recorded_at"`
}

// FollowUpRecord is what the interviewer found when following up. With an
// action plan it reviews every action not yet settled.
type FollowUpRecord struct {
	CompletedAt   time.Time      `json:"completed_at"`
	ActionsTaken  []string       `json:"actions_taken"`
	Outcome       string         `json:"outcome"`
	ActionReviews []ActionReview `json:"action_reviews,omitempty"`
}

// FollowUp is the one-week check after the interview.
type FollowUp struct {
	DueAt        time.Time  `json:"due_at"`
	OverdueAt    time.Time  `json:"overdue_at"`
	CompletedAt  *time.Time `json:"completed_at,omitempty"`
	ActionsTaken []string   `json:"actions_taken,omitempty"`
	Outcome      string     `json:"outcome,omitempty"`
	RecordedBy   string     `json:"recorded_by,omitempty"`
}

type ClosureReason string

const (
	ClosureOpenedInError  ClosureReason = "opened_in_error"
	ClosureDuplicate      ClosureReason = "duplicate"
	ClosureMovedOutOfArea ClosureReason = "moved_out_of_area"
	ClosureOther          ClosureReason = "other"
)

var ClosureReasons = []ClosureReason{ClosureOpenedInError, ClosureDuplicate, ClosureMovedOutOfArea, ClosureOther}

type ClosureRequest struct {
	Reason  ClosureReason `json:"reason"`
	Details string        `json:"details,omitempty"`
}

// Closure records an early close.
type Closure struct {
	Reason   ClosureReason `json:"reason"`
	Details  string        `json:"details,omitempty"`
	ClosedAt time.Time     `json:"closed_at"`
	ClosedBy string        `json:"closed_by"`
}

// EscalationKind is why managers are told.
type EscalationKind string

const (
	EscalationDeadlineWarning     EscalationKind = "deadline_warning"
	EscalationDeadlineBreached    EscalationKind = "deadline_breached"
	EscalationUnableToContact     EscalationKind = "unable_to_contact"
	EscalationSafeguardingConcern EscalationKind = "safeguarding_concern"
	EscalationFollowUpOverdue     EscalationKind = "follow_up_overdue"
	// EscalationRepeatMissing is raised by the child's record, not by one
	// episode: the child went missing again and again (see RepeatRule).
	EscalationRepeatMissing EscalationKind = "repeat_missing"
	EscalationActionOverdue EscalationKind = "action_overdue"
)

var EscalationKinds = []EscalationKind{EscalationDeadlineWarning, EscalationDeadlineBreached, EscalationUnableToContact, EscalationSafeguardingConcern, EscalationFollowUpOverdue, EscalationRepeatMissing, EscalationActionOverdue, EscalationReportOverdue, EscalationReportUnacknowledged}

// Escalation is one escalation of the episode. Each kind happens at most
// once, except action_overdue, which happens at most once per action.
type Escalation struct {
	Kind EscalationKind `json:"kind"`
	// Action is the number of the overdue action (action_overdue only).
	Action      int        `json:"action,omitempty"`
	Reason      string     `json:"reason"`
	DueAt       time.Time  `json:"due_at"` // the deadline or instant that is late
	TriggeredAt time.Time  `json:"triggered_at"`
	SentAt      *time.Time `json:"sent_at,omitempty"`
	Recipients  int        `json:"recipients"`
	Failed      bool       `json:"failed,omitempty"`
}

// TimelineEntry is one line of the episode's history, free of personal data.
type TimelineEntry struct {
	Seq     int       `json:"seq"`
	At      time.Time `json:"at"`
	Type    string    `json:"type"`
	Summary string    `json:"summary"`
	Actor   string    `json:"actor,omitempty"`
}
