package mail

import (
	"context"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	gomail "github.com/wneessen/go-mail"

	"homeward/internal/smtptest"
)

const testFrom = "Homeward <noreply@homeward.test>"

func escalation() Message {
	return Message{
		To:      "manager@example.org",
		Subject: "Return interview overdue – ref HW-2024-0042",
		Text: "Reference: HW-2024-0042\n" +
			"The return interview deadline has passed. Open the case to act: https://homeward.test/cases/HW-2024-0042?tab=interview&from=email\n" +
			"Equals sign = kept, ünïcödé kept.\n",
		HTML:      `<p>Reference: <b>HW-2024-0042</b></p><p><a href="https://homeward.test/cases/HW-2024-0042?tab=interview&amp;from=email">Open the case</a></p>`,
		MessageID: "escalation.ep-7f3a.deadline_breached.9c1d2e@homeward",
		Headers:   map[string]string{"X-Homeward-Escalation": "deadline_breached", "x-homeward-reference": "HW-2024-0042"},
	}
}

func newSender(t *testing.T, rawURL string) *SMTPSender {
	t.Helper()
	s, err := NewSMTP(rawURL, testFrom)
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	return s
}

func headerBlock(data []byte) string {
	h, _, _ := strings.Cut(string(data), "\r\n\r\n")
	return h + "\r\n"
}

func TestSMTPSendWithAuth(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("homeward", "s3cr3t:/@?"))
	s := newSender(t, srv.URL())
	m := escalation()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("server got %d messages, want 1", len(got))
	}
	r := got[0]
	if r.From != "noreply@homeward.test" {
		t.Errorf("envelope from = %q", r.From)
	}
	if len(r.To) != 1 || r.To[0] != "manager@example.org" {
		t.Errorf("envelope to = %v", r.To)
	}
	if to := r.Header.Get("To"); to != "<manager@example.org>" {
		t.Errorf("To header = %q", to)
	}
	from, err := netmail.ParseAddress(r.Header.Get("From"))
	if err != nil || from.Address != "noreply@homeward.test" || from.Name != "Homeward" {
		t.Errorf("From header = %q (%v)", r.Header.Get("From"), err)
	}
	if r.Subject != m.Subject {
		t.Errorf("Subject = %q, want %q", r.Subject, m.Subject)
	}
	wantID := "<" + m.MessageID + ">"
	if r.MessageID != wantID {
		t.Errorf("Message-ID = %q, want %q", r.MessageID, wantID)
	}
	hdr := headerBlock(r.Data)
	if n := strings.Count(hdr, "Message-ID: "+wantID+"\r\n"); n != 1 {
		t.Errorf("Message-ID line appears %d times in header:\n%s", n, hdr)
	}
	if strings.Contains(hdr, "<<") || strings.Contains(hdr, ">>") {
		t.Errorf("double brackets in header:\n%s", hdr)
	}
	if r.Text != m.Text {
		t.Errorf("Text = %q\nwant   %q", r.Text, m.Text)
	}
	if r.HTML != m.HTML {
		t.Errorf("HTML = %q\nwant   %q", r.HTML, m.HTML)
	}
	if v := r.Header.Get("X-Homeward-Escalation"); v != "deadline_breached" {
		t.Errorf("X-Homeward-Escalation = %q", v)
	}
	if v := r.Header.Get("X-Homeward-Reference"); v != "HW-2024-0042" {
		t.Errorf("X-Homeward-Reference = %q", v)
	}
	if v := r.Header.Get("Auto-Submitted"); v != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", v)
	}
	if d, err := r.Header.Date(); err != nil || time.Since(d) > time.Minute || time.Until(d) > time.Minute {
		t.Errorf("Date = %q (%v)", r.Header.Get("Date"), err)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative;") {
		t.Errorf("Content-Type = %q", ct)
	}
	if ua := r.Header.Get("User-Agent"); ua != "" {
		t.Errorf("User-Agent leaked: %q", ua)
	}
	// Generic headers in sorted key order.
	order := []string{"Auto-Submitted:", "Date:", "MIME-Version:", "Message-ID:", "Subject:", "X-Homeward-Escalation:", "X-Homeward-Reference:"}
	last := -1
	for _, h := range order {
		i := strings.Index(hdr, "\r\n"+h)
		if i < 0 && strings.HasPrefix(hdr, h) {
			i = 0
		}
		if i < 0 || i < last {
			t.Errorf("header %s missing or out of order in:\n%s", h, hdr)
		}
		last = i
	}
}

