package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"homeward/internal/testenv"
	"homeward/store"
	"homeward/web"
)

// TestWeb drives the web interface over HTTP against the real server:
// PostgreSQL, Temporal and the API, nothing mocked.
func TestWeb(t *testing.T) {
	s := start(t)
	env := s.env

	t.Run("no session goes to sign-in", func(t *testing.T) {
		b := s.browser(t)
		for _, path := range []string{"/board", "/referrals/new", "/mine", "/episodes/00000000-0000-4000-8000-000000000000"} {
			if p := b.get(path); p.Status != http.StatusSeeOther || p.location() != "/" {
				t.Errorf("GET %s without a session: %d to %q, want 303 to /", path, p.Status, p.location())
			}
		}
		if p := b.get("/"); p.Status != 200 || !strings.Contains(p.Body, "user link --email") {
			t.Errorf("sign-in page: %d, want the way to get a link:\n%s", p.Status, p.Body)
		}
	})

	t.Run("a sign-in link works once only", func(t *testing.T) {
		u, _ := env.AddUser(t, store.RoleCoordinator)
		l := s.link(t, u)
		b := s.browser(t)
		p := b.get(l)
		p = b.get(l) // a link preview fetching it twice uses nothing
		token := hidden(t, p.Body, "token")
		if p = b.post("/sign-in/link", url.Values{"token": {token}}); p.Status != http.StatusSeeOther || p.location() != "/board" {
			t.Fatalf("first use: %d to %q; %s", p.Status, p.location(), p.Body)
		}
		if p = b.get("/board"); p.Status != 200 {
			t.Fatalf("board after sign-in: %d", p.Status)
		}
		other := s.browser(t)
		if p = other.post("/sign-in/link", url.Values{"token": {token}}); p.Status != http.StatusForbidden {
			t.Fatalf("second use: %d, want 403", p.Status)
		}
		if p = other.get("/board"); p.Status != http.StatusSeeOther {
			t.Fatalf("board after a refused link: %d, want 303", p.Status)
		}
	})

	t.Run("sessions expire when idle and end at sign-out", func(t *testing.T) {
		u, _ := env.AddUser(t, store.RoleCoordinator)
		b := s.signIn(t, u)
		defer s.clock.reset() // the API keeps the real time
		s.clock.advance(31 * time.Minute)
		if p := b.get("/board"); p.Status != http.StatusSeeOther {
			t.Fatalf("board after 31 idle minutes: %d, want 303 to sign in", p.Status)
		}
		// Used every 29 minutes, a session still ends 12 hours after sign-in.
		b = s.signIn(t, u)
		for i := 0; i < 24; i++ {
			s.clock.advance(29 * time.Minute)
			if p := b.get("/board"); p.Status != 200 {
				t.Fatalf("board %d min after sign-in: %d, want 200", (i+1)*29, p.Status)
			}
		}
		s.clock.advance(29 * time.Minute)
		if p := b.get("/board"); p.Status != http.StatusSeeOther {
			t.Fatalf("board 12 h 5 min after sign-in: %d, want 303 to sign in", p.Status)
		}
		b = s.signIn(t, u)
		p := b.get("/board")
		if p = b.post("/sign-out", url.Values{}); p.Status != http.StatusForbidden {
			t.Fatalf("sign-out without csrf: %d, want 403", p.Status)
		}
		p = b.get("/board")
		kept := b.cookie(web.SessionCookie)
		if p = b.post("/sign-out", url.Values{"csrf": {hidden(t, p.Body, "csrf")}}); p.Status != http.StatusSeeOther {
			t.Fatalf("sign-out: %d", p.Status)
		}
		if p = b.get("/board"); p.Status != http.StatusSeeOther {
			t.Fatalf("board after sign-out: %d, want 303", p.Status)
		}
		// A copy of the cookie kept from before is worthless: the session
		// ended on the server.
		b.setCookie(web.SessionCookie, kept)
		if p = b.get("/board"); p.Status != http.StatusSeeOther {
			t.Fatalf("board with the cookie kept from before sign-out: %d, want 303", p.Status)
		}
	})

	t.Run("a form without the right csrf token records nothing", func(t *testing.T) {
		com := env.AddCommissioner(t, "Csrf commissioner")
		u, token := env.AddUserIn(t, store.RoleCoordinator, com.ID)
		b := s.signIn(t, u)
		form := b.get("/referrals/new").Body
		for _, csrf := range []string{"", "wrong-token"} {
			v := withForm(t, referral("Csrfchild"), form)
			v.Set("csrf", csrf)
			if csrf == "" {
				v.Del("csrf")
			}
			if p := b.post("/referrals/new", v); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "Nothing was recorded") {
				t.Fatalf("csrf %q: %d, want 403 saying nothing was recorded; %s", csrf, p.Status, p.Body)
			}
		}
		if n := s.episodeCount(t, token); n != 0 {
			t.Fatalf("%d episodes opened without a csrf token, want 0", n)
		}
	})

	t.Run("a refused referral shows the reasons and keeps what was typed", func(t *testing.T) {
		com := env.AddCommissioner(t, "Refusal commissioner")
		u, token := env.AddUserIn(t, store.RoleCoordinator, com.ID)
		b := s.signIn(t, u)
		v := withForm(t, referral("Zebedee"), b.get("/referrals/new").Body)
		v.Del("returned_at")
		v.Del("contact.child_mobile")
		p := b.post("/referrals/new", v)
		if p.Status != http.StatusBadRequest {
			t.Fatalf("refused referral: %d, want 400; %s", p.Status, p.Body)
		}
		for _, want := range []string{`id="f-returned-at-error"`, `id="f-contact-error"`, `value="Zebedee"`, `value="Testchild"`, `role="alert"`} {
			if !strings.Contains(p.Body, want) {
				t.Errorf("refused referral page lacks %s:\n%s", want, p.Body)
			}
		}
		if n := s.episodeCount(t, token); n != 0 {
			t.Fatalf("%d episodes opened by a refused referral", n)
		}
	})

	t.Run("a double-submitted referral opens one episode", func(t *testing.T) {
		com := env.AddCommissioner(t, "Double commissioner")
		u, token := env.AddUserIn(t, store.RoleCoordinator, com.ID)
		b := s.signIn(t, u)
		v := withForm(t, referral("Twiceclicked"), b.get("/referrals/new").Body)
		first, second := b.post("/referrals/new", v), b.post("/referrals/new", v)
		for _, p := range []struct{ page }{{first}, {second}} {
			if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/episodes/") {
				t.Fatalf("referral: %d to %q; %s", p.Status, p.location(), p.Body)
			}
		}
		if first.location() != second.location() {
			t.Fatalf("the same form sent twice went to %s and %s", first.location(), second.location())
		}
		testenv.Eventually(t, 20*time.Second, "the episode is listed", func() bool { return s.episodeCount(t, token) > 0 })
		time.Sleep(300 * time.Millisecond) // a second episode would be projected by now
		if n := s.episodeCount(t, token); n != 1 {
			t.Fatalf("%d episodes, want 1", n)
		}
		if strings.Contains(first.location(), "Twiceclicked") {
			t.Fatalf("the child's name is in the URL %s", first.location())
		}
		p := b.get(first.location())
		if p.Status != 200 || !strings.Contains(p.Body, "Twiceclicked") {
			t.Fatalf("episode page: %d; %s", p.Status, p.Body)
		}
		if title := titleOf(p.Body); !strings.HasPrefix(title, "Episode HW-") || strings.Contains(title, "Twiceclicked") {
			t.Fatalf("episode page title %q", title)
		}
	})

	t.Run("a commissioner's coordinator sees only that commissioner's episodes", func(t *testing.T) {
		a, b := env.AddCommissioner(t, "Board A"), env.AddCommissioner(t, "Board B")
		ua, ta := env.AddUserIn(t, store.RoleCoordinator, a.ID)
		_, tb := env.AddUserIn(t, store.RoleCoordinator, b.ID)
		refA, refB := openByAPI(t, s, ta), openByAPI(t, s, tb)
		episodeIDByRef(t, s, ta, refA)
		episodeIDByRef(t, s, tb, refB)
		br := s.signIn(t, ua)
		p := br.get("/board")
		if p.Status != 200 || !strings.Contains(p.Body, refA) || strings.Contains(p.Body, refB) {
			t.Fatalf("board of A's coordinator: %d; want %s and not %s:\n%s", p.Status, refA, refB, p.Body)
		}
		if !strings.Contains(p.Body, "Unassigned") || !strings.Contains(p.Body, "band-") {
			t.Errorf("board lacks the unassigned mark or the deadline band:\n%s", p.Body)
		}
		if title := titleOf(p.Body); title != "Board — Homeward" {
			t.Errorf("board title %q", title)
		}
	})

	t.Run("assign on the episode page, then a contact attempt from my episodes", func(t *testing.T) {
		com := env.AddCommissioner(t, "Assign commissioner")
		coord, token := env.AddUserIn(t, store.RoleCoordinator, com.ID)
		iv, _ := env.AddUserIn(t, store.RoleInterviewer, com.ID)
		ref := openByAPI(t, s, token)
		id := episodeIDByRef(t, s, token, ref)
		cb, ib := s.signIn(t, coord), s.signIn(t, iv)

		p := cb.get("/episodes/" + id)
		if !strings.Contains(p.Body, `value="`+iv.ID+`"`) {
			t.Fatalf("the assign form does not offer the interviewer:\n%s", p.Body)
		}
		bad := withForm(t, url.Values{"interviewer_id": {"not-an-id"}}, p.Body)
		if p = cb.post("/episodes/"+id+"/assignment", bad); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, `id="f-interviewer-id-error"`) {
			t.Fatalf("assigning nobody: %d, want 400 with the reason beside the field:\n%s", p.Status, p.Body)
		}
		v := withForm(t, url.Values{"interviewer_id": {iv.ID}}, cb.get("/episodes/"+id).Body)
		if p = cb.post("/episodes/"+id+"/assignment", v); p.Status != http.StatusSeeOther {
			t.Fatalf("assign: %d; %s", p.Status, p.Body)
		}
		testenv.Eventually(t, 20*time.Second, "the interviewer sees the episode", func() bool {
			return strings.Contains(ib.get("/mine").Body, ref)
		})
		mine := ib.get("/mine").Body
		v = withForm(t, url.Values{"method": {"phone"}, "outcome": {"no_answer"}, "back": {"mine"}}, mine)
		if p = ib.post("/episodes/"+id+"/contact-attempts", v); p.Status != http.StatusSeeOther || p.location() != "/mine?recorded=1" {
			t.Fatalf("contact attempt: %d to %q; %s", p.Status, p.location(), p.Body)
		}
		testenv.Eventually(t, 20*time.Second, "the attempt is on the episode page", func() bool {
			return strings.Contains(ib.get("/episodes/"+id).Body, "<td>No answer</td>")
		})
	})

	t.Run("every page has the CSP and nothing inline", func(t *testing.T) {
		com := env.AddCommissioner(t, "CSP commissioner")
		coord, token := env.AddUserIn(t, store.RoleCoordinator, com.ID)
		iv, _ := env.AddUserIn(t, store.RoleInterviewer, com.ID)
		ref := openByAPI(t, s, token)
		id := episodeIDByRef(t, s, token, ref)
		cb, ib, anon := s.signIn(t, coord), s.signIn(t, iv), s.browser(t)
		pages := map[string]page{
			"/":                    anon.get("/"),
			"/sign-in/link":        anon.get("/sign-in/link?token=x"),
			"/board":               cb.get("/board"),
			"/referrals/new":       cb.get("/referrals/new"),
			"/episodes/:id":        cb.get("/episodes/" + id),
			"/mine":                ib.get("/mine"),
			"403 page":             ib.get("/board"),
			"refused sign-in link": anon.post("/sign-in/link", url.Values{"token": {"used"}}),
			"/static/style.css":    anon.get("/static/style.css"),
		}
		for name, p := range pages {
			if got := p.Header.Get("Content-Security-Policy"); got != web.CSP {
				t.Errorf("%s: CSP %q, want %q", name, got, web.CSP)
			}
			if bad := inline.FindString(p.Body); bad != "" {
				t.Errorf("%s: inline script or style %q", name, bad)
			}
			if strings.Contains(p.Header.Get("Content-Type"), "html") && !strings.Contains(p.Body, `<html lang="en-GB">`) {
				t.Errorf("%s: no lang en-GB", name)
			}
		}
	})
}

