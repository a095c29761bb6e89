//go:build drill

package drills

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"homeward/internal/drill"
	"homeward/internal/testenv"
)

// TestWorkerKilled: the worker, the production binary in its own process,
// is killed with SIGKILL at random moments while episodes are opened,
// assigned, given contact attempts and run past their warnings and
// breaches; a new worker starts after each kill. Afterwards every outcome
// that was answered 2xx is in its episode once, every escalation went to
// each manager exactly once, and every episode closes.
func TestWorkerKilled(t *testing.T) {
	t.Parallel() // the drills mostly wait out their outages: together they take as long as the longest
	episodes := drill.Int(t, "HOMEWARD_DRILL_WORKER_EPISODES", 40)
	kills := drill.Int(t, "HOMEWARD_DRILL_WORKER_KILLS", 3)
	callers := drill.Int(t, "HOMEWARD_DRILL_WORKER_CALLERS", 5)
	seed := uint64(drill.Int(t, "HOMEWARD_DRILL_SEED", int(time.Now().UnixNano()%1e9)))
	t.Logf("HOMEWARD_DRILL_SEED=%d", seed)
	rnd := rand.New(rand.NewPCG(seed, seed))

	bin := drill.Homeward(t) // before the clock starts: building takes a while
	env := testenv.Start(t, testenv.Options{NoWorker: true, PlaintextPayloads: true, OutcomeTimeout: 3 * time.Second, QueryTimeout: time.Second})
	tm := newTeam(t, env)
	w := &workers{t: t, bin: bin, env: workerEnv(t, env)}
	w.start()

	// Episodes are opened across the time the kills take, each breach falls
	// due ten seconds after its opening; warnings go at once.
	window := time.Duration(kills+1) * 8 * time.Second
	start := time.Now()
	ids := make([]string, episodes)
	var wg sync.WaitGroup
	next := make(chan int)
	for c := 0; c < callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				time.Sleep(time.Until(start.Add(window * time.Duration(i) / time.Duration(episodes))))
				returned := start.Add(-72*time.Hour + 10*time.Second + window*time.Duration(i)/time.Duration(episodes)).Truncate(time.Second)
				ids[i] = tm.drive(t, i, returned)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 0; k < kills; k++ {
			time.Sleep(2*time.Second + time.Duration(rnd.Int64N(int64(window/time.Duration(kills)-2*time.Second))))
			w.kill()
			// Down for up to twice the outcome timeout: some outcomes answer 503.
			down := time.Duration(rnd.Int64N(int64(6 * time.Second)))
			w.t.Logf("worker killed; a new one starts in %s", down.Round(time.Millisecond))
			time.Sleep(down)
			w.start()
		}
	}()
	for i := 0; i < episodes; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d episodes driven through %d worker kills in %s; %d requests answered 503 and were retried with their key",
		episodes, kills, time.Since(start).Round(time.Second), tm.retried.Load())

	want, emails, skipped := map[string][]string{}, 0, 0
	for _, id := range ids {
		tm.waitAttempts(t, id, 2)
		// A kill in the middle of sending waits out the activity's timeout.
		want[id] = tm.waitDeadlineEscalations(t, id, 4*time.Minute)
		emails += len(want[id]) * len(tm.Managers)
		if len(want[id]) == 1 {
			skipped++
		}
	}
	// An episode first run after its deadline (its opening's workflow task
	// was on a killed worker) raises the breach alone: a warning then would
	// come after the fact.
	t.Logf("%d episodes first ran after their deadline and raised the breach without a warning", skipped)
	wantEmails(t, env, emails, time.Minute)
	tm.escalationsOnce(t, want, kills) // at most one email cut short per kill
	for i, id := range ids {
		tm.until(t, time.Minute, "POST", "/v1/episodes/"+id+"/closure", tm.Coordinator, map[string]any{"reason": "moved_out_of_area"}, fmt.Sprintf("close-%d", i))
	}
	for _, id := range ids {
		tm.waitStatus(t, id, "closed")
	}
}

// drive opens the episode, assigns it and records two contact attempts,
// each retried with its key until answered 2xx.
func (tm *team) drive(t *testing.T, i int, returned time.Time) string {
	const patience = 5 * time.Minute
	id := tm.tryOpen(t, referral(returned), fmt.Sprintf("open-%d", i), patience)
	if id == "" {
		return ""
	}
	p := "/v1/episodes/" + id
	tm.until(t, patience, "POST", p+"/assignment", tm.Coordinator, map[string]any{"interviewer_id": tm.InterviewerID}, fmt.Sprintf("assign-%d", i))
	for n := 1; n <= 2; n++ {
		tm.until(t, patience, "POST", p+"/contact-attempts", tm.Interviewer, attemptAt(returned, n), fmt.Sprintf("attempt-%d-%d", i, n))
	}
	return id
}

func (tm *team) waitStatus(t *testing.T, id, status string) {
	t.Helper()
	testenv.Eventually(t, 2*time.Minute, fmt.Sprintf("episode %s reaches %s", id, status), func() bool {
		ep, ok := tm.episode(id)
		return ok && ep["status"] == status
	})
}

// workers is the one worker process at a time.
type workers struct {
	t   *testing.T
	bin string
	env []string

	mu  sync.Mutex
	cur *drill.Process
}

func (w *workers) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cur = drill.Run(w.t, w.bin, w.env, "worker")
}

func (w *workers) kill() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cur.Exited() { // e.g. it could not connect
		w.t.Errorf("the worker had exited by itself before it was killed")
	}
	w.cur.Kill()
}

// workerEnv configures `homeward worker` for env's Temporal, database,
// relay and task queue.
func workerEnv(t *testing.T, env *testenv.Env) []string {
	return []string{
		"TEMPORAL_ADDRESS=" + env.TemporalServer.GetFrontendHostPort(),
		"TEMPORAL_NAMESPACE=" + env.Namespace,
		"DATABASE_URL=" + env.DatabaseURL,
		"HOMEWARD_SMTP_URL=" + env.SMTP.URL(),
		"HOMEWARD_MAIL_FROM=" + testenv.MailFrom,
		"HOMEWARD_TASK_QUEUE=" + env.TaskQueue,
		"HOMEWARD_PUBLIC_URL=" + env.URL,
		"HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS=true",
		"HOMEWARD_DATA_DIR=" + t.TempDir(),
		"HOMEWARD_LOG_LEVEL=warn",
	}
}

// waitDeadlineEscalations waits until the records hold the episode's
// breach and every escalation they hold is sent, and returns their kinds:
// the breach, after the warning unless the episode first looked at its
// deadline after it had passed. It fails on any other kind or a repeat.
func (tm *team) waitDeadlineEscalations(t *testing.T, id string, timeout time.Duration) []string {
	t.Helper()
	var kinds []string
	testenv.Eventually(t, timeout, fmt.Sprintf("episode %s records its breach and sends every escalation", id), func() bool {
		ep, ok := tm.episode(id)
		if !ok {
			return false
		}
		got, _ := ep["escalations"].([]any)
		kinds = nil
		breached := false
		for _, e := range got {
			e := e.(map[string]any)
			if e["sent_at"] == nil {
				return false
			}
			kind, _ := e["kind"].(string)
			breached = breached || kind == "deadline_breached"
			kinds = append(kinds, kind)
		}
		return breached
	})
	slices.Sort(kinds)
	if !slices.Equal(kinds, []string{"deadline_breached"}) && !slices.Equal(kinds, []string{"deadline_breached", "deadline_warning"}) {
		t.Errorf("episode %s: escalations %v, want the breach, after a warning or alone", id, kinds)
	}
	return kinds
}
