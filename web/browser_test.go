package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	chrome "homeward/internal/browser"
	"homeward/internal/testenv"
	"homeward/store"
	"homeward/web"
)

// TestBrowserJourney is one episode from referral to the manager's inbox,
// in Debian's chromium, through the real server on real Temporal and
// PostgreSQL. One browser serves the whole journey: the coordinator at a
// desktop, then the interviewer on a 390×844 phone, then the manager.
// Every page visited is checked as a person would meet it (see visit).
func TestBrowserJourney(t *testing.T) {
	s := start(t)
	j := newJourney(t, s)
	com := s.env.AddCommissioner(t, "Browser commissioner")
	coord, coordToken := s.env.AddUserIn(t, store.RoleCoordinator, com.ID)
	iv, _ := s.env.AddUserIn(t, store.RoleInterviewer, com.ID)
	mgr, _ := s.env.AddUserIn(t, store.RoleManager, com.ID)
	var id, ref string

	steps := []struct {
		name string
		run  func(t *testing.T)
	}{
		{"no session goes to sign-in", func(t *testing.T) { checkNoSession(t, j) }},
		{"the coordinator signs in with a one-time link", func(t *testing.T) { j.signIn(t, coord) }},
		{"a refused referral shows the reason beside its field", func(t *testing.T) { refuseReferral(t, j) }},
		{"a double-submitted referral opens one episode", func(t *testing.T) {
			id, ref = openReferral(t, j, coordToken)
		}},
		{"the coordinator assigns the interviewer", func(t *testing.T) { assignInterviewer(t, j, id, iv) }},
		{"the board shows each deadline's band", func(t *testing.T) { checkBoard(t, j, coordToken, ref) }},
		{"the coordinator's pages on a phone", func(t *testing.T) {
			j.b.Resize(t, chrome.Phone)
			defer j.b.Resize(t, chrome.Desktop)
			for _, p := range []string{"/board", "/referrals/new", "/episodes/" + id} {
				j.open(t, p, "coordinator-"+strings.Trim(p[:min(len(p), 10)], "/"))
			}
		}},
		{"sign-out ends the session", func(t *testing.T) { j.signOut(t) }},
		{"the interviewer signs in on a phone", func(t *testing.T) {
			j.b.Resize(t, chrome.Phone)
			j.signIn(t, iv)
		}},
		{"a failed contact attempt from my episodes", func(t *testing.T) {
			recordContactAttempt(t, j, ref, "Phone", "No answer")
		}},
		{"an offer from my episodes", func(t *testing.T) {
			recordContactAttempt(t, j, ref, "Phone", "Reached: interview offered")
			checkOfferMade(t, j, coordToken, id)
		}},
		{"a held interview with a safeguarding concern", func(t *testing.T) { recordInterviewHeld(t, j, id) }},
		{"the agreement", func(t *testing.T) { recordAgreement(t, j, id) }},
		{"the follow-up", func(t *testing.T) { recordFollowUp(t, j, id) }},
		{"the manager acknowledges the safeguarding escalation", func(t *testing.T) {
			j.requirePage(t, "/escalations", "the escalations page")
			j.signOut(t)
			j.b.Resize(t, chrome.Desktop)
			j.signIn(t, mgr)
			acknowledgeEscalation(t, j, ref)
		}},
		{"the manager sees the episode completed", func(t *testing.T) { checkCompleted(t, j, id) }},
	}
	for _, st := range steps {
		if !t.Run(st.name, st.run) {
			return // the later steps build on this one
		}
	}
}

// journey is one chromium going through Homeward, and the policy header
// of every page it was shown.
type journey struct {
	s    *site
	b    *chrome.Browser
	seen int // complaints already reported

	mu  sync.Mutex
	csp map[string]string // page URL: its Content-Security-Policy
}

func newJourney(t *testing.T, s *site) *journey {
	t.Helper()
	j := &journey{s: s, b: chrome.New(t, chrome.Desktop), csp: map[string]string{}}
	chromedp.ListenTarget(j.b.Context(), func(ev any) {
		r, ok := ev.(*network.EventResponseReceived)
		if !ok || r.Type != network.ResourceTypeDocument {
			return
		}
		j.mu.Lock()
		j.csp[r.Response.URL] = headerOf(r.Response.Headers, "Content-Security-Policy")
		j.mu.Unlock()
	})
	return j
}

