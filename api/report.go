package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"homeward/store"
)

// reportRoutes: the provider's staff read an episode's return report as
// they read the episode (row-level security decides); a commissioner's
// officers read the reports of their commissioner's episodes.
func (h *handlers) reportRoutes(v1 *gin.RouterGroup) {
	v1.GET("/episodes/:id/report", h.getReturnReport)
}

// Media types of the return report.
const (
	mediaPDF  = "application/pdf"
	mediaHTML = "text/html"
)

func (h *handlers) getReturnReport(c *gin.Context) {
	media := c.NegotiateFormat(mediaPDF, mediaHTML)
	if c.GetHeader("Accept") == "" {
		media = mediaPDF
	}
	if media == "" {
		abort(c, http.StatusNotAcceptable, "The return report is served as application/pdf or text/html.",
			Detail{Field: "Accept", Reason: "must accept application/pdf or text/html"})
		return
	}
	id, ok := episodeID(c)
	if !ok {
		reportNotFound(c)
		return
	}
	r, err := h.Store.ReturnReportFor(c.Request.Context(), callerOf(c), id)
	if errors.Is(err, store.ErrNotFound) {
		reportNotFound(c)
		return
	}
	if err != nil {
		h.serverError(c, "get return report", err)
		return
	}
	c.Header("Cache-Control", "no-store")
	// The file is named by the reference only, never by the child.
	if media == mediaHTML {
		c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(r.HTML))
		return
	}
	c.Header("Content-Disposition", `attachment; filename="return-report-`+r.Reference+`.pdf"`)
	c.Data(http.StatusOK, mediaPDF, r.PDF)
}

func reportNotFound(c *gin.Context) {
	abort(c, http.StatusNotFound, "No return report for this episode.", Detail{Field: "id", Reason: "no return report you may read"})
}
