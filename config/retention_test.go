package config

import (
	"strings"
	"testing"

	"homeward/store"
)

func retentionLookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestRetentionDefaults(t *testing.T) {
	c, err := Load(retentionLookup(map[string]string{}))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Retention
	if r.Policy != store.DefaultRetentionPolicy() || r.Schedule != "30 2 * * *" || !r.Enabled || r.BatchSize != 100 {
		t.Errorf("defaults %+v", r)
	}
}

func TestRetentionFromEnv(t *testing.T) {
	c, err := Load(retentionLookup(map[string]string{
		"HOMEWARD_RETENTION_CASE_RECORDS_UNTIL_AGE": "30",
		"HOMEWARD_RETENTION_LOOKED_AFTER_UNTIL_AGE": "80",
		"HOMEWARD_RETENTION_NO_DOB_YEARS":           "40",
		"HOMEWARD_RETENTION_EMAIL_DELIVERY_YEARS":   "3",
		"HOMEWARD_RETENTION_ATTEMPT_NOTES_YEARS":    "4",
		"HOMEWARD_RETENTION_PURGE_SCHEDULE":         "0 4 * * 0",
		"HOMEWARD_RETENTION_PURGE":                  "off",
		"HOMEWARD_RETENTION_BATCH_SIZE":             "500",
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := store.RetentionPolicy{CaseRecordsUntilAge: 30, LookedAfterUntilAge: 80, CaseRecordsNoDOBYears: 40,
		EmailDeliveryYears: 3, AttemptNotesYears: 4, TimeZone: "Europe/London"}
	if r := c.Retention; r.Policy != want || r.Schedule != "0 4 * * 0" || r.Enabled || r.BatchSize != 500 {
		t.Errorf("got %+v", r)
	}
}

func TestRetentionRejectsBadValues(t *testing.T) {
	_, err := Load(retentionLookup(map[string]string{
		"HOMEWARD_RETENTION_CASE_RECORDS_UNTIL_AGE": "10",
		"HOMEWARD_RETENTION_EMAIL_DELIVERY_YEARS":   "two",
		"HOMEWARD_RETENTION_PURGE_SCHEDULE":         "daily",
		"HOMEWARD_RETENTION_PURGE":                  "maybe",
	}))
	for _, want := range []string{"18th birthday", "HOMEWARD_RETENTION_EMAIL_DELIVERY_YEARS", "HOMEWARD_RETENTION_PURGE_SCHEDULE", "HOMEWARD_RETENTION_PURGE: "} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to mention %q", err, want)
		}
	}
}