func headerOf(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			s, _ := v.(string)
			return s
		}
	}
	return ""
}

func (j *journey) url(path string) string { return j.s.env.URL + path }

// path is the path and query of the page shown.
func (j *journey) path(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(j.b.Location(t))
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

// open goes to path and checks the page as visit does.
func (j *journey) open(t *testing.T, path, name string) {
	t.Helper()
	if st := j.b.Navigate(t, j.url(path)); st != http.StatusOK {
		t.Fatalf("%s: status %d", path, st)
	}
	j.visit(t, name)
}

// visit checks the page shown as every page is checked: a screenshot is
// kept; axe-core finds no WCAG 2.2 AA violation; the page came with the
// Content-Security-Policy and the browser refused nothing and reported no
// error; on a phone nothing scrolls sideways.
func (j *journey) visit(t *testing.T, name string) {
	t.Helper()
	j.b.Screenshot(t, name)
	j.b.CheckAccessibility(t)
	loc := j.b.Location(t)
	j.mu.Lock()
	csp, ok := j.csp[loc]
	j.mu.Unlock()
	if !ok || csp != web.CSP {
		t.Errorf("%s: Content-Security-Policy %q, want %q", loc, csp, web.CSP)
	}
	if p := j.b.Problems(); len(p) > j.seen {
		t.Errorf("%s: the browser complained: %q", loc, p[j.seen:])
		j.seen = len(p)
	}
	if vp := j.b.Viewport(); vp.Mobile {
		// Against the phone's width, not innerWidth: a phone zooms out to
		// fit a page too wide, and innerWidth grows with it.
		var w struct{ Scroll int }
		j.b.Evaluate(t, `({Scroll: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)})`, &w)
		if w.Scroll > int(vp.Width) {
			t.Errorf("%s at %d px: the page is %d px wide and scrolls sideways", loc, vp.Width, w.Scroll)
		}
	}
}

// exists reports whether the build has a page at path: anything but 404
// to a request without a session (a page behind sign-in answers 303).
func (j *journey) exists(t *testing.T, path string) bool {
	t.Helper()
	resp, err := (&http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Get(j.url(path))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound
}

// requirePage skips the test while path is not part of the build yet,
// and says which page is missing.
func (j *journey) requirePage(t *testing.T, path, what string) {
	t.Helper()
	if !j.exists(t, path) {
		t.Skipf("%s (%s) is not in this build: GET %s answers 404", what, path, path)
	}
}

// signIn opens a new one-time sign-in link for u, presses the button, and
// lands on u's own page.
func (j *journey) signIn(t *testing.T, u store.User) {
	t.Helper()
	j.open(t, j.s.link(t, u), "sign-in-link")
	if st := j.b.Submit(t, "Sign in"); st != http.StatusOK {
		t.Fatalf("sign in: status %d", st)
	}
	if p := j.path(t); p != web.HomeOf(u) {
		t.Fatalf("signed in to %s, want %s", p, web.HomeOf(u))
	}
	j.visit(t, "home-"+string(u.Role))
}

// signOut presses Sign out; the pages behind sign-in then lead back to it.
func (j *journey) signOut(t *testing.T) {
	t.Helper()
	j.b.Submit(t, "Sign out")
	if p := j.path(t); p != "/?signed_out=1" {
		t.Fatalf("after sign-out: %s", p)
	}
	j.visit(t, "signed-out")
	j.b.Navigate(t, j.url("/board"))
	if p := j.path(t); p != "/" {
		t.Fatalf("the board after sign-out showed %s, want the sign-in page", p)
	}
}

func checkNoSession(t *testing.T, j *journey) {
	for _, path := range []string{"/board", "/referrals/new", "/mine", "/episodes/00000000-0000-4000-8000-000000000000",
		"/escalations", "/overview", "/audit"} {
		if !j.exists(t, path) {
			continue // a page of a later change
		}
		j.b.Navigate(t, j.url(path))
		if p := j.path(t); p != "/" {
			t.Errorf("%s without a session showed %s, want the sign-in page /", path, p)
		}
	}
	j.visit(t, "sign-in")
	if h := j.b.Text(t, "h1"); h != "Sign in to Homeward" {
		t.Errorf("sign-in page heading %q", h)
	}
}

// fillReferral types a complete referral except what is left out.
func fillReferral(t *testing.T, j *journey, firstName string, leaveOut ...string) {
	t.Helper()
	omit := map[string]bool{}
	for _, f := range leaveOut {
		omit[f] = true
	}
	v := referral(firstName)
	j.b.FillByLabel(t, "First name (required)", v.Get("child.first_name"))
	j.b.FillByLabel(t, "Last name", v.Get("child.last_name"))
	for _, name := range []string{"reported_missing_at", "returned_at"} {
		if !omit[name] {
			j.b.FillByName(t, name, v.Get(name))
		}
	}
	j.b.Check(t, "Medium")
	j.b.Check(t, "Missing")
	j.b.FillByName(t, "looked_after", "true")
	j.b.FillByLabel(t, "Child's mobile", v.Get("contact.child_mobile"))
}

// refuseReferral sends a referral without its return time: the form comes
// back as typed, with the API's reason beside the field.
func refuseReferral(t *testing.T, j *journey) {
	if st := j.b.FollowLink(t, "New referral"); st != http.StatusOK {
		t.Fatalf("new referral: status %d", st)
	}
	j.visit(t, "referral")
	fillReferral(t, j, "Robin", "returned_at")
	if st := j.b.Submit(t, "Open the episode"); st != http.StatusBadRequest {
		t.Fatalf("a referral without its return time: status %d, want 400", st)
	}
	j.seen = len(j.b.Problems()) // the browser notes the 400 itself
	j.visit(t, "referral-refused")
	var beside struct {
		Reason, Described, Typed string
	}
	j.b.Evaluate(t, `(() => {
		const input = document.getElementById('f-returned-at');
		const err = input.closest('.field').querySelector('.field-error');
		return {Reason: err ? err.textContent.trim() : '', Described: input.getAttribute('aria-describedby') || '',
			Typed: document.getElementById('f-child-first-name').value};
	})()`, &beside)
	if beside.Reason == "" || beside.Described != "f-returned-at-error" {
		t.Errorf("no reason beside the return time: %+v", beside)
	}
	if beside.Typed != "Robin" {
		t.Errorf("the first name came back as %q, want what was typed", beside.Typed)
	}
}

// openReferral sends the completed form twice, as an impatient double
// click on a page without app.js would (the same form, the same key), then
// double-clicks the button; one episode is opened. It returns its id and
// reference.
func openReferral(t *testing.T, j *journey, coordToken string) (id, ref string) {
	j.b.FillByName(t, "returned_at", referral("").Get("returned_at"))
	var sent int
	j.b.Evaluate(t, `(async () => {
		const form = document.querySelector('form[action="/referrals/new"]');
		const r = await fetch(form.action, {method: 'POST', body: new URLSearchParams(new FormData(form)), redirect: 'manual'});
		return r.type === 'opaqueredirect' ? 303 : r.status;
	})()`, &sent)
	if sent != http.StatusSeeOther {
		t.Fatalf("the form sent by fetch: %d, want a redirect to the episode", sent)
	}
	ctx, cancel := context.WithTimeout(j.b.Context(), chrome.Timeout)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.DoubleClick(`form[action="/referrals/new"] button[type=submit]`, chromedp.ByQuery)); err != nil {
		t.Fatalf("double-click Open the episode: %v", err)
	}
	p := j.path(t)
	id, _, _ = strings.Cut(strings.TrimPrefix(p, "/episodes/"), "?")
	if !episodeIDPattern(id) {
		t.Fatalf("after the referral: %s, want the episode page", p)
	}
	testenv.Eventually(t, 20*time.Second, "the episode is listed", func() bool { return j.s.episodeCount(t, coordToken) > 0 })
	time.Sleep(300 * time.Millisecond) // a second episode would be projected by now
	if n := j.s.episodeCount(t, coordToken); n != 1 {
		t.Fatalf("%d episodes after the form was sent three times, want 1", n)
	}
	return id, referenceOf(t, j, coordToken, id)
}

func episodeIDPattern(s string) bool {
	return len(s) == 36 && strings.Count(s, "-") == 4
}

func referenceOf(t *testing.T, j *journey, token, id string) string {
	t.Helper()
	st, body := j.s.env.Do(t, "GET", "/v1/episodes/"+id, token, nil)
	var e struct {
		Reference string `json:"reference"`
	}
	if st != 200 || json.Unmarshal(body, &e) != nil || e.Reference == "" {
		t.Fatalf("episode %s: %d %s", id, st, body)
	}
	return e.Reference
}

// waitForPage reloads path until the page has selector: a new record is
// projected for reading a moment after it is recorded.
func waitForPage(t *testing.T, j *journey, path, selector string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, path+" shows "+selector, func() bool {
		j.b.Navigate(t, j.url(path))
		var has bool
		j.b.Evaluate(t, `!!document.querySelector(`+jsString(selector)+`)`, &has)
		return has
	})
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func assignInterviewer(t *testing.T, j *journey, id string, iv store.User) {
	waitForPage(t, j, "/episodes/"+id, `select[name=interviewer_id]`)
	j.visit(t, "episode")
	j.b.FillByLabel(t, "Interviewer", iv.Name)
	if st := j.b.Submit(t, "Assign"); st != http.StatusOK {
		t.Fatalf("assign: status %d", st)
	}
	if p := j.path(t); p != "/episodes/"+id+"?recorded=1" {
		t.Fatalf("after assigning: %s", p)
	}
	j.visit(t, "episode-assigned")
}

// checkBoard adds an episode whose offer deadline is hours away and one
// whose deadline has passed, so the board shows every colour band.
func checkBoard(t *testing.T, j *journey, token, ref string) {
	soon := openByAPI(t, j.s, token) // 4 hours left
	late := openReturnedAgo(t, j, token, 80*time.Hour)
	if st := j.b.FollowLink(t, "Board"); st != http.StatusOK {
		t.Fatalf("board: status %d", st)
	}
	testenv.Eventually(t, 30*time.Second, "the board lists all three episodes", func() bool {
		j.b.Navigate(t, j.url("/board"))
		text := j.b.Text(t, "main")
		return strings.Contains(text, ref) && strings.Contains(text, soon) && strings.Contains(text, late)
	})
	j.visit(t, "board")
	var bands []string
	j.b.Evaluate(t, `[...document.querySelectorAll('.countdown')].map(e => e.className + ': ' + e.textContent)`, &bands)
	all := strings.Join(bands, "\n")
	for _, want := range []string{"band-breached: breached ", "band-6h: in ", ": in 2 d "} {
		if !strings.Contains(all, want) {
			t.Errorf("the board's deadlines lack %q:\n%s", want, all)
		}
	}
}

// openReturnedAgo opens an episode through the API for a child who
// returned ago, and returns its reference.
func openReturnedAgo(t *testing.T, j *journey, token string, ago time.Duration) string {
	t.Helper()
	now := time.Now().UTC()
	st, body := j.s.env.Do(t, "POST", "/v1/episodes", token, map[string]any{
		"child":               map[string]any{"first_name": "Latechild"},
		"reported_missing_at": now.Add(-ago - 12*time.Hour).Format(time.RFC3339),
		"returned_at":         now.Add(-ago).Format(time.RFC3339),
		"risk_grade":          "medium", "category": "missing",
		"contact": map[string]any{"child_mobile": "07700 900003"},
	})
	var e struct {
		Reference string `json:"reference"`
	}
	if st != http.StatusCreated || json.Unmarshal(body, &e) != nil {
		t.Fatalf("open episode: %d %s", st, body)
	}
	return e.Reference
}

// recordContactAttempt opens the episode's card on My episodes and records
// one attempt by method with outcome.
func recordContactAttempt(t *testing.T, j *journey, ref, method, outcome string) {
	waitForPage(t, j, "/mine", `a[href^="/episodes/"]`)
	if !strings.Contains(j.b.Text(t, "main"), ref) {
		t.Fatalf("my episodes does not list %s", ref)
	}
	j.visit(t, "mine")
	ctx, cancel := context.WithTimeout(j.b.Context(), chrome.Timeout)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.Click(`.card details summary`, chromedp.ByQuery)); err != nil {
		t.Fatalf("open Record a contact attempt: %v", err)
	}
	j.b.Check(t, method)
	j.b.Check(t, outcome)
	if st := j.b.Submit(t, "Record the attempt"); st != http.StatusOK {
		t.Fatalf("record %s: status %d", outcome, st)
	}
	if p := j.path(t); p != "/mine?recorded=1" {
		t.Fatalf("after recording %s: %s", outcome, p)
	}
	j.visit(t, "mine-recorded")
}

