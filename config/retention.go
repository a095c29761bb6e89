package config

import (
	"fmt"
	"strconv"
	"strings"

	"homeward/store"
)

// Retention is how long records are kept and when the purge runs; the
// defaults and the reasons for them are on store.RetentionPolicy.
type Retention struct {
	// Policy: HOMEWARD_RETENTION_CASE_RECORDS_UNTIL_AGE (default 25),
	// HOMEWARD_RETENTION_LOOKED_AFTER_UNTIL_AGE (75),
	// HOMEWARD_RETENTION_NO_DOB_YEARS (25 after the episode ended),
	// HOMEWARD_RETENTION_EMAIL_DELIVERY_YEARS (2),
	// HOMEWARD_RETENTION_ATTEMPT_NOTES_YEARS (2); birthdays are dates in
	// HOMEWARD_TIME_ZONE.
	Policy store.RetentionPolicy
	// Schedule (HOMEWARD_RETENTION_PURGE_SCHEDULE, default "30 2 * * *":
	// daily at 02:30) is a five-field cron expression read in
	// HOMEWARD_TIME_ZONE (default Europe/London).
	Schedule string
	// Enabled is false when HOMEWARD_RETENTION_PURGE=off: the schedule is
	// paused and its runs do nothing. Default on.
	Enabled bool
	// BatchSize (HOMEWARD_RETENTION_BATCH_SIZE, default 100) is how many
	// records one purge transaction handles.
	BatchSize int
}

// loadRetention reads the retention settings; timeZone is HOMEWARD_TIME_ZONE.
func loadRetention(get func(key, def string) string, timeZone string) (Retention, []error) {
	var errs []error
	def := store.DefaultRetentionPolicy()
	years := func(key string, d int) int {
		v := get(key, strconv.Itoa(d))
		n, err := strconv.Atoi(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a whole number of years", key, v))
			return d
		}
		return n
	}
	r := Retention{
		Policy: store.RetentionPolicy{
			CaseRecordsUntilAge:   years("HOMEWARD_RETENTION_CASE_RECORDS_UNTIL_AGE", def.CaseRecordsUntilAge),
			LookedAfterUntilAge:   years("HOMEWARD_RETENTION_LOOKED_AFTER_UNTIL_AGE", def.LookedAfterUntilAge),
			CaseRecordsNoDOBYears: years("HOMEWARD_RETENTION_NO_DOB_YEARS", def.CaseRecordsNoDOBYears),
			EmailDeliveryYears:    years("HOMEWARD_RETENTION_EMAIL_DELIVERY_YEARS", def.EmailDeliveryYears),
			AttemptNotesYears:     years("HOMEWARD_RETENTION_ATTEMPT_NOTES_YEARS", def.AttemptNotesYears),
			TimeZone:              timeZone,
		},
		Schedule:  get("HOMEWARD_RETENTION_PURGE_SCHEDULE", "30 2 * * *"),
		BatchSize: years("HOMEWARD_RETENTION_BATCH_SIZE", 100),
	}
	if err := r.Policy.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("retention policy: %w", err))
	}
	if len(strings.Fields(r.Schedule)) != 5 {
		errs = append(errs, fmt.Errorf("HOMEWARD_RETENTION_PURGE_SCHEDULE: %q must be a cron expression of five fields (minute hour day month weekday)", r.Schedule))
	}
	if r.BatchSize < 1 || r.BatchSize > 10000 {
		errs = append(errs, fmt.Errorf("HOMEWARD_RETENTION_BATCH_SIZE: %d must be between 1 and 10000", r.BatchSize))
	}
	switch v := strings.ToLower(get("HOMEWARD_RETENTION_PURGE", "on")); v {
	case "on", "true":
		r.Enabled = true
	case "off", "false":
		r.Enabled = false
	default:
		errs = append(errs, fmt.Errorf("HOMEWARD_RETENTION_PURGE: %q must be on or off", v))
	}
	return r, errs
}
