package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
	"gopkg.in/yaml.v3"

	"homeward/api"
	"homeward/internal/pglocal"
	"homeward/internal/testenv"
	"homeward/store"
)

func parseYAML(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("YAML does not parse: %v", err)
	}
	return doc
}

// closedStore is a store on a real database whose pool has been closed.
func closedStore(t *testing.T) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, pglocal.NewTestDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return s
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := parseYAML(t, api.OpenAPIYAML)
	if doc["openapi"] != "3.0.3" {
		t.Fatalf("openapi = %v", doc["openapi"])
	}
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatalf("no paths")
	}
	methods := map[string]bool{"get": true, "post": true, "put": true, "patch": true, "delete": true, "head": true, "options": true}
	var documented []string
	for p, item := range paths {
		for m := range item.(map[string]any) {
			if methods[m] {
				documented = append(documented, strings.ToUpper(m)+" "+p)
			}
		}
	}
	param := regexp.MustCompile(`:([A-Za-z0-9_]+)`)
	var registered []string
	for _, r := range api.NewRouter(api.Deps{}).Routes() {
		registered = append(registered, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	sort.Strings(documented)
	sort.Strings(registered)
	if strings.Join(documented, "\n") != strings.Join(registered, "\n") {
		t.Fatalf("the OpenAPI document and the router differ\ndocumented:\n%s\n\nregistered:\n%s",
			strings.Join(documented, "\n"), strings.Join(registered, "\n"))
	}

	// Every $ref points at something that exists.
	js, err := api.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var full map[string]any
	if err := json.Unmarshal(js, &full); err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`"\$ref": "#/([^"]+)"`).FindAllStringSubmatch(string(js), -1) {
		var node any = full
		for _, part := range strings.Split(m[1], "/") {
			obj, ok := node.(map[string]any)
			if !ok || obj[part] == nil {
				t.Fatalf("$ref #/%s points nowhere", m[1])
			}
			node = obj[part]
		}
	}
	// No key without a value: in YAML flow mappings an unquoted comma
	// silently makes one ("description: a, b" gives a key "b").
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if x == nil {
					t.Fatalf("openapi.yaml: %s/%s has no value", path, k)
				}
				walk(path+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s/%d", path, i), x)
			}
		}
	}
	walk("#", full)
	// The JSON is the YAML: same paths.
	if len(full["paths"].(map[string]any)) != len(paths) {
		t.Fatalf("JSON and YAML differ")
	}
}

// TestOpenAPIValid checks the document with kin-openapi's validator, and
// the OpenAPI 3.0.3 rule it leaves out: nullable has effect only beside a
// type (linters refuse it beside a lone allOf or $ref).
func TestOpenAPIValid(t *testing.T) {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIYAML)
	if err != nil {
		t.Fatalf("openapi.yaml does not load: %v", err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI 3.0: %v", err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if v["nullable"] == true && v["type"] == nil {
				t.Errorf("openapi.yaml: %s is nullable without a type", path)
			}
			for k, x := range v {
				walk(path+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s/%d", path, i), x)
			}
		}
	}
	walk("#", parseYAML(t, api.OpenAPIYAML))
}

func TestToken(t *testing.T) {
	tok, hash, err := api.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^hw_[A-Za-z0-9_-]{43}$`).MatchString(tok) {
		t.Fatalf("token %q", tok)
	}
	sum := sha256.Sum256([]byte(tok))
	if !bytes.Equal(hash, sum[:]) || !bytes.Equal(api.HashToken(tok), hash) {
		t.Fatalf("hash is not sha256 of the token")
	}
	tok2, _, _ := api.NewToken()
	if tok2 == tok {
		t.Fatalf("two tokens alike")
	}
}

// A panic in a handler answers 500 in the error shape without the panic's text.
func TestRecoverAndUnavailableTemporal(t *testing.T) {
	broken := closedStore(t)
	lazy, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer lazy.Close()
	r := api.NewRouter(api.Deps{Store: broken, Temporal: lazy})
	r.GET("/boom", func(c *gin.Context) { panic("runtime error: secret child name") })

	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest("GET", "/boom", nil))
	wantError(t, rec.Code, rec.Body.Bytes(), 500, "internal", "")
	noGoErrorText(t, rec.Body.Bytes())
	if strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("panic text leaked: %s", rec.Body.String())
	}

	rec = httptest.NewRecorder()
	start := time.Now()
	ready := httptest.NewRequest("GET", "/readyz", nil)
	r.ServeHTTP(rec, ready)
	testenv.CheckOpenAPI(t, ready, nil, rec.Code, rec.Header(), rec.Body.Bytes())
	if rec.Code != 503 || !strings.Contains(rec.Body.String(), `"temporal":"unavailable"`) || !strings.Contains(rec.Body.String(), `"postgres":"unavailable"`) {
		t.Fatalf("readyz: %d %s", rec.Code, rec.Body.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("readyz took %s", d)
	}
	noGoErrorText(t, rec.Body.Bytes())
}
