package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"homeward/internal/testenv"
	"homeward/store"
)

// The fuzz tests send arbitrary bodies to every route that accepts JSON,
// through the real router, worker, Temporal and PostgreSQL, and require
// that the API never fails (5xx, or a dropped connection from a panic) and
// that every refusal is the error shape naming a field. Plain `go test`
// runs the seeds; `go test ./api -run '^$' -fuzz FuzzX -fuzztime 30s`
// fuzzes.

// fuzzEnv is one running Homeward per fuzz function, with an episode
// assigned to an interviewer.
type fuzzEnv struct {
	env                         *testenv.Env
	coord, interviewer, manager string
	providerAdmin               string // the only role the payload codec serves
	interviewerID, episodeID    string
	childID                     string
}

func startFuzzEnv(f *testing.F) *fuzzEnv {
	f.Helper()
	env := testenv.Start(f, testenv.Options{})
	fe := &fuzzEnv{env: env}
	_, fe.coord = env.AddUser(f, store.RoleCoordinator)
	_, fe.manager = env.AddUser(f, store.RoleManager)
	_, fe.providerAdmin = env.AddUserIn(f, store.RoleAdmin, "")
	iv, ivToken := env.AddUser(f, store.RoleInterviewer)
	fe.interviewer, fe.interviewerID = ivToken, iv.ID

	st, body := env.Do(f, "POST", "/v1/episodes", fe.coord, referral(time.Hour))
	if st != 201 {
		f.Fatalf("open episode: %d %s\n%s", st, body, errorLogs(env))
	}
	var ep created
	if err := json.Unmarshal(body, &ep); err != nil {
		f.Fatal(err)
	}
	fe.episodeID = ep.ID
	st, body = env.Do(f, "POST", "/v1/episodes/"+ep.ID+"/assignment", fe.coord, map[string]any{"interviewer_id": iv.ID})
	if st != 200 {
		f.Fatalf("assign: %d %s\n%s", st, body, errorLogs(env))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, body := env.Do(f, "GET", "/v1/episodes/"+ep.ID, fe.interviewer, nil)
		var d detail
		if st == 200 && json.Unmarshal(body, &d) == nil && !d.Pending &&
			d.AssignedInterviewer != nil && d.AssignedInterviewer.ID == iv.ID {
			fe.childID = d.Child.ID
			break
		}
		if time.Now().After(deadline) {
			f.Fatalf("episode not assigned after 30s: %d %s", st, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fe
}

// errorLogs are the env's log lines at level ERROR or WARN.
func errorLogs(env *testenv.Env) string {
	var out []string
	for _, l := range strings.Split(env.Logs(), "\n") {
		if strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, `"level":"WARN"`) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// checkAnswer is what every answer to any body must be.
func checkAnswer(t *testing.T, route string, body []byte, status int, resp []byte) {
	t.Helper()
	if status >= 500 {
		t.Fatalf("%s: status %d for body %q: %s", route, status, body, resp)
	}
	if status < 400 {
		return
	}
	var e errorBody
	if err := json.Unmarshal(resp, &e); err != nil {
		t.Fatalf("%s: %d answer is not the error shape: %v: %s", route, status, err, resp)
	}
	if e.Error.Status != status || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("%s: error %+v does not match status %d", route, e.Error, status)
	}
	if len(e.Error.Details) == 0 {
		t.Fatalf("%s: %d answer names no field: %s", route, status, resp)
	}
	for _, d := range e.Error.Details {
		if d.Field == "" || d.Reason == "" {
			t.Fatalf("%s: detail without a field or reason: %s", route, resp)
		}
	}
}

// edgeSeeds are bodies every fuzz function starts from besides its valid ones.
func edgeSeeds(field string) []string {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	deepObj := strings.Repeat(`{"`+field+`":`, 5000) + "1" + strings.Repeat("}", 5000)
	return []string{
		``, ` `, `null`, `true`, `0`, `""`, `[]`, `[{}]`, `{}`, `{} `, `{}{}`, `{} x`, `{"a":1}`,
		`{`, `}`, `{"` + field + `"`, `{"` + field + `":}`, `{,}`,
		`{"` + field + `": null}`, `{"` + field + `": 1e999}`, `{"` + field + `": -1e999}`,
		`{"` + field + `": 123456789012345678901234567890}`, `{"` + field + `": 1.5}`, `{"` + field + `": -0}`,
		`{"` + field + `": true}`, `{"` + field + `": []}`, `{"` + field + `": {}}`, `{"` + field + `": [[[[[]]]]]}`,
		`{"` + field + `": "\ud800"}`, `{"` + field + `": "\u0000"}`, `{"` + field + `": "🦊 Zoë ß 日本"}`,
		`{"` + field + `": "x", "` + field + `": 5}`, `{"` + strings.ToUpper(field) + `": "x"}`,
		"\xef\xbb\xbf{}", "{\"" + field + "\": \"\xff\xfe\"}", "\x00", `{"__proto__": {}}`,
		deep, deepObj, `{"` + field + `": "` + strings.Repeat("x", 5000) + `"}`,
	}
}

func addSeeds(f *testing.F, valid []any, field string) {
	for _, v := range valid {
		switch b := v.(type) {
		case string:
			f.Add([]byte(b))
		default:
			js, err := json.Marshal(b)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(js)
		}
	}
	for _, s := range edgeSeeds(field) {
		f.Add([]byte(s))
	}
}

func nowRFC() string { return time.Now().UTC().Format(time.RFC3339) }

func FuzzCreateEpisodeBody(f *testing.F) {
	noContact := referral(time.Hour)
	delete(noContact, "contact")
	late := referral(80 * time.Hour)
	future := referral(-time.Hour)
	addSeeds(f, []any{
		referral(time.Hour), noContact, late, future,
		map[string]any{"child": nil, "returned_at": nowRFC()},
		map[string]any{"child": map[string]any{"first_name": "A", "date_of_birth": "2099-02-30"}, "returned_at": nowRFC()},
		map[string]any{"child": map[string]any{"first_name": "A"}, "returned_at": "2026-13-01T00:00:00Z"},
		map[string]any{"child": map[string]any{"first_name": strings.Repeat("é", 300)}, "returned_at": nowRFC(),
			"contact": map[string]any{"carers": []any{nil, 1, "x"}}},
		map[string]any{"child": map[string]any{}, "returned_at": nowRFC(), "assigned_interviewer_id": "not-a-uuid"},
		map[string]any{"child": map[string]any{"first_name": "A"}, "returned_at": nowRFC(), "commissioner_id": "00000000-0000-0000-0000-000000000000"},
	}, "returned_at")
	fe := startFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		st, resp := fe.env.Do(t, "POST", "/v1/episodes", fe.coord, body)
		checkAnswer(t, "POST /v1/episodes", body, st, resp)
	})
}

// fuzzOutcome fuzzes one outcome route of the env's episode.
func fuzzOutcome(f *testing.F, route string, manager bool, valid []any, field string) {
	addSeeds(f, valid, field)
	fe := startFuzzEnv(f)
	token := fe.interviewer
	if manager {
		token = fe.coord
	}
	path := "/v1/episodes/" + fe.episodeID + "/" + route
	f.Fuzz(func(t *testing.T, body []byte) {
		st, resp := fe.env.Do(t, "POST", path, token, body)
		checkAnswer(t, "POST "+route, body, st, resp)
	})
}

func FuzzAssignmentBody(f *testing.F) {
	fuzzOutcome(f, "assignment", true, []any{
		map[string]any{"interviewer_id": "00000000-0000-0000-0000-000000000000"},
		map[string]any{"interviewer_id": "not-a-uuid"},
		map[string]any{"interviewer_id": ""},
		map[string]any{"interviewer_id": strings.Repeat("a", 10000)},
	}, "interviewer_id")
}

func FuzzContactAttemptBody(f *testing.F) {
	fuzzOutcome(f, "contact-attempts", false, []any{
		map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": nowRFC()},
		map[string]any{"method": "text", "outcome": "wrong_details", "attempted_at": nowRFC(), "notes": "n"},
		map[string]any{"method": "visit", "outcome": "reached_declined", "attempted_at": "2026-01-01T00:00:00+14:00"},
		map[string]any{"method": "letter", "outcome": "no_reply", "attempted_at": "9999-12-31T23:59:59Z"},
		map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": "0001-01-01T00:00:00Z"},
		map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": nowRFC(), "notes": strings.Repeat("n", 4001)},
		map[string]any{"method": "PHONE", "outcome": "", "attempted_at": 17},
	}, "attempted_at")
}

func FuzzInterviewBody(f *testing.F) {
	fuzzOutcome(f, "interview", false, []any{
		map[string]any{"outcome": "scheduled", "scheduled_for": time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339), "venue": "school"},
		map[string]any{"outcome": "held", "held_at": nowRFC(), "venue": "home",
			"record": map[string]any{"push_factors": []string{"x"}, "safeguarding_concern": true,
				"risk_indicators": map[string]any{"gone_missing_before": "yes"}}},
		map[string]any{"outcome": "held", "held_at": nowRFC(), "record": nil},
		map[string]any{"outcome": "held", "held_at": nowRFC(), "record": map[string]any{"unknown": 1}},
		map[string]any{"outcome": "did_not_attend"},
		map[string]any{"outcome": "rescheduled", "scheduled_for": "yesterday"},
	}, "outcome")
}

