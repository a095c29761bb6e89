package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Web configures the web interface for staff.
type Web struct {
	// PublicURL is where staff open Homeward: links in emails and one-time
	// sign-in links start with it, and the identity provider returns to
	// it. HOMEWARD_PUBLIC_URL, default "http://localhost:8080".
	PublicURL string
	// IdleTimeout ends a session nobody used for this long.
	// HOMEWARD_WEB_IDLE_TIMEOUT, default 30m.
	IdleTimeout time.Duration
	// SessionMax ends every session this long after sign-in.
	// HOMEWARD_WEB_SESSION_MAX, default 12h.
	SessionMax time.Duration
}

func loadWeb(get func(key, def string) string, dur func(key string, def time.Duration) time.Duration) (Web, []error) {
	w := Web{
		PublicURL:   strings.TrimRight(get("HOMEWARD_PUBLIC_URL", "http://localhost:8080"), "/"),
		IdleTimeout: dur("HOMEWARD_WEB_IDLE_TIMEOUT", 30*time.Minute),
		SessionMax:  dur("HOMEWARD_WEB_SESSION_MAX", 12*time.Hour),
	}
	var errs []error
	if u, err := url.Parse(w.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("HOMEWARD_PUBLIC_URL: %q must be an http or https URL such as https://homeward.example.org", w.PublicURL))
	}
	if w.IdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("HOMEWARD_WEB_IDLE_TIMEOUT: must be more than 0"))
	}
	if w.SessionMax < w.IdleTimeout {
		errs = append(errs, fmt.Errorf("HOMEWARD_WEB_SESSION_MAX: must be at least HOMEWARD_WEB_IDLE_TIMEOUT"))
	}
	return w, errs
}
