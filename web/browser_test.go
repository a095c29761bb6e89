package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
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
		{"the coordinator signs in and lands on the page asked for", func(t *testing.T) {
			j.signIn(t, coord, "/referrals/new")
		}},
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
		{"sign-out ends the session", func(t *testing.T) { j.signOut(t, "/mine") }},
		{"the interviewer signs in on a phone", func(t *testing.T) {
			j.b.Resize(t, chrome.Phone)
			j.signIn(t, iv, "/mine")
		}},
		{"a failed contact attempt from my episodes", func(t *testing.T) {
			recordContactAttempt(t, j, ref, "Phone", "No answer")
		}},
		{"an offer from my episodes", func(t *testing.T) {
			recordContactAttempt(t, j, ref, "Phone", "Reached: interview offered")
			checkOfferMade(t, j, coordToken, id)
		}},
		{"the interview is arranged", func(t *testing.T) { arrangeInterview(t, j, id) }},
		{"a held interview with a safeguarding concern", func(t *testing.T) { recordInterviewHeld(t, j, id) }},
		{"the agreement must share the safeguarding concern", func(t *testing.T) { recordAgreement(t, j, id) }},
		{"the action plan form", func(t *testing.T) { openActionPlan(t, j, id) }},
		{"the follow-up completes the episode", func(t *testing.T) { recordFollowUp(t, j, id) }},
		{"the manager signs in at a desktop, from the escalation's email", func(t *testing.T) {
			j.signOut(t, "/escalations")
			j.b.Resize(t, chrome.Desktop)
			j.signIn(t, mgr, "/escalations")
		}},
		{"the manager acknowledges the safeguarding escalation", func(t *testing.T) {
			acknowledgeEscalation(t, j, ref, mgr)
		}},
		{"the manager sees the note and the episode completed", func(t *testing.T) {
			checkCompleted(t, j, id, ref, mgr)
		}},
		{"the manager's overview and audit trail", func(t *testing.T) { checkOverviewAndAudit(t, j, id, mgr) }},
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
		var overlaps []string
		j.b.Evaluate(t, overlapsJS, &overlaps)
		if len(overlaps) > 0 {
			t.Errorf("%s at %d px: controls lie on top of each other: %q", loc, vp.Width, overlaps)
		}
	}
}

// overlapsJS names the pairs of buttons and form controls shown that lie
// on top of one another, as a squeezed layout does on a phone.
const overlapsJS = `(() => {
	const els = [...document.querySelectorAll('a.button, button, input:not([type=hidden]), select, textarea')]
		.filter(e => e.getClientRects().length > 0);
	const name = e => e.tagName.toLowerCase() + ' ' + (e.name || e.textContent).trim().slice(0, 40);
	const out = [];
	els.forEach((a, i) => els.slice(i + 1).forEach(b => {
		const r = a.getBoundingClientRect(), q = b.getBoundingClientRect();
		if (r.width && q.width && r.left < q.right - 1 && q.left < r.right - 1 && r.top < q.bottom - 1 && q.top < r.bottom - 1) {
			out.push(name(a) + ' / ' + name(b));
		}
	}));
	return out;
})()`

// signIn opens a new one-time sign-in link for u, presses the button, and
// lands on want: the page last asked for without a session, else u's home.
func (j *journey) signIn(t *testing.T, u store.User, want string) {
	t.Helper()
	j.open(t, j.s.link(t, u), "sign-in-link")
	if st := j.b.Submit(t, "Sign in"); st != http.StatusOK {
		t.Fatalf("sign in: status %d", st)
	}
	if p := j.path(t); p != want {
		t.Fatalf("signed in to %s, want %s", p, want)
	}
	j.visit(t, "home-"+string(u.Role))
}

// signOut presses Sign out; then the page asked for leads back to sign-in,
// which remembers it for the next person to sign in on this browser.
func (j *journey) signOut(t *testing.T, askFor string) {
	t.Helper()
	j.b.Submit(t, "Sign out")
	if p := j.path(t); p != "/?signed_out=1" {
		t.Fatalf("after sign-out: %s", p)
	}
	j.visit(t, "signed-out")
	j.b.Navigate(t, j.url(askFor))
	if p := j.path(t); p != "/" {
		t.Fatalf("%s after sign-out showed %s, want the sign-in page", askFor, p)
	}
}

