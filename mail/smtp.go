package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// DefaultSMTPTimeout bounds one Send on the SMTP path: connecting, TLS,
// authentication and the mail transaction together. The caller's ctx can
// shorten it, never lengthen it.
const DefaultSMTPTimeout = 30 * time.Second

// Default ports per scheme.
const (
	DefaultSMTPPort  = 587 // smtp:// (submission, STARTTLS)
	DefaultSMTPSPort = 465 // smtps:// (implicit TLS)
)

// tlsMode is how the connection to the relay is secured.
type tlsMode int

const (
	tlsOpportunistic tlsMode = iota // STARTTLS when offered, plaintext otherwise
	tlsStartTLS                     // STARTTLS required
	tlsNone                         // never TLS
	tlsImplicit                     // TLS from the first byte (smtps)
)

func (m tlsMode) String() string {
	switch m {
	case tlsOpportunistic:
		return "opportunistic"
	case tlsStartTLS:
		return "starttls"
	case tlsNone:
		return "none"
	case tlsImplicit:
		return "implicit"
	}
	return "unknown"
}

// smtpConfig is a parsed SMTP URL.
type smtpConfig struct {
	scheme             string
	host               string // without brackets for IPv6
	port               int
	mode               tlsMode
	auth               bool
	user, pass         string
	insecureSkipVerify bool
}

func (c smtpConfig) addr() string { return net.JoinHostPort(c.host, strconv.Itoa(c.port)) }

