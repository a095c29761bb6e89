package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"go.temporal.io/api/serviceerror"
	grpccodes "google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"

	"homeward/store"
)

// Detail names one problem with one field of the request.
type Detail struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error is the one shape every error response has, under "error".
type Error struct {
	Status  int      `json:"status"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Details []Detail `json:"details"`
}

// ErrorBody is the whole body of an error response.
type ErrorBody struct {
	Error Error `json:"error"`
}

// Error codes by HTTP status.
var codes = map[int]string{
	http.StatusBadRequest:            "invalid_request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusNotAcceptable:         "not_acceptable",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "payload_too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusUnprocessableEntity:   "unprocessable",
	http.StatusInternalServerError:   "internal",
	http.StatusServiceUnavailable:    "unavailable",
}

// abort answers with the error shape and stops the handler chain. Every
// 503 says when to try again.
func abort(c *gin.Context, status int, message string, details ...Detail) {
	if details == nil {
		details = []Detail{}
	}
	code, ok := codes[status]
	if !ok {
		code = strings.ReplaceAll(strings.ToLower(http.StatusText(status)), " ", "_")
	}
	if status == http.StatusServiceUnavailable && c.Writer.Header().Get("Retry-After") == "" {
		c.Header("Retry-After", retryAfter)
	}
	c.AbortWithStatusJSON(status, ErrorBody{Error: Error{Status: status, Code: code, Message: message, Details: details}})
}

// problems collects every field problem found in a request.
type problems []Detail

func (p *problems) add(field, reason string) { *p = append(*p, Detail{Field: field, Reason: reason}) }

// invalid answers 400 naming every problem.
func invalid(c *gin.Context, p problems) {
	msg := "The request is not valid: " + p[0].Field + " " + p[0].Reason + "."
	if len(p) > 1 {
		msg = "The request is not valid: see details for each problem."
	}
	abort(c, http.StatusBadRequest, msg, p...)
}

func notFound(c *gin.Context) {
	abort(c, http.StatusNotFound, "No such episode.", Detail{Field: "id", Reason: "no such episode"})
}

// retryAfter is the Retry-After, in seconds, of every 503: long enough for
// a restarted dependency, short enough not to lose a referral's urgency.
const retryAfter = "5"

// serverError logs err with the request id and answers 503 when a
// dependency is unreachable, overloaded or too slow, 500 otherwise. The
// client never sees the error's text.
func (h *handlers) serverError(c *gin.Context, op string, err error) {
	status, message := http.StatusInternalServerError, "internal error"
	switch {
	case cutShort(err):
		// The caller went away or Homeward is shutting down: nothing is
		// wrong, and a caller still listening may retry elsewhere.
		h.log.WarnContext(c.Request.Context(), "Request cut short",
			"request_id", requestID(c), "route", c.FullPath(), "op", op, "error", err)
		abort(c, http.StatusServiceUnavailable, shuttingDown)
		return
	case unavailable(err):
		status = http.StatusServiceUnavailable
		message = "Homeward is temporarily unavailable: a service it depends on cannot be reached. Retrying the request is safe; try again in a few seconds."
	}
	h.log.ErrorContext(c.Request.Context(), "Request failed",
		"request_id", requestID(c), "route", c.FullPath(), "op", op, "status", status, "error", err)
	abort(c, status, message)
}

const shuttingDown = "The request was cut short before it finished. Retrying the request is safe; try again in a few seconds."

// cutShort reports whether err means the request itself was cancelled: its
// caller went away, or the server is shutting down and closed its Temporal
// connection under it.
func cutShort(err error) bool {
	var cancelled *serviceerror.Canceled
	return errors.Is(err, context.Canceled) || errors.As(err, &cancelled) || grpcstatus.Code(err) == grpccodes.Canceled
}

// unavailable reports whether err means a dependency (PostgreSQL, Temporal,
// the network to them) is down or too slow, rather than a fault of ours.
func unavailable(err error) bool {
	var (
		unav *serviceerror.Unavailable
		dl   *serviceerror.DeadlineExceeded
		re   *serviceerror.ResourceExhausted
		op   *net.OpError
	)
	return errors.As(err, &unav) || errors.As(err, &dl) || errors.As(err, &re) || errors.As(err, &op) ||
		errors.Is(err, context.DeadlineExceeded) || store.Unavailable(err)
}

func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
