//go:build !dev

package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// The production build says how to try Homeward rather than failing
// obscurely, for `dev` and for an administration command with no database.
func TestProductionBuildPointsToTheDevelopmentBuild(t *testing.T) {
	err := run(context.Background(), []string{"dev"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "make run") {
		t.Errorf("homeward dev in the production build: %v, want a pointer to make run", err)
	}
	t.Setenv("DATABASE_URL", "")
	t.Setenv("HOMEWARD_DATA_DIR", t.TempDir())
	_, _, err = openStore(context.Background(), io.Discard, false)
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || !strings.Contains(err.Error(), "-tags dev") {
		t.Errorf("an administration command without DATABASE_URL: %v, want DATABASE_URL and the development build named", err)
	}
}
