package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"homeward/episode"
	"homeward/store"
)

// reportRoutes: the provider's staff read an episode's return report as
// they read the episode (row-level security decides); a commissioner's
// officers read the reports of their commissioner's episodes.
func (h *handlers) reportRoutes(v1 *gin.RouterGroup) {
	v1.GET("/episodes/:id/report", h.getReturnReport)
	v1.POST("/episodes/:id/report/acknowledgement", allow(store.RoleCommissionerOfficer, store.RoleManager), h.acknowledgeReport)
	v1.POST("/episodes/:id/report/approval", allow(store.RoleManager), h.approveReport)
}

// approveReport records a manager's approval of the report, where the
// commissioner's policy asks for one, as an outcome of the episode, which
// then sends it.
func (h *handlers) approveReport(c *gin.Context) {
	h.outcome(c, episode.EventReportApproval, func(ctx context.Context, ev *episode.Event) (problems, error) {
		ev.Approval = &episode.ReportApproval{}
		return nil, nil
	})
	if c.Writer.Status() != http.StatusOK {
		return
	}
	id, _ := episodeID(c)
	if err := h.Store.ApproveReturnReport(c.Request.Context(), id, currentUser(c).ID, h.now()); err != nil {
		h.log.ErrorContext(c.Request.Context(), "Approval not stored with the report", "request_id", requestID(c), "error", err)
	}
}

// acknowledgeReport records, as an outcome of the episode (so it stops the
// report's timer), that the commissioner acknowledged its return report;
// the stored report then names who and when.
func (h *handlers) acknowledgeReport(c *gin.Context) {
	h.outcomeScoped(c, episode.EventReportAcknowledgement, h.reportScope, func(ctx context.Context, ev *episode.Event) (problems, error) {
		ev.ReportAck = &episode.ReportAcknowledgement{}
		return nil, nil
	})
	if c.Writer.Status() != http.StatusOK {
		return
	}
	id, _ := episodeID(c)
	user := currentUser(c)
	if err := h.Store.AcknowledgeReturnReport(c.Request.Context(), id, user.ID, h.now()); err != nil {
		// The episode holds the acknowledgement; the report's row catches
		// up on a retry, which gets the episode's first answer.
		h.log.ErrorContext(c.Request.Context(), "Acknowledgement not stored with the report", "request_id", requestID(c), "error", err)
	}
}

// reportScope lets through those who may read the episode's report: the
// same 404 as for no report otherwise.
func (h *handlers) reportScope(c *gin.Context, id string) bool {
	_, err := h.Store.ReturnReportFor(c.Request.Context(), callerOf(c), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		reportNotFound(c)
		return false
	case err != nil:
		h.serverError(c, "return report scope", err)
		return false
	}
	return true
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
