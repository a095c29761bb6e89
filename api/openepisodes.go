package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"homeward/store"
)

// OpenEpisodes is the answer of GET /v1/reports/open-episodes: how many of
// a commissioner's episodes are open now, by status. Counts only, so a
// manager's overview needs no page of case records to draw its chart.
type OpenEpisodes struct {
	CommissionerID string              `json:"commissioner_id"`
	Statuses       []store.StatusCount `json:"statuses"`
	Total          int                 `json:"total"`
}

func (h *handlers) openEpisodes(c *gin.Context) {
	var p problems
	requested := strings.TrimSpace(c.Query("commissioner_id"))
	if u, err := uuid.Parse(requested); requested != "" && err != nil {
		p.add("commissioner_id", "must be a uuid")
	} else if requested != "" {
		requested = u.String()
	}
	var cid string
	if len(p) == 0 {
		commissioner, reason, err := h.episodeCommissionerFor(c.Request.Context(), currentUser(c), requested)
		if err != nil {
			h.serverError(c, "open episodes commissioner", err)
			return
		}
		if reason != "" {
			p.add("commissioner_id", reason)
		}
		cid = commissioner
	}
	if len(p) > 0 {
		invalid(c, p)
		return
	}
	counts, err := h.Store.OpenEpisodesByStatus(c.Request.Context(), callerOf(c), cid)
	if err != nil {
		h.serverError(c, "open episodes by status", err)
		return
	}
	out := OpenEpisodes{CommissionerID: cid, Statuses: counts}
	for _, s := range counts {
		out.Total += s.Count
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, out)
}
