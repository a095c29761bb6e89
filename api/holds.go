package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"homeward/store"
)

// maxHoldReason bounds the reason of a legal hold.
const maxHoldReason = 1000

type legalHoldRequest struct {
	Reason string `json:"reason"`
}

// holdRoutes mounts the legal hold routes: a hold on a child stops the
// retention purge for every record of that child until it is released.
func (h *handlers) holdRoutes(v1 *gin.RouterGroup) {
	v1.POST("/children/:id/legal-hold", allow(store.RoleManager, store.RoleAdmin), h.placeLegalHold)
	v1.DELETE("/children/:id/legal-hold", allow(store.RoleManager, store.RoleAdmin), h.releaseLegalHold)
	v1.GET("/children/:id/legal-hold", allow(store.RoleManager, store.RoleAdmin), h.listLegalHolds)
}

// legalHolds is the answer of GET /v1/children/{id}/legal-hold.
type legalHolds struct {
	Holds []store.LegalHold `json:"holds"`
}

// visibleChild answers 404 unless the caller may see the child (through
// an episode they may see), so another commissioner's child is
// indistinguishable from none.
func (h *handlers) visibleChild(c *gin.Context) (string, bool) {
	id := strings.TrimSpace(c.Param("id"))
	ok, err := h.Store.ChildExists(c.Request.Context(), callerOf(c), id)
	if err != nil {
		h.serverError(c, "find child", err)
		return "", false
	}
	if !ok {
		childNotFound(c)
		return "", false
	}
	return id, true
}

func childNotFound(c *gin.Context) {
	abort(c, http.StatusNotFound, "No such child.", Detail{Field: "id", Reason: "no such child"})
}

func (h *handlers) placeLegalHold(c *gin.Context) {
	var req legalHoldRequest
	if !decode(c, &req) {
		return
	}
	var p problems
	if strings.TrimSpace(req.Reason) == "" {
		p.add("reason", "is required")
	}
	p.maxLen("reason", req.Reason, maxHoldReason)
	if len(p) > 0 {
		invalid(c, p)
		return
	}
	id, ok := h.visibleChild(c)
	if !ok {
		return
	}
	hold, err := h.Store.PlaceLegalHold(c.Request.Context(), callerOf(c), id, strings.TrimSpace(req.Reason), h.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		childNotFound(c)
	case errors.Is(err, store.ErrConflict):
		abort(c, http.StatusConflict, "The child already has an active legal hold.",
			Detail{Field: "id", Reason: "already on legal hold"})
	case err != nil:
		h.serverError(c, "place legal hold", err)
	default:
		c.JSON(http.StatusCreated, hold)
	}
}

func (h *handlers) releaseLegalHold(c *gin.Context) {
	id, ok := h.visibleChild(c)
	if !ok {
		return
	}
	hold, err := h.Store.ReleaseLegalHold(c.Request.Context(), callerOf(c), id, h.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		childNotFound(c)
	case errors.Is(err, store.ErrForbidden):
		// The caller sees the child (else 404 above), so its hold is no secret.
		abort(c, http.StatusForbidden, "Only the managers of the commissioner that placed the hold, or the provider's managers, may release it.",
			Detail{Field: "id", Reason: "hold placed by another commissioner"})
	case errors.Is(err, store.ErrConflict):
		abort(c, http.StatusConflict, "The child has no active legal hold.",
			Detail{Field: "id", Reason: "no active legal hold"})
	case err != nil:
		h.serverError(c, "release legal hold", err)
	default:
		c.JSON(http.StatusOK, hold)
	}
}

// listLegalHolds answers the child's holds, active and released, newest
// first: who placed each, for which commissioner, and who released it.
func (h *handlers) listLegalHolds(c *gin.Context) {
	id, ok := h.visibleChild(c)
	if !ok {
		return
	}
	holds, err := h.Store.LegalHolds(c.Request.Context(), callerOf(c), id)
	if err != nil {
		h.serverError(c, "list legal holds", err)
		return
	}
	c.JSON(http.StatusOK, legalHolds{Holds: holds})
}
