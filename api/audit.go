package api

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"homeward/store"
)

// The audit trail of the API.
//
// auditTrail runs after authentication on every /v1 route but the OpenAPI
// document, and records one row per request: who, what (action and route
// pattern, never the raw URL), which episode, when, from where and the
// outcome. It holds the handler's response in a buffer and sends it only
// after the row is committed; when the row cannot be written the client gets
// 503 instead, so no answer, and no 2xx, goes out without its audit row.
//
// That one row is the request's only audit write: it is inserted without
// taking any lock (the chainer gives it its place in the hash chain within
// about a second, see store.ChainAudit), so requests never queue on each
// other's audit rows. Should it fail after a write was carried out, the
// client gets 503 saying so (not a refusal), and a retry with the same
// Idempotency-Key gets the first answer and writes the row.

// auditActions names what each route does; other /v1 routes are recorded
// under their method and path.
var auditActions = map[string]string{
	"POST /v1/episodes":                            "episode.open",
	"GET /v1/episodes":                             "episode.list",
	"GET /v1/episodes/:id":                         "episode.read",
	"POST /v1/episodes/:id/assignment":             "episode.assign",
	"POST /v1/episodes/:id/contact-attempts":       "episode.contact_attempt",
	"POST /v1/episodes/:id/interview":              "episode.interview",
	"POST /v1/episodes/:id/agreement":              "episode.agreement",
	"POST /v1/episodes/:id/follow-up":              "episode.follow_up",
	"POST /v1/episodes/:id/action-plan":            "episode.action_plan",
	"POST /v1/episodes/:id/carers-account":         "episode.carers_account",
	"POST /v1/episodes/:id/closure":                "episode.closure",
	"GET /v1/escalations":                          "escalation.list",
	"POST /v1/escalations/:id/acknowledgement":     "escalation.acknowledge",
	"GET /v1/audit":                                "audit.list",
	"GET /v1/children/:id/legal-hold":              "legal_hold.list",
	"GET /v1/commissioners/:id/policy":             "commissioner_policy.read",
	"PUT /v1/commissioners/:id/policy":             "commissioner_policy.change",
	"GET /v1/children":                             "child.list",
	"POST /v1/children/search":                     "child.search",
	"GET /v1/children/:id":                         "child.read",
	"PATCH /v1/children/:id":                       "child.update",
	"GET /v1/reports/kpis":                         "report.kpis",
	"GET /v1/reports/open-episodes":                "report.open_episodes",
	"POST /v1/codec/encode":                        "codec.encode",
	"POST /v1/codec/decode":                        "codec.decode",
	"GET /v1/exports/ssda903/missing.csv":          "export.ssda903_missing",
	"GET /v1/exports/annex-a-list8.csv":            "export.annex_a_list8",
	"GET /v1/reports/hotspots":                     "report.hotspots",
	"GET /v1/episodes/:id/report":                  "return_report.read",
	"POST /v1/episodes/:id/report/acknowledgement": "return_report.acknowledge",
	"POST /v1/episodes/:id/report/approval":        "return_report.approve",
	"GET /v1/episodes/:id/letter":                  "letter.read",
	"POST /v1/episodes/:id/letter/given":           "letter.given",
}

// notAudited are /v1 routes that touch no case data.
var notAudited = map[string]bool{
	"GET /v1/openapi.json": true,
	"GET /v1/openapi.yaml": true,
}

// auditTimeout bounds an audit append. The outcome row is written even if
// the client has gone: the action may have happened.
const auditTimeout = 10 * time.Second