// redacted renders the configuration as a URL with the password replaced.
func (c smtpConfig) redacted() string {
	u := url.URL{Scheme: c.scheme, Host: c.addr()}
	if c.auth {
		if c.pass != "" {
			u.User = url.UserPassword(c.user, "xxxxx")
		} else {
			u.User = url.User(c.user)
		}
	}
	q := url.Values{}
	if c.scheme == "smtp" {
		q.Set("tls", c.mode.String())
	}
	if c.insecureSkipVerify {
		q.Set("insecure_skip_verify", "true")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

var schemeRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*$`)

// parseSMTPURL parses the URL forms documented on NewSMTP. Error messages
// never contain the password: the user information is cut out of the URL
// before the standard parser sees it, and decoding errors in it are reported
// without echoing the text.
func parseSMTPURL(raw string) (smtpConfig, error) {
	var c smtpConfig
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return c, errors.New("mail: SMTP URL is empty")
	}
	i := strings.Index(raw, "://")
	if i < 0 {
		return c, errors.New("mail: SMTP URL must start with smtp:// or smtps://")
	}
	scheme := strings.ToLower(raw[:i])
	if !schemeRe.MatchString(scheme) {
		return c, errors.New("mail: SMTP URL has a malformed scheme (want smtp:// or smtps://)")
	}
	switch scheme {
	case "smtp":
		c.mode = tlsOpportunistic
		c.port = DefaultSMTPPort
	case "smtps":
		c.mode = tlsImplicit
		c.port = DefaultSMTPSPort
	default:
		return c, fmt.Errorf("mail: unsupported SMTP URL scheme %q (want smtp or smtps)", scheme)
	}
	c.scheme = scheme

	// Split off the user information ourselves so that url.Parse, whose
	// errors quote the whole input, never sees the password.
	rest := raw[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, tail := rest[:end], rest[end:]
	var userinfo string
	hasUserinfo := false
	if at := strings.LastIndex(authority, "@"); at >= 0 {
		userinfo, authority = authority[:at], authority[at+1:]
		hasUserinfo = true
	} else if strings.Contains(tail, "@") {
		return c, errors.New("mail: SMTP URL user or password seems to contain an unescaped '/', '?' or '#'; percent-encode it")
	}

	u, err := url.Parse(scheme + "://" + authority + tail)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return c, fmt.Errorf("mail: invalid SMTP URL: %v", err)
	}
	if u.Path != "" && u.Path != "/" {
		return c, fmt.Errorf("mail: SMTP URL must not have a path (got %q)", u.Path)
	}
	if u.Fragment != "" {
		return c, errors.New("mail: SMTP URL must not have a fragment")
	}
	c.host = u.Hostname()
	if c.host == "" {
		return c, errors.New("mail: SMTP URL is missing the host")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return c, fmt.Errorf("mail: SMTP URL port %q is out of range 1-65535", p)
		}
		c.port = n
	} else if strings.HasSuffix(authority, ":") {
		return c, errors.New("mail: SMTP URL has an empty port after ':'")
	}

	if hasUserinfo {
		userEsc, passEsc, _ := strings.Cut(userinfo, ":")
		if c.user, err = url.PathUnescape(userEsc); err != nil {
			return c, errors.New("mail: SMTP URL user name has invalid percent-encoding")
		}
		if c.pass, err = url.PathUnescape(passEsc); err != nil {
			return c, errors.New("mail: SMTP URL password has invalid percent-encoding")
		}
		switch {
		case c.user != "":
			c.auth = true
		case c.pass != "":
			return c, errors.New("mail: SMTP URL has a password but no user name")
		}
	}

	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return c, fmt.Errorf("mail: SMTP URL has a malformed query: %v", err)
	}
	for key, vals := range q {
		if len(vals) != 1 {
			return c, fmt.Errorf("mail: SMTP URL parameter %q given more than once", key)
		}
		val := strings.ToLower(strings.TrimSpace(vals[0]))
		switch key {
		case "tls":
			if scheme == "smtps" {
				return c, errors.New("mail: SMTP URL parameter tls is only valid with smtp:// (smtps:// always uses implicit TLS)")
			}
			switch val {
			case "", "opportunistic":
				c.mode = tlsOpportunistic
			case "starttls":
				c.mode = tlsStartTLS
			case "none":
				c.mode = tlsNone
			default:
				return c, fmt.Errorf("mail: SMTP URL parameter tls=%q unknown (want starttls, none or opportunistic)", vals[0])
			}
		case "insecure_skip_verify":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return c, fmt.Errorf("mail: SMTP URL parameter insecure_skip_verify=%q is not a boolean", vals[0])
			}
			c.insecureSkipVerify = b
		default:
			return c, fmt.Errorf("mail: SMTP URL parameter %q unknown (known: tls, insecure_skip_verify)", key)
		}
	}
	return c, nil
}

// SMTPSender delivers messages through an SMTP relay. It is safe for
// concurrent use; every Send opens its own connection.
type SMTPSender struct {
	cfg       smtpConfig
	from      string
	timeout   time.Duration
	tlsConfig *tls.Config
	dialAddr  string // tests only: address dialled instead of cfg.addr()
}

var _ Sender = (*SMTPSender)(nil)

// NewSMTP returns a Sender delivering through the relay described by rawURL;
// from is the default sender address (required).
//
// URL forms:
//
//	smtp://[user[:password]@]host[:port][?tls=starttls|none|opportunistic][&insecure_skip_verify=true]
//	smtps://[user[:password]@]host[:port][?insecure_skip_verify=true]
//
// Rules:
//   - smtp:// connects in plaintext, default port 587 (25 or any other port
//     may be given). Without a tls parameter (or with tls=opportunistic) it
//     upgrades with STARTTLS when the server offers it and stays plaintext
//     otherwise. tls=starttls makes STARTTLS mandatory: the send fails if
//     the server does not offer it. tls=none never uses TLS (for a local
//     mail catcher).
//   - smtps:// uses implicit TLS (TLS from the first byte, RFC 8314), default
//     port 465. The tls parameter is refused with smtps.
//   - insecure_skip_verify=true disables certificate verification, for test
//     relays with self-signed certificates only. TLS 1.2 is the minimum.
//   - user and password are percent-decoded; reserved characters in them
//     ('@', ':', '/', '?', '#', '%') must be percent-encoded. With a user
//     name, SMTP AUTH is performed and the send fails if the server does
//     not offer AUTH. Mechanism choice: PLAIN if the server offers it, else
//     LOGIN, else go-mail's auto-discovery (SCRAM-SHA-256/1, CRAM-MD5...).
//     PLAIN and LOGIN are only used on an encrypted connection or towards
//     localhost (127.0.0.1, ::1): go-mail refuses to send a password in
//     clear text to a remote host, so tls=none plus credentials only works
//     against a local relay.
//   - No other parameters, no path and no fragment are accepted.
//
// Errors from NewSMTP name the problem and never contain the password.
//
// Each Send is bounded by DefaultSMTPTimeout and by ctx: when ctx ends, the
// connection is closed and Send returns promptly with an error wrapping
// ctx's error. There is no fallback to another port and no downgrade.
func NewSMTP(rawURL, from string) (*SMTPSender, error) {
	cfg, err := parseSMTPURL(rawURL)
	if err != nil {
		return nil, err
	}
	from, err = parseFrom(from)
	if err != nil {
		return nil, err
	}
	return &SMTPSender{
		cfg:     cfg,
		from:    from,
		timeout: DefaultSMTPTimeout,
		tlsConfig: &tls.Config{
			ServerName:         cfg.host,
			MinVersion:         tls.VersionTLS12,
			InsecureSkipVerify: cfg.insecureSkipVerify, //nolint:gosec // opt-in via URL, documented as test-only
		},
	}, nil
}

// Redacted returns the relay URL with the password masked, for logging.
func (s *SMTPSender) Redacted() string { return s.cfg.redacted() }

// Send delivers m. See NewSMTP for timeouts and cancellation and IsPermanent
// for classifying the error.
func (s *SMTPSender) Send(ctx context.Context, m Message) error {
	msg, id, err := buildMsg(m, s.from, time.Now())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("mail: SMTP delivery of <%s> not attempted: %w", id, err)
	}

	// Our own dialer, so that the connection is closed as soon as ctx ends
	// (go-mail only uses the context for dialling) and always closed when
	// Send returns (go-mail does not close it when EHLO fails).
	var (
		mu    sync.Mutex
		conns []net.Conn
		stops []func() bool
	)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, stop := range stops {
			stop()
		}
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	dial := func(dctx context.Context, network, _ string) (net.Conn, error) {
		nd := &net.Dialer{}
		addr := s.cfg.addr()
		if s.dialAddr != "" {
			addr = s.dialAddr
		}
		var (
			conn net.Conn
			err  error
		)
		if s.cfg.mode == tlsImplicit {
			// Must return the *tls.Conn itself: go-mail detects TLS by type.
			td := &tls.Dialer{NetDialer: nd, Config: s.tlsConfig.Clone()}
			conn, err = td.DialContext(dctx, network, addr)
		} else {
			conn, err = nd.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		mu.Lock()
		conns = append(conns, conn)
		stops = append(stops, context.AfterFunc(ctx, func() { _ = conn.Close() }))
		mu.Unlock()
		return conn, nil
	}

	opts := []gomail.Option{
		gomail.WithPort(s.cfg.port),
		gomail.WithTimeout(s.timeout),
		gomail.WithTLSConfig(s.tlsConfig.Clone()),
		gomail.WithDialContextFunc(dial),
	}
	switch s.cfg.mode {
	case tlsImplicit:
		opts = append(opts, gomail.WithSSL())
	case tlsStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case tlsOpportunistic:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	case tlsNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if s.cfg.auth {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.cfg.user),
			gomail.WithPassword(s.cfg.pass),
		)
	}
	// A fresh client per Send: go-mail clients hold per-connection state
	// and our dialer is bound to this Send's ctx.
	client, err := gomail.NewClient(s.cfg.host, opts...)
	if err != nil {
		return fmt.Errorf("mail: SMTP client setup for %s: %w", s.cfg.addr(), err)
	}

	err = client.DialAndSendWithContext(ctx, msg)
	if err == nil {
		return nil
	}
	if msg.IsDelivered() {
		// The relay accepted the message (250 after DATA); a failure in
		// RSET/QUIT afterwards does not make it undelivered.
		return nil
	}
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("mail: SMTP delivery of <%s> via %s aborted: %w (%v)", id, s.cfg.addr(), cerr, err)
	}
	return fmt.Errorf("mail: SMTP delivery of <%s> via %s failed: %w", id, s.cfg.addr(), err)
}

// IsPermanent reports whether err means that sending the same message to
// the same recipient again cannot succeed:
//
//   - the relay refused the recipient: a 5xx reply to RCPT TO, e.g. 550 for
//     an unknown mailbox; or
//   - the Message itself is invalid (errors wrapping ErrInvalidMessage).
//
// A 5xx reply to MAIL FROM or DATA is the relay refusing the message for
// everyone (a policy, a full queue, our sender not allowed today): it says
// nothing about the recipient and is worth retrying. So are 4xx replies,
// network errors, timeouts, cancellation, TLS and authentication failures.
// nil is not permanent.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrInvalidMessage) {
		return true
	}
	var se *gomail.SendError
	if errors.As(err, &se) && se.Reason == gomail.ErrSMTPRcptTo {
		code := se.ErrorCode()
		return code >= 500 && code <= 599
	}
	return false
}

// Describe says what went wrong with a delivery in words safe for a log
// line, a metric or a workflow's history: the SMTP command and reply code,
// never the relay's own text, and no email address (go-mail's errors list
// the affected recipients).
func Describe(err error) string {
	if err == nil {
		return ""
	}
	var se *gomail.SendError
	if errors.As(err, &se) {
		what := se.Reason.String()
		switch se.Reason {
		case gomail.ErrSMTPRcptTo:
			what = "the relay refused the recipient"
		case gomail.ErrSMTPMailFrom:
			what = "the relay refused the sender"
		case gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
			what = "the relay refused the message"
		}
		if code := se.ErrorCode(); code != 0 {
			what += fmt.Sprintf(" (%d", code)
			if enh := se.EnhancedStatusCode(); enh != "" {
				what += " " + enh
			}
			what += ")"
		}
		return what
	}
	if errors.Is(err, ErrInvalidMessage) {
		return "the message is invalid: " + redactAddresses(err.Error())
	}
	return redactAddresses(err.Error())
}

// anAddress is anything shaped like an email address or a message id.
var anAddress = regexp.MustCompile(`[^\s<>()\[\]"',;:]+@[^\s<>()\[\]"',;:]+`)

func redactAddresses(s string) string {
	return anAddress.ReplaceAllString(s, "[address]")
}
