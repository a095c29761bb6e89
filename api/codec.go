package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// maxCodecBody bounds a codec request: a batch of payloads from the web UI.
const maxCodecBody = 16 << 20

// codec serves POST /v1/codec/encode and /v1/codec/decode for the Temporal
// web UI and CLI (their "codec endpoint" is <base URL>/v1/codec), using the
// SDK's handler: the body is {"payloads": [...]} in Temporal's JSON form and
// the answer is the same shape, encoded or decoded. Without a codec
// configured (payload encryption off) it answers 404. Only the provider's
// admins reach it (providerAdmin), and every call is in the audit trail.
func (h *handlers) codec() gin.HandlerFunc {
	var sdk http.Handler
	if h.Codec != nil {
		sdk = converter.NewPayloadCodecHTTPHandler(h.Codec)
	}
	return func(c *gin.Context) {
		if sdk == nil {
			abort(c, http.StatusNotFound, "No payload codec is configured: Temporal payloads are not encrypted.")
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxCodecBody)
		// The SDK answers errors in plain text that may quote the request;
		// they are replaced by the API's error shape.
		rec := httptest.NewRecorder()
		sdk.ServeHTTP(rec, c.Request)
		if rec.Code != http.StatusOK {
			op := strings.TrimPrefix(c.FullPath(), "/v1/codec/")
			abort(c, http.StatusBadRequest, "The payloads could not be "+op+"d.",
				Detail{Field: "payloads", Reason: "must be Temporal payloads in JSON ({\"payloads\": [...]}), and encrypted ones with a key this server holds"})
			return
		}
		c.Data(http.StatusOK, "application/json", rec.Body.Bytes())
	}
}

// memoDecodingClient decodes the memo of a described workflow with the
// codec, so the API reads memo values (the idempotency request hash, the
// commissioner) with the default converter whether payloads are encrypted
// or not. Everything else is the client as it is.
type memoDecodingClient struct {
	client.Client
	codec converter.PayloadCodec
}

func (m memoDecodingClient) DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error) {
	resp, err := m.Client.DescribeWorkflowExecution(ctx, workflowID, runID)
	if err != nil {
		return resp, err
	}
	fields := resp.GetWorkflowExecutionInfo().GetMemo().GetFields()
	for k, p := range fields {
		decoded, err := m.codec.Decode([]*commonpb.Payload{p})
		if err != nil {
			return nil, fmt.Errorf("decoding memo %s: %w", k, err)
		}
		fields[k] = decoded[0]
	}
	return resp, nil
}
