package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"

	"homeward/episode"
	"homeward/store"
	"homeward/workflows"
)

// outcome is the path every outcome takes: decode the body into an event
// and hand it to the episode as one Workflow Update. The episode's
// validator decides; the answer is what the episode returned. With an
// Idempotency-Key the update id is the caller's key, so a retry gets the
// first answer: from the workflow while it runs, from the answers its
// projection keeps once it has ended.
func (h *handlers) outcome(c *gin.Context, typ episode.EventType,
	build func(ctx context.Context, ev *episode.Event) (problems, error)) {
	h.outcomeScoped(c, typ, h.scope, build)
}

// outcomeScoped is outcome with the caller's scope decided by scope, which
// answers itself when the caller may not send it.
func (h *handlers) outcomeScoped(c *gin.Context, typ episode.EventType, scope func(*gin.Context, string) bool,
	build func(ctx context.Context, ev *episode.Event) (problems, error)) {
	ctx := c.Request.Context()
	id, ok := episodeID(c)
	if !ok {
		notFound(c)
		return
	}
	// Before anything else, and before Temporal is asked: an episode the
	// caller may not see answers 404 whatever the request.
	if !scope(c, id) {
		return
	}
	key, ok := idempotencyKey(c)
	if !ok {
		return
	}
	user := currentUser(c)
	ev := episode.Event{Type: typ, Actor: user.ID, ActorRole: string(user.Role), RecordedAt: h.now()}
	p, err := build(ctx, &ev)
	if errors.Is(err, errAnswered) {
		return
	}
	if err != nil {
		h.serverError(c, "validate "+string(typ), err)
		return
	}
	for _, prob := range ev.Validate() {
		if !hasField(p, prob.Field) {
			p.add(prob.Field, prob.Reason)
		}
	}
	if len(p) > 0 {
		invalid(c, p)
		return
	}
	hash := outcomeHash(id, ev)
	updateID := "outcome-" + uuid.NewString()
	if key != "" {
		updateID = scopedKey("outcome", user.ID, key)
		if h.answerKept(c, updateID, hash, ev) {
			return
		}
	}
	ans, err := h.sendOutcome(ctx, id, updateID, workflows.OutcomeInput{Event: ev, RequestHash: hash})
	if err != nil {
		h.outcomeFailed(c, updateID, key, hash, ev, err)
		return
	}
	h.answerOutcome(c, ans, hash, ev, updateID)
}

// sendOutcome sends the update and waits, at most OutcomeTimeout, for the
// episode's answer.
func (h *handlers) sendOutcome(ctx context.Context, id, updateID string, in workflows.OutcomeInput) (store.OutcomeAnswer, error) {
	uctx, cancel := context.WithTimeout(ctx, h.OutcomeTimeout)
	defer cancel()
	return workflows.RecordOutcome(uctx, h.Temporal, id, updateID, in)
}

// answerKept answers from the answer kept for updateID, if there is one.
func (h *handlers) answerKept(c *gin.Context, updateID, hash string, ev episode.Event) bool {
	ans, err := h.Store.OutcomeAnswer(c.Request.Context(), updateID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false
	case err != nil:
		h.serverError(c, "outcome answer", err)
		return true
	}
	h.answerOutcome(c, ans, hash, ev, updateID)
	return true
}

// answerOutcome answers with the episode's answer; a held interview that
// covers other episodes is then recorded on each of them (see shared.go).
func (h *handlers) answerOutcome(c *gin.Context, ans store.OutcomeAnswer, hash string, ev episode.Event, updateID string) {
	if ans.RequestHash != hash {
		keyReused(c, "outcome")
		return
	}
	body := OutcomeRecorded{EpisodeID: ans.EpisodeID, Recorded: ans.Recorded, Episode: ans.Episode}
	if ev.Interview != nil && len(ev.Interview.Covers) > 0 {
		body.Covered = h.shareInterview(c, ans, ev, updateID, hash)
	}
	c.JSON(http.StatusOK, body)
}

func keyReused(c *gin.Context, what string) {
	abort(c, http.StatusUnprocessableEntity, "This Idempotency-Key was already used for a different "+what+".",
		Detail{Field: "Idempotency-Key", Reason: "was already used for a different " + what})
}

// outcomeFailed answers an update the episode did not answer with a result.
func (h *handlers) outcomeFailed(c *gin.Context, updateID, key, hash string, ev episode.Event, err error) {
	var appErr *temporal.ApplicationError
	switch {
	case errors.As(err, &appErr) && appErr.Type() == workflows.ErrNotAssigned:
		notFound(c) // as for any episode an interviewer may not see
	case errors.As(err, &appErr) && (appErr.Type() == workflows.ErrConflict || appErr.Type() == workflows.ErrInvalid):
		var field, reason string
		if derr := appErr.Details(&field, &reason); derr != nil || field == "" {
			field, reason = "outcome", appErr.Message()
		}
		if appErr.Type() == workflows.ErrConflict {
			abort(c, http.StatusConflict, "This outcome cannot be recorded now: "+reason+".", Detail{Field: field, Reason: reason})
			return
		}
		invalid(c, problems{{Field: field, Reason: reason}})
	case isNotFound(err) || isCompleted(err):
		// The episode ended, perhaps with this very outcome.
		if key != "" && h.answerKept(c, updateID, hash, ev) {
			return
		}
		closed(c)
	case unavailable(err) || cutShort(err):
		h.log.WarnContext(c.Request.Context(), "Episode did not answer an outcome in time",
			"request_id", requestID(c), "route", c.FullPath(), "error", err)
		abort(c, http.StatusServiceUnavailable,
			"The episode did not answer in time, so the outcome is either recorded once or not at all. "+
				"Retrying with the same Idempotency-Key is safe and gets its answer.")
	default:
		h.serverError(c, "update workflow", err)
	}
}

// isCompleted reports the server's refusal of an update to a workflow that
// has completed.
func isCompleted(err error) bool {
	return strings.Contains(err.Error(), "workflow execution already completed")
}

func closed(c *gin.Context) {
	abort(c, http.StatusConflict, "The episode has ended (closed, completed or declined) and accepts no more outcomes.",
		Detail{Field: "status", Reason: "the episode has ended"})
}

// outcomeHash identifies an outcome request: the episode, the kind of
// outcome and what it says, but not when it was received.
func outcomeHash(episodeID string, ev episode.Event) string {
	ev.RecordedAt = time.Time{}
	b, _ := json.Marshal(struct {
		EpisodeID string        `json:"episode_id"`
		Event     episode.Event `json:"event"`
	}{episodeID, ev})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// scopedKey makes a caller's Idempotency-Key into an id no other caller
// can reach.
func scopedKey(kind, userID, key string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + userID + "\x00" + key))
	return kind + "-" + hex.EncodeToString(sum[:20])
}

// idempotencyKey reads the optional Idempotency-Key header; it answers 400
// itself when the key is not acceptable.
func idempotencyKey(c *gin.Context) (string, bool) {
	key := c.GetHeader("Idempotency-Key")
	switch {
	case utf8.RuneCountInString(key) > maxIdempotencyKey:
		abort(c, http.StatusBadRequest, "The request is not valid: Idempotency-Key must be at most 200 characters.",
			Detail{Field: "Idempotency-Key", Reason: "must be at most 200 characters"})
		return "", false
	case !utf8.ValidString(key) || strings.ContainsFunc(key, unicode.IsControl):
		abort(c, http.StatusBadRequest, "The request is not valid: Idempotency-Key must be printable text.",
			Detail{Field: "Idempotency-Key", Reason: "must be printable text"})
		return "", false
	}
	return key, true
}