func (h *handlers) auditTrail(c *gin.Context) {
	route := c.Request.Method + " " + c.FullPath()
	if c.FullPath() == "" || notAudited[route] {
		c.Next()
		return
	}
	action, ok := auditActions[route]
	if !ok {
		action = strings.ToLower(c.Request.Method) + " " + c.FullPath()
	}
	u := currentUser(c)
	entry := store.AuditEntry{
		UserID:         u.ID,
		Role:           string(u.Role),
		CommissionerID: u.CommissionerID,
		Action:         action,
		Resource:       route,
		EpisodeID:      auditEpisode(c),
		ClientIP:       c.ClientIP(),
		RequestID:      requestID(c),
	}
	write := c.Request.Method != http.MethodGet && c.Request.Method != http.MethodHead

	orig := c.Writer
	buf := &bufferedWriter{ResponseWriter: orig, status: http.StatusOK, size: -1}
	c.Writer = buf
	handled := false
	// On a panic the buffered answer is dropped and the writer restored, so
	// the recover middleware answers 500 itself; the outcome row is written
	// first, as for any other answer.
	defer func() {
		c.Writer = orig
		if !handled {
			h.auditPanic(c, entry, write)
		}
	}()
	c.Next()
	handled = true
	c.Writer = orig

	entry.Status = buf.status
	entry.Outcome = auditOutcome(buf.status, write)
	if entry.EpisodeID == "" && route == "POST /v1/episodes" && buf.status < 300 {
		var created struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(buf.body.Bytes(), &created) == nil {
			entry.EpisodeID = created.ID
		}
	}
	if entry.EpisodeID == "" {
		entry.EpisodeID = c.GetString(ctxAuditEpisode)
	}
	if err := h.appendAudit(c, entry); err != nil {
		// Drop what the handler meant to send, headers included.
		for k := range orig.Header() {
			if k != "X-Request-Id" {
				orig.Header().Del(k)
			}
		}
		if write && buf.status < 300 {
			h.auditIncomplete(c, err)
			return
		}
		h.auditFailed(c, err)
		return
	}
	buf.flush()
}

// auditIncomplete answers a write that was done but whose outcome row could
// not be written. It must not read as a refusal: the retry with the same
// Idempotency-Key gets the first answer and completes the trail.
func (h *handlers) auditIncomplete(c *gin.Context, err error) {
	h.log.ErrorContext(c.Request.Context(), "Audit trail not completed for a request that was carried out",
		"request_id", requestID(c), "route", c.FullPath(), "error", err)
	abort(c, http.StatusServiceUnavailable, "This was done, but the audit trail could not be completed just now, so the answer was held back. "+
		"Retry with the same Idempotency-Key: the retry gets the same answer and completes the audit trail.")
}

// auditPanic records the outcome of a request whose handler panicked: the
// 500 the recover middleware is about to send.
func (h *handlers) auditPanic(c *gin.Context, entry store.AuditEntry, write bool) {
	entry.Status = http.StatusInternalServerError
	entry.Outcome = auditOutcome(entry.Status, write)
	if err := h.appendAudit(c, entry); err != nil {
		h.log.ErrorContext(c.Request.Context(), "Audit trail not written for a request that panicked",
			"request_id", requestID(c), "route", c.FullPath(), "error", err)
	}
}

func (h *handlers) appendAudit(c *gin.Context, e store.AuditEntry) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.Request.Context()), auditTimeout)
	defer cancel()
	return h.Store.AppendAudit(ctx, e)
}

func (h *handlers) auditFailed(c *gin.Context, err error) {
	h.log.ErrorContext(c.Request.Context(), "Audit trail not written",
		"request_id", requestID(c), "route", c.FullPath(), "error", err)
	abort(c, http.StatusServiceUnavailable, "The audit trail cannot be written just now, so the request was not answered; try again shortly.")
}

// auditEpisode is the episode a request is about, if it names one.
func auditEpisode(c *gin.Context) string {
	v := c.Param("id")
	if v == "" || !strings.HasPrefix(c.FullPath(), "/v1/episodes/") {
		v = c.Query("episode_id")
	}
	if u, err := uuid.Parse(strings.TrimSpace(v)); err == nil {
		return u.String()
	}
	return ""
}

func auditOutcome(status int, write bool) string {
	switch {
	case status < 300 && write:
		return "accepted"
	case status < 300:
		return "ok"
	case status == http.StatusUnauthorized:
		return "unauthenticated"
	case status == http.StatusForbidden:
		return "denied"
	case status == http.StatusNotFound:
		return "not_found"
	case status == http.StatusConflict:
		return "refused"
	case status < 500:
		return "invalid"
	default:
		return "error"
	}
}

// bufferedWriter holds a handler's answer until the audit row is written.
type bufferedWriter struct {
	gin.ResponseWriter
	status int
	size   int // -1 until something is written, as gin counts
	body   bytes.Buffer
}

