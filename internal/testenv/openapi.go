package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"homeward/api"
)

// Every exchange a test has with the API through Env.Do or CheckedClient is
// checked against the API's OpenAPI document, so the document cannot drift
// from what the routes do: every answer must be one the document allows for
// its route and status, and every request the API accepted (2xx) must be
// one the document allows. Requests the API refused are not checked: tests
// send malformed ones on purpose.

// openAPI is the API's document, loaded and validated once per test binary.
type openAPI struct {
	router      routers.Router
	errorSchema *openapi3.Schema
}

var loadOpenAPI = sync.OnceValues(func() (*openAPI, error) {
	// The return report is served as HTML too: its body is checked as text.
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	// The document's ids are UUIDs; kin-openapi checks no uuid format unless told.
	openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(
		`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`))
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi.yaml is not valid OpenAPI: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route openapi.yaml: %w", err)
	}
	errSchema := doc.Components.Schemas["Error"]
	if errSchema == nil || errSchema.Value == nil {
		return nil, errors.New("openapi.yaml has no Error schema")
	}
	return &openAPI{router: router, errorSchema: errSchema.Value}, nil
})

var validationOptions = &openapi3filter.Options{
	AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
	IncludeResponseStatus: true, // an undocumented status is a mismatch
	MultiError:            true,
	// The path and the reason say enough; the schema and value would bury them.
	SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
}

// CheckOpenAPI fails t when the exchange differs from the API's OpenAPI
// document, naming the route and the problem. reqBody is the body sent
// (nil for none); respBody the body received.
func CheckOpenAPI(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) {
	t.Helper()
	doc, err := loadOpenAPI()
	if err != nil {
		t.Errorf("testenv: %v", err)
		return
	}
	if route, problem := doc.check(req, reqBody, status, header, respBody); problem != "" {
		t.Errorf("OpenAPI document and API differ on %s (sent %s %s, answered %d):\n%s",
			route, req.Method, req.URL.RequestURI(), status, problem)
	}
}

// check returns the route the document has for req and what differs.
func (o *openAPI) check(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) (route, problem string) {
	ctx := context.Background()
	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	found, params, err := o.router.FindRoute(r)
	if err != nil {
		return req.Method + " " + req.URL.Path + " (not in the document)", o.checkUndocumented(req, err, status, respBody)
	}
	route = found.Method + " " + found.Path
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: found, Options: validationOptions}
	if status >= 200 && status < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			return route, "the API accepted a request the document does not allow: " + err.Error()
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header, Options: validationOptions,
	}
	out.SetBodyBytes(respBody)
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		return route, "the answer is not one the document allows: " + err.Error()
	}
	return route, ""
}

// checkUndocumented allows, for a path or method the document does not
// have, only the error shape with 404 or 405, or a CORS preflight's 204
// (which OpenAPI 3.0 does not describe).
func (o *openAPI) checkUndocumented(req *http.Request, routeErr error, status int, respBody []byte) string {
	if req.Method == http.MethodOptions && status == http.StatusNoContent {
		return ""
	}
	if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		return fmt.Sprintf("%v, yet the API answered %d", routeErr, status)
	}
	var body any
	if err := json.Unmarshal(respBody, &body); err != nil {
		return fmt.Sprintf("the %d answer is not JSON: %v", status, err)
	}
	if err := o.errorSchema.VisitJSON(body, openapi3.MultiErrors(), openapi3.DisableSchemaErrorDetails()); err != nil {
		return fmt.Sprintf("the %d answer is not the Error schema: %v", status, err)
	}
	return ""
}

// CheckedClient is an HTTP client for tests that talk to an API server of
// their own: every exchange is checked with CheckOpenAPI.
func CheckedClient(t testing.TB) *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: checkingTransport{t: t}}
}

type checkingTransport struct{ t testing.TB }

func (c checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var sent []byte
	out := req
	if req.Body != nil && req.Body != http.NoBody {
		// Read up front and sent as it is; a request body of unknown
		// length (ContentLength 0 or -1) is still sent chunked.
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		sent = b
		out = req.Clone(req.Context())
		out.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	got, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(got))
	CheckOpenAPI(c.t, req, sent, resp.StatusCode, resp.Header, got)
	return resp, nil
}
