package api

import (
	"errors"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"homeward/episode"
	"homeward/store"
	"homeward/workflows"
)

// One interview for several episodes. A held interview recorded on one
// episode may cover other open episodes of the same child: once the
// episode it was recorded on has it, each covered episode receives it as
// a shared interview, through its own update and its own rules (open, not
// yet interviewed, assigned to the interviewer unless they take it over).
// The update ids derive from the first one, so a retry with the same
// Idempotency-Key records each at most once and completes what a crash
// left undone.

// SharedResult is what one covered episode answered.
type SharedResult struct {
	EpisodeID string         `json:"episode_id"`
	Recorded  bool           `json:"recorded"`
	Status    episode.Status `json:"status,omitempty"`
	Field     string         `json:"field,omitempty"`
	Reason    string         `json:"reason,omitempty"`
}

// coveredEpisodes reads the covers of a held interview: episodes of the
// same child as this one, each named once. Who may record on them is the
// covered episodes' own rule.
func (h *handlers) coveredEpisodes(c *gin.Context, raw []string, p *problems) ([]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	ctx := c.Request.Context()
	self, _ := episodeID(c)
	child, err := h.Store.EpisodeChild(ctx, self)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{self: true}
	var out []string
	for i, r := range raw {
		field := "covers[" + strconv.Itoa(i) + "]"
		u, err := uuid.Parse(r)
		if err != nil {
			p.add(field, "must be a uuid")
			continue
		}
		id := u.String()
		if seen[id] {
			p.add(field, "names this episode, or one named before")
			continue
		}
		seen[id] = true
		other, err := h.Store.EpisodeChild(ctx, id)
		if err != nil {
			return nil, err
		}
		if child == "" || other != child {
			p.add(field, "is not a recorded episode of the same child")
			continue
		}
		out = append(out, id)
	}
	return out, nil
}

// shareInterview records the held interview on each episode it covers.
func (h *handlers) shareInterview(c *gin.Context, ans store.OutcomeAnswer, ev episode.Event, updateID, hash string) []SharedResult {
	u := ev.Interview
	out := make([]SharedResult, 0, len(u.Covers))
	for _, cover := range u.Covers {
		shared := episode.Event{Type: episode.EventSharedInterview, Actor: ev.Actor, ActorRole: ev.ActorRole, RecordedAt: ev.RecordedAt,
			Shared: &episode.SharedInterview{Primary: ans.EpisodeID, PrimaryReference: ans.Episode.Reference,
				HeldAt: *u.HeldAt, Venue: u.Venue, Record: u.Record, TakeOver: u.TakeOver,
				TakerGender: currentUser(c).Gender}}
		r := h.shareWith(c, cover, updateID+"/shared/"+cover, workflows.OutcomeInput{Event: shared, RequestHash: hash})
		out = append(out, r)
	}
	return out
}

func (h *handlers) shareWith(c *gin.Context, cover, updateID string, in workflows.OutcomeInput) SharedResult {
	ctx := c.Request.Context()
	r := SharedResult{EpisodeID: cover}
	if kept, err := h.Store.OutcomeAnswer(ctx, updateID); err == nil {
		r.Recorded, r.Status = true, kept.Episode.Status
		return r
	}
	ans, err := h.sendOutcome(ctx, cover, updateID, in)
	var appErr *temporal.ApplicationError
	switch {
	case err == nil:
		r.Recorded, r.Status = true, ans.Episode.Status
		h.auditShared(c, cover, in.Event.Shared.TakeOver)
	case errors.As(err, &appErr):
		r.Field, r.Reason = "covers", appErr.Message()
		var field, reason string
		if appErr.Details(&field, &reason) == nil && reason != "" {
			r.Reason = reason
		}
	case isNotFound(err) || isCompleted(err):
		r.Field, r.Reason = "covers", "the episode has ended"
	default:
		r.Field, r.Reason = "covers", "the episode did not answer in time; retry with the same Idempotency-Key"
	}
	return r
}

// auditShared records the shared interview, and a take-over, against the
// covered episode.
func (h *handlers) auditShared(c *gin.Context, cover string, takeOver bool) {
	u := currentUser(c)
	outcome := "accepted"
	if takeOver {
		outcome = "accepted, taken over"
	}
	e := store.AuditEntry{UserID: u.ID, Role: string(u.Role), CommissionerID: u.CommissionerID,
		Action: "episode.shared_interview", Resource: c.Request.Method + " " + c.FullPath(), EpisodeID: cover,
		ClientIP: c.ClientIP(), RequestID: requestID(c), Outcome: outcome, Status: 200}
	if err := h.appendAudit(c, e); err != nil {
		h.log.ErrorContext(c.Request.Context(), "Audit trail not written for a shared interview", "request_id", requestID(c), "error", err)
	}
}
