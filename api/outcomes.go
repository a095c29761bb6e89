package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"

	"homeward/episode"
	"homeward/store"
	"homeward/workflows"
)

// Outcome request bodies. Instants are Instant so that a bad one is named.

type assignmentRequest struct {
	InterviewerID string `json:"interviewer_id"`
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
	CompletedAt  Instant  `json:"completed_at"`
	ActionsTaken []string `json:"actions_taken"`
	Outcome      string   `json:"outcome"`
}

type closureRequest struct {
	Reason  string `json:"reason"`
	Details string `json:"details"`
}

// OutcomeAccepted is the answer once Temporal has the outcome.
type OutcomeAccepted struct {
	EpisodeID string            `json:"episode_id"`
	Accepted  episode.EventType `json:"accepted"`
	// Status is what the episode's status will be, when the state was known.
	Status episode.Status `json:"status,omitempty"`
}

func (h *handlers) assign(c *gin.Context) {
	h.outcome(c, episode.EventAssignment, func(ctx context.Context, ev *episode.Event) (problems, error) {
		var req assignmentRequest
		if !decode(c, &req) {
			return nil, errAnswered
		}
		var p problems
		id := strings.TrimSpace(req.InterviewerID)
		if id == "" {
			p.add("interviewer_id", "is required")
			return p, nil
		}
		u, err := uuid.Parse(id)
		if err != nil {
			p.add("interviewer_id", "must be a uuid")
			return p, nil
		}
		reason, err := h.activeInterviewer(ctx, u.String(), episodeCommissioner(c))
		if err != nil {
			return nil, err
		}
		if reason != "" {
			p.add("interviewer_id", reason)
		}
		ev.Assignment = &episode.Assignment{InterviewerID: u.String()}
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
		p.oneOf("method", req.Method, names(episode.Methods), true)
		p.oneOf("outcome", req.Outcome, names(episode.AttemptOutcomes), true)
		p.instant("attempted_at", req.AttemptedAt, true)
		p.notFuture("attempted_at", req.AttemptedAt, h.now())
		p.maxLen("notes", req.Notes, maxNotes)
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
		outcome := episode.InterviewOutcome(req.Outcome)
		p.oneOf("outcome", req.Outcome, names(episode.InterviewOutcomes), true)
		switch outcome {
		case episode.InterviewScheduled, episode.InterviewRescheduled:
			p.instant("scheduled_for", req.ScheduledFor, true)
			p.instant("held_at", req.HeldAt, false)
		case episode.InterviewHeld:
			p.instant("scheduled_for", req.ScheduledFor, false)
			p.instant("held_at", req.HeldAt, true)
			p.notFuture("held_at", req.HeldAt, h.now())
			if req.Record == nil {
				p.add("record", "is required when the interview was held")
			}
		default:
			p.instant("scheduled_for", req.ScheduledFor, false)
			p.instant("held_at", req.HeldAt, false)
			p.notFuture("held_at", req.HeldAt, h.now())
		}
		p.maxLen("notes", req.Notes, maxNotes)
		if r := req.Record; r != nil {
			ri := &r.RiskIndicators
			for _, a := range []struct {
				field string
				v     *episode.Answer
			}{
				{"gone_missing_before", &ri.GoneMissingBefore},
				{"often_away_without_authorisation", &ri.OftenAwayWithoutAuthorisation},
				{"sexual_exploitation_or_trafficking", &ri.SexualExploitationOrTrafficking},
				{"hurt_or_harmed_while_away", &ri.HurtOrHarmedWhileAway},
				{"criminal_exploitation_or_drugs", &ri.CriminalExploitationOrDrugs},
				{"contact_with_people_posing_risk", &ri.ContactWithRiskyPeople},
			} {
				switch *a.v {
				case "":
					*a.v = episode.AnswerUnknown
				case episode.AnswerYes, episode.AnswerNo, episode.AnswerUnknown:
				default:
					p.add("record.risk_indicators."+a.field, "must be one of yes, no, unknown")
				}
			}
			p.maxLen("record.safeguarding_details", r.SafeguardingDetails, maxNotes)
			p.maxLen("record.what_happened", r.WhatHappened, maxNotes)
		}
		ev.Interview = &episode.InterviewUpdate{
			Outcome: outcome, ScheduledFor: req.ScheduledFor.ptr(), HeldAt: req.HeldAt.ptr(),
			Venue: req.Venue, Notes: req.Notes, Record: req.Record,
		}
		return p, nil
	})
}

func (h *handlers) agreement(c *gin.Context) {
	h.outcome(c, episode.EventAgreement, func(ctx context.Context, ev *episode.Event) (problems, error) {
		var req agreementRequest
		if !decode(c, &req) {
			return nil, errAnswered
		}
		var p problems
		if !req.ConfidentialityExplained {
			p.add("confidentiality_explained", "must be true: explain confidentiality to the child before recording the agreement")
		}
		shared := make([]episode.Sharing, 0, len(req.SharedWith))
		for i, s := range req.SharedWith {
			field := "shared_with[" + strconv.Itoa(i) + "]"
			p.oneOf(field+".party", s.Party, names(episode.Parties), true)
			if strings.TrimSpace(s.What) == "" {
				p.add(field+".what", "is required: say what will be shared")
			}
			shared = append(shared, episode.Sharing{Party: episode.Party(s.Party), What: s.What})
		}
		p.maxLen("notes", req.Notes, maxNotes)
		ev.Agreement = &episode.Agreement{
			ConfidentialityExplained: req.ConfidentialityExplained,
			ChildToldBeforeSharing:   req.ChildToldBeforeSharing,
			SharedWith:               shared,
			Notes:                    req.Notes,
		}
		return p, nil
	})
}

