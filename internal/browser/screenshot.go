package browser

import (
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

var (
	artifactsOnce sync.Once
	artifactsDir  string
	artifactsErr  error
)

// Artifacts is the folder screenshots are saved in: HOMEWARD_ARTIFACTS, or
// a new folder under the system's temporary folder that is left in place
// for a person to look at. The first test to save one says where.
func Artifacts(t testing.TB) string {
	t.Helper()
	artifactsOnce.Do(func() {
		if dir := os.Getenv("HOMEWARD_ARTIFACTS"); dir != "" {
			artifactsDir, artifactsErr = dir, os.MkdirAll(dir, 0o755)
		} else {
			artifactsDir, artifactsErr = os.MkdirTemp("", "homeward-browser-")
		}
		if artifactsErr == nil {
			t.Logf("browser: screenshots are saved in %s", artifactsDir)
		}
	})
	if artifactsErr != nil {
		t.Fatalf("browser: screenshots folder: %v", artifactsErr)
	}
	return artifactsDir
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot saves the whole page, beyond the window, as a PNG named after
// the test, name and the viewport, and returns its path.
func (b *Browser) Screenshot(t testing.TB, name string) string {
	t.Helper()
	var png []byte
	b.run(t, "screenshot "+name, chromedp.FullScreenshot(&png, 100)) // quality 100: PNG
	file := unsafeName.ReplaceAllString(t.Name()+"_"+name+"_"+b.viewport.Name, "_") + ".png"
	path := filepath.Join(Artifacts(t), file)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("browser: save screenshot: %v", err)
	}
	return path
}
