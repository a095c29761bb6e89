package smtptest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// A hand-written multipart/alternative message: QP text part, base64 HTML
// part, RFC 2047 subject.
const rawMultipart = "From: Homeward <noreply@homeward.test>\r\n" +
	"To: manager@example.org\r\n" +
	"Subject: =?UTF-8?q?R=C3=BCckkehr_overdue?=\r\n" +
	"Message-ID: <escalation.ep1.deadline.abc@homeward>\r\n" +
	"X-Homeward-Escalation: deadline_breached\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Reference HW-1 =E2=80=93 a very long line that the encoder had to break wi=\r\n" +
	"th a soft line break.\r\n" +
	"Second line a=3Db\r\n" +
	"--b1\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+UmVmZXJlbmNlIDxiPkhXLTE8L2I+PC9wPg==\r\n" + // <p>Reference <b>HW-1</b></p>
	"--b1--\r\n"

func TestParseMessageMultipart(t *testing.T) {
	r, err := ParseMessage([]byte(rawMultipart))
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Rückkehr overdue" {
		t.Errorf("Subject = %q", r.Subject)
	}
	if r.MessageID != "<escalation.ep1.deadline.abc@homeward>" {
		t.Errorf("MessageID = %q", r.MessageID)
	}
	wantText := "Reference HW-1 – a very long line that the encoder had to break with a soft line break.\nSecond line a=b" // the CRLF before a boundary belongs to the delimiter
	if r.Text != wantText {
		t.Errorf("Text = %q, want %q", r.Text, wantText)
	}
	if r.HTML != "<p>Reference <b>HW-1</b></p>" {
		t.Errorf("HTML = %q", r.HTML)
	}
	if got := r.Header.Get("X-Homeward-Escalation"); got != "deadline_breached" {
		t.Errorf("X-Homeward-Escalation = %q", got)
	}
}

func TestParseMessageSinglePartAndAttachment(t *testing.T) {
	single := "Subject: hi\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>only html</p>\r\n"
	r, err := ParseMessage([]byte(single))
	if err != nil {
		t.Fatal(err)
	}
	if r.HTML != "<p>only html</p>\n" || r.Text != "" {
		t.Errorf("single part: Text=%q HTML=%q", r.Text, r.HTML)
	}

	noCT := "Subject: plain\r\n\r\njust text\r\n"
	if r, err = ParseMessage([]byte(noCT)); err != nil || r.Text != "just text\n" {
		t.Errorf("no Content-Type: %q, %v", r.Text, err)
	}

	mixed := "Subject: x\r\nContent-Type: multipart/mixed; boundary=m\r\n\r\n" +
		"--m\r\nContent-Type: multipart/alternative; boundary=a\r\n\r\n" +
		"--a\r\nContent-Type: text/plain\r\n\r\nnested text\r\n--a--\r\n" +
		"--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=x.txt\r\n\r\nattached\r\n" +
		"--m--\r\n"
	if r, err = ParseMessage([]byte(mixed)); err != nil || r.Text != "nested text" {
		t.Errorf("nested: Text=%q err=%v", r.Text, err)
	}

	if _, err := ParseMessage([]byte("Content-Type: multipart/alternative\r\n\r\nx")); err == nil {
		t.Error("multipart without boundary: want error")
	}
}

func send(t *testing.T, c *smtp.Client, from string, to []string, msg string) error {
	t.Helper()
	return c.SendMail(from, to, strings.NewReader(msg))
}

