package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"homeward/episode"
	"homeward/store"
	"homeward/workflows"
)

// Outcome request bodies. Instants are Instant so that a bad one is named.

type assignmentRequest struct {
	InterviewerID  string `json:"interviewer_id"`
	OverrideReason string `json:"override_reason"`
}

type contactAttemptRequest struct {
	Method      string  `json:"method"`
	Outcome     string  `json:"outcome"`
	AttemptedAt Instant `json:"attempted_at"`
	Notes       string  `json:"notes"`
}

type interviewRequest struct {
	Outcome      string                   `json:"outcome"`
	ScheduledFor Instant                  `json:"scheduled_for"`
	HeldAt       Instant                  `json:"held_at"`
	Venue        string                   `json:"venue"`
	Notes        string                   `json:"notes"`
	Record       *episode.InterviewRecord `json:"record"`
	Covers       []string                 `json:"covers"`
	TakeOver     bool                     `json:"take_over"`
}

type sharingRequest struct {
	Party string `json:"party"`
	What  string `json:"what"`
}

type agreementRequest struct {
	ConfidentialityExplained bool             `json:"confidentiality_explained"`
	ChildToldBeforeSharing   bool             `json:"child_told_before_sharing"`
	SharedWith               []sharingRequest `json:"shared_with"`
	Notes                    string           `json:"notes"`
}

type followUpRequest struct {
	CompletedAt   Instant               `json:"completed_at"`
	ActionsTaken  []string              `json:"actions_taken"`
	Outcome       string                `json:"outcome"`
	ActionReviews []actionReviewRequest `json:"action_reviews"`
}

type actionReviewRequest struct {
	Action           int     `json:"action"`
	Outcome          string  `json:"outcome"`
	Reason           string  `json:"reason"`
	CarriedForwardTo Instant `json:"carried_forward_to"`
}

type actionPlanRequest struct {
	Actions []actionRequest `json:"actions"`
}

type actionRequest struct {
	What       string  `json:"what"`
	Owner      string  `json:"owner"`
	OwnerEmail string  `json:"owner_email"`
	DueAt      Instant `json:"due_at"`
}

type carersAccountRequest struct {
	GivenBy       string  `json:"given_by"`
	Relationship  string  `json:"relationship"`
	GivenAt       Instant `json:"given_at"`
	WhereChildWas string  `json:"where_child_was"`
	WhoWith       string  `json:"who_with"`
	Notes         string  `json:"notes"`
}

type closureRequest struct {
	Reason  string `json:"reason"`
	Details string `json:"details"`
}

// OutcomeRecorded is the answer once the episode has recorded an outcome:
// the episode as it now stands, as the episode itself returned it.
type OutcomeRecorded struct {
	EpisodeID string            `json:"episode_id"`
	Recorded  episode.EventType `json:"recorded"`
	Episode   episode.Summary   `json:"episode"`
	// Covered is what each episode a shared interview covered answered.
	Covered []SharedResult `json:"covered,omitempty"`
}

// The builders below decode a request into an event. What an outcome may
// say is the episode's to decide (episode.Event.Validate and State.Check);
// the API only checks what needs its own records, such as who a user is.

func (h *handlers) assign(c *gin.Context) {
	h.outcome(c, episode.EventAssignment, func(ctx context.Context, ev *episode.Event) (problems, error) {
		var req assignmentRequest
		if !decode(c, &req) {
			return nil, errAnswered
		}
		var p problems
		id := strings.TrimSpace(req.InterviewerID)
		ev.Assignment = &episode.Assignment{InterviewerID: id, OverrideReason: strings.TrimSpace(req.OverrideReason)}
		if id == "" {
			return p, nil // the episode names it
		}
		u, err := uuid.Parse(id)
		if err != nil {
			p.add("interviewer_id", "must be a uuid")
			return p, nil
		}
		iv, reason, err := h.interviewer(ctx, u.String(), episodeCommissioner(c))
		if err != nil {
			return nil, err
		}
		if reason != "" {
			p.add("interviewer_id", reason)
		}
		// The episode checks the child's preference against what the
		// interviewer recorded.
		ev.Assignment.InterviewerID, ev.Assignment.InterviewerGender = u.String(), iv.Gender
		return p, nil
	})
}

func (h *handlers) contactAttempt(c *gin.Context) {
	h.outcome(c, episode.EventContactAttempt, func(ctx context.Context, ev *episode.Event) (problems, error) {
		var req contactAttemptRequest
		if !decode(c, &req) {
			return nil, errAnswered
		}
		var p problems
		p.instant("attempted_at", req.AttemptedAt, false)
		ev.Attempt = &episode.AttemptInput{
			Method: episode.Method(req.Method), Outcome: episode.AttemptOutcome(req.Outcome),
			AttemptedAt: req.AttemptedAt.Time, Notes: req.Notes,
		}
		return p, nil
	})
}

