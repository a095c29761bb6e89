package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"homeward/episode"
	"homeward/store"
	"homeward/workflows"
)

// idempotencyNamespace derives an episode id from the caller and their
// Idempotency-Key, so a retried request maps to the same workflow id.
var idempotencyNamespace = uuid.MustParse("3f0d8a52-5c1e-4b8e-9a55-6f1b2c7d9e10")

const maxIdempotencyKey = 200

type createEpisodeRequest struct {
	Child                 *episode.Child          `json:"child"`
	ReportedMissingAt     Instant                 `json:"reported_missing_at"`
	ReturnedAt            Instant                 `json:"returned_at"`
	PoliceReference       string                  `json:"police_reference"`
	RiskGrade             string                  `json:"risk_grade"`
	Category              string                  `json:"category"`
	LookedAfter           bool                    `json:"looked_after"`
	ReferralSource        string                  `json:"referral_source"`
	Contact               *episode.ContactDetails `json:"contact"`
	Preferences           *episode.Preferences    `json:"preferences"`
	AssignedInterviewerID string                  `json:"assigned_interviewer_id"`
	// CommissionerID is required of the provider's staff; a commissioner's
	// staff open episodes for their own commissioner.
	CommissionerID string `json:"commissioner_id"`
	// NewChild asks for a new child although known children may match.
	NewChild bool `json:"new_child"`
	// AssignmentOverrideReason assigns assigned_interviewer_id against the
	// child's preferred worker gender, and says why.
	AssignmentOverrideReason string `json:"assignment_override_reason"`
}

// EpisodeCreated is the answer to opening an episode.
type EpisodeCreated struct {
	ID            string         `json:"id"`
	Reference     string         `json:"reference"`
	Status        episode.Status `json:"status"`
	ReturnedAt    time.Time      `json:"returned_at"`
	OfferDeadline time.Time      `json:"offer_deadline"`
}

// validate checks the request as far as it can without the store.
func (r *createEpisodeRequest) validate(now time.Time) problems {
	var p problems
	trim := func(s *string) { *s = strings.TrimSpace(*s) }
	if r.Child == nil {
		p.add("child", "is required")
	} else {
		ch := r.Child
		trim(&ch.ID)
		trim(&ch.FirstName)
		trim(&ch.LastName)
		trim(&ch.DateOfBirth)
		trim(&ch.Gender)
		trim(&ch.LocalAuthorityChildID)
		trim(&ch.PolicePersonReference)
		if ch.ID != "" && r.NewChild {
			p.add("new_child", "must not be true when child.id names a known child")
		}
		if ch.ID != "" {
			if u, err := uuid.Parse(ch.ID); err != nil {
				p.add("child.id", "must be a uuid")
			} else {
				ch.ID = u.String()
			}
		} else if ch.FirstName == "" {
			p.add("child.first_name", "is required unless child.id names a known child")
		}
		if ch.DateOfBirth != "" {
			if d, err := time.Parse(time.DateOnly, ch.DateOfBirth); err != nil {
				p.add("child.date_of_birth", "must be a date (YYYY-MM-DD)")
			} else if d.After(now.Add(14 * time.Hour)) { // the date may already be tomorrow somewhere
				p.add("child.date_of_birth", "must not be in the future")
			}
		}
	}
	missingOK := p.instant("reported_missing_at", r.ReportedMissingAt, true)
	returnedOK := p.instant("returned_at", r.ReturnedAt, true)
	p.notFuture("returned_at", r.ReturnedAt, now)
	p.notFuture("reported_missing_at", r.ReportedMissingAt, now)
	if missingOK && returnedOK && r.ReturnedAt.Time.Before(r.ReportedMissingAt.Time) {
		p.add("returned_at", "must not be before reported_missing_at")
	}
	trim(&r.RiskGrade)
	trim(&r.Category)
	trim(&r.PoliceReference)
	trim(&r.ReferralSource)
	trim(&r.AssignedInterviewerID)
	trim(&r.CommissionerID)
	if r.CommissionerID != "" {
		if u, err := uuid.Parse(r.CommissionerID); err != nil {
			p.add("commissioner_id", "must be a uuid")
		} else {
			r.CommissionerID = u.String()
		}
	}
	p.oneOf("risk_grade", r.RiskGrade, names(episode.RiskGrades), true)
	p.oneOf("category", r.Category, names(episode.Categories), true)
	if r.Contact == nil {
		p.add("contact", "is required: give at least one way to reach the child")
	} else {
		has := false
		for _, m := range episode.Methods {
			if r.Contact.Has(m) {
				has = true
			}
		}
		if !has {
			p.add("contact", "must give at least one way to reach the child (a phone or mobile number, an address, or a carer's phone)")
		}
	}

	p.maxLen("assignment_override_reason", r.AssignmentOverrideReason, episode.MaxText)
	if r.AssignmentOverrideReason != "" && r.AssignedInterviewerID == "" {
		p.add("assignment_override_reason", "is only for an assigned_interviewer_id")
	}
	if r.AssignedInterviewerID != "" {
		if u, err := uuid.Parse(r.AssignedInterviewerID); err != nil {
			p.add("assigned_interviewer_id", "must be a uuid")
		} else {
			r.AssignedInterviewerID = u.String()
		}
	}
	return p
}

