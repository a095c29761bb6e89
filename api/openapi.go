package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"
)

// OpenAPIYAML is the API's OpenAPI 3.0 document, written by hand. A test
// keeps its routes and the router's routes the same.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

type openAPIDocs struct {
	yaml []byte
	json []byte
}

func loadOpenAPI() (openAPIDocs, error) {
	js, err := OpenAPIJSON()
	if err != nil {
		return openAPIDocs{}, err
	}
	return openAPIDocs{yaml: OpenAPIYAML, json: js}, nil
}

// OpenAPIJSON is the OpenAPI document converted to JSON.
func OpenAPIJSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(OpenAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("parse openapi.yaml: %w", err)
	}
	plain, err := jsonable(doc)
	if err != nil {
		return nil, err
	}
	return json.MarshalIndent(plain, "", "  ")
}

// jsonable turns what yaml.v3 decodes into values encoding/json accepts:
// mappings with non-string keys become map[string]any.
func jsonable(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			c, err := jsonable(x)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			key, ok := k.(string)
			if !ok {
				key = fmt.Sprint(k)
			}
			if _, dup := out[key]; dup {
				return nil, fmt.Errorf("openapi.yaml: key %q appears twice once made a string", key)
			}
			c, err := jsonable(x)
			if err != nil {
				return nil, err
			}
			out[key] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			c, err := jsonable(x)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	return v, nil
}

func (h *handlers) openAPIJSON(c *gin.Context) {
	c.Data(http.StatusOK, "application/json; charset=utf-8", h.openapi.json)
}

func (h *handlers) openAPIYAML(c *gin.Context) {
	c.Data(http.StatusOK, "application/yaml; charset=utf-8", h.openapi.yaml)
}
