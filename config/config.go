// Package config reads Homeward's configuration from environment variables.
// Every variable has a documented default; see the README.
package config

import (
	_ "time/tzdata" // Europe/London must load on machines without zoneinfo

	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"go.temporal.io/sdk/contrib/envconfig"

	"homeward/episode"
)

// Config is everything a Homeward process needs to know at start-up.
type Config struct {
	Listen            string        // HOMEWARD_LISTEN, default ":8080"
	MetricsListen     string        // HOMEWARD_METRICS_LISTEN: where /metrics is served; default "" (off)
	DatabaseURL       string        // DATABASE_URL; empty in `homeward dev` means the local cluster
	TemporalAddress   string        // TEMPORAL_ADDRESS, else the Temporal profile's, else "localhost:7233"
	TemporalNamespace string        // TEMPORAL_NAMESPACE, else the Temporal profile's, else "default"
	TaskQueue         string        // HOMEWARD_TASK_QUEUE, default "homeward-episodes"
	SMTPURL           string        // HOMEWARD_SMTP_URL; a worker needs it unless the outbox is asked for (OutboxAsked)
	MailFrom          string        // HOMEWARD_MAIL_FROM, default "Homeward <homeward@localhost>"
	OutboxDir         string        // HOMEWARD_OUTBOX_DIR, default "<data dir>/outbox"
	OutboxAsked       bool          // HOMEWARD_OUTBOX_DIR was set: a worker without an SMTP URL writes its emails there
	DataDir           string        // HOMEWARD_DATA_DIR, default ".homeward" (dev mode only)
	TimeZone          string        // HOMEWARD_TIME_ZONE, default "Europe/London"; how emails show instants
	LogLevel          string        // HOMEWARD_LOG_LEVEL, default "info"
	LogFormat         string        // HOMEWARD_LOG_FORMAT, "json" (default) or "text"; `homeward dev` defaults to text
	ShutdownTimeout   time.Duration // HOMEWARD_SHUTDOWN_TIMEOUT, default 20s
	Policy            episode.Policy

	// Temporal payload encryption (package payloadcrypt). Keys are
	// `id:base64-32-bytes`; the last is current unless PayloadKeyCurrent
	// names one.
	PayloadKeysFile        string // HOMEWARD_PAYLOAD_KEYS_FILE: one key a line, # comments
	PayloadKeys            string // HOMEWARD_PAYLOAD_KEYS: keys, comma separated
	PayloadKeyCurrent      string // HOMEWARD_PAYLOAD_KEY_CURRENT: the id that encrypts
	AllowPlaintextPayloads bool   // HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS=true: run without keys

	Security Security // sign-in by OIDC and the API's edges; see security.go

	Retention Retention // HOMEWARD_RETENTION_*; see retention.go

	Web Web // the web interface: HOMEWARD_PUBLIC_URL (also links in emails), HOMEWARD_WEB_*; see web.go

	// Temporal is the Temporal client profile (TEMPORAL_CONFIG_FILE,
	// TEMPORAL_PROFILE, TEMPORAL_TLS*, TEMPORAL_API_KEY, ...); dial with
	// TemporalClientOptions. See temporal.go.
	Temporal envconfig.ClientConfigProfile
}

// Location is the time zone instants are shown in.
func (c Config) Location() (*time.Location, error) { return time.LoadLocation(c.TimeZone) }

// FromEnv reads the configuration from the process environment.
func FromEnv() (Config, error) { return load(envLookup{os.LookupEnv, os.Environ}) }

// Load reads the configuration through lookup, so tests need not touch the
// process environment. (TEMPORAL_GRPC_META_* need FromEnv, which can list
// the environment.)
func Load(lookup func(string) (string, bool)) (Config, error) {
	return load(envLookup{lookup: lookup})
}