func (r *createEpisodeRequest) referral() episode.Referral {
	ref := episode.Referral{
		Child:             *r.Child,
		ReportedMissingAt: r.ReportedMissingAt.Time.UTC(),
		ReturnedAt:        r.ReturnedAt.Time.UTC(),
		PoliceReference:   r.PoliceReference,
		RiskGrade:         episode.RiskGrade(r.RiskGrade),
		Category:          episode.Category(r.Category),
		LookedAfter:       r.LookedAfter,
		Source:            r.ReferralSource,
		Contact:           *r.Contact,
	}
	if r.Preferences != nil {
		ref.Preferences = *r.Preferences
	}
	return ref
}

// activeInterviewer checks that id is an active interviewer who may work on
// an episode of commissioner (the provider's or that commissioner's): ""
// when so, otherwise the reason to give.
func (h *handlers) activeInterviewer(ctx context.Context, id, commissioner string) (string, error) {
	_, reason, err := h.interviewer(ctx, id, commissioner)
	return reason, err
}

// interviewer is the user id when an active interviewer who may work on an
// episode of commissioner; otherwise reason says why not.
func (h *handlers) interviewer(ctx context.Context, id, commissioner string) (store.User, string, error) {
	u, err := h.Store.UserByID(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return u, "no such user", nil
	case err != nil:
		return u, "", err
	case u.Role != store.RoleInterviewer:
		return u, "must be a user with role interviewer", nil
	case !u.Active:
		return u, "the user is not active", nil
	case u.CommissionerID != "" && u.CommissionerID != commissioner:
		return u, "must be an interviewer of the episode's commissioner or of the provider", nil
	}
	return u, "", nil
}

func (h *handlers) createEpisode(c *gin.Context) {
	ctx := c.Request.Context()
	user := currentUser(c)
	now := h.now()

	key, ok := idempotencyKey(c)
	if !ok {
		return
	}
	var p problems
	var req createEpisodeRequest
	if !decode(c, &req) {
		return
	}
	p = append(p, req.validate(now)...)
	var commissioner string
	if !hasField(p, "commissioner_id") {
		cid, reason, err := h.episodeCommissionerFor(ctx, user, req.CommissionerID)
		if err != nil {
			h.serverError(c, "commissioner", err)
			return
		}
		if reason != "" {
			p.add("commissioner_id", reason)
		}
		commissioner = cid
	}
	if req.Child != nil && req.Child.ID != "" && !hasField(p, "child.id") && commissioner != "" {
		if !h.knownChild(c, req.Child.ID, commissioner, &p) {
			return
		}
	}
	if req.AssignedInterviewerID != "" && !hasField(p, "assigned_interviewer_id") && commissioner != "" {
		reason, err := h.activeInterviewer(ctx, req.AssignedInterviewerID, commissioner)
		if err != nil {
			h.serverError(c, "assigned interviewer", err)
			return
		}
		if reason != "" {
			p.add("assigned_interviewer_id", reason)
		}
	}
	if len(p) == 0 {
		for _, prob := range req.referral().Validate() {
			p.add(prob.Field, prob.Reason)
		}
	}
	if len(p) > 0 {
		invalid(c, p)
		return
	}

	// The commissioner's policy as it stands now is the episode's for good.
	policy, err := h.policyOf(ctx, commissioner)
	if err != nil {
		h.serverError(c, "commissioner policy", err)
		return
	}
	ref := req.referral()
	hash, err := referralHash(ref, req.AssignedInterviewerID, commissioner, req.NewChild)
	if err != nil {
		h.serverError(c, "hash request", err)
		return
	}
	keyID := ""
	if key != "" {
		keyID = scopedKey("referral", user.ID, key)
	}
	// A retry gets the first answer, whatever children are known by now.
	if !h.retriedReferral(c, keyID) {
		if c.IsAborted() || !h.chooseChild(c, &req, commissioner) || !h.sameWorker(c, &req, commissioner) {
			return
		}
		ref = req.referral()
	}
	in := workflows.EpisodeInput{
		Referral:            ref,
		Policy:              policy,
		OpenedBy:            user.ID,
		AssignedInterviewer: req.AssignedInterviewerID,
		AssignmentOverride:  req.AssignmentOverrideReason,
		CommissionerID:      commissioner,
		ReceivedAt:          now,
	}
	id := uuid.NewString()
	if key != "" {
		id = uuid.NewSHA1(idempotencyNamespace, []byte(user.ID+"\x00"+key)).String()
	}
	in.EpisodeID = id
	body := EpisodeCreated{
		ID:            id,
		Reference:     episode.Reference(id),
		Status:        episode.StatusAwaitingContact,
		ReturnedAt:    ref.ReturnedAt,
		OfferDeadline: episode.OfferDeadline(ref.ReturnedAt, policy),
	}
	c.Header("Location", "/v1/episodes/"+id)
	if keyID == "" {
		if h.startEpisode(c, in, commissioner, false) {
			c.JSON(http.StatusCreated, body)
		}
		return
	}
	h.openOnce(c, keyID, hash, in, commissioner, body)
}