func checkOfferMade(t *testing.T, j *journey, token, id string) {
	testenv.Eventually(t, 20*time.Second, "the offer is on the episode", func() bool {
		_, body := j.s.env.Do(t, "GET", "/v1/episodes/"+id, token, nil)
		var e struct {
			OfferMadeAt *time.Time `json:"offer_made_at"`
		}
		return json.Unmarshal(body, &e) == nil && e.OfferMadeAt != nil
	})
	j.open(t, "/episodes/"+id, "episode-offered")
}

// The interviewer's forms (interview, agreement, follow-up) and the
// manager's escalations page come in their own changes; each step runs
// once its page answers. The forms' fields are named by the API's paths.

func recordInterviewHeld(t *testing.T, j *journey, id string) {
	path := "/episodes/" + id + "/interview"
	j.requirePage(t, path, "the interview form")
	j.open(t, path, "interview-form")
	j.b.FillByName(t, "outcome", "held")
	j.b.FillByName(t, "held_at", localNow(-time.Hour))
	j.b.FillByName(t, "record.safeguarding_concern", "true")
	submitAndReturn(t, j, "Record the interview", id, "interview-recorded")
	waitForPage(t, j, "/episodes/"+id, `main strong`)
	if !strings.Contains(j.b.Text(t, "main"), "A safeguarding concern was disclosed") {
		t.Errorf("the episode page does not show the safeguarding concern")
	}
}

