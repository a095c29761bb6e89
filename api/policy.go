package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"homeward/episode"
	"homeward/store"
)

// A commissioner's policy in the API: durations are whole minutes, in
// fields named *_minutes.

// policyBody is the policy as the API reads and shows it. Pointers tell a
// field left out (required) from a zero.
type policyBody struct {
	OfferWindow          *int64   `json:"offer_window_minutes"`
	DeadlineWarningLead  *int64   `json:"deadline_warning_lead_minutes"`
	ContactSpacing       *int64   `json:"contact_spacing_minutes"`
	ContactReminderDelay *int64   `json:"contact_reminder_delay_minutes"`
	MaxContactAttempts   *int     `json:"max_contact_attempts"`
	ReofferInterval      *int64   `json:"reoffer_interval_minutes"`
	ReofferCount         *int     `json:"reoffer_count"`
	FollowUpDelay        *int64   `json:"follow_up_delay_minutes"`
	FollowUpGrace        *int64   `json:"follow_up_grace_minutes"`
	RepeatEpisodes       *int     `json:"repeat_episodes"`
	RepeatWindow         *int64   `json:"repeat_window_minutes"`
	EscalationAddresses  []string `json:"escalation_addresses"`
	// ReportApproval may be left out: no approval.
	ReportApproval *bool `json:"report_approval,omitempty"`
	// These may be left out (or 0): the defaults apply, and are shown.
	ActionGrace             *int64 `json:"action_grace_minutes,omitempty"`
	ReportDue               *int64 `json:"report_due_minutes,omitempty"`
	ReportAcknowledgeWithin *int64 `json:"report_acknowledge_within_minutes,omitempty"`
}

// CommissionerPolicy is the answer of the policy routes.
type CommissionerPolicy struct {
	CommissionerID string `json:"commissioner_id"`
	// Version 0 means the commissioner has no policy of its own: the
	// configured defaults apply.
	Version   int        `json:"version"`
	Defaults  bool       `json:"defaults"`
	ChangedBy string     `json:"changed_by,omitempty"`
	ChangedAt *time.Time `json:"changed_at,omitempty"`
	Policy    policyBody `json:"policy"`
}

// maxPolicyMinutes bounds every duration before it is multiplied, so
// that no value can overflow a time.Duration.
const maxPolicyMinutes = int64(episode.MaxPolicyDuration / time.Minute)

// policy reads the body into an episode.Policy, adding a problem for each
// field left out or out of range.
func (b policyBody) policy(p *problems) episode.Policy {
	minutes := func(field string, v *int64) time.Duration {
		switch {
		case v == nil:
			p.add(field, "is required")
		case *v < 0 || *v > maxPolicyMinutes:
			p.add(field, "must be whole minutes from 0 to "+strconv.FormatInt(maxPolicyMinutes, 10))
		default:
			return time.Duration(*v) * time.Minute
		}
		return 0
	}
	optional := func(field string, v *int64) time.Duration {
		if v == nil {
			return 0
		}
		return minutes(field, v)
	}
	count := func(field string, v *int) int {
		if v == nil {
			p.add(field, "is required")
			return 0
		}
		return *v
	}
	out := episode.Policy{
		OfferWindow:             minutes("offer_window_minutes", b.OfferWindow),
		DeadlineWarningLead:     minutes("deadline_warning_lead_minutes", b.DeadlineWarningLead),
		ContactSpacing:          minutes("contact_spacing_minutes", b.ContactSpacing),
		ContactReminderDelay:    minutes("contact_reminder_delay_minutes", b.ContactReminderDelay),
		MaxContactAttempts:      count("max_contact_attempts", b.MaxContactAttempts),
		ReofferInterval:         minutes("reoffer_interval_minutes", b.ReofferInterval),
		ReofferCount:            count("reoffer_count", b.ReofferCount),
		FollowUpDelay:           minutes("follow_up_delay_minutes", b.FollowUpDelay),
		FollowUpGrace:           minutes("follow_up_grace_minutes", b.FollowUpGrace),
		RepeatEpisodes:          count("repeat_episodes", b.RepeatEpisodes),
		RepeatWindow:            minutes("repeat_window_minutes", b.RepeatWindow),
		ReportApproval:          b.ReportApproval != nil && *b.ReportApproval,
		ActionGrace:             optional("action_grace_minutes", b.ActionGrace),
		ReportDue:               optional("report_due_minutes", b.ReportDue),
		ReportAcknowledgeWithin: optional("report_acknowledge_within_minutes", b.ReportAcknowledgeWithin),
	}
	for _, a := range b.EscalationAddresses {
		out.EscalationAddresses = append(out.EscalationAddresses, strings.TrimSpace(a))
	}
	return out
}

// durationFields are the policy's durations, by their JSON name in
// episode.Policy; the API names them with _minutes.
var durationFields = map[string]bool{
	"offer_window": true, "deadline_warning_lead": true, "contact_spacing": true, "contact_reminder_delay": true,
	"reoffer_interval": true, "follow_up_delay": true, "follow_up_grace": true, "repeat_window": true,
	"action_grace": true, "report_due": true, "report_acknowledge_within": true,
}

// apiField is the API's name of the policy field episode.Policy names field.
func apiField(field string) string {
	if durationFields[field] {
		return field + "_minutes"
	}
	return field
}

