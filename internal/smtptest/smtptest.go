// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp)
// inside the test process, for integration tests of code that sends email.
//
// The server listens on 127.0.0.1 (without TLS unless WithImplicitTLS or
// WithSTARTTLS is given), records every accepted
// message and parses it (headers, decoded text/plain and text/html parts).
// Options make it require AUTH PLAIN, reject chosen recipients, or fail the
// first DATA commands, to exercise error and retry paths.
//
//	srv := smtptest.Start(t, smtptest.WithAuth("homeward", "s3cret"))
//	sender, _ := mail.NewSMTP(srv.URL(), "homeward@example.org")
//	... send ...
//	got := srv.WaitFor(t, 1, 5*time.Second)
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one message accepted by the server.
type Received struct {
	From      string   // envelope sender (MAIL FROM)
	To        []string // envelope recipients (RCPT TO), in order
	Data      []byte   // the message exactly as received after DATA
	Header    netmail.Header
	Subject   string    // RFC 2047-decoded
	MessageID string    // raw header value, including the angle brackets
	Text      string    // decoded first text/plain part, CRLF normalised to LF
	HTML      string    // decoded first text/html part, CRLF normalised to LF
	At        time.Time // when the server accepted it
}

// Option configures a Server.
type Option func(*config)

type config struct {
	tls        tlsMode
	auth       bool
	user, pass string
	reject     map[string]int // lower-cased address -> reply code
	failData   int
}

// WithAuth makes the server offer AUTH PLAIN (allowed without TLS) and
// refuse MAIL FROM until the client authenticated as user/pass. Wrong
// credentials get 535 5.7.8.
func WithAuth(user, pass string) Option {
	return func(c *config) { c.auth, c.user, c.pass = true, user, pass }
}

// WithRejectRecipient makes RCPT TO for addr (case-insensitive) answer with
// code, e.g. 450 (transient) or 550 (permanent). code must be 4xx or 5xx.
func WithRejectRecipient(addr string, code int) Option {
	return func(c *config) {
		if c.reject == nil {
			c.reject = map[string]int{}
		}
		c.reject[strings.ToLower(strings.TrimSpace(addr))] = code
	}
}

// WithFailData makes the first n DATA commands fail with 451 after the
// message was transmitted; those messages are not recorded.
func WithFailData(n int) Option {
	return func(c *config) { c.failData = n }
}

type tlsMode int

const (
	tlsOff tlsMode = iota
	tlsImplicit
	tlsSTARTTLS
)

// WithImplicitTLS makes the server speak TLS from the first byte (smtps)
// with a fresh self-signed certificate for 127.0.0.1/localhost; URL() then
// returns an smtps:// URL with insecure_skip_verify=true.
func WithImplicitTLS() Option { return func(c *config) { c.tls = tlsImplicit } }

// WithSTARTTLS makes the server offer STARTTLS with a fresh self-signed
// certificate; URL() then returns an smtp:// URL with tls=starttls and
// insecure_skip_verify=true.
func WithSTARTTLS() Option { return func(c *config) { c.tls = tlsSTARTTLS } }

// Server is a running SMTP server. Its methods are safe for concurrent use.
type Server struct {
	cfg      config
	srv      *smtp.Server
	addr     string
	certPool *x509.CertPool

	mu        sync.Mutex
	msgs      []Received
	changed   chan struct{} // closed and replaced whenever msgs grows
	dataCalls int
	// mailFromCode and dataCode, when set, answer every MAIL FROM or DATA
	// with that reply: the relay refusing everyone (see RefuseSenders).
	mailFromCode int
	dataCode     int
	closed       bool
	close        func()
	closeOnce    sync.Once

	ln          net.Listener   // nil while refusing
	serving     sync.WaitGroup // the Serve loops
	tlsListener bool
	tlsConfig   *tls.Config
}