func (w *bufferedWriter) WriteHeader(code int) {
	if code > 0 && !w.Written() {
		w.status = code
	}
}

func (w *bufferedWriter) WriteHeaderNow() {
	if !w.Written() {
		w.size = 0
	}
}

func (w *bufferedWriter) Write(b []byte) (int, error) {
	w.WriteHeaderNow()
	n, err := w.body.Write(b)
	w.size += n
	return n, err
}

func (w *bufferedWriter) WriteString(s string) (int, error) { return w.Write([]byte(s)) }
func (w *bufferedWriter) Status() int                       { return w.status }
func (w *bufferedWriter) Size() int                         { return w.size }
func (w *bufferedWriter) Written() bool                     { return w.size != -1 }

// Flush does nothing: the answer goes out in flush, once audited.
func (w *bufferedWriter) Flush() {}

// flush sends the held answer.
func (w *bufferedWriter) flush() {
	w.ResponseWriter.WriteHeader(w.status)
	if w.Written() {
		w.ResponseWriter.WriteHeaderNow()
		_, _ = w.ResponseWriter.Write(w.body.Bytes())
	}
}

// auditPage is the answer of GET /v1/audit.
type auditPage struct {
	Entries []auditRow `json:"entries"`
	Limit   int        `json:"limit"`
	Offset  int        `json:"offset"`
}

type auditRow struct {
	ID             int64     `json:"id"`
	At             time.Time `json:"at"`
	UserID         string    `json:"user_id"`
	Role           string    `json:"role"`
	CommissionerID string    `json:"commissioner_id,omitempty"`
	Action         string    `json:"action"`
	Resource       string    `json:"resource"`
	EpisodeID      string    `json:"episode_id,omitempty"`
	ClientIP       string    `json:"client_ip,omitempty"`
	Outcome        string    `json:"outcome"`
	Status         int       `json:"status,omitempty"`
	RequestID      string    `json:"request_id,omitempty"`
	Hash           string    `json:"hash"`
}

// listAudit answers GET /v1/audit: the trail, newest first.
func (h *handlers) listAudit(c *gin.Context) {
	var p problems
	var f store.AuditFilter
	if v, ok := queryParam(c, "episode_id"); ok {
		if u, err := uuid.Parse(v); err != nil {
			p.add("episode_id", "must be a uuid")
		} else {
			f.EpisodeID = u.String()
		}
	}
	if v, ok := queryParam(c, "user_id"); ok {
		if len(v) > 100 {
			p.add("user_id", "must be at most 100 characters")
		}
		f.UserID = v
	}
	instant := func(name string) time.Time {
		v, ok := queryParam(c, name)
		if !ok {
			return time.Time{}
		}
		t, ok, _ := parseInstant(v)
		switch {
		case !ok:
			p.add(name, instantReason)
		case t.Year() < firstQueryYear || t.Year() > lastQueryYear:
			p.add(name, queryInstantReason)
		}
		return t
	}
	f.From, f.To = instant("from"), instant("to")
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		p.add("to", "must be after from")
	}
	f.Limit, f.Offset = pageParams(c, &p)
	if len(p) > 0 {
		invalid(c, p)
		return
	}
	// A commissioner's managers see their own staff and episodes only.
	f.CommissionerID = currentUser(c).CommissionerID
	entries, err := h.Store.ListAudit(c.Request.Context(), f)
	if err != nil {
		h.serverError(c, "list audit", err)
		return
	}
	out := auditPage{Entries: make([]auditRow, len(entries)), Limit: f.Limit, Offset: f.Offset}
	for i, e := range entries {
		out.Entries[i] = auditRow{
			ID: e.ID, At: e.At, UserID: e.UserID, Role: e.Role, CommissionerID: e.CommissionerID,
			Action: e.Action, Resource: e.Resource, EpisodeID: e.EpisodeID, ClientIP: e.ClientIP,
			Outcome: e.Outcome, Status: e.Status, RequestID: e.RequestID, Hash: hex.EncodeToString(e.Hash),
		}
	}
	c.JSON(http.StatusOK, out)
}
