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

// The child's record: one long-lived workflow per child, which counts the
// child's episodes to call a strategy meeting. Named here, not in
// workflows, so the activity that feeds it can start it.
const (
	// ChildRecordWorkflow is the registered name of workflows.ChildRecord.
	ChildRecordWorkflow = "ChildRecord"
	// SignalEpisodeOpened tells the child's record an episode was opened.
	SignalEpisodeOpened = "episode-opened"
)

// ChildRecordID is the workflow id of a child's record: nothing about the
// child but its id.
func ChildRecordID(childID string) string { return "child-" + childID }

// EpisodeOpened is what the child's record learns of one episode.
type EpisodeOpened struct {
	EpisodeID      string    `json:"episode_id"`
	Reference      string    `json:"reference"`
	CommissionerID string    `json:"commissioner_id,omitempty"`
	OpenedAt       time.Time `json:"opened_at"`
	// The episode's strategy-meeting trigger (its policy's RepeatRule).
	RepeatEpisodes int           `json:"repeat_episodes"`
	RepeatWindow   time.Duration `json:"repeat_window"`
}

// ChildRecordInput starts (or continues) a child's record.
type ChildRecordInput struct {
	ChildID string `json:"child_id"`
	// Openings are carried over when the record continues as new.
	Openings []ChildOpening `json:"openings,omitempty"`
}

// ChildOpening is one episode the child's record counts. Counted is set
// once it was part of a strategy-meeting escalation, so no episode is
// counted towards two.
type ChildOpening struct {
	EpisodeID string    `json:"episode_id"`
	Reference string    `json:"reference"`
	OpenedAt  time.Time `json:"opened_at"`
	Counted   bool      `json:"counted,omitempty"`
}

// NoteEpisodeInput asks that the child's record learn of an episode; the
// child is the one the case records give the episode.
type NoteEpisodeInput struct {
	Opened EpisodeOpened `json:"opened"`
}

type NoteEpisodeResult struct {
	ChildID string `json:"child_id"`
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
