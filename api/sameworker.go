package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"homeward/episode"
)

// sameWorker brings what the child's record knows to a referral: the
// worker gender the child asked for (when the referral gives none) and,
// when the referral names no interviewer, the child's worker, who takes
// the new episode if they still can (an active interviewer of the
// commissioner or the provider, matching the child's preference); else the
// episode waits for a coordinator. An interviewer named in the referral is
// checked against the preference by the episode's own rule. It answers the
// request itself (409, or an error) and returns false when it cannot go on.
func (h *handlers) sameWorker(c *gin.Context, req *createEpisodeRequest, commissioner string) bool {
	ctx := c.Request.Context()
	childID := req.Child.ID
	if req.Preferences == nil {
		req.Preferences = &episode.Preferences{}
	}
	prefs := req.Preferences
	if childID != "" && strings.TrimSpace(prefs.WorkerGender) == "" {
		g, err := h.Store.ChildPreferredWorkerGender(ctx, childID)
		if err != nil {
			h.serverError(c, "child's preferences", err)
			return false
		}
		prefs.WorkerGender = g
	}
	preferred := strings.TrimSpace(prefs.WorkerGender)
	if req.AssignedInterviewerID != "" {
		iv, _, err := h.interviewer(ctx, req.AssignedInterviewerID, commissioner)
		if err != nil {
			h.serverError(c, "assigned interviewer", err)
			return false
		}
		a := episode.Assignment{InterviewerID: iv.ID, InterviewerGender: iv.Gender, OverrideReason: req.AssignmentOverrideReason}
		if p := episode.WorkerGenderProblem(preferred, a); p != nil {
			c.Writer.Header().Del("Location")
			abort(c, http.StatusConflict, "This interviewer cannot be assigned now: "+p.Reason+".",
				Detail{Field: "assigned_interviewer_id", Reason: p.Reason})
			return false
		}
		return true
	}
	if childID == "" {
		return true
	}
	return h.assignChildsWorker(c, req, commissioner, preferred)
}

// assignChildsWorker assigns the child's worker when they can take it.
func (h *handlers) assignChildsWorker(c *gin.Context, req *createEpisodeRequest, commissioner, preferred string) bool {
	ctx := c.Request.Context()
	worker, err := h.Store.ChildWorker(ctx, req.Child.ID)
	if err != nil {
		h.serverError(c, "child's worker", err)
		return false
	}
	if worker == "" {
		return true
	}
	iv, reason, err := h.interviewer(ctx, worker, commissioner)
	if err != nil {
		h.serverError(c, "child's worker", err)
		return false
	}
	if reason == "" && episode.WorkerGenderProblem(preferred, episode.Assignment{InterviewerID: iv.ID, InterviewerGender: iv.Gender}) == nil {
		req.AssignedInterviewerID = iv.ID
	}
	return true
}
