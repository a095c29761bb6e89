package api

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"homeward/store"
)

// maxAcknowledgementNote bounds the note of an escalation's acknowledgement.
const maxAcknowledgementNote = 2000

type acknowledgementRequest struct {
	Note string `json:"note"`
}

// EscalationAcknowledged is the answer to an acknowledgement.
type EscalationAcknowledged struct {
	EscalationID    int64                           `json:"escalation_id"`
	Acknowledgement store.EscalationAcknowledgement `json:"acknowledgement"`
}

// ctxAuditEpisode names, for the audit trail, the episode a request
// turned out to be about when its path does not say.
const ctxAuditEpisode = "homeward.audit_episode"

// acknowledgeEscalation records that a manager is dealing with an
// escalation, with a note for the team. It is the team's note, not an
// outcome of the episode, so it is one write to PostgreSQL and the
// episode's workflow is not asked. The note is never logged.
func (h *handlers) acknowledgeEscalation(c *gin.Context) {
	id, ok := h.visibleEscalation(c)
	if !ok {
		return
	}
	key, ok := requiredIdempotencyKey(c)
	if !ok {
		return
	}
	var req acknowledgementRequest
	if !decode(c, &req) {
		return
	}
	note := strings.TrimSpace(req.Note)
	var p problems
	if note == "" {
		p.add("note", "is required")
	}
	p.maxLen("note", note, maxAcknowledgementNote)
	if len(p) > 0 {
		invalid(c, p)
		return
	}
	keyID, hash := scopedKey("acknowledgement", currentUser(c).ID, key), acknowledgementHash(id, note)
	kept, created, err := h.Store.AcknowledgeEscalation(c.Request.Context(), callerOf(c), store.Acknowledgement{
		EscalationID: id, Note: note, At: h.now(), KeyID: keyID, RequestHash: hash,
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		escalationNotFound(c)
	case errors.Is(err, store.ErrForbidden):
		abort(c, http.StatusForbidden, "Your role may not acknowledge escalations.",
			Detail{Field: "role", Reason: "must be manager or admin"})
	case err != nil:
		h.serverError(c, "acknowledge escalation", err)
	case created || (kept.KeyID == keyID && kept.RequestHash == hash):
		c.JSON(http.StatusCreated, EscalationAcknowledged{EscalationID: kept.EscalationID, Acknowledgement: kept.EscalationAcknowledgement})
	case kept.KeyID == keyID:
		keyReused(c, "acknowledgement")
	default:
		by := kept.By.Name
		if by == "" {
			by = "another user"
		}
		abort(c, http.StatusConflict, "This escalation was already acknowledged by "+by+".",
			Detail{Field: "id", Reason: "the escalation was already acknowledged"})
	}
}

// visibleEscalation reads the escalation id of the path and answers 404
// itself unless the caller may see it: another commissioner's escalation
// reads as none.
func (h *handlers) visibleEscalation(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		escalationNotFound(c)
		return 0, false
	}
	episodeID, err := h.Store.EscalationEpisode(c.Request.Context(), callerOf(c), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		escalationNotFound(c)
		return 0, false
	case err != nil:
		h.serverError(c, "find escalation", err)
		return 0, false
	}
	c.Set(ctxAuditEpisode, episodeID)
	return id, true
}

func escalationNotFound(c *gin.Context) {
	abort(c, http.StatusNotFound, "No such escalation.", Detail{Field: "id", Reason: "no such escalation"})
}

// requiredIdempotencyKey is idempotencyKey for writes that must have one.
func requiredIdempotencyKey(c *gin.Context) (string, bool) {
	key, ok := idempotencyKey(c)
	if ok && strings.TrimSpace(key) == "" {
		abort(c, http.StatusBadRequest, "The request is not valid: Idempotency-Key is required.",
			Detail{Field: "Idempotency-Key", Reason: "is required"})
		return "", false
	}
	return key, ok
}

// acknowledgementHash identifies an acknowledgement request: the
// escalation and the note.
func acknowledgementHash(escalationID int64, note string) string {
	b, _ := json.Marshal(struct {
		EscalationID int64  `json:"escalation_id"`
		Note         string `json:"note"`
	}{escalationID, note})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