func FuzzAgreementBody(f *testing.F) {
	fuzzOutcome(f, "agreement", false, []any{
		map[string]any{"confidentiality_explained": true, "child_told_before_sharing": true,
			"shared_with": []any{map[string]any{"party": "social_worker", "what": "the return report"}}},
		map[string]any{"confidentiality_explained": false, "shared_with": []any{}},
		map[string]any{"confidentiality_explained": true, "shared_with": []any{nil, map[string]any{}, map[string]any{"party": 1}}},
		map[string]any{"confidentiality_explained": true, "shared_with": "police"},
	}, "shared_with")
}

func FuzzFollowUpBody(f *testing.F) {
	fuzzOutcome(f, "follow-up", false, []any{
		map[string]any{"completed_at": nowRFC(), "actions_taken": []string{"CAMHS referral"}, "outcome": "settled"},
		map[string]any{"completed_at": nowRFC(), "actions_taken": nil},
		map[string]any{"completed_at": nowRFC(), "actions_taken": []any{1, nil, ""}},
	}, "actions_taken")
}

func FuzzActionPlanBody(f *testing.F) {
	fuzzOutcome(f, "action-plan", false, []any{
		map[string]any{"actions": []any{map[string]any{"what": "meeting", "owner": "school", "owner_email": "a@school.example", "due_at": nowRFC()}}},
		map[string]any{"actions": []any{nil, map[string]any{}, map[string]any{"due_at": "9999-12-31T23:59:59Z", "owner_email": "x"}}},
		map[string]any{"actions": "x"},
		map[string]any{"actions": []any{map[string]any{"what": strings.Repeat("w", 501), "owner": 1}}},
	}, "actions")
}