// checkNoSession asks for each page without a session, the new referral
// last: sign-in then leads there.
func checkNoSession(t *testing.T, j *journey) {
	for _, path := range []string{"/board", "/mine", "/episodes/00000000-0000-4000-8000-000000000000",
		"/episodes/00000000-0000-4000-8000-000000000000/interview", "/escalations", "/overview", "/audit",
		"/referrals/new"} {
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

// textOf is the text of the first element selector finds, or "" at once
// when there is none (Text would wait for it).
func textOf(t *testing.T, j *journey, selector string) string {
	t.Helper()
	var s string
	j.b.Evaluate(t, `(document.querySelector(`+jsString(selector)+`)?.textContent ?? '').replace(/\s+/g, ' ').trim()`, &s)
	return s
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

// openForm follows the episode page's link to one of the interviewer's
// forms, as the episode's status offers it.
func openForm(t *testing.T, j *journey, id, link, name string) {
	t.Helper()
	j.open(t, "/episodes/"+id, name+"-episode")
	if st := j.b.FollowLink(t, link); st != http.StatusOK {
		t.Fatalf("%s: status %d", link, st)
	}
	j.visit(t, name)
}

// submitToEpisode sends a form, which leads back to the episode page with
// the form's notice, and waits until the page shows what was recorded.
func submitToEpisode(t *testing.T, j *journey, button, id, page, shows, name string) {
	t.Helper()
	if st := j.b.Submit(t, button); st != http.StatusOK {
		t.Fatalf("%s: status %d", button, st)
	}
	if p, want := j.path(t), "/episodes/"+id+"?recorded="+page; p != want {
		t.Fatalf("after %s: %s, want %s", button, p, want)
	}
	testenv.Eventually(t, 30*time.Second, "the episode page shows "+shows, func() bool {
		if strings.Contains(j.b.Text(t, "main"), shows) {
			return true
		}
		j.b.Navigate(t, j.url("/episodes/"+id+"?recorded="+page))
		return false
	})
	j.visit(t, name)
}

func arrangeInterview(t *testing.T, j *journey, id string) {
	openForm(t, j, id, "Arrange the interview", "arrangement-form")
	j.b.Check(t, "Scheduled")
	j.b.FillByLabel(t, "Interview date and time", localNow(-2*time.Hour))
	j.b.FillByLabel(t, "Venue", "Youth centre, Park Road")
	submitToEpisode(t, j, "Record the arrangement", id, "interview/arrangement", "Youth centre, Park Road", "interview-arranged")
}

// recordInterviewHeld records the interview with a risk indicator and a
// safeguarding concern; the episode page says so in words.
func recordInterviewHeld(t *testing.T, j *journey, id string) {
	openForm(t, j, id, "Record the interview", "interview-form")
	j.b.FillByLabel(t, "Push factors", "Arguments at home")
	j.b.FillByName(t, "record.risk_indicators.hurt_or_harmed_while_away", "yes")
	j.b.FillByName(t, "record.safeguarding_concern", "yes")
	j.b.FillByLabel(t, "Safeguarding concern: details", "Stayed with an adult met online.")
	j.b.FillByLabel(t, "Place 1: postcode district", "LS1")
	j.b.FillByLabel(t, "Place 1: kind of place", "Station")
	submitToEpisode(t, j, "Record the interview", id, "interview", "A safeguarding concern was disclosed.", "interview-recorded")
	var hurt string
	j.b.Evaluate(t, `(() => {
		const dt = [...document.querySelectorAll('dl.facts dt')].find(e => e.textContent.trim() === 'Was the child hurt or harmed while away?');
		return dt ? dt.nextElementSibling.textContent.trim() : '';
	})()`, &hurt)
	if hurt != "Yes" {
		t.Errorf("the episode page answers %q to the risk indicator recorded as yes", hurt)
	}
}

// recordAgreement first shares with the parents only, which the API
// refuses for a safeguarding concern (the reason beside the parties), then
// with the social worker too.
func recordAgreement(t *testing.T, j *journey, id string) {
	openForm(t, j, id, "Record the agreement", "agreement-form")
	if !strings.Contains(textOf(t, j, ".alert-notice"), "This interview recorded a safeguarding concern") {
		t.Errorf("the agreement form does not say this interview recorded a safeguarding concern")
	}
	j.b.Check(t, "I explained confidentiality to the child")
	j.b.Check(t, "The child will be told before anything is shared")
	j.b.Check(t, "Share with: Parents or carers")
	j.b.FillByLabel(t, "What is shared with: Parents or carers", "That she is safe and will see the worker again.")
	if st := j.b.Submit(t, "Record the agreement"); st != http.StatusUnprocessableEntity && st != http.StatusBadRequest {
		t.Fatalf("an agreement that does not share the safeguarding concern: status %d, want a refusal", st)
	}
	j.seen = len(j.b.Problems()) // the browser notes the refusal itself
	j.visit(t, "agreement-refused")
	if reason := textOf(t, j, "#f-shared-with-error"); !strings.Contains(reason, "social worker or the police") {
		t.Errorf("the reason beside the parties is %q", reason)
	}
	j.b.Check(t, "Share with: The child's social worker")
	j.b.FillByLabel(t, "What is shared with: The child's social worker", "The safeguarding concern and where she stayed.")
	submitToEpisode(t, j, "Record the agreement", id, "agreement", "Shared with Social worker", "agreement-recorded")
}

// openActionPlan only looks at the action plan form the episode offers:
// the journey completes without a plan.
func openActionPlan(t *testing.T, j *journey, id string) {
	openForm(t, j, id, "Record the action plan", "action-plan-form")
	if n := j.b.Text(t, "h1"); n != "Record the action plan" {
		t.Errorf("the action plan form's heading %q", n)
	}
}

func recordFollowUp(t *testing.T, j *journey, id string) {
	openForm(t, j, id, "Record the follow-up", "follow-up-form")
	j.b.FillByLabel(t, "What the follow-up found (required)", "Settled at home; school informed.")
	submitToEpisode(t, j, "Record the follow-up", id, "follow-up", "Settled at home; school informed.", "follow-up-recorded")
	if s := textOf(t, j, "main h1 + p strong"); s != "Completed" {
		t.Errorf("after the follow-up the episode is %q, want Completed", s)
	}
}

const ackNote = "Spoke to the social worker; strategy meeting tomorrow."

// acknowledgeEscalation finds the episode's safeguarding escalation among
// the unacknowledged ones and acknowledges it with a note.
func acknowledgeEscalation(t *testing.T, j *journey, ref string, mgr store.User) {
	var sel string
	testenv.Eventually(t, 30*time.Second, "the escalations page lists "+ref+"'s safeguarding concern", func() bool {
		j.b.Navigate(t, j.url("/escalations?acknowledged=false"))
		j.b.Evaluate(t, `(() => {
			const c = [...document.querySelectorAll('li.escalation-open')].find(li => {
				const h = li.querySelector('h2').textContent;
				return h.includes(`+jsString(ref)+`) && h.startsWith('Safeguarding concern');
			});
			return c ? '#' + c.id : '';
		})()`, &sel)
		return sel != ""
	})
	j.visit(t, "escalations")
	ctx, cancel := context.WithTimeout(j.b.Context(), chrome.Timeout)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.SendKeys(sel+` textarea[name=note]`, ackNote, chromedp.ByQuery)); err != nil {
		t.Fatalf("type the note: %v", err)
	}
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(sel+` button[type=submit]`, chromedp.ByQuery))
	if err != nil || resp.Status != http.StatusOK {
		t.Fatalf("acknowledge: %v %v", resp, err)
	}
	if p := j.path(t); p != "/escalations?acknowledged_one=1" {
		t.Fatalf("after acknowledging: %s", p)
	}
	j.visit(t, "escalation-acknowledged")
	if ack := textOf(t, j, sel+" .acknowledgement"); !strings.Contains(ack, mgr.Name) || !strings.Contains(ack, ackNote) {
		t.Errorf("the acknowledged escalation says %q, want %s and the note", ack, mgr.Name)
	}
}

// checkCompleted: the episode page shows the acknowledgement's note
// beside the safeguarding escalation, and the episode completed.
func checkCompleted(t *testing.T, j *journey, id, ref string, mgr store.User) {
	if st := j.b.FollowLink(t, "Episode "+ref); st != http.StatusOK {
		t.Fatalf("the episode from its escalation: status %d", st)
	}
	j.visit(t, "episode-completed")
	if p := j.path(t); p != "/episodes/"+id {
		t.Fatalf("the escalation's link led to %s", p)
	}
	if s := textOf(t, j, "main h1 + p strong"); s != "Completed" {
		t.Errorf("the manager sees the episode %q, want Completed", s)
	}
	var ack string
	j.b.Evaluate(t, `(() => {
		const tr = [...document.querySelectorAll('tr')].find(r => r.querySelector('th').textContent.trim() === 'Safeguarding concern');
		return tr ? tr.querySelector('td.acknowledgement').textContent.trim() : 'no safeguarding concern listed';
	})()`, &ack)
	if !strings.Contains(ack, mgr.Name) || !strings.Contains(ack, ackNote) {
		t.Errorf("the episode's safeguarding escalation: acknowledged %q, want by %s with the note", ack, mgr.Name)
	}
}

// checkOverviewAndAudit opens the manager's other pages from the
// navigation: this month's charts, and the audit trail, which lists the
// manager's own view of the episode.
func checkOverviewAndAudit(t *testing.T, j *journey, id string, mgr store.User) {
	if st := j.b.FollowLink(t, "Overview"); st != http.StatusOK {
		t.Fatalf("overview: status %d", st)
	}
	j.visit(t, "overview")
	var charts int
	j.b.Evaluate(t, `document.querySelectorAll('main svg.chart[role=img] title').length`, &charts)
	if charts == 0 {
		t.Errorf("the overview has no charts")
	}
	if st := j.b.FollowLink(t, "Audit"); st != http.StatusOK {
		t.Fatalf("audit: status %d", st)
	}
	j.b.FillByLabel(t, "Episode id", id)
	if st := j.b.Submit(t, "Filter"); st != http.StatusOK {
		t.Fatalf("filter the audit trail: status %d", st)
	}
	j.visit(t, "audit")
	var rows []string
	j.b.Evaluate(t, `[...document.querySelectorAll('table.audit tbody tr')].map(r => r.textContent.replace(/\s+/g, ' ').trim())`, &rows)
	if !slices.ContainsFunc(rows, func(r string) bool { return strings.Contains(r, mgr.Name) && strings.Contains(r, "episode.read") }) {
		t.Errorf("the audit trail of the episode lacks the manager's view of it:\n%s", strings.Join(rows, "\n"))
	}
}

// localNow is now plus d as a datetime-local input takes it, in UK time.
func localNow(d time.Duration) string {
	london, _ := time.LoadLocation("Europe/London")
	return time.Now().Add(d).In(london).Format("2006-01-02T15:04")
}
