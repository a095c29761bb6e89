package testenv

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// failures is a test that keeps what CheckOpenAPI reports instead of failing.
type failures struct {
	testing.TB
	got []string
}

func (f *failures) Helper() {}

func (f *failures) Errorf(format string, args ...any) {
	f.got = append(f.got, fmt.Sprintf(format, args...))
}

const (
	someID     = "0b8c7a52-3f8e-4d0a-9a51-2f1f5d8f6c11"
	errorShape = `{"error": {"status": %d, "code": "%s", "message": "m", "details": []}}`
)

func TestCheckOpenAPI(t *testing.T) {
	referral := `{"child": {"first_name": "A"}, "reported_missing_at": "2026-01-01T00:00:00Z",
		"returned_at": "2026-01-02T00:00:00Z", "risk_grade": "low", "category": "missing", "contact": {"address": "x"}}`
	created := `{"id": "` + someID + `", "reference": "HW-1", "status": "awaiting_contact",
		"returned_at": "2026-01-02T00:00:00Z", "offer_deadline": "2026-01-05T00:00:00Z"}`
	cases := []struct {
		name, method, path, reqBody string
		status                      int
		respBody                    string
		want                        string // in the report; "" for none
	}{
		{"documented answer", "POST", "/v1/episodes", referral, 201, created, ""},
		{"undocumented status", "GET", "/v1/episodes", "", 418, fmt.Sprintf(errorShape, 418, "teapot"),
			"GET /v1/episodes (sent GET /v1/episodes, answered 418)"},
		{"answer off the schema", "GET", "/v1/episodes/" + someID, "", 404, `{"error": "gone"}`,
			"GET /v1/episodes/{id}"},
		{"accepted request off the schema", "POST", "/v1/episodes", `{"bogus": 1}`, 201, created,
			"the API accepted a request the document does not allow"},
		{"refused request is not checked", "POST", "/v1/episodes", `{"bogus": 1}`, 400,
			fmt.Sprintf(errorShape, 400, "invalid_request"), ""},
		{"unknown path in the error shape", "GET", "/v1/nothing", "", 404, fmt.Sprintf(errorShape, 404, "not_found"), ""},
		{"unknown path answered otherwise", "GET", "/v1/nothing", "", 404, `not found`, "not JSON"},
		{"unknown method answered 200", "DELETE", "/v1/episodes", "", 200, `{}`, "answered 200"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body []byte
			if c.reqBody != "" {
				body = []byte(c.reqBody)
			}
			req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.reqBody))
			req.Header.Set("Content-Type", "application/json")
			hdr := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
			f := &failures{TB: t}
			CheckOpenAPI(f, req, body, c.status, hdr, []byte(c.respBody))
			report := strings.Join(f.got, "\n")
			switch {
			case c.want == "" && report != "":
				t.Fatalf("reported a match as a mismatch:\n%s", report)
			case c.want != "" && !strings.Contains(report, c.want):
				t.Fatalf("report %q does not contain %q", report, c.want)
			}
		})
	}
}