func TestSMTPMessageIDWithBracketsNotDoubled(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	m := escalation()
	m.MessageID = "<" + m.MessageID + ">"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	r := srv.WaitFor(t, 1, 5*time.Second)[0]
	if r.MessageID != m.MessageID {
		t.Errorf("Message-ID = %q, want %q", r.MessageID, m.MessageID)
	}
}

func TestSMTPSameMessageTwiceSameID(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	for i := 0; i < 2; i++ {
		if err := s.Send(context.Background(), escalation()); err != nil {
			t.Fatal(err)
		}
	}
	got := srv.WaitFor(t, 2, 5*time.Second)
	if got[0].MessageID != got[1].MessageID || got[0].MessageID == "" {
		t.Errorf("resend changed Message-ID: %q vs %q", got[0].MessageID, got[1].MessageID)
	}
}

func TestSMTPTextOnlyAndHTMLOnly(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	m := escalation()
	m.HTML = ""
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m = escalation()
	m.Text = ""
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 2, 5*time.Second)
	if got[0].Text != escalation().Text || got[0].HTML != "" || !strings.HasPrefix(got[0].Header.Get("Content-Type"), "text/plain") {
		t.Errorf("text-only: CT=%q Text=%q HTML=%q", got[0].Header.Get("Content-Type"), got[0].Text, got[0].HTML)
	}
	// A single-part body ends with the message's final line break.
	if strings.TrimSuffix(got[1].HTML, "\n") != escalation().HTML || got[1].Text != "" || !strings.HasPrefix(got[1].Header.Get("Content-Type"), "text/html") {
		t.Errorf("html-only: CT=%q Text=%q HTML=%q", got[1].Header.Get("Content-Type"), got[1].Text, got[1].HTML)
	}
}

func TestSMTPMessageFromOverridesDefault(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	m := escalation()
	m.From = "alerts@homeward.test"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if r := srv.WaitFor(t, 1, 5*time.Second)[0]; r.From != "alerts@homeward.test" {
		t.Errorf("envelope from = %q", r.From)
	}
}

func TestSMTPWrongPasswordDoesNotLeak(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithAuth("homeward", "right-password"))
	const bad = "Wr0ng-p@ss/w?rd#1"
	u := url.URL{Scheme: "smtp", User: url.UserPassword("homeward", bad), Host: srv.Addr(), RawQuery: "tls=none"}
	s := newSender(t, u.String())
	err := s.Send(context.Background(), escalation())
	if err == nil {
		t.Fatal("Send with wrong password succeeded")
	}
	for _, secret := range []string{bad, url.QueryEscape(bad), url.PathEscape(bad), "right-password"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error leaks a password: %v", err)
		}
	}
	if !strings.Contains(err.Error(), "535") {
		t.Errorf("error does not say why: %v", err)
	}
	if IsPermanent(err) {
		t.Errorf("auth failure reported as permanent: %v", err)
	}
	if strings.Contains(s.Redacted(), bad) || !strings.Contains(s.Redacted(), "xxxxx") {
		t.Errorf("Redacted() = %q", s.Redacted())
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server accepted %d messages", n)
	}
}

