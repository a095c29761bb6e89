package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	failurepb "go.temporal.io/api/failure/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/proxy"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"homeward/api"
	"homeward/episode"
	"homeward/internal/testenv"
	"homeward/mail"
	"homeward/payloadcrypt"
	"homeward/store"
	"homeward/worker"
	"homeward/workflows"
)

// failFirstSend fails the first email with a temporary error, as a mail
// server refusing for a moment would, so the episode's history records an
// activity failure (the retried attempt's last failure).
type failFirstSend struct {
	mail.Sender
	failed atomic.Bool
}

const firstSendFailure = "451 4.3.0 mail server busy, try again later"

func (f *failFirstSend) Send(ctx context.Context, m mail.Message) error {
	if f.failed.CompareAndSwap(false, true) {
		return errors.New(firstSendFailure)
	}
	return f.Sender.Send(ctx, m)
}

func newCanary(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "CANARY-" + hex.EncodeToString(b)
}

// canaryReferral is a referral whose every free-text field about the child
// carries the canary.
func canaryReferral(canary string, returnedAt time.Time) map[string]any {
	return map[string]any{
		"child":               map[string]any{"first_name": "First" + canary, "last_name": "Last" + canary, "date_of_birth": "2011-04-05"},
		"reported_missing_at": rfc(returnedAt.Add(-20 * time.Hour)),
		"returned_at":         rfc(returnedAt),
		"police_reference":    "PR-CANARY",
		"risk_grade":          "high",
		"category":            "missing",
		"looked_after":        true,
		"contact": map[string]any{
			"child_mobile": "07700 900123",
			"address":      "1 " + canary + " Road",
			"carers":       []any{map[string]any{"name": "Carer " + canary, "relationship": "foster carer", "phone": "07700 900456"}},
		},
		"preferences": map[string]any{"worker_gender": "female", "notes": "notes " + canary},
	}
}