func (h *handlers) followUp(c *gin.Context) {
	h.outcome(c, episode.EventFollowUp, func(ctx context.Context, ev *episode.Event) (problems, error) {
		var req followUpRequest
		if !decode(c, &req) {
			return nil, errAnswered
		}
		var p problems
		p.instant("completed_at", req.CompletedAt, true)
		p.notFuture("completed_at", req.CompletedAt, h.now())
		if strings.TrimSpace(req.Outcome) == "" {
			p.add("outcome", "is required")
		}
		p.maxLen("outcome", req.Outcome, maxNotes)
		actions := req.ActionsTaken
		if actions == nil {
			actions = []string{}
		}
		for i, a := range actions {
			if strings.TrimSpace(a) == "" {
				p.add("actions_taken["+strconv.Itoa(i)+"]", "must not be empty")
			}
		}
		ev.FollowUp = &episode.FollowUpRecord{CompletedAt: req.CompletedAt.Time, ActionsTaken: actions, Outcome: req.Outcome}
		return p, nil
	})
}

func (h *handlers) closure(c *gin.Context) {
	h.outcome(c, episode.EventClosure, func(ctx context.Context, ev *episode.Event) (problems, error) {
		var req closureRequest
		if !decode(c, &req) {
			return nil, errAnswered
		}
		var p problems
		p.oneOf("reason", req.Reason, names(episode.ClosureReasons), true)
		if episode.ClosureReason(req.Reason) == episode.ClosureOther && strings.TrimSpace(req.Details) == "" {
			p.add("details", "is required when the reason is other")
		}
		p.maxLen("details", req.Details, maxNotes)
		ev.Closure = &episode.ClosureRequest{Reason: episode.ClosureReason(req.Reason), Details: req.Details}
		return p, nil
	})
}

// errAnswered means the request was already answered (a decoding error).
var errAnswered = errors.New("answered")

// outcome is the path every outcome takes: validate the body, find the
// episode and its current state, check the event against it, and signal it
// to the workflow. A 2xx is only sent once Temporal has the signal.
func (h *handlers) outcome(c *gin.Context, typ episode.EventType,
	build func(ctx context.Context, ev *episode.Event) (problems, error)) {
	ctx := c.Request.Context()
	id, ok := episodeID(c)
	if !ok {
		notFound(c)
		return
	}
	// Before anything else, and before Temporal is asked: an episode the
	// caller may not see answers 404 whatever the request.
	if !h.scope(c, id) {
		return
	}
	user := currentUser(c)
	ev := episode.Event{Type: typ, Actor: user.ID}
	p, err := build(ctx, &ev)
	if errors.Is(err, errAnswered) {
		return
	}
	if err != nil {
		h.serverError(c, "validate "+string(typ), err)
		return
	}
	if len(p) > 0 {
		invalid(c, p)
		return
	}

	wid := workflows.WorkflowID(id)
	desc, err := h.Temporal.DescribeWorkflowExecution(ctx, wid, "")
	if err != nil {
		if isNotFound(err) {
			notFound(c)
			return
		}
		h.serverError(c, "describe workflow", err)
		return
	}
	if desc.GetWorkflowExecutionInfo().GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		closed(c)
		return
	}

	state, known, err := h.currentState(ctx, callerOf(c), id)
	if err != nil {
		h.serverError(c, "episode state", err)
		return
	}
	// The records may lag behind a reassignment: an interviewer records
	// only while the episode is theirs.
	if known && user.Role == store.RoleInterviewer && state.AssignedInterviewer != user.ID {
		notFound(c)
		return
	}
	if known {
		if prob := state.Check(ev); prob != nil {
			if prob.Conflict {
				abort(c, http.StatusConflict, "This outcome cannot be recorded now: "+prob.Reason+".",
					Detail{Field: prob.Field, Reason: prob.Reason})
				return
			}
			invalid(c, problems{{Field: prob.Field, Reason: prob.Reason}})
			return
		}
	}

	now := h.now()
	ev.RecordedAt = now
	if err := h.Temporal.SignalWorkflow(ctx, wid, "", workflows.SignalEvent, ev); err != nil {
		if isNotFound(err) {
			closed(c) // it completed in the meantime
			return
		}
		h.serverError(c, "signal workflow", err)
		return
	}
	res := OutcomeAccepted{EpisodeID: id, Accepted: typ}
	if known {
		state.Apply(ev, now)
		res.Status = state.Status
	}
	c.JSON(http.StatusAccepted, res)
}

func closed(c *gin.Context) {
	abort(c, http.StatusConflict, "The episode is closed and accepts no more outcomes.",
		Detail{Field: "status", Reason: "the episode is closed"})
}

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

// currentState is the workflow's state, or when it cannot answer now (no
// worker running, say) the last saved snapshot. known is false when neither
// is available: the workflow then checks the event itself and records a
// rejection in the timeline.
func (h *handlers) currentState(ctx context.Context, caller store.Caller, id string) (st episode.State, known bool, err error) {
	st, qerr := h.queryState(ctx, id)
	if qerr == nil {
		return st, true, nil
	}
	if ctx.Err() != nil {
		return episode.State{}, false, ctx.Err()
	}
	h.log.WarnContext(ctx, "Episode state query failed; using the saved snapshot", "episode", id, "error", qerr)
	st, err = h.Store.EpisodeState(ctx, caller, id)
	switch {
	case err == nil:
		return st, true, nil
	case errors.Is(err, store.ErrNotFound):
		return episode.State{}, false, nil
	}
	return episode.State{}, false, err
}

// listEscalations lists escalations, newest first.
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
	c.JSON(http.StatusOK, gin.H{"escalations": out, "limit": f.Limit, "offset": f.Offset})
}