func TestServerReceivesAndParses(t *testing.T) {
	srv := Start(t)
	if u := srv.URL(); u != "smtp://"+srv.Addr()+"?tls=none" {
		t.Errorf("URL() = %q", u)
	}
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(t, c, "noreply@homeward.test", []string{"manager@example.org", "second@example.org"}, rawMultipart); err != nil {
		t.Fatal(err)
	}
	got := srv.WaitFor(t, 1, 5*time.Second)
	if len(got) != 1 {
		t.Fatalf("got %d messages", len(got))
	}
	r := got[0]
	if r.From != "noreply@homeward.test" {
		t.Errorf("From = %q", r.From)
	}
	if strings.Join(r.To, ",") != "manager@example.org,second@example.org" {
		t.Errorf("To = %v", r.To)
	}
	if string(r.Data) != rawMultipart {
		t.Errorf("Data differs from what was sent:\n%q", r.Data)
	}
	if r.Subject != "Rückkehr overdue" || r.HTML != "<p>Reference <b>HW-1</b></p>" {
		t.Errorf("parsed: Subject=%q HTML=%q", r.Subject, r.HTML)
	}

	// Snapshots are copies.
	got[0].To[0] = "mutated"
	got[0].Header["Subject"][0] = "mutated"
	again := srv.Messages()
	if again[0].To[0] != "manager@example.org" || again[0].Header.Get("Subject") == "mutated" {
		t.Error("Messages() returned shared state")
	}
}

func TestAuthRequired(t *testing.T) {
	srv := Start(t, WithAuth("homeward", "p@ss:/w?rd"))
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if pw, _ := u.User.Password(); u.User.Username() != "homeward" || pw != "p@ss:/w?rd" || u.Query().Get("tls") != "none" {
		t.Errorf("URL() = %q does not round-trip the credentials", srv.URL())
	}

	// Without AUTH: MAIL FROM is refused.
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	err = send(t, c, "a@b.test", []string{"c@d.test"}, "Subject: x\r\n\r\nx\r\n")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 502 {
		t.Errorf("unauthenticated send: err = %v, want 502", err)
	}
	c.Close()

	// Wrong password: 535.
	c, err = smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	err = c.Auth(sasl.NewPlainClient("", "homeward", "wrong"))
	if !errors.As(err, &se) || se.Code != 535 {
		t.Errorf("wrong password: err = %v, want 535", err)
	}
	c.Close()

	// Right password: accepted.
	c, err = smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", "homeward", "p@ss:/w?rd")); err != nil {
		t.Fatal(err)
	}
	if err := send(t, c, "a@b.test", []string{"c@d.test"}, "Subject: ok\r\n\r\nbody\r\n"); err != nil {
		t.Fatal(err)
	}
	if got := srv.WaitFor(t, 1, 5*time.Second); got[0].Subject != "ok" || got[0].Text != "body\n" {
		t.Errorf("got %+v", got[0])
	}
}

func TestRejectRecipient(t *testing.T) {
	srv := Start(t, WithRejectRecipient("Gone@Example.org", 550), WithRejectRecipient("busy@example.org", 450))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail("a@b.test", nil); err != nil {
		t.Fatal(err)
	}
	for addr, code := range map[string]int{"gone@example.org": 550, "busy@example.org": 450} {
		err := c.Rcpt(addr, nil)
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != code {
			t.Errorf("RCPT %s: err = %v, want %d", addr, err, code)
		}
	}
	if err := c.Rcpt("ok@example.org", nil); err != nil {
		t.Errorf("RCPT ok: %v", err)
	}
}

func TestFailData(t *testing.T) {
	srv := Start(t, WithFailData(2))
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "Subject: retry\r\n\r\nbody\r\n"
	for i := 0; i < 2; i++ {
		err := send(t, c, "a@b.test", []string{"c@d.test"}, msg)
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != 451 {
			t.Fatalf("attempt %d: err = %v, want 451", i+1, err)
		}
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("failed DATA recorded %d messages", n)
	}
	if err := send(t, c, "a@b.test", []string{"c@d.test"}, msg); err != nil {
		t.Fatalf("third attempt: %v", err)
	}
	if got := srv.WaitFor(t, 1, 5*time.Second); len(got) != 1 || got[0].Subject != "retry" {
		t.Errorf("got %v", got)
	}
	if n := srv.DataAttempts(); n != 3 {
		t.Errorf("DataAttempts = %d, want 3", n)
	}
}

