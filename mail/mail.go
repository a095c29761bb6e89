// Package mail delivers Homeward's outgoing emails (escalations to managers).
//
// The package only delivers: callers compose the subject, the plain-text and
// the HTML body. Emails carry a reference and a link, never personal data.
//
// Two Senders exist:
//
//   - SMTPSender (NewSMTP) delivers through an SMTP relay described by a URL;
//     see NewSMTP for the accepted URL forms.
//   - Outbox (NewOutbox) writes each message as an .eml file into a directory,
//     for development and for deployments without a relay.
//
// New picks one of them from configuration.
//
// Both render the message with the same code (go-mail's Msg.WriteTo), so an
// .eml file in the outbox holds the bytes the SMTP path would have sent
// (apart from the Date header and the MIME boundary, which differ per render).
//
// Every message carries the caller's stable Message-ID, so that an email
// re-sent after a crash is recognisable as the same email (mail clients
// collapse duplicates by Message-ID) and overwrites the same outbox file.
package mail

import (
	"context"
	"errors"
	"strings"
)

// Message is one email to one recipient.
type Message struct {
	// From is the sender address ("addr@example.org" or "Name <addr@example.org>").
	// Optional: the sender's default From is used when empty.
	From string
	// To is a single recipient address.
	To string
	// Subject is the subject line; non-ASCII text is RFC 2047-encoded.
	Subject string
	// Text is the plain-text body.
	Text string
	// HTML is the HTML alternative. When both Text and HTML are set the
	// message is multipart/alternative; when only one is set, the message
	// has a single part of that type. At least one is required.
	HTML string
	// MessageID is the stable id WITHOUT angle brackets, e.g.
	// "escalation.<episode>.<kind>.<recipient-hash>@homeward". The same
	// logical email must always carry the same MessageID. It must have the
	// RFC 5322 form left@right with dot-atom text on both sides. Enclosing
	// angle brackets, if given anyway, are stripped, so the header is always
	// exactly "Message-ID: <id>". Required.
	MessageID string
	// Headers are extra header fields, e.g. X-Homeward-Escalation. Keys are
	// canonicalised (textproto.CanonicalMIMEHeaderKey); all generic headers
	// are written in sorted key order. Headers that this package sets itself
	// or that would change recipients or MIME structure (From, To, Cc, Bcc,
	// Sender, Reply-To, Subject, Message-ID, Date, MIME-Version,
	// Content-Type, Content-Transfer-Encoding) are refused. Values must not
	// contain CR or LF; non-ASCII values are RFC 2047-encoded.
	//
	// "Auto-Submitted: auto-generated" (RFC 3834) is added by default so that
	// auto-responders do not answer; an entry here overrides it.
	Headers map[string]string
}

// Sender delivers one Message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// ErrInvalidMessage is wrapped by every error caused by the Message itself
// (missing or malformed address, Message-ID, header...). Retrying such a
// message cannot succeed; IsPermanent reports true for it.
var ErrInvalidMessage = errors.New("invalid message")

// New chooses the sender from configuration: with smtpURL empty (after
// trimming spaces), an Outbox writing .eml files into outboxDir; otherwise
// an SMTPSender for smtpURL (see NewSMTP). from is the default sender
// address and is required.
func New(smtpURL, from, outboxDir string) (Sender, error) {
	smtpURL = strings.TrimSpace(smtpURL)
	if smtpURL == "" {
		if strings.TrimSpace(outboxDir) == "" {
			return nil, errors.New("mail: no SMTP URL and no outbox directory configured")
		}
		return NewOutbox(outboxDir, from)
	}
	return NewSMTP(smtpURL, from)
}
