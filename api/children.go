package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"homeward/episode"
	"homeward/store"
)

// childRoutes mounts the child's record. Everyone reads what row-level
// security lets them see; searching by name takes a body, so a child's name
// never appears in a URL.
func (h *handlers) childRoutes(v1 *gin.RouterGroup) {
	v1.GET("/children", h.listChildren)
	v1.POST("/children/search", h.searchChildren)
	v1.GET("/children/:id", h.getChild)
	v1.PATCH("/children/:id", allow(store.RoleCoordinator, store.RoleManager, store.RoleAdmin, store.RoleInterviewer), h.patchChild)
}

// knownChild checks the child a referral names by id: one the caller may
// see, of the episode's commissioner. It returns false after answering 503.
func (h *handlers) knownChild(c *gin.Context, id, commissioner string, p *problems) bool {
	owner, found, err := h.Store.ChildCommissioner(c.Request.Context(), callerOf(c), id)
	switch {
	case err != nil:
		h.serverError(c, "child commissioner", err)
		return false
	case !found:
		p.add("child.id", "no such child")
	case owner != "" && owner != commissioner:
		p.add("child.id", "belongs to another commissioner than the episode")
	}
	return true
}

// chooseChild settles which child a referral given by details is about: the
// commissioner's child with the same local-authority id, else a new child
// unless known children may be the same one, when it answers 409 with them
// (the coordinator re-sends with child.id or new_child). No silent merge.
func (h *handlers) chooseChild(c *gin.Context, req *createEpisodeRequest, commissioner string) bool {
	ctx := c.Request.Context()
	ch := req.Child
	if ch.ID != "" {
		return true
	}
	if ch.LocalAuthorityChildID != "" {
		id, err := h.Store.ChildByLocalAuthorityID(ctx, callerOf(c), commissioner, ch.LocalAuthorityChildID)
		if err != nil {
			h.serverError(c, "child by local authority id", err)
			return false
		}
		if id != "" {
			ch.ID = id
			return true
		}
	}
	if req.NewChild {
		return true
	}
	candidates, err := h.Store.PossibleMatches(ctx, callerOf(c), commissioner, *ch)
	if err != nil {
		h.serverError(c, "possible matches", err)
		return false
	}
	if len(candidates) == 0 {
		return true
	}
	c.Writer.Header().Del("Location")
	c.AbortWithStatusJSON(http.StatusConflict, possibleMatchBody{
		Error: Error{
			Status: http.StatusConflict, Code: codes[http.StatusConflict],
			Message: "Known children may be this child. Re-send with child.id to open the episode for one of them, or with new_child true.",
			Details: []Detail{{Field: "child", Reason: "possible match with " + strconv.Itoa(len(candidates)) + " known children"}},
		},
		Candidates: candidates,
	})
	return false
}

// possibleMatchBody is the error shape plus the children who may be the
// child of the referral.
type possibleMatchBody struct {
	Error      Error                  `json:"error"`
	Candidates []store.ChildCandidate `json:"candidates"`
}

// childPage is the answer of the child lists.
type childPage struct {
	Children []store.ChildSummary `json:"children"`
	Limit    int                  `json:"limit"`
	Offset   int                  `json:"offset"`
}

func (h *handlers) listChildren(c *gin.Context) {
	var p problems
	f := store.ChildFilter{}
	f.DateOfBirth, _ = queryParam(c, "date_of_birth")
	f.LocalAuthorityChildID, _ = queryParam(c, "local_authority_child_id")
	f.Limit, f.Offset = pageParams(c, &p)
	h.answerChildren(c, f, p)
}

type childSearch struct {
	Name                  string `json:"name"`
	DateOfBirth           string `json:"date_of_birth"`
	LocalAuthorityChildID string `json:"local_authority_child_id"`
	Limit                 *int   `json:"limit"`
	Offset                int    `json:"offset"`
}

func (h *handlers) searchChildren(c *gin.Context) {
	var req childSearch
	if !decode(c, &req) {
		return
	}
	var p problems
	f := store.ChildFilter{Name: strings.TrimSpace(req.Name), DateOfBirth: req.DateOfBirth,
		LocalAuthorityChildID: req.LocalAuthorityChildID, Limit: 50, Offset: req.Offset}
	p.maxLen("name", f.Name, episode.MaxShortText)
	if req.Limit != nil {
		f.Limit = *req.Limit
		if f.Limit < 1 || f.Limit > 200 {
			p.add("limit", "must be a whole number from 1 to 200")
		}
	}
	if f.Offset < 0 {
		p.add("offset", "must be a whole number, 0 or more")
	}
	h.answerChildren(c, f, p)
}