func FuzzCarersAccountBody(f *testing.F) {
	fuzzOutcome(f, "carers-account", false, []any{
		map[string]any{"given_by": "carer", "given_at": nowRFC(), "where_child_was": "town"},
		map[string]any{"given_by": "", "given_at": "0001-01-01T00:00:00Z"},
		map[string]any{"given_by": "c", "given_at": nowRFC(), "notes": strings.Repeat("n", 4001)},
		map[string]any{"given_by": []any{}, "given_at": 5},
	}, "given_by")
}

func FuzzClosureBody(f *testing.F) {
	fuzzOutcome(f, "closure", true, []any{
		map[string]any{"reason": "opened_in_error", "details": "x"},
		map[string]any{"reason": "other", "details": strings.Repeat("d", 4001)},
		map[string]any{"reason": "nope"},
		map[string]any{"reason": "duplicate", "details": nil},
	}, "reason")
}

func FuzzLegalHoldBody(f *testing.F) {
	addSeeds(f, []any{
		map[string]any{"reason": "litigation"},
		map[string]any{"reason": ""},
		map[string]any{"reason": strings.Repeat("r", 1001)},
	}, "reason")
	fe := startFuzzEnv(f)
	if fe.childID == "" {
		f.Fatal("the episode shows no child id")
	}
	path := "/v1/children/" + fe.childID + "/legal-hold"
	f.Fuzz(func(t *testing.T, body []byte) {
		st, resp := fe.env.Do(t, "POST", path, fe.manager, body)
		checkAnswer(t, "POST legal-hold", body, st, resp)
	})
}

func FuzzCodecBody(f *testing.F) {
	addSeeds(f, []any{
		`{"payloads": [{"metadata": {"encoding": "anNvbi9wbGFpbg=="}, "data": "IjEi"}]}`,
		`{"payloads": []}`,
		`{"payloads": [{"metadata": {"encoding": "YmluYXJ5L2VuY3J5cHRlZA=="}, "data": "AAAA"}]}`,
		`{"payloads": [{"metadata": {"encoding": "!!"}, "data": "%%"}]}`,
		`{"payloads": null}`,
	}, "payloads")
	fe := startFuzzEnv(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, op := range []string{"encode", "decode"} {
			st, resp := fe.env.Do(t, "POST", "/v1/codec/"+op, fe.providerAdmin, body)
			checkAnswer(t, "POST codec/"+op, body, st, resp)
		}
	})
}

func FuzzEscalationAcknowledgementBody(f *testing.F) {
	addSeeds(f, []any{
		map[string]any{"note": "Priya is calling the placement"},
		map[string]any{"note": "  "},
		map[string]any{"note": strings.Repeat("n", 2001)},
		map[string]any{"note": "x", "by": "someone else"},
	}, "note")
	fe := startFuzzEnv(f)
	// Returned 60 hours ago: its deadline warning escalates at once.
	ep := open(f, fe.env, fe.coord, referral(60*time.Hour)).ID
	var path string
	deadline := time.Now().Add(30 * time.Second)
	for path == "" {
		st, body := fe.env.Do(f, "GET", "/v1/escalations?episode_id="+ep, fe.manager, nil)
		var got struct {
			Escalations []struct {
				ID int64 `json:"id"`
			} `json:"escalations"`
		}
		if st == 200 && json.Unmarshal(body, &got) == nil && len(got.Escalations) == 1 {
			path = fmt.Sprintf("/v1/escalations/%d/acknowledgement", got.Escalations[0].ID)
		} else if time.Now().After(deadline) {
			f.Fatalf("no escalation after 30s: %d %s", st, body)
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, body []byte) {
		key := fmt.Sprintf("fuzz-%d", n.Add(1))
		st, resp := fe.env.Do(t, "POST", path, fe.manager, body, "Idempotency-Key", key)
		checkAnswer(t, "POST escalation acknowledgement", body, st, resp)
	})
}
