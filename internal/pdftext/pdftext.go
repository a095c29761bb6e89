// Package pdftext reads a PDF's text for tests, with poppler's pdftotext:
// what a reader of the file would see, not what the generator meant.
package pdftext

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Text is the PDF's text, laid out as on the page. Without pdftotext the
// test is skipped, or fails where HOMEWARD_CI is set (.ci/run installs
// poppler-utils, so there a missing tool is a broken machine, not a pass).
func Text(t testing.TB, pdf []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		if os.Getenv("HOMEWARD_CI") != "" {
			t.Fatal("pdftotext (poppler-utils) is not installed, and HOMEWARD_CI is set")
		}
		t.Skip("pdftotext (poppler-utils) is not installed: .ci/run installs it; skipping the PDF text assertions")
	}
	path := filepath.Join(t.TempDir(), "document.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
