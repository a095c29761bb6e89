package browser

import (
	_ "embed"
	"fmt"
	"strings"
	"testing"
)

// axeSource is axe-core, vendored from npm (see axe-core.md).
//
//go:embed axe.min.js
var axeSource string

// axeVersion is the vendored axe-core's version.
const axeVersion = "4.14.1"

// AxeTags are the rule sets every page is checked against: WCAG 2.0, 2.1
// and 2.2, levels A and AA.
var AxeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"}

// Violation is one axe-core rule a page breaks, with the elements that
// break it.
type Violation struct {
	ID          string `json:"id"`
	Impact      string `json:"impact"`
	Help        string `json:"help"`
	HelpURL     string `json:"helpUrl"`
	Description string `json:"description"`
	Nodes       []struct {
		Target         []any  `json:"target"`
		HTML           string `json:"html"`
		FailureSummary string `json:"failureSummary"`
	} `json:"nodes"`
}

// axeRunJS runs axe on the whole document with AxeTags; the page's own
// scripts are not needed. It answers the version too, so that a wrong
// script is noticed.
const axeRunJS = `axe.run(document, {runOnly: {type: 'tag', values: %s}, resultTypes: ['violations']})
	.then(r => ({version: axe.version, violations: r.violations}))`

type axeResult struct {
	Version    string      `json:"version"`
	Violations []Violation `json:"violations"`
}

// Accessibility runs axe-core on the page as it is now and returns what it
// finds. axe is put into the page through the DevTools protocol
// (Runtime.evaluate), which the page's Content-Security-Policy does not
// govern, so a page with script-src 'self' is checked as it is served.
func (b *Browser) Accessibility(t testing.TB) []Violation {
	t.Helper()
	var loaded bool
	b.Evaluate(t, "typeof axe === 'object'", &loaded)
	if !loaded {
		// An expression statement's value: undefined, which decodes to nothing.
		b.Evaluate(t, axeSource+"\n;undefined", nil)
	}
	var r axeResult
	b.Evaluate(t, fmt.Sprintf(axeRunJS, jsStrings(AxeTags)), &r)
	if r.Version != axeVersion {
		t.Fatalf("browser: axe-core %q ran, want the vendored %s", r.Version, axeVersion)
	}
	return r.Violations
}

// CheckAccessibility fails the test for every WCAG 2.2 AA violation axe-core
// finds on the page as it is now, naming the rule, the elements and how to
// fix them.
func (b *Browser) CheckAccessibility(t testing.TB) {
	t.Helper()
	if v := b.Accessibility(t); len(v) > 0 {
		t.Errorf("browser: %s (%s): %d accessibility violation(s):\n%s", b.Location(t), b.viewport.Name, len(v), FormatViolations(v))
	}
}

// FormatViolations writes violations for a person to read.
func FormatViolations(vs []Violation) string {
	var sb strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&sb, "- %s (%s): %s\n  %s\n", v.ID, v.Impact, v.Help, v.HelpURL)
		for _, n := range v.Nodes {
			fmt.Fprintf(&sb, "    at %v: %s\n", n.Target, oneLine(n.HTML, 200))
			for _, line := range strings.Split(strings.TrimSpace(n.FailureSummary), "\n") {
				fmt.Fprintf(&sb, "      %s\n", strings.TrimSpace(line))
			}
		}
	}
	return sb.String()
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func jsStrings(ss []string) string {
	quoted := make([]string, len(ss))
	for i, s := range ss {
		quoted[i] = js(s)
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}
