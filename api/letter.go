package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"homeward/episode"
	"homeward/report"
	"homeward/store"
)

// letterRoutes: the interviewer gives or sends the child a short letter in
// plain words, made from the same record as the return report.
func (h *handlers) letterRoutes(v1 *gin.RouterGroup) {
	v1.GET("/episodes/:id/letter", allow(store.RoleInterviewer, store.RoleManager), h.getLetter)
	v1.POST("/episodes/:id/letter/given", allow(store.RoleInterviewer), h.letterGiven)
}

func (h *handlers) getLetter(c *gin.Context) {
	id, ok := episodeID(c)
	if !ok {
		notFound(c)
		return
	}
	d, err := h.Store.GetEpisode(c.Request.Context(), callerOf(c), id)
	if errors.Is(err, store.ErrNotFound) {
		notFound(c)
		return
	}
	if err != nil {
		h.serverError(c, "get episode for letter", err)
		return
	}
	if d.Interview == nil || d.Interview.HeldAt == nil || d.Interview.Record == nil {
		abort(c, http.StatusConflict, "There is no letter: no interview has been held.",
			Detail{Field: "interview", Reason: "no interview has been held"})
		return
	}
	src := report.LetterSource{Reference: d.Reference, Record: *d.Interview.Record}
	if d.ActionPlan != nil {
		for _, a := range d.ActionPlan.Actions {
			src.Actions = append(src.Actions, report.Action{What: a.What, Owner: a.Owner, DueAt: a.DueAt})
		}
	}
	if d.FollowUp != nil {
		src.FollowUpBy = &d.FollowUp.DueAt
	}
	pdf, err := report.LetterPDF(src)
	if err != nil {
		h.serverError(c, "render letter", err)
		return
	}
	c.Header("Cache-Control", "no-store")
	// Named by the reference only, never by the child.
	c.Header("Content-Disposition", `attachment; filename="letter-`+d.Reference+`.pdf"`)
	c.Data(http.StatusOK, mediaPDF, pdf)
}

// letterGiven records, as an outcome of the episode, that the letter was
// given or sent to the child.
func (h *handlers) letterGiven(c *gin.Context) {
	h.outcome(c, episode.EventLetterGiven, func(ctx context.Context, ev *episode.Event) (problems, error) {
		ev.Letter = &episode.LetterGiven{}
		return nil, nil
	})
}