// rawHistory is the episode's history as the Temporal server stores it,
// fetched by a client with no codec.
func rawHistory(t *testing.T, env *testenv.Env, workflowID string) *historypb.History {
	t.Helper()
	plain := env.TemporalServer.NewClientWithOptions(client.Options{})
	it := plain.GetWorkflowHistory(context.Background(), workflowID, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	hist := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	return hist
}

// protoBytes is msg in the server's wire form and in JSON, to search.
func protoBytes(t *testing.T, msg proto.Message) []byte {
	t.Helper()
	bin, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	js, err := protojson.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return append(bin, js...)
}

func closeEpisode(t *testing.T, tm *team, id, canary string) {
	tm.must(t, 200, "POST", "/v1/episodes/"+id+"/closure", tm.Coordinator, map[string]any{"reason": "other", "details": "details " + canary})
	tm.waitFor(t, id, "closes", hasStatus(episode.StatusClosed))
}

// TestCanaryNeverStoredInTheClear drives an episode whose every field about
// the child carries a canary string through contact, a held interview with
// a safeguarding concern, a breach and closure, with one email failing on
// the way, and then looks for the canary wherever Homeward's data leaves
// PostgreSQL: the Temporal history as the server stores it, workflow ids,
// memo and search attributes, the process's logs and the emails.
func TestCanaryNeverStoredInTheClear(t *testing.T) {
	env := testenv.Start(t, testenv.Options{NoWorker: true})
	if env.KeyRing == nil {
		t.Fatal("the test Env does not encrypt payloads")
	}
	sender := &failFirstSend{Sender: env.Activities.Mailer}
	env.Activities.Mailer = sender
	env.StartWorker(t)
	tm := newTeam(t, env)
	canary := newCanary(t)

	// Returned almost 72 hours ago: the warning goes at once (and fails
	// once), the breach a few seconds later.
	returned := time.Now().UTC().Add(-72*time.Hour + 3*time.Second)
	body := tm.must(t, 201, "POST", "/v1/episodes", tm.Coordinator, canaryReferral(canary, returned))
	id := body["id"].(string)
	p := "/v1/episodes/" + id
	tm.must(t, 200, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": tm.InterviewerID})
	testenv.Eventually(t, 30*time.Second, "the breach is emailed", func() bool {
		for _, m := range env.SMTP.Messages() {
			if m.Header.Get("X-Homeward-Escalation") == "deadline_breached" {
				return true
			}
		}
		return false
	})

	now := time.Now().UTC().Truncate(time.Second)
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": rfc(now.Add(-time.Minute)), "notes": "voicemail " + canary})
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, map[string]any{"method": "text", "outcome": "reached_offered", "attempted_at": rfc(now), "notes": "replied " + canary})
	tm.must(t, 200, "POST", p+"/interview", tm.Interviewer, map[string]any{
		"outcome": "held", "held_at": rfc(now), "venue": "school",
		"record": map[string]any{
			"push_factors": []string{"push " + canary}, "pull_factors": []string{"pull " + canary},
			"risk_indicators":      map[string]any{"gone_missing_before": "yes"},
			"where_child_was":      "where " + canary,
			"who_with":             "with " + canary,
			"what_happened":        "happened " + canary,
			"harm_disclosed":       true,
			"safeguarding_concern": true,
			"safeguarding_details": "details " + canary,
		},
	})
	tm.waitFor(t, id, "records the held interview", hasStatus(episode.StatusInterviewHeld))
	// Managers: deadline warning, breach, safeguarding concern, two each.
	env.SMTP.WaitFor(t, 6, 30*time.Second)
	closeEpisode(t, tm, id, canary)

	workflowID := workflows.WorkflowID(id)
	testenv.Eventually(t, 30*time.Second, "the workflow closes", func() bool {
		d, err := env.Temporal.DescribeWorkflowExecution(context.Background(), workflowID, "")
		return err == nil && d.WorkflowExecutionInfo.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
	})
	hist := rawHistory(t, env, workflowID)
	ctx := context.Background()

	t.Run("history as stored", func(t *testing.T) {
		if bytes.Contains(protoBytes(t, hist), []byte(canary)) {
			t.Fatalf("the canary is in the Temporal history as the server stores it")
		}
		// Every payload (bar search attributes) is encrypted, and says only
		// its encoding and key.
		n := 0
		err := proxy.VisitPayloads(ctx, hist, proxy.VisitPayloadsOptions{
			SkipSearchAttributes: true,
			Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
				for _, p := range ps {
					n++
					if string(p.Metadata["encoding"]) != payloadcrypt.EncodingEncrypted || len(p.Metadata) != 2 ||
						string(p.Metadata["encryption-key-id"]) != env.KeyRing.Current() {
						return nil, fmt.Errorf("a payload is not encrypted: metadata %v", p.Metadata)
					}
				}
				return ps, nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if n < 10 {
			t.Fatalf("only %d payloads in the history", n)
		}
	})

	t.Run("failures as stored", func(t *testing.T) {
		var failures []*failurepb.Failure
		err := proxy.VisitFailures(ctx, hist, proxy.VisitFailuresOptions{
			Visitor: func(_ *proxy.VisitFailuresContext, f *failurepb.Failure) error {
				failures = append(failures, f)
				return nil
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(failures) == 0 {
			t.Fatal("no failure recorded: the failing email did not reach the history")
		}
		_, fc := payloadcrypt.Converters(env.KeyRing)
		found := false
		for _, f := range failures {
			// FailureToError decodes in place: decode a copy.
			if strings.Contains(fc.FailureToError(proto.Clone(f).(*failurepb.Failure)).Error(), firstSendFailure) {
				found = true
			}
		}
		for _, ev := range hist.Events {
			if bytes.Contains(protoBytes(t, ev), []byte("mail server busy")) {
				t.Fatalf("the failure message is in the history in the clear: event %d %s", ev.EventId, ev.EventType)
			}
		}
		if !found {
			t.Fatal("no stored failure decrypts to the email failure")
		}
		for _, f := range failures {
			if f.GetMessage() != "Encoded failure" || f.GetStackTrace() != "" || f.GetEncodedAttributes() == nil {
				t.Fatalf("a failure is stored in the clear: message %q", f.GetMessage())
			}
		}
	})

	t.Run("decrypted with the key the canary is there", func(t *testing.T) {
		// The same search finds the canary once the history is decrypted:
		// it searches the right thing.
		decoded := proto.Clone(hist).(*historypb.History)
		codec := payloadcrypt.NewCodec(env.KeyRing)
		err := proxy.VisitPayloads(ctx, decoded, proxy.VisitPayloadsOptions{
			Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
				return codec.Decode(ps)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		raw := protoBytes(t, decoded)
		for _, want := range []string{"First" + canary, "1 " + canary, "Carer " + canary, "voicemail " + canary,
			"where " + canary, "with " + canary, "happened " + canary, "push " + canary, "details " + canary,
			"Last" + canary, "notes " + canary, "replied " + canary, "pull " + canary} {
			if !bytes.Contains(raw, []byte(want)) {
				t.Errorf("the decrypted history lacks %q", want)
			}
		}
	})

	t.Run("codec endpoint", func(t *testing.T) {
		var input *commonpb.Payloads
		for _, ev := range hist.Events {
			if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
				input = a.GetInput()
			}
		}
		req, err := protojson.Marshal(input)
		if err != nil {
			t.Fatal(err)
		}
		status, _ := env.Do(t, "POST", "/v1/codec/decode", "", req)
		if status != 401 {
			t.Fatalf("decode without a token = %d, want 401", status)
		}
		// Only the provider's admins: the codec opens every commissioner's payloads.
		_, commissionerAdmin := env.AddUser(t, store.RoleAdmin)
		_, admin := env.AddUserIn(t, store.RoleAdmin, "")
		for _, tok := range []string{tm.Interviewer, tm.Coordinator, tm.Manager, commissionerAdmin} {
			if status, _ := env.Do(t, "POST", "/v1/codec/decode", tok, req); status != 403 {
				t.Fatalf("decode as a commissioner's staff = %d, want 403", status)
			}
		}
		status, resp := env.Do(t, "POST", "/v1/codec/decode", admin, req)
		if status != 200 {
			t.Fatalf("decode as the provider's admin = %d %s", status, resp)
		}
		if bytes.Contains(resp, []byte(canary)) {
			t.Fatalf("the decoded answer carries the canary unencoded: look at how it is searched")
		}
		var out commonpb.Payloads
		if err := json.Unmarshal(resp, &out); err != nil || len(out.Payloads) != 1 {
			t.Fatalf("decode answer: %v %s", err, resp)
		}
		if !bytes.Contains(out.Payloads[0].Data, []byte("First"+canary)) || string(out.Payloads[0].Metadata["encoding"]) != "json/plain" {
			t.Fatalf("the codec endpoint did not decrypt the workflow input: %v", out.Payloads[0].Metadata)
		}
		// The SDK's remote codec (what the Temporal CLI's --codec-endpoint
		// uses) works against the endpoint with an admin's token.
		remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
			Endpoint: env.URL + "/v1/codec",
			ModifyRequest: func(r *http.Request) error {
				r.Header.Set("Authorization", "Bearer "+admin)
				r.Header.Set("X-Namespace", env.Namespace)
				return nil
			},
		})
		viaRemote, err := remote.Decode(input.GetPayloads())
		if err != nil || len(viaRemote) != 1 || !bytes.Contains(viaRemote[0].Data, []byte("First"+canary)) {
			t.Fatalf("remote codec decode: %v", err)
		}
		// Encode gives back a payload only the key opens.
		plainIn, _ := converter.GetDefaultDataConverter().ToPayloads("hello " + canary)
		req, _ = protojson.Marshal(plainIn)
		status, resp = env.Do(t, "POST", "/v1/codec/encode", admin, req)
		if status != 200 || bytes.Contains(resp, []byte(canary)) {
			t.Fatalf("encode = %d %s", status, resp)
		}
		if status, _ := env.Do(t, "POST", "/v1/codec/decode", admin, "not payloads"); status != 400 {
			t.Fatalf("decode of garbage = %d, want 400", status)
		}
	})

	t.Run("workflow ids, memo, search attributes", func(t *testing.T) {
		if strings.Contains(workflowID, canary) {
			t.Fatalf("workflow id %s carries the canary", workflowID)
		}
		plain := env.TemporalServer.NewClientWithOptions(client.Options{})
		desc, err := plain.DescribeWorkflowExecution(ctx, workflowID, "")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(protoBytes(t, desc), []byte(canary)) {
			t.Fatalf("the canary is in the workflow's description (memo, search attributes, pending work)")
		}
		var list *workflowservice.ListWorkflowExecutionsResponse
		testenv.Eventually(t, 20*time.Second, "the workflow is listed", func() bool {
			list, err = plain.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
				Namespace: env.Namespace, Query: fmt.Sprintf("WorkflowId = '%s'", workflowID),
			})
			return err == nil && len(list.Executions) == 1
		})
		if bytes.Contains(protoBytes(t, list), []byte(canary)) {
			t.Fatalf("the canary is in the workflow listing (memo, search attributes)")
		}
	})

	t.Run("logs", func(t *testing.T) {
		logs := env.Logs()
		// The capture works: it holds the API's lines and the Temporal
		// SDK worker's report of the failed email.
		if !strings.Contains(logs, "HTTP request") || !strings.Contains(logs, firstSendFailure) {
			t.Fatalf("the log capture misses lines (%d bytes)", len(logs))
		}
		if i := strings.Index(logs, canary); i >= 0 {
			start := max(0, strings.LastIndex(logs[:i], "\n"))
			end := min(len(logs), i+200)
			t.Fatalf("a log line carries the canary: %s", logs[start:end])
		}
	})

	t.Run("metrics", func(t *testing.T) {
		text := env.Scrape(t)
		for _, secret := range []string{canary, id, body["reference"].(string)} {
			if strings.Contains(text, secret) {
				t.Fatalf("the metrics carry %q", secret)
			}
		}
		// The scrape is the real one: it has the requests on this episode.
		if !strings.Contains(text, `route="/v1/episodes/:id/interview"`) {
			t.Fatalf("the metrics lack the episode's requests (%d bytes)", len(text))
		}
	})

	t.Run("emails", func(t *testing.T) {
		msgs := env.SMTP.Messages()
		kinds := map[string]bool{}
		for _, m := range msgs {
			kinds[m.Header.Get("X-Homeward-Escalation")] = true
			if bytes.Contains(m.Data, []byte(canary)) || strings.Contains(m.Text, canary) || strings.Contains(m.HTML, canary) || strings.Contains(m.Subject, canary) {
				t.Fatalf("an email (%s) carries the canary", m.Header.Get("X-Homeward-Escalation"))
			}
		}
		for _, k := range []string{"deadline_warning", "deadline_breached", "safeguarding_concern"} {
			if !kinds[k] {
				t.Errorf("no %s email among %d", k, len(msgs))
			}
		}
	})
}

// TestCanarySearchFindsPlaintext shows the history search above can fail:
// without encryption the same search finds the canary.
func TestCanarySearchFindsPlaintext(t *testing.T) {
	env := testenv.Start(t, testenv.Options{PlaintextPayloads: true})
	tm := newTeam(t, env)
	canary := newCanary(t)
	body := tm.must(t, 201, "POST", "/v1/episodes", tm.Coordinator, canaryReferral(canary, time.Now().UTC().Add(-time.Hour)))
	id := body["id"].(string)
	closeEpisode(t, tm, id, canary)
	hist := rawHistory(t, env, workflows.WorkflowID(id))
	if !bytes.Contains(protoBytes(t, hist), []byte(canary)) {
		t.Fatal("without encryption the search does not find the canary in the history: it searches the wrong thing")
	}
	_, admin := env.AddUserIn(t, store.RoleAdmin, "")
	if status, _ := env.Do(t, "POST", "/v1/codec/decode", admin, `{"payloads": []}`); status != 404 {
		t.Fatalf("codec endpoint without a codec = %d, want 404", status)
	}
}

// TestKeyRotationMidEpisode starts an episode under one key, then replaces
// the worker with one whose ring adds a new current key: the episode carries
// on (the old payloads still decrypt) and what is written after uses the new key.
func TestKeyRotationMidEpisode(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	tm := newTeam(t, env)
	oldID := env.KeyRing.Current()
	id := tm.open(t, time.Now().UTC().Add(-2*time.Hour))
	p := "/v1/episodes/" + id
	tm.must(t, 200, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": tm.InterviewerID})
	tm.must(t, 200, "POST", p+"/contact-attempts", tm.Interviewer, map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": rfc(time.Now().Add(-time.Minute))})
	tm.waitFor(t, id, "records the first attempt", func(ep map[string]any) bool {
		a, _ := ep["contact_attempts"].([]any)
		return len(a) == 1
	})
	env.StopWorker()

	// The new ring: the old key kept, a new one current.
	newKey := make([]byte, payloadcrypt.KeySize)
	if _, err := rand.Read(newKey); err != nil {
		t.Fatal(err)
	}
	ring, err := env.KeyRing.WithKey("k-new", newKey, true)
	if err != nil {
		t.Fatal(err)
	}
	opts := client.Options{}
	opts.DataConverter, opts.FailureConverter = payloadcrypt.Converters(ring)
	rotated := env.TemporalServer.NewClientWithOptions(opts)
	w := worker.New(rotated, env.TaskQueue, env.Activities)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)

	// The API reads the episode's answers, so it holds the new key too
	// (rotation adds the key everywhere, then makes it current).
	rotatedAPI := httptest.NewServer(api.NewRouter(api.Deps{Store: env.Store, Temporal: rotated,
		TaskQueue: env.TaskQueue, Policy: env.Policy, Logger: env.Logger}))
	t.Cleanup(rotatedAPI.Close)
	viaRotated := func(token, path string, v any) {
		t.Helper()
		body, _ := json.Marshal(v)
		req, _ := http.NewRequest("POST", rotatedAPI.URL+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := testenv.CheckedClient(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s through the rotated API: %d %s", path, resp.StatusCode, answer)
		}
	}
	viaRotated(tm.Interviewer, p+"/contact-attempts", map[string]any{"method": "text", "outcome": "reached_offered", "attempted_at": rfc(time.Now())})
	tm.waitFor(t, id, "records the offer under the new key", hasStatus(episode.StatusOfferAccepted))
	viaRotated(tm.Coordinator, p+"/closure", map[string]any{"reason": "other", "details": "rotation"})
	_ = closedHistory(t, env, workflows.WorkflowID(id))

	hist := rawHistory(t, env, workflows.WorkflowID(id))
	used := map[string]int{}
	err = proxy.VisitPayloads(context.Background(), hist, proxy.VisitPayloadsOptions{
		SkipSearchAttributes: true,
		Visitor: func(_ *proxy.VisitPayloadsContext, ps []*commonpb.Payload) ([]*commonpb.Payload, error) {
			for _, p := range ps {
				used[string(p.Metadata["encryption-key-id"])]++
			}
			return ps, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if used[oldID] == 0 || used["k-new"] == 0 || len(used) != 2 {
		t.Fatalf("key ids in the history = %v, want both %s and k-new and nothing else", used, oldID)
	}
	// A worker holding only the new key cannot run this history: the old key
	// must stay in the ring while any history needs it.
	onlyNew, err := payloadcrypt.NewKeyRing("k-new", map[string][]byte{"k-new": newKey})
	if err != nil {
		t.Fatal(err)
	}
	var input []*commonpb.Payload
	for _, ev := range hist.Events {
		if a := ev.GetWorkflowExecutionStartedEventAttributes(); a != nil {
			input = a.GetInput().GetPayloads()
		}
	}
	if _, err := payloadcrypt.NewCodec(onlyNew).Decode(input); err == nil || !strings.Contains(err.Error(), oldID) {
		t.Fatalf("decode without the old key: %v, want an error naming %s", err, oldID)
	}
}