func (h *handlers) interview(c *gin.Context) {
	h.outcome(c, episode.EventInterview, func(ctx context.Context, ev *episode.Event) (problems, error) {
		var req interviewRequest
		if !decode(c, &req) {
			return nil, errAnswered
		}
		var p problems
		p.instant("scheduled_for", req.ScheduledFor, false)
		p.instant("held_at", req.HeldAt, false)
		if r := req.Record; r != nil {
			unknownWhenBlank(&r.RiskIndicators)
			if err := h.knownPeople(ctx, r.PeopleOfConcern, episodeCommissioner(c), &p); err != nil {
				return nil, err
			}
		}
		covers, err := h.coveredEpisodes(c, req.Covers, &p)
		if err != nil {
			return nil, err
		}
		ev.Interview = &episode.InterviewUpdate{
			Outcome: episode.InterviewOutcome(req.Outcome), ScheduledFor: req.ScheduledFor.ptr(), HeldAt: req.HeldAt.ptr(),
			Venue: req.Venue, Notes: req.Notes, Record: req.Record, Covers: covers, TakeOver: req.TakeOver,
		}
		return p, nil
	})
}

// knownPeople checks that each person_id names a known person of concern
// of the episode's commissioner, in the canonical form the episode checks.
func (h *handlers) knownPeople(ctx context.Context, people []episode.PersonOfConcern, commissioner string, p *problems) error {
	for i := range people {
		person := &people[i]
		u, err := uuid.Parse(person.PersonID)
		if err != nil {
			continue // none, or the episode names it as not a uuid
		}
		person.PersonID = u.String() // as the records hold it
		known, err := h.Store.PersonOfConcernKnown(ctx, person.PersonID, commissioner)
		if err != nil {
			return err
		}
		if !known {
			p.add(fmt.Sprintf("record.people_of_concern[%d].person_id", i), "must name a known person of concern of the episode's commissioner")
		}
	}
	return nil
}

// unknownWhenBlank records a risk indicator that was not answered as unknown.
func unknownWhenBlank(ri *episode.RiskIndicators) {
	for _, a := range []*episode.Answer{
		&ri.GoneMissingBefore, &ri.OftenAwayWithoutAuthorisation, &ri.SexualExploitationOrTrafficking,
		&ri.HurtOrHarmedWhileAway, &ri.CriminalExploitationOrDrugs, &ri.ContactWithRiskyPeople,
	} {
		if *a == "" {
			*a = episode.AnswerUnknown
		}
	}
}

func (h *handlers) agreement(c *gin.Context) {
	h.outcome(c, episode.EventAgreement, func(ctx context.Context, ev *episode.Event) (problems, error) {
		var req agreementRequest
		if !decode(c, &req) {
			return nil, errAnswered
		}
		shared := make([]episode.Sharing, 0, len(req.SharedWith))
		for _, s := range req.SharedWith {
			shared = append(shared, episode.Sharing{Party: episode.Party(s.Party), What: s.What})
		}
		ev.Agreement = &episode.Agreement{
			ConfidentialityExplained: req.ConfidentialityExplained,
			ChildToldBeforeSharing:   req.ChildToldBeforeSharing,
			SharedWith:               shared,
			Notes:                    req.Notes,
		}
		return nil, nil
	})
}

func (h *handlers) followUp(c *gin.Context) {
	h.outcome(c, episode.EventFollowUp, func(ctx context.Context, ev *episode.Event) (problems, error) {
		var req followUpRequest
		if !decode(c, &req) {
			return nil, errAnswered
		}
		var p problems
		p.instant("completed_at", req.CompletedAt, false)
		actions := req.ActionsTaken
		if actions == nil {
			actions = []string{}
		}
		ev.FollowUp = &episode.FollowUpRecord{CompletedAt: req.CompletedAt.Time, ActionsTaken: actions, Outcome: req.Outcome,
			ActionReviews: actionReviews(&p, req.ActionReviews)}
		return p, nil
	})
}

func actionReviews(p *problems, in []actionReviewRequest) []episode.ActionReview {
	if len(in) == 0 {
		return nil
	}
	out := make([]episode.ActionReview, 0, len(in))
	for i, r := range in {
		p.instant(fmt.Sprintf("action_reviews[%d].carried_forward_to", i), r.CarriedForwardTo, false)
		out = append(out, episode.ActionReview{Action: r.Action, Outcome: episode.ActionStatus(r.Outcome),
			Reason: r.Reason, CarriedForwardTo: r.CarriedForwardTo.ptr()})
	}
	return out
}