func TestSMTPRejectedRecipient(t *testing.T) {
	srv := smtptest.Start(t,
		smtptest.WithRejectRecipient("gone@example.org", 550),
		smtptest.WithRejectRecipient("busy@example.org", 450))
	s := newSender(t, srv.URL())

	m := escalation()
	m.To = "gone@example.org"
	err := s.Send(context.Background(), m)
	if err == nil || !IsPermanent(err) {
		t.Errorf("550: err = %v, IsPermanent = %v, want true", err, IsPermanent(err))
	}
	var se *gomail.SendError
	if !errors.As(err, &se) || se.ErrorCode() != 550 || se.Reason != gomail.ErrSMTPRcptTo {
		t.Errorf("550: want SendError RCPT 550, got %#v", err)
	}

	m.To = "busy@example.org"
	err = s.Send(context.Background(), m)
	if err == nil || IsPermanent(err) {
		t.Errorf("450: err = %v, IsPermanent = %v, want false", err, IsPermanent(err))
	}

	// The server still works for other recipients after the rejections.
	m.To = "manager@example.org"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if got := srv.WaitFor(t, 1, 5*time.Second); len(got) != 1 || got[0].To[0] != "manager@example.org" {
		t.Errorf("got %+v", got)
	}
}

// A 5xx to MAIL FROM or DATA is the relay refusing everyone, not this
// recipient: it is worth retrying, and once the relay accepts again the
// same message goes through.
func TestSMTPRelayRefusingEveryoneIsNotPermanent(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	m := escalation()
	m.To = "Zoë.Ørsted@example.org"
	for _, refuse := range []struct {
		name string
		set  func(int)
	}{{"MAIL FROM", srv.RefuseSenders}, {"DATA", srv.RefuseData}} {
		refuse.set(554)
		err := s.Send(context.Background(), m)
		refuse.set(0)
		if err == nil || IsPermanent(err) {
			t.Errorf("554 to %s: err = %v, IsPermanent = %v; want a passing failure", refuse.name, err, IsPermanent(err))
		}
		if d := Describe(err); !strings.Contains(d, "554") || strings.Contains(strings.ToLower(d), "example.org") {
			t.Errorf("554 to %s: Describe = %q; want the code and no address", refuse.name, d)
		}
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("once the relay accepts again: %v", err)
	}
}

// The words of a refused recipient's error name the command and the code,
// never the address go-mail lists in its own error.
func TestDescribeLeavesOutAddresses(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithRejectRecipient("gone@example.org", 550))
	s := newSender(t, srv.URL())
	m := escalation()
	m.To = "gone@example.org"
	err := s.Send(context.Background(), m)
	if !strings.Contains(err.Error(), "gone@example.org") {
		t.Fatalf("go-mail's error no longer names the recipient (%v): this test proves nothing", err)
	}
	d := Describe(err)
	if strings.Contains(d, "gone@") || !strings.Contains(d, "recipient") || !strings.Contains(d, "550 5.1.1") {
		t.Errorf("Describe = %q", d)
	}
	if d := Describe(fmt.Errorf("dial tcp: lookup relay for <ana@example.org>: %w", context.DeadlineExceeded)); strings.Contains(d, "ana@") {
		t.Errorf("Describe of another error kept the address: %q", d)
	}
}

func TestSMTPTransientDataFailureThenRetry(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithFailData(1))
	s := newSender(t, srv.URL())
	err := s.Send(context.Background(), escalation())
	if err == nil || IsPermanent(err) {
		t.Fatalf("first attempt: err = %v, IsPermanent = %v; want transient error", err, IsPermanent(err))
	}
	if !strings.Contains(err.Error(), "451") {
		t.Errorf("error lacks the reply: %v", err)
	}
	if err := s.Send(context.Background(), escalation()); err != nil {
		t.Fatalf("retry: %v", err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)
	if len(got) != 1 || srv.DataAttempts() != 2 {
		t.Errorf("messages = %d, DATA attempts = %d", len(got), srv.DataAttempts())
	}
}

// blackhole accepts TCP connections and never says anything.
func blackhole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(done)
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

