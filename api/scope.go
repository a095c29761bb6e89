package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/converter"

	"homeward/store"
	"homeward/workflows"
)

// memoCommissioner is the memo key of the commissioner an episode belongs
// to (an id, never personal data), so that who may see an episode not yet
// in the records can be told even while no worker answers queries.
const memoCommissioner = "commissioner_id"

// memoAssignee is the memo key of the interviewer assigned when the
// episode was opened (an id), so that they can record on it before the
// records are written even while no worker answers queries.
const memoAssignee = "assigned_interviewer_id"

// ctxEpisodeCommissioner holds the commissioner of the episode a request is
// about, once scope has found the caller may see it.
const ctxEpisodeCommissioner = "homeward.episode_commissioner"

// callerOf is the caller the store's row-level security filters for.
func callerOf(c *gin.Context) store.Caller { return store.CallerFor(currentUser(c)) }

// episodeCommissioner is the commissioner scope found for the request's episode.
func episodeCommissioner(c *gin.Context) string { return c.GetString(ctxEpisodeCommissioner) }

// scope decides whether the caller may see episode id, before anything
// about the episode is asked of Temporal (whose workflows exist whoever
// asks). For a recorded episode PostgreSQL's row-level security decides;
// for one whose records are not written yet, the workflow's commissioner
// and assignee, with the same rule (store.Caller.Sees). It answers 404 and
// returns false when the caller may not see it, so that another
// commissioner's episode is indistinguishable from none.
func (h *handlers) scope(c *gin.Context, id string) bool {
	ctx := c.Request.Context()
	caller := callerOf(c)
	ok, commissioner, err := h.visible(ctx, caller, id)
	if errors.Is(err, errAssigneeUnknown) {
		abort(c, http.StatusServiceUnavailable, "Whether this episode is assigned to you cannot be told just now; try again shortly.")
		return false
	}
	if err != nil {
		h.serverError(c, "episode scope", err)
		return false
	}
	if !ok {
		notFound(c)
		return false
	}
	c.Set(ctxEpisodeCommissioner, commissioner)
	return true
}

func (h *handlers) visible(ctx context.Context, caller store.Caller, id string) (bool, string, error) {
	ok, err := h.Store.EpisodeVisible(ctx, caller, id)
	if err != nil {
		return false, "", err
	}
	if !ok {
		recorded, err := h.Store.EpisodeRecorded(ctx, id)
		if err != nil {
			return false, "", err
		}
		if recorded {
			// Not the caller's, or written a moment ago: ask again.
			if ok, err = h.Store.EpisodeVisible(ctx, caller, id); err != nil {
				return false, "", err
			}
			// An interviewer assigned a moment ago may be ahead of the
			// records: the workflow (below) knows. Nobody else is.
			if !ok && caller.Role != store.RoleInterviewer {
				return false, "", nil
			}
		}
	}
	if ok {
		commissioner, err := h.Store.EpisodeCommissioner(ctx, id)
		return err == nil, commissioner, err
	}

	// Not recorded yet (or not yet with this assignment): the workflow
	// knows its commissioner and assignee.
	st, qerr := h.queryState(ctx, id)
	if qerr == nil {
		return caller.Sees(st.CommissionerID, st.AssignedInterviewer), st.CommissionerID, nil
	}
	if isNotFound(qerr) {
		return false, "", nil
	}
	if ctx.Err() != nil {
		return false, "", ctx.Err()
	}
	// No worker answers now: the memo names the commissioner and the
	// interviewer assigned at opening. A later assignment is not known
	// until a worker answers: that is temporary, so not a 404.
	// Bounded like the query: with Temporal unreachable the client would
	// otherwise wait its own 10 seconds, past the outcome's timeout.
	dctx, cancel := context.WithTimeout(ctx, h.QueryTimeout)
	defer cancel()
	desc, err := h.Temporal.DescribeWorkflowExecution(dctx, workflows.WorkflowID(id), "")
	if err != nil {
		if isNotFound(err) {
			return false, "", nil
		}
		return false, "", err
	}
	memo := desc.GetWorkflowExecutionInfo().GetMemo().GetFields()
	var commissioner, assignee string
	if payload := memo[memoCommissioner]; payload != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(payload, &commissioner)
	}
	if payload := memo[memoAssignee]; payload != nil {
		_ = converter.GetDefaultDataConverter().FromPayload(payload, &assignee)
	}
	if assignee == "" && caller.Role == store.RoleInterviewer && caller.Sees(commissioner, caller.UserID) {
		return false, "", errAssigneeUnknown
	}
	return caller.Sees(commissioner, assignee), commissioner, nil
}

// errAssigneeUnknown: who is assigned to an episode not yet in the records
// cannot be told while no worker answers.
var errAssigneeUnknown = errors.New("the episode's assignee cannot be told now")

// episodeCommissionerFor is the commissioner a new episode of the caller
// belongs to: their own, or for the provider's staff the one the request
// names. reason is non-empty when the request cannot be accepted.
func (h *handlers) episodeCommissionerFor(ctx context.Context, user store.User, requested string) (commissioner, reason string, err error) {
	if user.CommissionerID != "" {
		if requested != "" && requested != user.CommissionerID {
			return "", "must be your own commissioner, or left out", nil
		}
		return user.CommissionerID, "", nil
	}
	if requested == "" {
		return "", "is required: name the commissioner the episode is for", nil
	}
	exists, err := h.Store.CommissionerExists(ctx, requested)
	if err != nil {
		return "", "", err
	}
	if !exists {
		return "", "no such commissioner", nil
	}
	return requested, "", nil
}
