package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// maxBody is the largest request body accepted.
const maxBody = 1 << 20

// clockSkew is how far in the future a client's "now" may be.
const clockSkew = 2 * time.Minute

// maxNotes is the longest free text accepted in notes and details.
const maxNotes = 4000

// Instant is an RFC 3339 instant sent by a client. Decoding never fails:
// a value that is not an instant is remembered as Invalid, so validation
// can name the field (encoding/json cannot for errors of UnmarshalJSON).
type Instant struct {
	Time    time.Time // in UTC
	Present bool      // the field was given and not null
	Invalid bool      // the field was given but is not a usable instant
	// OutOfRange: an RFC 3339 instant, but its UTC form falls outside years
	// 1 to 9999 (Invalid is set too).
	OutOfRange bool
}

// instantReason and instantRangeReason say what an instant must be.
const (
	instantReason      = "must be an RFC 3339 instant"
	instantRangeReason = "must be an RFC 3339 instant in the years 0001 to 9999 (UTC)"
)

// Query dates and instants are refused outside these years: nothing
// Homeward records falls before 1900, and year 0 or 10000 breaks the date
// arithmetic of the reports.
const (
	firstQueryYear = 1900
	lastQueryYear  = 9999
)

// dayReason and queryInstantReason say what a query's day or instant must be.
const (
	dayReason          = "must be a date YYYY-MM-DD in the years 1900 to 9999"
	queryInstantReason = "must be an RFC 3339 instant in the years 1900 to 9999 (UTC)"
)

// parseDay reads a calendar date YYYY-MM-DD of a query; ok is false when s
// is not one or falls outside the query years.
func parseDay(s string) (d time.Time, ok bool) {
	d, err := time.Parse(time.DateOnly, s)
	return d, err == nil && d.Year() >= firstQueryYear && d.Year() <= lastQueryYear
}

// parseInstant reads an RFC 3339 instant into UTC. ok is false when s is
// not one; inRange is false when its UTC form leaves years 1 to 9999, which
// JSON, the workflows and PostgreSQL's date arithmetic cannot all carry
// ("0000-01-01T00:00:00+01:00" is in year -1 once in UTC).
func parseInstant(s string) (t time.Time, ok, inRange bool) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, false, false
	}
	t = t.UTC()
	return t, true, t.Year() >= 1 && t.Year() <= 9999
}

func (i *Instant) UnmarshalJSON(b []byte) error {
	*i = Instant{}
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	i.Present = true
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		i.Invalid = true
		return nil
	}
	t, ok, inRange := parseInstant(s)
	switch {
	case !ok:
		i.Invalid = true
	case !inRange:
		i.Invalid, i.OutOfRange = true, true
	default:
		i.Time = t
	}
	return nil
}

// MarshalJSON writes the instant in UTC, or null.
func (i Instant) MarshalJSON() ([]byte, error) {
	if !i.Present || i.Invalid {
		return []byte("null"), nil
	}
	return json.Marshal(i.Time.UTC())
}

// ptr returns the instant as a pointer, nil when absent.
func (i Instant) ptr() *time.Time {
	if !i.Present || i.Invalid {
		return nil
	}
	t := i.Time
	return &t
}

// checkQuery refuses a query parameter that is not UTF-8 or holds NUL,
// naming it, on every route: PostgreSQL text can hold neither, and no
// parameter of the API needs them. A name that is itself bad is not echoed.
func (h *handlers) checkQuery(c *gin.Context) {
	const reason = "must be UTF-8 text without the NUL character"
	var p problems
	for name, values := range c.Request.URL.Query() {
		if !cleanText(name) {
			p.add("query", "parameter names "+reason)
			continue
		}
		for _, v := range values {
			if !cleanText(v) {
				p.add(name, reason)
				break
			}
		}
	}
	if len(p) > 0 {
		sort.Slice(p, func(i, j int) bool { return p[i].Field < p[j].Field })
		invalid(c, p)
		return
	}
	c.Next()
}

