package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"homeward/activities"
	"homeward/api"
	"homeward/episode"
	"homeward/mail"
	"homeward/store"
	"homeward/worker"
)

const homewardTaskQueue = "bench-homeward"

// homeward is Homeward as deployed, in this process: the real API on a
// listening socket, its worker, its audit chainer, PostgreSQL.
type homeward struct {
	url         string
	http        *http.Client
	store       *store.Store
	coordinator string // API tokens
	interviewer string
	interviewID string // the interviewer's user id
	stop        []func()
}

// homewardOptions are what the scale and storm runs change.
type homewardOptions struct {
	mailer      mail.Sender
	concurrency int
}

func startHomeward(ctx context.Context, dbURL string, tc client.Client, opts homewardOptions, log *slog.Logger) (*homeward, error) {
	st, err := store.Open(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	h := &homeward{store: st}
	h.stop = append(h.stop, st.Close)
	if err := st.Migrate(ctx); err != nil {
		h.close()
		return nil, err
	}
	h.stop = append(h.stop, st.StartAuditChainer(log).Stop)
	if err := h.addUsers(ctx); err != nil {
		h.close()
		return nil, err
	}
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		h.close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.close()
		return nil, err
	}
	h.url = "http://" + ln.Addr().String()
	w := worker.New(tc, homewardTaskQueue, &activities.Activities{
		Store: st, Mailer: opts.mailer, BaseURL: h.url, Location: london, Logger: log,
	})
	if err := w.Start(); err != nil {
		ln.Close()
		h.close()
		return nil, fmt.Errorf("starting Homeward's worker: %w", err)
	}
	h.stop = append(h.stop, w.Stop)
	gin.SetMode(gin.ReleaseMode)
	srv := &http.Server{Handler: api.NewRouter(api.Deps{
		Store: st, Temporal: tc, TaskQueue: homewardTaskQueue, Policy: episode.DefaultPolicy(), Logger: log,
		// One coordinator and one interviewer make every request here; the
		// per-user limit would measure the limiter.
		Edges: api.EdgeConfig{RateLimit: -1},
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	h.stop = append(h.stop, func() { _ = srv.Close() })
	h.http = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		MaxIdleConns: opts.concurrency * 2, MaxIdleConnsPerHost: opts.concurrency * 2,
	}}
	return h, nil
}

func (h *homeward) addUsers(ctx context.Context) error {
	comm, err := h.store.CreateCommissioner(ctx, "Bench commissioner")
	if err != nil {
		return err
	}
	add := func(role store.Role, name string) (store.User, string, error) {
		token, hash, err := api.NewToken()
		if err != nil {
			return store.User{}, "", err
		}
		u, err := h.store.CreateUser(ctx, name, string(role)+"@bench.homeward", role, hash)
		if err != nil {
			return store.User{}, "", err
		}
		return u, token, h.store.SetUserCommissioner(ctx, u.ID, comm.ID)
	}
	if _, h.coordinator, err = add(store.RoleCoordinator, "Bench Coordinator"); err != nil {
		return err
	}
	var iv store.User
	if iv, h.interviewer, err = add(store.RoleInterviewer, "Bench Interviewer"); err != nil {
		return err
	}
	h.interviewID = iv.ID
	_, _, err = add(store.RoleManager, "Bench Manager")
	return err
}

// close stops what was started, last first.
func (h *homeward) close() {
	for i := len(h.stop) - 1; i >= 0; i-- {
		h.stop[i]()
	}
}

// referral is a new child's episode, returned at returned.
func (h *homeward) referral(i int, returned time.Time) map[string]any {
	returned = returned.UTC().Truncate(time.Second)
	return map[string]any{
		"child":                   map[string]any{"first_name": "Bench", "last_name": fmt.Sprintf("Child%d", i), "date_of_birth": "2010-01-02"},
		"new_child":               true,
		"reported_missing_at":     returned.Add(-8 * time.Hour).Format(time.RFC3339),
		"returned_at":             returned.Format(time.RFC3339),
		"police_reference":        fmt.Sprintf("BENCH-%d", i),
		"risk_grade":              "medium",
		"category":                "missing",
		"looked_after":            true,
		"contact":                 map[string]any{"child_mobile": "07700 900001", "address": "1 Road"},
		"assigned_interviewer_id": h.interviewID,
	}
}

// open opens an episode through the API and returns its id.
func (h *homeward) open(ctx context.Context, i int, returned time.Time) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	err := h.do(ctx, "POST", "/v1/episodes", h.coordinator, h.referral(i, returned), http.StatusCreated, &out)
	return out.ID, err
}

// outcome records one contact attempt through the API.
func (h *homeward) outcome(ctx context.Context, episodeID string) error {
	body := map[string]any{"method": "phone", "outcome": "no_answer", "attempted_at": time.Now().UTC().Add(-time.Second).Format(time.RFC3339)}
	return h.do(ctx, "POST", "/v1/episodes/"+episodeID+"/contact-attempts", h.interviewer, body, http.StatusOK, nil)
}

func (h *homeward) do(ctx context.Context, method, path, token string, body any, want int, out any) error {
	var r io.Reader
	if body != nil {
		js, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(js)
	}
	req, err := http.NewRequestWithContext(ctx, method, h.url+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", uuid.NewString())
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, truncate(b, 300))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

var errNoEpisode = errors.New("its episode was not opened")
