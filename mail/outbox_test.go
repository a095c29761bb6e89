package mail

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"homeward/internal/smtptest"
)

func readOutbox(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = b
	}
	return files
}

func TestOutboxWritesParseableEML(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "outbox") // does not exist yet
	o, err := NewOutbox(dir, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	if o.Dir() != dir {
		t.Errorf("Dir() = %q, want %q", o.Dir(), dir)
	}
	st, err := os.Stat(dir)
	if err != nil || !st.IsDir() || st.Mode().Perm()&^0o750 != 0 { // umask may only remove bits
		t.Errorf("outbox dir: %v, mode %v", err, st.Mode().Perm())
	}

	m := escalation()
	if err := o.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	files := readOutbox(t, dir)
	wantName := m.MessageID + ".eml"
	data, ok := files[wantName]
	if len(files) != 1 || !ok {
		t.Fatalf("outbox files = %v, want exactly %s", keys(files), wantName)
	}
	if p, _ := o.Path(m.MessageID); p != filepath.Join(dir, wantName) {
		t.Errorf("Path() = %q", p)
	}

	r, err := smtptest.ParseMessage(data)
	if err != nil {
		t.Fatalf("outbox file does not parse: %v", err)
	}
	if r.MessageID != "<"+m.MessageID+">" {
		t.Errorf("Message-ID = %q", r.MessageID)
	}
	if r.Subject != m.Subject || r.Text != m.Text || r.HTML != m.HTML {
		t.Errorf("content mismatch:\nSubject %q\nText %q\nHTML %q", r.Subject, r.Text, r.HTML)
	}
	if r.Header.Get("To") != "<manager@example.org>" || r.Header.Get("X-Homeward-Escalation") != "deadline_breached" {
		t.Errorf("headers: To=%q X-Homeward-Escalation=%q", r.Header.Get("To"), r.Header.Get("X-Homeward-Escalation"))
	}
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/alternative;") {
		t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
	}
	if _, err := r.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
}

func TestOutboxSameMessageIDTwiceLeavesOneFile(t *testing.T) {
	dir := t.TempDir()
	o, err := NewOutbox(dir, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	m := escalation()
	if err := o.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	m.Subject = "Return interview overdue (resent)"
	if err := o.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	files := readOutbox(t, dir)
	if len(files) != 1 {
		t.Fatalf("outbox holds %v, want one file (no leftovers)", keys(files))
	}
	r, err := smtptest.ParseMessage(files[m.MessageID+".eml"])
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Return interview overdue (resent)" {
		t.Errorf("file not replaced: Subject = %q", r.Subject)
	}

	// A different Message-ID is a different file.
	m.MessageID = "escalation.ep-7f3a.deadline_breached.ffffff@homeward"
	if err := o.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if files := readOutbox(t, dir); len(files) != 2 {
		t.Errorf("outbox holds %v, want two files", keys(files))
	}
}

func TestOutboxSanitisedNames(t *testing.T) {
	dir := t.TempDir()
	o, err := NewOutbox(dir, testFrom)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{
		"a/b@homeward",                         // '/' is legal in a msg-id, not in a file name
		"a_b@homeward",                         // must not collide with the above
		"x{y}|z@homeward",                      //
		strings.Repeat("long.", 44) + "end@hw", // cut, hashed
	}
	for _, id := range ids {
		m := escalation()
		m.MessageID = id
		if err := o.Send(context.Background(), m); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	files := readOutbox(t, dir)
	if len(files) != len(ids) {
		t.Fatalf("files = %v, want %d distinct", keys(files), len(ids))
	}
	for _, id := range ids {
		p, err := o.Path(id)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(p)
		if filepath.Dir(p) != dir || strings.ContainsAny(name, "/{}|") || len(name) > 200 || strings.HasPrefix(name, ".") {
			t.Errorf("unsafe file name %q for %q", name, id)
		}
		r, err := smtptest.ParseMessage(files[name])
		if err != nil || r.MessageID != "<"+id+">" {
			t.Errorf("%s: file %s has Message-ID %q (%v)", id, name, r.MessageID, err)
		}
	}
}

func TestOutboxErrors(t *testing.T) {
	o, err := NewOutbox(t.TempDir(), testFrom)
	if err != nil {
		t.Fatal(err)
	}
	m := escalation()
	m.MessageID = ""
	if err := o.Send(context.Background(), m); !errors.Is(err, ErrInvalidMessage) {
		t.Errorf("missing Message-ID: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.Send(ctx, escalation()); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: %v", err)
	}
	if files := readOutbox(t, o.Dir()); len(files) != 0 {
		t.Errorf("files written: %v", keys(files))
	}
	if _, err := NewOutbox("", testFrom); err == nil {
		t.Error("empty dir accepted")
	}
	if _, err := NewOutbox(t.TempDir(), ""); err == nil {
		t.Error("empty from accepted")
	}
	// A regular file where the directory should be.
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewOutbox(f, testFrom); err == nil {
		t.Error("file as outbox dir accepted")
	}
}

// The outbox renders with the same code as the SMTP path: same header
// fields, same MIME structure, same decoded content.
func TestOutboxMatchesSMTPRendering(t *testing.T) {
	srv := smtptest.Start(t)
	s := newSender(t, srv.URL())
	o, err := NewOutbox(t.TempDir(), testFrom)
	if err != nil {
		t.Fatal(err)
	}
	m := escalation()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if err := o.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	viaSMTP := srv.WaitFor(t, 1, 5*time.Second)[0]
	viaFile, err := smtptest.ParseMessage(readOutbox(t, o.Dir())[m.MessageID+".eml"])
	if err != nil {
		t.Fatal(err)
	}
	if a, b := headerKeys(viaSMTP), headerKeys(viaFile); a != b {
		t.Errorf("header fields differ:\nsmtp   %s\noutbox %s", a, b)
	}
	if viaSMTP.Text != viaFile.Text || viaSMTP.HTML != viaFile.HTML || viaSMTP.MessageID != viaFile.MessageID || viaSMTP.Subject != viaFile.Subject {
		t.Error("decoded content differs between SMTP and outbox")
	}
}

func TestNewChoosesSender(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	s, err := New("", testFrom, dir)
	if err != nil {
		t.Fatal(err)
	}
	if ob, ok := s.(*Outbox); !ok || ob.Dir() != dir {
		t.Errorf("New(\"\", ...) = %T", s)
	}
	s, err = New("  smtp://u:p@mail.example.org?tls=starttls ", testFrom, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*SMTPSender); !ok {
		t.Errorf("New(smtp://...) = %T", s)
	}
	if _, err := New("", testFrom, ""); err == nil {
		t.Error("New with neither SMTP URL nor outbox dir accepted")
	}
	if _, err := New("ftp://u:topsecret@x", testFrom, dir); err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Errorf("bad URL: %v", err)
	}
}

func TestFileNameFor(t *testing.T) {
	if got := fileNameFor("escalation.ep1.deadline.abc@homeward"); got != "escalation.ep1.deadline.abc@homeward.eml" {
		t.Errorf("clean id changed: %q", got)
	}
	a, b := fileNameFor("a/b@h"), fileNameFor("a_b@h")
	if a == b || !strings.HasPrefix(a, "a_b@h-") {
		t.Errorf("a/b -> %q, a_b -> %q", a, b)
	}
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func headerKeys(r smtptest.Received) string {
	ks := make([]string, 0, len(r.Header))
	for k := range r.Header {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}