func TestWaitForConcurrentArrival(t *testing.T) {
	srv := Start(t)
	errc := make(chan error, 1)
	go func() {
		time.Sleep(100 * time.Millisecond)
		c, err := smtp.Dial(srv.Addr()) // smtp.SendMail insists on STARTTLS
		if err != nil {
			errc <- err
			return
		}
		defer c.Close()
		errc <- c.SendMail("a@b.test", []string{"c@d.test"}, strings.NewReader("Subject: late\r\n\r\nx\r\n"))
	}()
	got := srv.WaitFor(t, 1, 5*time.Second)
	if got[0].Subject != "late" {
		t.Errorf("Subject = %q", got[0].Subject)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestWaitForTimeoutFailsTest(t *testing.T) {
	srv := Start(t)
	ft := &fakeTB{TB: t}
	done := make(chan struct{})
	go func() { // t.Fatalf calls runtime.Goexit
		defer close(done)
		srv.WaitFor(ft, 1, 50*time.Millisecond)
	}()
	<-done
	if !ft.failed || !strings.Contains(ft.msg, "got 0") {
		t.Errorf("WaitFor did not fail the test on timeout (failed=%v msg=%q)", ft.failed, ft.msg)
	}
}

type fakeTB struct {
	testing.TB
	failed bool
	msg    string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestTLSModes(t *testing.T) {
	t.Run("implicit", func(t *testing.T) {
		srv := Start(t, WithImplicitTLS(), WithAuth("u", "p"))
		if !strings.HasPrefix(srv.URL(), "smtps://u:p@127.0.0.1:") || !strings.HasSuffix(srv.URL(), "?insecure_skip_verify=true") {
			t.Errorf("URL() = %q", srv.URL())
		}
		c, err := smtp.DialTLS(srv.Addr(), &tls.Config{RootCAs: srv.CertPool(), ServerName: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Auth(sasl.NewPlainClient("", "u", "p")); err != nil {
			t.Fatal(err)
		}
		if err := send(t, c, "a@b.test", []string{"c@d.test"}, "Subject: tls\r\n\r\nx\r\n"); err != nil {
			t.Fatal(err)
		}
		srv.WaitFor(t, 1, 5*time.Second)
	})
	t.Run("starttls", func(t *testing.T) {
		srv := Start(t, WithSTARTTLS())
		if want := "smtp://" + srv.Addr() + "?tls=starttls&insecure_skip_verify=true"; srv.URL() != want {
			t.Errorf("URL() = %q, want %q", srv.URL(), want)
		}
		c, err := smtp.DialStartTLS(srv.Addr(), &tls.Config{RootCAs: srv.CertPool(), ServerName: "localhost"})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := send(t, c, "a@b.test", []string{"c@d.test"}, "Subject: starttls\r\n\r\nx\r\n"); err != nil {
			t.Fatal(err)
		}
		if got := srv.WaitFor(t, 1, 5*time.Second); got[0].Subject != "starttls" {
			t.Errorf("got %q", got[0].Subject)
		}
	})
}

func TestRefuseThenAccept(t *testing.T) {
	s := Start(t)
	send := func() error {
		c, err := smtp.Dial(s.Addr())
		if err != nil {
			return err
		}
		defer c.Close()
		return send(t, c, "a@test", []string{"b@test"}, "Subject: x\r\n\r\nbody\r\n")
	}
	if err := send(); err != nil {
		t.Fatalf("before Refuse: %v", err)
	}
	s.Refuse(t)
	err := send()
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("while refusing: err = %v, want connection refused", err)
	}
	s.Accept(t)
	if err := send(); err != nil {
		t.Fatalf("after Accept: %v", err)
	}
	if n := len(s.Messages()); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}
}
