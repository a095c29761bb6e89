package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"homeward/api"
)

// apiAnswer is the API's answer to one in-process request.
type apiAnswer struct {
	Status int
	Header http.Header
	Body   []byte
	// Err is the API's error shape when Status is not 2xx.
	Err api.Error
}

func (a apiAnswer) ok() bool { return a.Status >= 200 && a.Status < 300 }

// refused reports a refusal to show beside the form's fields.
func (a apiAnswer) refused() bool {
	return a.Status == http.StatusBadRequest || a.Status == http.StatusConflict || a.Status == http.StatusUnprocessableEntity
}

// reasons maps each field the API named to its reason.
func (a apiAnswer) reasons() map[string]string {
	m := map[string]string{}
	for _, d := range a.Err.Details {
		if _, seen := m[d.Field]; !seen {
			m[d.Field] = d.Reason
		}
	}
	return m
}

// callAPI sends method path (with body as JSON when not nil) to the API's
// own handler, as the signed-in user, and decodes a 2xx answer into out.
// idempotencyKey, when set, is sent as Idempotency-Key.
func (w *Web) callAPI(c *gin.Context, method, path string, body any, idempotencyKey string, out any) (apiAnswer, error) {
	return w.callAPIAccepting(c, method, path, body, idempotencyKey, "application/json", out)
}

// callAPIAccepting is callAPI asking for the media type accept (e.g. a
// return report's PDF); out is decoded only from JSON.
func (w *Web) callAPIAccepting(c *gin.Context, method, path string, body any, idempotencyKey, accept string, out any) (apiAnswer, error) {
	var r io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return apiAnswer{}, fmt.Errorf("web: encode %s %s: %w", method, path, err)
		}
		r = bytes.NewReader(b)
	}
	ctx := api.WithSessionUser(context.WithoutCancel(c.Request.Context()), sessionOf(c).User)
	req, err := http.NewRequestWithContext(ctx, method, path, r)
	if err != nil {
		return apiAnswer{}, fmt.Errorf("web: %s %s: %w", method, path, err)
	}
	// The audit trail and the rate limit see the person's address, as
	// the engine's trusted proxies read it from the page's request (the
	// peer alone would be the proxy's).
	req.RemoteAddr = net.JoinHostPort(c.ClientIP(), "0")
	req.Host = c.Request.Host
	req.Header.Set("Accept", accept)
	if id := c.Writer.Header().Get("X-Request-ID"); id != "" {
		req.Header.Set("X-Request-ID", id) // one id for the page and its API calls
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	w.d.API.ServeHTTP(rec, req)
	a := apiAnswer{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
	if !a.ok() {
		var eb api.ErrorBody
		if err := json.Unmarshal(a.Body, &eb); err != nil {
			return a, fmt.Errorf("web: %s %s: %d answer is not the error shape: %w", method, path, a.Status, err)
		}
		a.Err = eb.Error
		return a, nil
	}
	if out != nil {
		if err := json.Unmarshal(a.Body, out); err != nil {
			return a, fmt.Errorf("web: decode %s %s: %w", method, path, err)
		}
	}
	return a, nil
}

// recorder keeps an in-process answer.
type recorder struct {
	header http.Header
	status int
	wrote  bool
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