func recordAgreement(t *testing.T, j *journey, id string) {
	path := "/episodes/" + id + "/agreement"
	j.requirePage(t, path, "the agreement form")
	j.open(t, path, "agreement-form")
	if !strings.Contains(j.b.Text(t, "main"), "always shared") {
		t.Errorf("the agreement form does not remind that safeguarding concerns are always shared")
	}
	j.b.FillByName(t, "confidentiality_explained", "true")
	j.b.FillByName(t, "child_told_before_sharing", "true")
	submitAndReturn(t, j, "Record the agreement", id, "agreement-recorded")
}

func recordFollowUp(t *testing.T, j *journey, id string) {
	path := "/episodes/" + id + "/follow-up"
	j.requirePage(t, path, "the follow-up form")
	j.open(t, path, "follow-up-form")
	j.b.FillByName(t, "completed_at", localNow(0))
	j.b.FillByName(t, "outcome", "Settled at home; school informed.")
	submitAndReturn(t, j, "Record the follow-up", id, "follow-up-recorded")
}

// submitAndReturn sends a form and checks the page it leads to.
func submitAndReturn(t *testing.T, j *journey, button, id, name string) {
	t.Helper()
	if st := j.b.Submit(t, button); st != http.StatusOK {
		t.Fatalf("%s: status %d", button, st)
	}
	if p := j.path(t); !strings.HasPrefix(p, "/episodes/"+id) && !strings.HasPrefix(p, "/mine") {
		t.Fatalf("after %s: %s", button, p)
	}
	j.visit(t, name)
}