func cleanText(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// decode reads the request body as one JSON object into v. It answers the
// request itself (400, 413 or 415) and returns false when it cannot.
func decode(c *gin.Context, v any) bool {
	r := c.Request
	if r.ContentLength > maxBody {
		tooLarge(c)
		return false
	}
	hasBody := r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody
	if hasBody {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			abort(c, http.StatusUnsupportedMediaType, "The request body must be JSON (Content-Type: application/json).",
				Detail{Field: "Content-Type", Reason: "must be application/json"})
			return false
		}
	}
	if !hasBody {
		abort(c, http.StatusBadRequest, "The request needs a JSON body.", Detail{Field: "body", Reason: "is required"})
		return false
	}
	body := http.MaxBytesReader(c.Writer, r.Body, maxBody)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		decodeError(c, err)
		return false
	}
	// Exactly one value: anything after it but white space is an error.
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			tooLarge(c)
			return false
		}
		abort(c, http.StatusBadRequest, "The request body must hold exactly one JSON object.",
			Detail{Field: "body", Reason: "must hold exactly one JSON object"})
		return false
	}
	return true
}

func tooLarge(c *gin.Context) {
	abort(c, http.StatusRequestEntityTooLarge, "The request body is larger than 1 MiB.",
		Detail{Field: "body", Reason: "must not be larger than 1 MiB"})
}

func decodeError(c *gin.Context, err error) {
	var (
		mbe *http.MaxBytesError
		ute *json.UnmarshalTypeError
		se  *json.SyntaxError
	)
	switch {
	case errors.As(err, &mbe):
		tooLarge(c)
	case errors.As(err, &ute):
		if ute.Field == "" {
			abort(c, http.StatusBadRequest, "The request body must be a JSON object.",
				Detail{Field: "body", Reason: "must be a JSON object"})
			return
		}
		reason := "has the wrong type"
		if ute.Type != nil {
			reason = typeReason(ute.Type)
		}
		abort(c, http.StatusBadRequest, "The request is not valid: "+ute.Field+" "+reason+".",
			Detail{Field: ute.Field, Reason: reason})
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		abort(c, http.StatusBadRequest, "The request body is not valid JSON.",
			Detail{Field: "body", Reason: "is not valid JSON"})
	case errors.Is(err, io.EOF):
		abort(c, http.StatusBadRequest, "The request needs a JSON body.", Detail{Field: "body", Reason: "is required"})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		if uq, err := strconv.Unquote(field); err == nil {
			field = uq
		}
		// A name that cannot name a field (empty, control characters, very
		// long) is not echoed: the body is named instead (found by fuzzing).
		if field == "" || len(field) > 100 || !utf8.ValidString(field) || strings.ContainsFunc(field, unicode.IsControl) {
			abort(c, http.StatusBadRequest, "The request body has a field that is not known.",
				Detail{Field: "body", Reason: "has a field that is not known"})
			return
		}
		abort(c, http.StatusBadRequest, "The request is not valid: "+field+" is not a known field.",
			Detail{Field: field, Reason: "is not a known field"})
	default:
		abort(c, http.StatusBadRequest, "The request body could not be read as JSON.",
			Detail{Field: "body", Reason: "is not valid JSON"})
	}
}

func typeReason(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "must be a string"
	case reflect.Bool:
		return "must be a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "must be a whole number"
	case reflect.Float32, reflect.Float64:
		return "must be a number"
	case reflect.Slice, reflect.Array:
		return "must be an array"
	case reflect.Struct, reflect.Map:
		return "must be an object"
	}
	return "has the wrong type"
}

// Validation helpers. Each adds to p and reports whether the value is usable.

func (p *problems) instant(field string, i Instant, required bool) bool {
	switch {
	case i.OutOfRange:
		p.add(field, instantRangeReason)
		return false
	case i.Invalid:
		p.add(field, instantReason)
		return false
	case !i.Present:
		if required {
			p.add(field, "is required")
		}
		return false
	}
	return true
}

func (p *problems) notFuture(field string, i Instant, now time.Time) {
	if i.Present && !i.Invalid && i.Time.After(now.Add(clockSkew)) {
		p.add(field, "must not be in the future")
	}
}

func (p *problems) oneOf(field, v string, allowed []string, required bool) bool {
	if v == "" {
		if required {
			p.add(field, "is required")
		}
		return false
	}
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	p.add(field, "must be one of "+strings.Join(allowed, ", "))
	return false
}

func (p *problems) maxLen(field, v string, n int) {
	if utf8.RuneCountInString(v) > n {
		p.add(field, "must be at most "+strconv.Itoa(n)+" characters")
	}
}

func names[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}