// Start starts a server on 127.0.0.1:0; it is closed in t.Cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Listen(t.Logf, opts...)
	if err != nil {
		t.Fatalf("smtptest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Listen starts a server on 127.0.0.1:0 outside a test (the benchmark's
// deadline storm); logf gets go-smtp's error log until Close.
func Listen(logf func(format string, args ...any), opts ...Option) (*Server, error) {
	s := &Server{changed: make(chan struct{})}
	for _, o := range opts {
		o(&s.cfg)
	}
	for addr, code := range s.cfg.reject {
		if code < 400 || code > 599 {
			return nil, fmt.Errorf("WithRejectRecipient(%q, %d): code must be 4xx or 5xx", addr, code)
		}
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s.addr = ln.Addr().String()

	srv := smtp.NewServer(s)
	srv.Domain = "smtptest.localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	srv.ErrorLog = &tbLogger{logf: logf, s: s}
	s.srv = srv
	if s.cfg.tls != tlsOff {
		tlsCfg, pool, err := selfSigned()
		if err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("certificate: %w", err)
		}
		s.certPool = pool
		s.tlsConfig = tlsCfg
		if s.cfg.tls == tlsImplicit {
			ln = tls.NewListener(ln, tlsCfg)
		} else {
			srv.TLSConfig = tlsCfg
		}
	}

	s.tlsListener = s.cfg.tls == tlsImplicit
	s.serve(ln)
	s.close = func() {
		s.mu.Lock()
		s.closed = true
		ln := s.ln
		s.mu.Unlock()
		_ = srv.Close()
		// go-smtp's Close misses a listener that Serve has not registered
		// yet (Close right after Start); closing it here unblocks Serve.
		if ln != nil {
			_ = ln.Close()
		}
		s.serving.Wait()
	}
	return s, nil
}

func (s *Server) serve(ln net.Listener) {
	s.ln = ln
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		_ = s.srv.Serve(ln)
	}()
}

// Refuse closes the listening socket, so connections to Addr are refused
// as by a relay that is down, until Accept. Sessions already open finish.
func (s *Server) Refuse(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return
	}
	if err := s.ln.Close(); err != nil {
		t.Fatalf("smtptest: refuse: %v", err)
	}
	s.ln = nil
}

// Accept listens again on the same address after Refuse.
func (s *Server) Accept(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil || s.closed {
		return
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		t.Fatalf("smtptest: accept again on %s: %v", s.addr, err)
	}
	if s.tlsListener {
		ln = tls.NewListener(ln, s.tlsConfig)
	}
	s.serve(ln)
}

// Close stops the server; Start's servers are closed in t.Cleanup.
func (s *Server) Close() { s.closeOnce.Do(s.close) }

// RefuseSenders makes every MAIL FROM from now on answer code (a 4xx or
// 5xx), as a relay does that refuses all mail for a while; 0 accepts again.
func (s *Server) RefuseSenders(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mailFromCode = code
}

// RefuseData makes every DATA from now on answer code after the message was
// transmitted; 0 accepts again.
func (s *Server) RefuseData(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dataCode = code
}

func refusal(code int, msg string) error {
	enh := smtp.EnhancedCode{4, 3, 0}
	if code >= 500 {
		enh = smtp.EnhancedCode{5, 7, 1}
	}
	return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: msg}
}

// Addr returns host:port.
func (s *Server) Addr() string { return s.addr }

// URL returns a URL for the server, carrying the configured credentials
// (percent-encoded) when auth is required: "smtp://user:pass@127.0.0.1:PORT?tls=none"
// by default, smtps://...?insecure_skip_verify=true with WithImplicitTLS,
// smtp://...?tls=starttls&insecure_skip_verify=true with WithSTARTTLS.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr, RawQuery: "tls=none"}
	switch s.cfg.tls {
	case tlsImplicit:
		u.Scheme, u.RawQuery = "smtps", "insecure_skip_verify=true"
	case tlsSTARTTLS:
		u.RawQuery = "tls=starttls&insecure_skip_verify=true"
	}
	if s.cfg.auth {
		u.User = url.UserPassword(s.cfg.user, s.cfg.pass)
	}
	return u.String()
}

// CertPool returns a pool trusting the server's self-signed certificate
// (nil without a TLS option).
func (s *Server) CertPool() *x509.CertPool { return s.certPool }

// Messages returns a copy of the messages accepted so far, in order.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return cloneAll(s.msgs)
}

// DataAttempts returns how many DATA commands the server has received,
// including those failed by WithFailData.
func (s *Server) DataAttempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dataCalls
}

// WaitFor waits until at least n messages have been accepted and returns a
// copy of all of them; it fails the test (t.Fatalf) after timeout. Call it
// from the test goroutine.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			out := cloneAll(s.msgs)
			s.mu.Unlock()
			return out
		}
		have, ch := len(s.msgs), s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("smtptest: waited %v for %d message(s), got %d", timeout, n, have)
			return nil
		}
	}
}

func cloneAll(in []Received) []Received {
	out := make([]Received, len(in))
	for i, r := range in {
		out[i] = r.clone()
	}
	return out
}

func (r Received) clone() Received {
	c := r
	c.To = append([]string(nil), r.To...)
	c.Data = append([]byte(nil), r.Data...)
	c.Header = make(netmail.Header, len(r.Header))
	for k, v := range r.Header {
		c.Header[k] = append([]string(nil), v...)
	}
	return c
}

func (s *Server) record(r Received) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.At = time.Now()
	s.msgs = append(s.msgs, r)
	close(s.changed)
	s.changed = make(chan struct{})
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &session{s: s}, nil
}