func load(env envLookup) (Config, error) {
	lookup := env.lookup
	get := func(key, def string) string {
		if v, ok := lookup(key); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v)
		}
		return def
	}
	var errs []error
	dur := func(key string, def time.Duration) time.Duration {
		v := get(key, "")
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (examples: 72h, 30m)", key, v))
			return def
		}
		return d
	}
	count := func(key string, def int) int {
		v := get(key, "")
		if v == "" {
			return def
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a whole number", key, v))
			return def
		}
		return n
	}
	temporal, temporalErrs := loadTemporal(env)
	errs = append(errs, temporalErrs...)

	c := Config{
		Listen:            get("HOMEWARD_LISTEN", ":8080"),
		MetricsListen:     get("HOMEWARD_METRICS_LISTEN", ""),
		DatabaseURL:       get("DATABASE_URL", ""),
		TemporalAddress:   temporal.Address,
		TemporalNamespace: temporal.Namespace,
		TaskQueue:         get("HOMEWARD_TASK_QUEUE", "homeward-episodes"),
		SMTPURL:           get("HOMEWARD_SMTP_URL", ""),
		MailFrom:          get("HOMEWARD_MAIL_FROM", "Homeward <homeward@localhost>"),
		DataDir:           get("HOMEWARD_DATA_DIR", ".homeward"),
		TimeZone:          get("HOMEWARD_TIME_ZONE", "Europe/London"),
		LogLevel:          get("HOMEWARD_LOG_LEVEL", "info"),
		LogFormat:         get("HOMEWARD_LOG_FORMAT", ""),
		ShutdownTimeout:   dur("HOMEWARD_SHUTDOWN_TIMEOUT", 20*time.Second),
	}
	c.Temporal = temporal
	c.OutboxDir = get("HOMEWARD_OUTBOX_DIR", c.DataDir+"/outbox")
	c.OutboxAsked = get("HOMEWARD_OUTBOX_DIR", "") != ""
	c.PayloadKeysFile = get("HOMEWARD_PAYLOAD_KEYS_FILE", "")
	c.PayloadKeys = get("HOMEWARD_PAYLOAD_KEYS", "")
	c.PayloadKeyCurrent = get("HOMEWARD_PAYLOAD_KEY_CURRENT", "")
	if v := get("HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS", "false"); v != "false" {
		c.AllowPlaintextPayloads = v == "true"
		if !c.AllowPlaintextPayloads {
			errs = append(errs, fmt.Errorf("HOMEWARD_ALLOW_PLAINTEXT_PAYLOADS: %q must be true or false", v))
		}
	}

	// The defaults of every commissioner that has no policy of its own.
	def := episode.DefaultPolicy()
	c.Policy = episode.Policy{
		OfferWindow:          dur("HOMEWARD_OFFER_WINDOW", def.OfferWindow),
		DeadlineWarningLead:  dur("HOMEWARD_DEADLINE_WARNING_LEAD", def.DeadlineWarningLead),
		ContactSpacing:       dur("HOMEWARD_CONTACT_SPACING", def.ContactSpacing),
		ContactReminderDelay: dur("HOMEWARD_CONTACT_REMINDER_DELAY", def.ContactReminderDelay),
		MaxContactAttempts:   count("HOMEWARD_MAX_CONTACT_ATTEMPTS", def.MaxContactAttempts),
		ReofferInterval:      dur("HOMEWARD_REOFFER_INTERVAL", def.ReofferInterval),
		ReofferCount:         count("HOMEWARD_REOFFER_COUNT", def.ReofferCount),
		FollowUpDelay:        dur("HOMEWARD_FOLLOW_UP_DELAY", def.FollowUpDelay),
		FollowUpGrace:        dur("HOMEWARD_FOLLOW_UP_GRACE", def.FollowUpGrace),
		RepeatEpisodes:       count("HOMEWARD_REPEAT_EPISODES", def.RepeatEpisodes),
		RepeatWindow:         dur("HOMEWARD_REPEAT_WINDOW", def.RepeatWindow),
		ActionGrace:          dur("HOMEWARD_ACTION_GRACE", def.ActionGrace),
	}
	for _, prob := range c.Policy.Problems() {
		errs = append(errs, fmt.Errorf("%s: %s", policyVariable(prob.Field), prob.Reason))
	}
	if _, err := time.LoadLocation(c.TimeZone); err != nil {
		errs = append(errs, fmt.Errorf("HOMEWARD_TIME_ZONE: %q is not a known time zone", c.TimeZone))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("HOMEWARD_LOG_LEVEL: %q must be debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "", "json", "text":
	default:
		errs = append(errs, fmt.Errorf("HOMEWARD_LOG_FORMAT: %q must be json or text", c.LogFormat))
	}
	var webErrs []error
	c.Web, webErrs = loadWeb(get, dur)
	errs = append(errs, webErrs...)
	var secErrs []error
	c.Security, secErrs = loadSecurity(get)
	errs = append(errs, secErrs...)
	var retErrs []error
	c.Retention, retErrs = loadRetention(get, c.TimeZone)
	errs = append(errs, retErrs...)
	return c, errors.Join(errs...)
}

// policyVariable is the variable that sets the policy field named by its
// JSON name.
func policyVariable(field string) string {
	return "HOMEWARD_" + strings.ToUpper(field)
}