// answerChildren checks the filter's common fields and answers the page.
func (h *handlers) answerChildren(c *gin.Context, f store.ChildFilter, p problems) {
	f.DateOfBirth = strings.TrimSpace(f.DateOfBirth)
	f.LocalAuthorityChildID = strings.TrimSpace(f.LocalAuthorityChildID)
	if f.DateOfBirth != "" {
		if _, err := time.Parse(time.DateOnly, f.DateOfBirth); err != nil {
			p.add("date_of_birth", "must be a date (YYYY-MM-DD)")
		}
	}
	p.maxLen("local_authority_child_id", f.LocalAuthorityChildID, episode.MaxShortText)
	if len(p) > 0 {
		invalid(c, p)
		return
	}
	children, err := h.Store.ListChildren(c.Request.Context(), callerOf(c), f)
	if err != nil {
		h.serverError(c, "list children", err)
		return
	}
	c.JSON(http.StatusOK, childPage{Children: children, Limit: f.Limit, Offset: f.Offset})
}

func (h *handlers) getChild(c *gin.Context) {
	d, ok := h.childFor(c)
	if ok {
		c.JSON(http.StatusOK, d)
	}
}

// childFor reads the :id child as the caller sees it; 404 when they may
// not see it, so another commissioner's child is indistinguishable from none.
func (h *handlers) childFor(c *gin.Context) (store.ChildDetail, bool) {
	u, err := uuid.Parse(c.Param("id"))
	if err != nil {
		childNotFound(c)
		return store.ChildDetail{}, false
	}
	d, err := h.Store.GetChild(c.Request.Context(), callerOf(c), u.String(), h.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		childNotFound(c)
		return store.ChildDetail{}, false
	case err != nil:
		h.serverError(c, "get child", err)
		return store.ChildDetail{}, false
	}
	return d, true
}

// childPatchRequest changes the child's preferences, contact details and
// worker; a part left out stays as it is, a part given replaces it whole.
type childPatchRequest struct {
	Preferences *store.ChildPreferences `json:"preferences"`
	Contact     *episode.ContactDetails `json:"contact"`
	WorkerID    *string                 `json:"worker_id"`
}

func (r *childPatchRequest) validate() problems {
	var p problems
	if r.Preferences == nil && r.Contact == nil && r.WorkerID == nil {
		p.add("body", "must change preferences, contact or worker_id")
	}
	if pr := r.Preferences; pr != nil {
		p.maxLen("preferences.worker_gender", pr.WorkerGender, episode.MaxShortText)
		p.maxLen("preferences.language", pr.Language, episode.MaxShortText)
		p.maxLen("preferences.notes", pr.Notes, episode.MaxText)
		p.items("preferences.safe_venues", pr.SafeVenues)
		p.items("preferences.do_not_contact", pr.DoNotContact)
	}
	if r.Contact != nil {
		// The referral's own limits for contact details.
		for _, prob := range (episode.Referral{Contact: *r.Contact}).Validate() {
			if strings.HasPrefix(prob.Field, "contact.") {
				p.add(prob.Field, prob.Reason)
			}
		}
	}
	if r.WorkerID != nil && *r.WorkerID != "" {
		if u, err := uuid.Parse(strings.TrimSpace(*r.WorkerID)); err != nil {
			p.add("worker_id", "must be a uuid, or empty for none")
		} else {
			*r.WorkerID = u.String()
		}
	}
	return p
}

// items checks a list against the documented limits of lists and items.
func (p *problems) items(field string, list []string) {
	if len(list) > episode.MaxItems {
		p.add(field, "must have at most "+strconv.Itoa(episode.MaxItems)+" items")
		return
	}
	for i, v := range list {
		p.maxLen(field+"["+strconv.Itoa(i)+"]", v, episode.MaxItemText)
	}
}

// patchChild changes the child's record: coordinators, managers and admins
// who see the child, and the interviewer who is the child's worker (who may
// not hand the child to another worker).
func (h *handlers) patchChild(c *gin.Context) {
	var req childPatchRequest
	if !decode(c, &req) {
		return
	}
	d, ok := h.childFor(c)
	if !ok {
		return
	}
	user := currentUser(c)
	if user.Role == store.RoleInterviewer {
		if d.Worker == nil || d.Worker.ID != user.ID {
			abort(c, http.StatusForbidden, "Only the child's worker, a coordinator or a manager may change the child's record.",
				Detail{Field: "role", Reason: "interviewers change only the records of children whose worker they are"})
			return
		}
		if req.WorkerID != nil {
			abort(c, http.StatusForbidden, "Only a coordinator or a manager may change the child's worker.",
				Detail{Field: "worker_id", Reason: "may be changed by a coordinator, manager or admin"})
			return
		}
	}
	p := req.validate()
	if req.WorkerID != nil && *req.WorkerID != "" && !hasField(p, "worker_id") {
		commissioner := ""
		if d.CommissionerID != nil {
			commissioner = *d.CommissionerID
		}
		reason, err := h.activeInterviewer(c.Request.Context(), *req.WorkerID, commissioner)
		if err != nil {
			h.serverError(c, "child's worker", err)
			return
		}
		if reason != "" {
			p.add("worker_id", reason)
		}
	}
	if len(p) > 0 {
		invalid(c, p)
		return
	}
	err := h.Store.UpdateChild(c.Request.Context(), callerOf(c), d.ID, store.ChildPatch{Preferences: req.Preferences, Contact: req.Contact, WorkerID: req.WorkerID})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		h.serverError(c, "update child", err)
		return
	}
	h.getChild(c)
}
