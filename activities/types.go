package activities

import (
	"time"

	"homeward/episode"
	"homeward/store"
)

// SaveEpisodeInput carries a snapshot of the episode for the case records.
// Referral is set until the first save succeeds, so the child and the
// referral are written exactly once without a second round trip.
//
// The state holds only the entries of its growing lists (attempts,
// interview updates, timeline) that the records do not hold yet; Answers
// are the episode's answers to the outcomes among them.
type SaveEpisodeInput struct {
	State    episode.State         `json:"state"`
	Referral *episode.Referral     `json:"referral,omitempty"`
	Answers  []store.OutcomeAnswer `json:"answers,omitempty"`
}

type SaveEpisodeResult struct {
	// Applied is false when the records already held this version or a newer one.
	Applied bool `json:"applied"`
}

// SendEscalationInput names one escalation of one episode; the pair
// (episode, kind) is what makes the email go out exactly once.
type SendEscalationInput struct {
	EpisodeID  string             `json:"episode_id"`
	Reference  string             `json:"reference"`
	Escalation episode.Escalation `json:"escalation"`
	// CommissionerID is the episode's: its managers and the provider's are
	// emailed, no other commissioner's.
	CommissionerID string `json:"commissioner_id,omitempty"`
}

type SendEscalationResult struct {
	SentAt     time.Time `json:"sent_at"`
	Recipients int       `json:"recipients"`
}

// SendReminderInput asks the interviewer (or, with none assigned, the
// coordinators) to make the contact attempt that is overdue.
type SendReminderInput struct {
	EpisodeID     string              `json:"episode_id"`
	Reference     string              `json:"reference"`
	InterviewerID string              `json:"interviewer_id,omitempty"`
	Attempt       int                 `json:"attempt"` // the number of the attempt that is due
	Contact       episode.NextContact `json:"contact"`
	// CommissionerID is the episode's: only its coordinators and the
	// provider's are reminded.
	CommissionerID string `json:"commissioner_id,omitempty"`
}

type SendReminderResult struct {
	SentAt     time.Time `json:"sent_at"`
	Recipients int       `json:"recipients"`
}

// SendActionReminderInput asks the owner of an action of the plan (by the
// address the plan gives, or else the assigned interviewer) to do it: it
// is due. The email carries the reference and the action's number only.
type SendActionReminderInput struct {
	EpisodeID     string    `json:"episode_id"`
	Reference     string    `json:"reference"`
	Action        int       `json:"action"`
	DueAt         time.Time `json:"due_at"`
	OwnerEmail    string    `json:"owner_email,omitempty"`
	InterviewerID string    `json:"interviewer_id,omitempty"`
	// CommissionerID is the episode's: with neither an owner's address nor
	// an interviewer, its coordinators and the provider's are reminded.
	CommissionerID string `json:"commissioner_id,omitempty"`
}