func TestSMTPContextCancellation(t *testing.T) {
	t.Run("already cancelled", func(t *testing.T) {
		srv := smtptest.Start(t)
		s := newSender(t, srv.URL())
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := s.Send(ctx, escalation())
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if IsPermanent(err) {
			t.Error("cancellation reported as permanent")
		}
		if n := len(srv.Messages()); n != 0 {
			t.Errorf("server got %d messages", n)
		}
	})
	t.Run("deadline while server is silent", func(t *testing.T) {
		s := newSender(t, "smtp://"+blackhole(t)+"?tls=none")
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := s.Send(ctx, escalation())
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("Send took %v after ctx deadline", el)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("cancel while server is silent", func(t *testing.T) {
		s := newSender(t, "smtp://"+blackhole(t)+"?tls=none")
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		err := s.Send(ctx, escalation())
		if el := time.Since(start); el > 3*time.Second {
			t.Errorf("Send took %v after cancel", el)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

func TestSMTPStartTLSRequiredButNotOffered(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, "smtp://"+srv.Addr()+"?tls=starttls")
	err := s.Send(context.Background(), escalation())
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("err = %v, want STARTTLS error", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("message was sent in plaintext despite tls=starttls")
	}
}

func TestSMTPOpportunisticPlaintextToLocalhost(t *testing.T) {
	// No tls parameter: STARTTLS is not offered, so plaintext is used; the
	// credentials may go in clear because the relay is on localhost.
	srv := smtptest.Start(t, smtptest.WithAuth("u", "p"))
	s := newSender(t, "smtp://u:p@"+srv.Addr())
	if err := s.Send(context.Background(), escalation()); err != nil {
		t.Fatal(err)
	}
	srv.WaitFor(t, 1, 5*time.Second)
}

func TestSMTPImplicitTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithImplicitTLS(), smtptest.WithAuth("homeward", "tls-pass"))
	s := newSender(t, srv.URL()) // smtps://...?insecure_skip_verify=true
	if err := s.Send(context.Background(), escalation()); err != nil {
		t.Fatalf("Send over smtps: %v", err)
	}
	r := srv.WaitFor(t, 1, 5*time.Second)[0]
	if r.MessageID != "<"+escalation().MessageID+">" || r.HTML != escalation().HTML {
		t.Errorf("got %q / %q", r.MessageID, r.HTML)
	}

	// Without insecure_skip_verify the self-signed certificate is refused.
	strict := newSender(t, strings.TrimSuffix(srv.URL(), "?insecure_skip_verify=true"))
	err := strict.Send(context.Background(), escalation())
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("strict verify: err = %v, want certificate error", err)
	}
	if IsPermanent(err) {
		t.Error("TLS failure reported as permanent")
	}
}

func TestSMTPStartTLS(t *testing.T) {
	srv := smtptest.Start(t, smtptest.WithSTARTTLS(), smtptest.WithAuth("homeward", "pw"))
	s := newSender(t, srv.URL()) // smtp://...?tls=starttls&insecure_skip_verify=true
	if err := s.Send(context.Background(), escalation()); err != nil {
		t.Fatalf("Send with STARTTLS: %v", err)
	}
	srv.WaitFor(t, 1, 5*time.Second)

	// Opportunistic mode upgrades as well when offered.
	u, _ := url.Parse(srv.URL())
	u.RawQuery = "insecure_skip_verify=true"
	if err := newSender(t, u.String()).Send(context.Background(), escalation()); err != nil {
		t.Fatalf("opportunistic: %v", err)
	}
	srv.WaitFor(t, 2, 5*time.Second)
}

func TestSMTPPlainAuthRefusedInClearToRemoteHost(t *testing.T) {
	// The local server is addressed as "relay.example": go-mail must refuse
	// to send credentials over an unencrypted connection to a remote host.
	srv := smtptest.Start(t, smtptest.WithAuth("u", "secret-pw"))
	_, port, _ := net.SplitHostPort(srv.Addr())
	s := newSender(t, "smtp://u:secret-pw@relay.example:"+port+"?tls=none")
	s.dialAddr = srv.Addr()
	err := s.Send(context.Background(), escalation())
	if err == nil || !strings.Contains(err.Error(), "unencrypted") {
		t.Fatalf("err = %v, want refusal to authenticate unencrypted", err)
	}
	if strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("error leaks the password: %v", err)
	}
	if len(srv.Messages()) != 0 {
		t.Error("message sent")
	}
}

func TestInvalidMessages(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	cases := map[string]func(*Message){
		"no message id":        func(m *Message) { m.MessageID = "" },
		"message id no at":     func(m *Message) { m.MessageID = "escalation.1" },
		"message id space":     func(m *Message) { m.MessageID = "a b@homeward" },
		"message id injection": func(m *Message) { m.MessageID = "a@b>\r\nBcc: x@y.test" },
		"no to":                func(m *Message) { m.To = "" },
		"two recipients":       func(m *Message) { m.To = "a@example.org, b@example.org" },
		"bad to":               func(m *Message) { m.To = "not an address" },
		"bad from":             func(m *Message) { m.From = "nope" },
		"no body":              func(m *Message) { m.Text, m.HTML = "", "" },
		"subject newline":      func(m *Message) { m.Subject = "a\r\nBcc: x@y.test" },
		"reserved header":      func(m *Message) { m.Headers = map[string]string{"bcc": "x@y.test"} },
		"reserved message-id":  func(m *Message) { m.Headers = map[string]string{"Message-ID": "<x@y>"} },
		"header value newline": func(m *Message) { m.Headers = map[string]string{"X-A": "1\r\nBcc: x@y.test"} },
		"header name colon":    func(m *Message) { m.Headers = map[string]string{"X-A:": "1"} },
		"duplicate header":     func(m *Message) { m.Headers = map[string]string{"X-A": "1", "x-a": "2"} },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			m := escalation()
			mutate(&m)
			err := s.Send(context.Background(), m)
			if !errors.Is(err, ErrInvalidMessage) || !IsPermanent(err) {
				t.Errorf("err = %v; want ErrInvalidMessage and permanent", err)
			}
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("server got %d messages", n)
	}
}

func TestIsPermanentMisc(t *testing.T) {
	if IsPermanent(nil) || IsPermanent(context.Canceled) || IsPermanent(errors.New("550 looks permanent but is not an SMTP reply")) {
		t.Error("IsPermanent true for non-SMTP errors")
	}
}

func TestNewSMTPRequiresFrom(t *testing.T) {
	if _, err := NewSMTP("smtp://localhost", ""); err == nil {
		t.Error("empty from accepted")
	}
	if _, err := NewSMTP("smtp://localhost", "not an address"); err == nil {
		t.Error("bad from accepted")
	}
}

func TestParseSMTPURL(t *testing.T) {
	type want struct {
		host       string
		port       int
		mode       tlsMode
		auth       bool
		user, pass string
		insecure   bool
	}
	ok := []struct {
		in   string
		want want
	}{
		{"smtp://mail.example.org", want{host: "mail.example.org", port: 587, mode: tlsOpportunistic}},
		{"smtp://mail.example.org:25", want{host: "mail.example.org", port: 25, mode: tlsOpportunistic}},
		{"smtp://user:pass@mail.example.org:587", want{host: "mail.example.org", port: 587, mode: tlsOpportunistic, auth: true, user: "user", pass: "pass"}},
		{"SMTP://mail.example.org/", want{host: "mail.example.org", port: 587, mode: tlsOpportunistic}},
		{"smtp://mail.example.org?tls=starttls", want{host: "mail.example.org", port: 587, mode: tlsStartTLS}},
		{"smtp://mail.example.org?tls=STARTTLS", want{host: "mail.example.org", port: 587, mode: tlsStartTLS}},
		{"smtp://localhost:1025?tls=none", want{host: "localhost", port: 1025, mode: tlsNone}},
		{"smtp://mail.example.org?tls=opportunistic", want{host: "mail.example.org", port: 587, mode: tlsOpportunistic}},
		{"smtps://mail.example.org", want{host: "mail.example.org", port: 465, mode: tlsImplicit}},
		{"smtps://u:p@mail.example.org:2465?insecure_skip_verify=true", want{host: "mail.example.org", port: 2465, mode: tlsImplicit, auth: true, user: "u", pass: "p", insecure: true}},
		{"smtp://relay.example?tls=starttls&insecure_skip_verify=1", want{host: "relay.example", port: 587, mode: tlsStartTLS, insecure: true}},
		{"smtp://us%40er:p%40ss%3A%2F%3F%23%25w@mail.example.org", want{host: "mail.example.org", port: 587, mode: tlsOpportunistic, auth: true, user: "us@er", pass: "p@ss:/?#%w"}},
		{"smtp://apikey@mail.example.org", want{host: "mail.example.org", port: 587, mode: tlsOpportunistic, auth: true, user: "apikey"}},
		{"smtp://user:p@ss@mail.example.org", want{host: "mail.example.org", port: 587, mode: tlsOpportunistic, auth: true, user: "user", pass: "p@ss"}},
		{"smtp://[::1]:2525?tls=none", want{host: "::1", port: 2525, mode: tlsNone}},
		{"  smtp://mail.example.org  ", want{host: "mail.example.org", port: 587, mode: tlsOpportunistic}},
	}
	for _, tc := range ok {
		t.Run(tc.in, func(t *testing.T) {
			c, err := parseSMTPURL(tc.in)
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			got := want{c.host, c.port, c.mode, c.auth, c.user, c.pass, c.insecureSkipVerify}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}

	bad := []struct {
		in, errSub string
	}{
		{"", "empty"},
		{"mail.example.org:587", "must start with smtp://"},
		{"user:topsecret@mail.example.org", "must start with smtp://"},
		{"http://mail.example.org", `unsupported SMTP URL scheme "http"`},
		{"smtp://", "missing the host"},
		{"smtp://:587", "missing the host"},
		{"smtp://user:topsecret@", "missing the host"},
		{"smtp://user:topsecret@:25", "missing the host"},
		{"smtp://mail.example.org:0", "out of range"},
		{"smtp://mail.example.org:70000", "out of range"},
		{"smtp://mail.example.org:", "empty port"},
		{"smtp://user:topsecret@mail.example.org:abc", "invalid port"},
		{"smtp://mail.example.org?tls=maybe", `tls="maybe" unknown`},
		{"smtps://mail.example.org?tls=starttls", "only valid with smtp://"},
		{"smtps://mail.example.org?tls=none", "only valid with smtp://"},
		{"smtp://mail.example.org?insecure_skip_verify=perhaps", "not a boolean"},
		{"smtp://mail.example.org?timeout=5s", `parameter "timeout" unknown`},
		{"smtp://mail.example.org?tls=none&tls=starttls", "more than once"},
		{"smtp://mail.example.org/some/path", "must not have a path"},
		{"smtp://mail.example.org#frag", "fragment"},
		{"smtp://user:top%zzsecret@mail.example.org", "password has invalid percent-encoding"},
		{"smtp://us%zzer:topsecret@mail.example.org", "user name has invalid percent-encoding"},
		{"smtp://:topsecret@mail.example.org", "password but no user name"},
		{"smtp://user:top/secret@mail.example.org", "unescaped"},
		{"smtp://user:top?secret@mail.example.org", "unescaped"},
		{"smtp://user:top#secret@mail.example.org", "unescaped"},
		{"smtp://user:topsecret@mail example.org", "invalid SMTP URL"},
	}
	for _, tc := range bad {
		t.Run("bad "+tc.in, func(t *testing.T) {
			_, err := parseSMTPURL(tc.in)
			if err == nil {
				t.Fatalf("no error")
			}
			if !strings.Contains(err.Error(), tc.errSub) {
				t.Errorf("error %q does not contain %q", err, tc.errSub)
			}
			if strings.Contains(err.Error(), "topsecret") || strings.Contains(err.Error(), "secret@") {
				t.Errorf("error leaks the password: %q", err)
			}
			if _, err := NewSMTP(tc.in, testFrom); err == nil || strings.Contains(err.Error(), "topsecret") {
				t.Errorf("NewSMTP: %v", err)
			}
		})
	}
}

func TestRedacted(t *testing.T) {
	s := newSender(t, "smtp://user:hunter2@mail.example.org?tls=starttls")
	if got, want := s.Redacted(), "smtp://user:xxxxx@mail.example.org:587?tls=starttls"; got != want {
		t.Errorf("Redacted() = %q, want %q", got, want)
	}
	s = newSender(t, "smtps://mail.example.org")
	if got, want := s.Redacted(), "smtps://mail.example.org:465"; got != want {
		t.Errorf("Redacted() = %q, want %q", got, want)
	}
}