// actionPlan records the plan agreed after a held interview.
func (h *handlers) actionPlan(c *gin.Context) {
	h.outcome(c, episode.EventActionPlan, func(ctx context.Context, ev *episode.Event) (problems, error) {
		var req actionPlanRequest
		if !decode(c, &req) {
			return nil, errAnswered
		}
		var p problems
		plan := &episode.ActionPlanInput{Actions: make([]episode.ActionInput, 0, len(req.Actions))}
		for i, a := range req.Actions {
			p.instant(fmt.Sprintf("actions[%d].due_at", i), a.DueAt, false)
			plan.Actions = append(plan.Actions, episode.ActionInput{What: a.What, Owner: a.Owner,
				OwnerEmail: strings.TrimSpace(a.OwnerEmail), DueAt: a.DueAt.Time})
		}
		ev.ActionPlan = plan
		return p, nil
	})
}

// carersAccount records what parents or carers said while the child has
// not been interviewed.
func (h *handlers) carersAccount(c *gin.Context) {
	h.outcome(c, episode.EventCarersAccount, func(ctx context.Context, ev *episode.Event) (problems, error) {
		var req carersAccountRequest
		if !decode(c, &req) {
			return nil, errAnswered
		}
		var p problems
		p.instant("given_at", req.GivenAt, false)
		ev.Carers = &episode.CarersAccount{GivenBy: req.GivenBy, Relationship: req.Relationship, GivenAt: req.GivenAt.Time,
			WhereChildWas: req.WhereChildWas, WhoWith: req.WhoWith, Notes: req.Notes}
		return p, nil
	})
}

func (h *handlers) closure(c *gin.Context) {
	h.outcome(c, episode.EventClosure, func(ctx context.Context, ev *episode.Event) (problems, error) {
		var req closureRequest
		if !decode(c, &req) {
			return nil, errAnswered
		}
		ev.Closure = &episode.ClosureRequest{Reason: episode.ClosureReason(req.Reason), Details: req.Details}
		return nil, nil
	})
}

// errAnswered means the request was already answered (a decoding error).
var errAnswered = errors.New("answered")

// queryState asks the workflow for its state, waiting at most QueryTimeout.
func (h *handlers) queryState(ctx context.Context, id string) (episode.State, error) {
	qctx, cancel := context.WithTimeout(ctx, h.QueryTimeout)
	defer cancel()
	v, err := h.Temporal.QueryWorkflow(qctx, workflows.WorkflowID(id), "", workflows.QueryState)
	if err != nil {
		return episode.State{}, err
	}
	var st episode.State
	if err := v.Get(&st); err != nil {
		return episode.State{}, err
	}
	return st, nil
}

// listEscalations lists escalations: those nobody acknowledged yet first,
// then newest first.
func (h *handlers) listEscalations(c *gin.Context) {
	var p problems
	var f store.EscalationFilter
	if v, ok := queryParam(c, "episode_id"); ok {
		if u, err := uuid.Parse(v); err != nil {
			p.add("episode_id", "must be a uuid")
		} else {
			f.EpisodeID = u.String()
		}
	}
	if v, ok := queryParam(c, "kind"); ok {
		p.oneOf("kind", v, names(episode.EscalationKinds), true)
		f.Kind = v
	}
	f.Acknowledged = optionalBool(c, &p, "acknowledged")
	f.Undelivered = optionalBool(c, &p, "undelivered")
	f.Limit, f.Offset = pageParams(c, &p)
	if len(p) > 0 {
		invalid(c, p)
		return
	}
	out, err := h.Store.ListEscalations(c.Request.Context(), callerOf(c), f)
	if err != nil {
		h.serverError(c, "list escalations", err)
		return
	}
	undelivered, err := h.Store.ListUndelivered(c.Request.Context(), callerOf(c))
	if err != nil {
		h.serverError(c, "list undelivered emails", err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"escalations": out, "undelivered_emails": undelivered, "limit": f.Limit, "offset": f.Offset})
}

// optionalBool is the query parameter name as true or false; nil when it
// is left out (both).
func optionalBool(c *gin.Context, p *problems, name string) *bool {
	v, ok := queryParam(c, name)
	if !ok {
		return nil
	}
	if v != "true" && v != "false" {
		p.add(name, "must be true or false")
	}
	b := v == "true"
	return &b
}