func acknowledgeEscalation(t *testing.T, j *journey, ref string) {
	waitForPage(t, j, "/escalations", `form[action*="/acknowledgement"]`)
	j.visit(t, "escalations")
	if !strings.Contains(j.b.Text(t, "main"), ref) {
		t.Fatalf("the escalations page does not list %s", ref)
	}
	j.b.FillByName(t, "note", "Spoke to the social worker; strategy meeting tomorrow.")
	if st := j.b.Submit(t, "Acknowledge"); st != http.StatusOK {
		t.Fatalf("acknowledge: status %d", st)
	}
	j.visit(t, "escalation-acknowledged")
	if !strings.Contains(j.b.Text(t, "main"), "strategy meeting tomorrow") {
		t.Errorf("the acknowledgement's note is not shown")
	}
}

func checkCompleted(t *testing.T, j *journey, id string) {
	j.requirePage(t, "/escalations", "the escalations page")
	testenv.Eventually(t, 30*time.Second, "the episode is completed", func() bool {
		j.b.Navigate(t, j.url("/episodes/"+id))
		return strings.Contains(j.b.Text(t, "main"), "Completed")
	})
	j.visit(t, "episode-completed")
}

// localNow is now plus d as a datetime-local input takes it, in UK time.
func localNow(d time.Duration) string {
	london, _ := time.LoadLocation("Europe/London")
	return time.Now().Add(d).In(london).Format("2006-01-02T15:04")
}
