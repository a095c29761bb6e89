package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// devOnly are the packages only the development build may link: the
// embedded Temporal server and the local PostgreSQL manager.
var devOnly = []string{"go.temporal.io/server", "homeward/internal/devtemporal", "homeward/internal/pglocal"}

// goList lists the packages ./cmd/homeward links, with the given build flags.
func goList(t *testing.T, flags ...string) []string {
	t.Helper()
	args := append(append([]string{"list", "-deps"}, flags...), ".")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), args...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}

func devOnlyIn(pkgs []string) []string {
	var found []string
	for _, p := range pkgs {
		for _, d := range devOnly {
			if p == d || strings.HasPrefix(p, d+"/") {
				found = append(found, p)
				break
			}
		}
	}
	return found
}

// The homeward that is deployed is a service: it links neither the
// embedded Temporal server nor the local PostgreSQL manager.
func TestProductionBuildLinksNoDevelopmentServer(t *testing.T) {
	if found := devOnlyIn(goList(t)); len(found) > 0 {
		t.Errorf("the production build links %d development packages, e.g. %v; keep them behind the dev build tag", len(found), found[:min(len(found), 5)])
	}
	// The check sees them where they are: in the development build.
	if found := devOnlyIn(goList(t, "-tags", "dev")); len(found) == 0 {
		t.Error("the development build links none of the development packages; is this check looking at the right build?")
	}
}