// referralHash is the hash of the validated request as the client sent it
// (before the child is chosen), re-marshalled so that formatting, key
// order and time zones do not matter.
func referralHash(ref episode.Referral, assignee, commissioner string, newChild bool) (string, error) {
	canonical, err := json.Marshal(struct {
		Referral            episode.Referral `json:"referral"`
		AssignedInterviewer string           `json:"assigned_interviewer_id"`
		Commissioner        string           `json:"commissioner_id"`
		NewChild            bool             `json:"new_child,omitempty"`
	}{ref, assignee, commissioner, newChild})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:]), nil
}

// retriedReferral reports whether keyID was reserved by an earlier request
// (answering 503 itself when the records cannot tell).
func (h *handlers) retriedReferral(c *gin.Context, keyID string) bool {
	if keyID == "" {
		return false
	}
	reserved, err := h.Store.ReferralKeyReserved(c.Request.Context(), keyID)
	if err != nil {
		h.serverError(c, "referral key reserved", err)
		return false
	}
	return reserved
}

// openOnce opens the episode of an Idempotency-Key at most once: the key is
// reserved in PostgreSQL before the workflow starts, so a retry, however
// late (after Temporal has deleted the first episode's history too), gets
// the first answer and never a second episode.
func (h *handlers) openOnce(c *gin.Context, keyID, hash string, in workflows.EpisodeInput, commissioner string, body EpisodeCreated) {
	ctx := c.Request.Context()
	answer, err := json.Marshal(body)
	if err != nil {
		h.serverError(c, "encode answer", err)
		return
	}
	rk, existed, err := h.Store.ReserveReferralKey(ctx, keyID, store.ReferralKey{EpisodeID: in.EpisodeID, RequestHash: hash, Answer: answer})
	if err != nil {
		h.serverError(c, "reserve idempotency key", err)
		return
	}
	if existed && rk.RequestHash != hash {
		c.Writer.Header().Del("Location")
		keyReused(c, "referral")
		return
	}
	status := http.StatusCreated
	if existed {
		status = http.StatusOK
	}
	if !rk.Started {
		// A reservation whose start was not confirmed: the records or
		// Temporal know whether it happened.
		recorded, err := h.Store.EpisodeRecorded(ctx, in.EpisodeID)
		if err != nil {
			h.serverError(c, "episode recorded", err)
			return
		}
		if !recorded && !h.startEpisode(c, in, commissioner, true) {
			return
		}
		if err := h.Store.MarkReferralStarted(ctx, keyID); err != nil {
			h.serverError(c, "mark referral started", err)
			return
		}
	}
	c.Data(status, "application/json; charset=utf-8", rk.Answer)
}

// startEpisode starts the episode's workflow. With a key, a workflow
// already started under its id (a retry) counts as started; without one, a
// clash of random ids is never silently merged.
func (h *handlers) startEpisode(c *gin.Context, in workflows.EpisodeInput, commissioner string, keyed bool) bool {
	memo := map[string]any{memoCommissioner: commissioner}
	if in.AssignedInterviewer != "" {
		memo[memoAssignee] = in.AssignedInterviewer
	}
	// Bounded like an outcome: with Temporal unreachable the caller gets
	// 503 and retries with the key, instead of waiting out the client's
	// default 10-second RPC timeout.
	ctx, cancel := context.WithTimeout(c.Request.Context(), h.OutcomeTimeout)
	defer cancel()
	_, err := h.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       workflows.WorkflowID(in.EpisodeID),
		TaskQueue:                                h.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		Memo:                                     memo,
	}, workflows.Episode, in)
	if err == nil || keyed && temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return true
	}
	c.Writer.Header().Del("Location")
	h.serverError(c, "start workflow", err)
	return false
}