// inline finds a script without src, a style element or attribute, or an
// event handler attribute.
var inline = regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]|<script(?:\s(?:[^s>]|s[^r>])*)?>|<style|\sstyle=|\son[a-z]+=`)

var titleTag = regexp.MustCompile(`<title>([^<]*)</title>`)

func titleOf(html string) string {
	m := titleTag.FindStringSubmatch(html)
	if m == nil {
		return ""
	}
	return m[1]
}

// openByAPI opens an episode with token through the API and returns its
// reference.
func openByAPI(t *testing.T, s *site, token string) string {
	t.Helper()
	now := time.Now().UTC()
	st, body := s.env.Do(t, "POST", "/v1/episodes", token, map[string]any{
		"child":               map[string]any{"first_name": "Apichild"},
		"reported_missing_at": now.Add(-80 * time.Hour).Format(time.RFC3339),
		"returned_at":         now.Add(-68 * time.Hour).Format(time.RFC3339), // 4 hours left to offer
		"risk_grade":          "high", "category": "missing",
		"contact": map[string]any{"child_mobile": "07700 900002"},
	})
	if st != 201 {
		t.Fatalf("open episode: %d %s", st, body)
	}
	ref := regexp.MustCompile(`"reference":"(HW-[^"]+)"`).FindStringSubmatch(string(body))
	if ref == nil {
		t.Fatalf("no reference in %s", body)
	}
	return ref[1]
}

func episodeIDByRef(t *testing.T, s *site, token, ref string) string {
	t.Helper()
	var id string
	for i := 0; i < 100 && id == ""; i++ {
		_, body := s.env.Do(t, "GET", "/v1/episodes?limit=200", token, nil)
		m := regexp.MustCompile(`"id":"([0-9a-f-]{36})","reference":"` + ref + `"`).FindStringSubmatch(string(body))
		if m != nil {
			id = m[1]
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if id == "" {
		t.Fatalf("episode %s never listed", ref)
	}
	return id
}
