package mail

import (
	"fmt"
	netmail "net/mail"
	"net/textproto"
	"regexp"
	"sort"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// maxMessageIDLen bounds the Message-ID length (RFC 5322 lines are limited to
// 998 characters; ids are far shorter in practice).
const maxMessageIDLen = 250

var (
	// dot-atom-text of RFC 5322 §3.2.3.
	dotAtom = `[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_` + "`" + `{|}~-]+)*`
	// msg-id without angle brackets (RFC 5322 §3.6.4, dot-atom forms only).
	messageIDRe = regexp.MustCompile(`^` + dotAtom + `@` + dotAtom + `$`)
	// field-name of RFC 5322 §3.6.8: printable US-ASCII except colon.
	headerNameRe = regexp.MustCompile(`^[!-9;-~]+$`)
)

// reservedHeaders are set by this package or would alter recipients or the
// MIME structure; Message.Headers may not contain them.
var reservedHeaders = map[string]bool{
	"From": true, "To": true, "Cc": true, "Bcc": true, "Sender": true, "Reply-To": true,
	"Subject": true, "Message-Id": true, "Date": true, "Mime-Version": true,
	"Content-Type": true, "Content-Transfer-Encoding": true,
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("mail: %w: %s", ErrInvalidMessage, fmt.Sprintf(format, args...))
}

// normaliseMessageID strips optional enclosing angle brackets and validates
// the id.
func normaliseMessageID(id string) (string, error) {
	id = strings.TrimSpace(id)
	if strings.HasPrefix(id, "<") && strings.HasSuffix(id, ">") {
		id = id[1 : len(id)-1]
	}
	switch {
	case id == "":
		return "", invalid("Message-ID is required")
	case len(id) > maxMessageIDLen:
		return "", invalid("Message-ID is longer than %d characters", maxMessageIDLen)
	case !messageIDRe.MatchString(id):
		return "", invalid("Message-ID %q is not of the form left@right (RFC 5322 dot-atom text)", id)
	}
	return id, nil
}

// parseFrom validates a sender address (used for the default From).
func parseFrom(from string) (string, error) {
	from = strings.TrimSpace(from)
	if from == "" {
		return "", fmt.Errorf("mail: default sender address (from) is required")
	}
	if _, err := netmail.ParseAddress(from); err != nil {
		return "", fmt.Errorf("mail: invalid default sender address %q: %v", from, err)
	}
	return from, nil
}

// buildMsg turns m into a go-mail Msg. defaultFrom is used when m.From is
// empty. The returned Msg renders (WriteTo) as a complete RFC 5322 message.
func buildMsg(m Message, defaultFrom string, now time.Time) (*gomail.Msg, string, error) {
	id, err := normaliseMessageID(m.MessageID)
	if err != nil {
		return nil, "", err
	}

	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())

	from := strings.TrimSpace(m.From)
	if from == "" {
		from = defaultFrom
	}
	if from == "" {
		return nil, id, invalid("no From address (message and sender default are empty)")
	}
	if err := msg.From(from); err != nil {
		return nil, id, invalid("bad From address %q: %v", from, err)
	}

	to := strings.TrimSpace(m.To)
	if to == "" {
		return nil, id, invalid("no To address")
	}
	if strings.ContainsAny(to, ",;") {
		return nil, id, invalid("To must be a single address")
	}
	if err := msg.To(to); err != nil {
		return nil, id, invalid("bad To address: %v", err)
	}

	if strings.ContainsAny(m.Subject, "\r\n") {
		return nil, id, invalid("Subject contains a line break")
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(now)
	msg.SetMessageIDWithValue(id) // adds the angle brackets: "<id>"

	extra := map[string]string{"Auto-Submitted": "auto-generated"}
	seen := make(map[string]string, len(m.Headers))
	for k, v := range m.Headers {
		name := strings.TrimSpace(k)
		if !headerNameRe.MatchString(name) {
			return nil, id, invalid("header name %q is not a valid field name", k)
		}
		canon := textproto.CanonicalMIMEHeaderKey(name)
		if reservedHeaders[canon] {
			return nil, id, invalid("header %q is set by the mail package and may not be overridden", canon)
		}
		if other, dup := seen[canon]; dup {
			return nil, id, invalid("headers %q and %q are the same field", other, k)
		}
		seen[canon] = k
		if strings.ContainsAny(v, "\r\n") {
			return nil, id, invalid("value of header %q contains a line break", canon)
		}
		extra[canon] = v
	}
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys) // go-mail also writes generic headers sorted; be deterministic regardless
	for _, k := range keys {
		msg.SetGenHeader(gomail.Header(k), extra[k])
	}

	switch {
	case m.Text != "" && m.HTML != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
		msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	case m.Text != "":
		msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	case m.HTML != "":
		msg.SetBodyString(gomail.TypeTextHTML, m.HTML)
	default:
		return nil, id, invalid("message has neither a text nor an HTML body")
	}
	return msg, id, nil
}