func bodyOf(p episode.Policy) policyBody {
	m := func(d time.Duration) *int64 { v := int64(d / time.Minute); return &v }
	n := func(v int) *int { return &v }
	addrs := append([]string{}, p.EscalationAddresses...)
	return policyBody{
		OfferWindow: m(p.OfferWindow), DeadlineWarningLead: m(p.DeadlineWarningLead),
		ContactSpacing: m(p.ContactSpacing), ContactReminderDelay: m(p.ContactReminderDelay),
		MaxContactAttempts: n(p.MaxContactAttempts), ReofferInterval: m(p.ReofferInterval),
		ReofferCount: n(p.ReofferCount), FollowUpDelay: m(p.FollowUpDelay), FollowUpGrace: m(p.FollowUpGrace),
		RepeatEpisodes: n(p.RepeatEpisodes), RepeatWindow: m(p.RepeatWindow), EscalationAddresses: addrs,
		ReportApproval:          &p.ReportApproval,
		ActionGrace:             m(orDefault(p.ActionGrace, episode.DefaultPolicy().ActionGrace)),
		ReportDue:               m(orDefault(p.ReportDue, episode.DefaultReportDue)),
		ReportAcknowledgeWithin: m(orDefault(p.ReportAcknowledgeWithin, episode.DefaultReportAcknowledgeWithin)),
	}
}

// orDefault is d, or def where d is 0: the episode applies the default.
func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// policyRoutes mounts a commissioner's policy: read by admins and
// managers (a commissioner's only their own), changed by the provider's.
func (h *handlers) policyRoutes(v1 *gin.RouterGroup) {
	staff := allow(store.RoleManager, store.RoleAdmin)
	v1.GET("/commissioners/:id/policy", staff, h.getPolicy)
	v1.PUT("/commissioners/:id/policy", staff, providerStaff, h.putPolicy)
}

// providerStaff lets through only the provider's staff (no commissioner):
// a commissioner's own staff may read their protocol but not change it.
func providerStaff(c *gin.Context) {
	u := currentUser(c)
	if u.CommissionerID == "" {
		c.Next()
		return
	}
	abort(c, http.StatusForbidden, "Only the provider's administrators and managers may change a commissioner's policy.",
		Detail{Field: "role", Reason: "is " + string(u.Role) + " of a commissioner; must be admin or manager of the provider"})
}

// policyOf is the policy episodes of commissioner open under: its own, or
// the configured defaults.
func (h *handlers) policyOf(ctx context.Context, commissioner string) (episode.Policy, error) {
	v, err := h.Store.CommissionerPolicy(ctx, commissioner)
	if errors.Is(err, store.ErrNotFound) {
		return h.Policy, nil
	}
	return v.Policy, err
}

// commissionerParam is the :id of a commissioner the caller may see, or
// false once it has answered 404: another commissioner's reads as none.
func (h *handlers) commissionerParam(c *gin.Context) (string, bool) {
	id, ok := episodeID(c) // any uuid :id
	u := currentUser(c)
	if ok && u.CommissionerID != "" && u.CommissionerID != id {
		ok = false
	}
	if ok {
		exists, err := h.Store.CommissionerExists(c.Request.Context(), id)
		if err != nil {
			h.serverError(c, "commissioner exists", err)
			return "", false
		}
		ok = exists
	}
	if !ok {
		abort(c, http.StatusNotFound, "No such commissioner.", Detail{Field: "id", Reason: "no such commissioner"})
	}
	return id, ok
}

func (h *handlers) getPolicy(c *gin.Context) {
	id, ok := h.commissionerParam(c)
	if !ok {
		return
	}
	v, err := h.Store.CommissionerPolicy(c.Request.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.JSON(http.StatusOK, CommissionerPolicy{CommissionerID: id, Defaults: true, Policy: bodyOf(h.Policy)})
	case err != nil:
		h.serverError(c, "commissioner policy", err)
	default:
		c.JSON(http.StatusOK, answerOf(v))
	}
}

func (h *handlers) putPolicy(c *gin.Context) {
	var body policyBody
	if !decode(c, &body) {
		return
	}
	var p problems
	pol := body.policy(&p)
	if len(p) == 0 {
		for _, prob := range pol.Problems() {
			p.add(apiField(prob.Field), prob.Reason)
		}
	}
	if len(p) > 0 {
		invalid(c, p)
		return
	}
	id, ok := h.commissionerParam(c)
	if !ok {
		return
	}
	v, err := h.Store.SetCommissionerPolicy(c.Request.Context(), id, pol, currentUser(c).ID, requestID(c), h.now())
	switch {
	case errors.Is(err, store.ErrNotFound):
		abort(c, http.StatusNotFound, "No such commissioner.", Detail{Field: "id", Reason: "no such commissioner"})
	case err != nil:
		h.serverError(c, "set commissioner policy", err)
	default:
		c.JSON(http.StatusOK, answerOf(v))
	}
}

func answerOf(v store.PolicyVersion) CommissionerPolicy {
	at := v.ChangedAt
	return CommissionerPolicy{CommissionerID: v.CommissionerID, Version: v.Version, ChangedBy: v.ChangedBy,
		ChangedAt: &at, Policy: bodyOf(v.Policy)}
}
