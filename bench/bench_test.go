package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The bench runs end to end at a small count and prints every figure. It
// says nothing of speed: the figures are for people to read.
func TestBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Temporal and PostgreSQL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := run(ctx, []string{"-count", "20", "-concurrency", "5"}, &out); err != nil {
		t.Fatalf("bench: %v\n%s", err, out.String())
	}
	text := out.String()
	t.Log(text)
	for _, name := range []string{"raw: start workflow", "raw: update (contact attempt)",
		"Homeward: POST /v1/episodes", "Homeward: POST .../contact-attempts"} {
		// name, count 20, a rate, p50 and p99, and no errors.
		line := regexp.MustCompile(regexp.QuoteMeta(name) + `\s+20\s+[0-9.]+\s+[0-9.]+ ms\s+[0-9.]+ ms\s+0\n`)
		if !line.MatchString(text) {
			t.Errorf("no figures for %q with no errors", name)
		}
	}
	for _, ratio := range []string{"open episode vs start workflow", "record outcome vs update"} {
		if !regexp.MustCompile(regexp.QuoteMeta(ratio) + `\s+[0-9.]+x\s+[0-9.]+x`).MatchString(text) {
			t.Errorf("no ratios for %q", ratio)
		}
	}
	if strings.Contains(text, "first error") {
		t.Errorf("the run had errors")
	}
}