type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string {
	if !ss.s.cfg.auth {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if !ss.s.cfg.auth || mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if (identity != "" && identity != user) || user != ss.s.cfg.user || pass != ss.s.cfg.pass {
			return smtp.ErrAuthFailed
		}
		ss.authed = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.cfg.auth && !ss.authed {
		return smtp.ErrAuthRequired
	}
	ss.s.mu.Lock()
	code := ss.s.mailFromCode
	ss.s.mu.Unlock()
	if code != 0 {
		return refusal(code, "smtptest: sender refused")
	}
	ss.from, ss.to = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if ss.s.cfg.auth && !ss.authed {
		return smtp.ErrAuthRequired
	}
	if code, ok := ss.s.cfg.reject[strings.ToLower(to)]; ok {
		enh := smtp.EnhancedCode{4, 2, 1}
		if code >= 500 {
			enh = smtp.EnhancedCode{5, 1, 1}
		}
		return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: "recipient rejected by smtptest"}
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.dataCalls++
	fail := ss.s.dataCalls <= ss.s.cfg.failData
	code := ss.s.dataCode
	ss.s.mu.Unlock()
	if code != 0 {
		return refusal(code, "smtptest: message refused")
	}
	if fail {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "smtptest: DATA failure injected"}
	}
	rec, err := ParseMessage(data)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "smtptest: unparseable message: " + err.Error()}
	}
	rec.From = ss.from
	rec.To = append([]string(nil), ss.to...)
	ss.s.record(rec)
	return nil
}

func (ss *session) Reset()        { ss.from, ss.to = "", nil }
func (ss *session) Logout() error { return nil }

// ParseMessage parses an RFC 5322 message (e.g. an .eml file) into a
// Received without envelope (From and To are empty). Multipart bodies are
// walked recursively; quoted-printable and base64 parts are decoded. Parts
// declared as attachments are skipped. Charsets other than UTF-8/US-ASCII
// are not converted.
func ParseMessage(data []byte) (Received, error) {
	var r Received
	r.Data = append([]byte(nil), data...)
	msg, err := netmail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return r, fmt.Errorf("reading header: %w", err)
	}
	r.Header = msg.Header
	r.MessageID = msg.Header.Get("Message-ID")
	dec := new(mime.WordDecoder)
	if r.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return r, fmt.Errorf("decoding Subject: %w", err)
	}
	if err := walkPart(textproto.MIMEHeader(msg.Header), msg.Body, &r); err != nil {
		return r, err
	}
	return r, nil
}

func walkPart(h textproto.MIMEHeader, body io.Reader, r *Received) error {
	ct := h.Get("Content-Type")
	if ct == "" {
		ct = "text/plain; charset=us-ascii"
	}
	mediaType, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("parsing Content-Type %q: %w", ct, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		boundary := params["boundary"]
		if boundary == "" {
			return fmt.Errorf("%s without boundary", mediaType)
		}
		mr := multipart.NewReader(body, boundary)
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("reading %s part: %w", mediaType, err)
			}
			if err := walkPart(p.Header, p, r); err != nil {
				return err
			}
		}
	}
	if disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition")); disp == "attachment" {
		return nil
	}
	if mediaType != "text/plain" && mediaType != "text/html" {
		return nil
	}
	decoded, err := decodeBody(h.Get("Content-Transfer-Encoding"), body)
	if err != nil {
		return fmt.Errorf("decoding %s part: %w", mediaType, err)
	}
	text := strings.ReplaceAll(string(decoded), "\r\n", "\n")
	switch {
	case mediaType == "text/plain" && r.Text == "":
		r.Text = text
	case mediaType == "text/html" && r.HTML == "":
		r.HTML = text
	}
	return nil
}

func decodeBody(cte string, body io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "", "7bit", "8bit", "binary":
		return io.ReadAll(body)
	case "quoted-printable":
		return io.ReadAll(quotedprintable.NewReader(body))
	case "base64":
		// The decoder ignores CR and LF; strip other whitespace defensively.
		raw, err := io.ReadAll(body)
		if err != nil {
			return nil, err
		}
		clean := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\r' || r == '\n' {
				return -1
			}
			return r
		}, string(raw))
		return base64.StdEncoding.DecodeString(clean)
	default:
		return nil, fmt.Errorf("unsupported Content-Transfer-Encoding %q", cte)
	}
}

// selfSigned creates an ECDSA certificate for 127.0.0.1, ::1 and localhost,
// valid for a day.
func selfSigned() (*tls.Config, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	cfg := &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}},
		MinVersion:   tls.VersionTLS12,
	}
	return cfg, pool, nil
}

// tbLogger forwards go-smtp's internal error log to the test log while the
// test runs, and drops it afterwards (t.Logf after completion panics).
type tbLogger struct {
	logf func(format string, args ...any)
	s    *Server
}

func (l *tbLogger) Printf(format string, v ...any) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if !l.s.closed {
		l.logf("smtptest server: "+format, v...)
	}
}

func (l *tbLogger) Println(v ...any) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if !l.s.closed {
		l.logf("smtptest server: %s", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
	}
}