// queryParam is a query parameter; an empty one counts as absent.
func queryParam(c *gin.Context, name string) (string, bool) {
	v := c.Query(name)
	return v, v != ""
}

func hasField(p problems, field string) bool {
	for _, d := range p {
		if d.Field == field {
			return true
		}
	}
	return false
}

// pageParams reads limit (1..200) and offset (>= 0).
func pageParams(c *gin.Context, p *problems) (limit, offset int) {
	limit = 50
	if v, ok := queryParam(c, "limit"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			p.add("limit", "must be a whole number from 1 to 200")
		} else {
			limit = n
		}
	}
	if v, ok := queryParam(c, "offset"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			p.add("offset", "must be a whole number, 0 or more")
		} else {
			offset = n
		}
	}
	return limit, offset
}

func (h *handlers) listEpisodes(c *gin.Context) {
	var p problems
	f := store.EpisodeFilter{Now: h.now()}
	if v, ok := queryParam(c, "status"); ok {
		p.oneOf("status", v, names(episode.Statuses), true)
		f.Status = v
	}
	if v, ok := queryParam(c, "assignee"); ok {
		switch {
		case v == "me":
			f.AssigneeID = currentUser(c).ID
		default:
			if u, err := uuid.Parse(v); err != nil {
				p.add("assignee", "must be a uuid or me")
			} else {
				f.AssigneeID = u.String()
			}
		}
	}
	if v, ok := queryParam(c, "overdue"); ok {
		switch v {
		case "true":
			f.Overdue = true
		case "false":
		default:
			p.add("overdue", "must be true or false")
		}
	}
	f.Open = boolParam(c, &p, "open")
	if v, ok := queryParam(c, "commissioner"); ok {
		if u, err := uuid.Parse(v); err != nil {
			p.add("commissioner", "must be a uuid")
		} else {
			f.CommissionerID = u.String()
		}
	}
	f.Limit, f.Offset = pageParams(c, &p)
	if len(p) > 0 {
		invalid(c, p)
		return
	}
	eps, err := h.Store.ListEpisodes(c.Request.Context(), callerOf(c), f)
	if err != nil {
		h.serverError(c, "list episodes", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"episodes": eps, "limit": f.Limit, "offset": f.Offset})
}

// boolParam reads an optional true/false query parameter, false when left
// out.
func boolParam(c *gin.Context, p *problems, name string) bool {
	b := optionalBool(c, p, name)
	return b != nil && *b
}

// PendingEpisode is the answer for an episode whose workflow runs but whose
// records are not written yet.
type PendingEpisode struct {
	ID            string         `json:"id"`
	Reference     string         `json:"reference"`
	Status        episode.Status `json:"status,omitempty"`
	ReturnedAt    *time.Time     `json:"returned_at,omitempty"`
	OfferDeadline *time.Time     `json:"offer_deadline,omitempty"`
	Pending       bool           `json:"pending"`
}

func (h *handlers) getEpisode(c *gin.Context) {
	ctx := c.Request.Context()
	id, ok := episodeID(c)
	if !ok {
		notFound(c)
		return
	}
	d, err := h.Store.GetEpisode(ctx, callerOf(c), id)
	if err == nil {
		c.JSON(http.StatusOK, d)
		return
	}
	if !errors.Is(err, store.ErrNotFound) {
		h.serverError(c, "get episode", err)
		return
	}
	// Not the caller's, or not projected yet?
	if !h.scope(c, id) {
		return
	}
	// Not projected yet? The workflow may have started a moment ago.
	if _, err := h.Temporal.DescribeWorkflowExecution(ctx, workflows.WorkflowID(id), ""); err != nil {
		if isNotFound(err) {
			notFound(c)
			return
		}
		h.serverError(c, "describe workflow", err)
		return
	}
	body := PendingEpisode{ID: id, Reference: episode.Reference(id), Pending: true}
	if st, err := h.queryState(ctx, id); err == nil {
		body.Status = st.Status
		ret, dl := st.ReturnedAt.UTC(), st.OfferDeadline.UTC()
		body.ReturnedAt, body.OfferDeadline = &ret, &dl
	}
	c.JSON(http.StatusOK, body)
}

// episodeID is the canonical form of the :id parameter, or false when it is
// not a uuid (and so cannot be an episode).
func episodeID(c *gin.Context) (string, bool) {
	u, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return "", false
	}
	return u.String(), true
}
