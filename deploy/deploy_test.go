package deploy

import (
	"context"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/parser"

	"homeward/config"
)

// homewardServices are the compose services that run Homeward's image.
var homewardServices = []string{"api", "worker"}

func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "docker-compose.yml")}},
		Environment: env,
	})
}

// docker-compose.yml is a valid Compose project that starts Homeward only
// once what it needs is healthy, and gives it every variable it needs.
func TestComposeFile(t *testing.T) {
	if _, err := loadCompose(t, nil); err == nil || !strings.Contains(err.Error(), "HOMEWARD_PAYLOAD_KEYS") {
		t.Errorf("without HOMEWARD_PAYLOAD_KEYS: %v, want a refusal naming it", err)
	}
	p, err := loadCompose(t, map[string]string{"HOMEWARD_PAYLOAD_KEYS": "k1:" + strings.Repeat("A", 43) + "="})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"postgres", "temporal", "temporal-ui", "mailpit", "api", "worker"} {
		s, ok := p.Services[name]
		if !ok {
			t.Errorf("no %s service", name)
			continue
		}
		if s.Image == "" || strings.HasSuffix(s.Image, ":latest") || (!strings.Contains(s.Image, ":") && s.Build == nil) {
			t.Errorf("%s: image %q, want a pinned tag", name, s.Image)
		}
	}
	for _, name := range []string{"postgres", "temporal", "mailpit", "api"} {
		if hc := p.Services[name].HealthCheck; hc == nil || hc.Disable || len(hc.Test) == 0 {
			t.Errorf("%s has no health check", name)
		}
	}
	needs := map[string][]string{"api": {"postgres", "temporal"}, "worker": {"postgres", "temporal", "mailpit"}, "temporal": {"postgres"}}
	for name, deps := range needs {
		for _, dep := range deps {
			if d, ok := p.Services[name].DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s depends on %s %+v, want condition service_healthy", name, dep, d)
			}
		}
	}
	for _, name := range homewardServices {
		checkHomewardEnvironment(t, p, name)
	}
}

// checkHomewardEnvironment: the service's environment is a configuration
// Homeward accepts, for the production shape: a database, Temporal and an
// SMTP relay that are services of the project, keys, a public address.
func checkHomewardEnvironment(t *testing.T, p *types.Project, name string) {
	s := p.Services[name]
	if s.Build == nil || s.Build.Dockerfile != "Dockerfile" || s.Image != p.Services[homewardServices[0]].Image {
		t.Errorf("%s: build %+v image %q, want the one image built from the Dockerfile", name, s.Build, s.Image)
	}
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	for _, k := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "HOMEWARD_SMTP_URL", "HOMEWARD_MAIL_FROM", "HOMEWARD_PUBLIC_URL", "HOMEWARD_PAYLOAD_KEYS"} {
		if env[k] == "" {
			t.Errorf("%s: %s is not set", name, k)
		}
	}
	env["TEMPORAL_CONFIG_FILE"] = filepath.Join(t.TempDir(), "none.toml") // this machine's Temporal profile is not the container's
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Errorf("%s: Homeward refuses its environment: %v", name, err)
		return
	}
	hostOf := func(raw string) string {
		if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
			return u.Hostname()
		}
		h, _, _ := net.SplitHostPort(raw)
		return h
	}
	for what, host := range map[string]string{"DATABASE_URL": hostOf(cfg.DatabaseURL), "TEMPORAL_ADDRESS": hostOf(cfg.TemporalAddress), "HOMEWARD_SMTP_URL": hostOf(cfg.SMTPURL)} {
		if _, ok := p.Services[host]; !ok {
			t.Errorf("%s: %s points at %q, not a service of the project", name, what, host)
		}
	}
}

// stage is one stage of a Dockerfile: its FROM and its instructions.
type stage struct {
	from         []string // the FROM arguments: image, and AS name
	instructions []*parser.Node
}

func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	for _, n := range res.AST.Children {
		if strings.EqualFold(n.Value, "from") {
			stages = append(stages, stage{from: args(n)})
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("line %d: %s before any FROM", n.StartLine, n.Original)
		}
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, n)
	}
	return stages
}

func args(n *parser.Node) []string {
	var a []string
	for x := n.Next; x != nil; x = x.Next {
		a = append(a, x.Value)
	}
	return a
}

func (s stage) find(instruction string) []*parser.Node {
	var found []*parser.Node
	for _, n := range s.instructions {
		if strings.EqualFold(n.Value, instruction) {
			found = append(found, n)
		}
	}
	return found
}

// The image is the production binary, static, on a distroless (or empty)
// base, run by an unprivileged user, with a health check.
func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("%d stages, want a build stage and a slim final one", len(stages))
	}
	final := stages[len(stages)-1]
	if base := final.from[0]; base != "scratch" && !strings.HasPrefix(base, "gcr.io/distroless/static") {
		t.Errorf("final stage FROM %s, want gcr.io/distroless/static… or scratch", base)
	}
	users := final.find("user")
	if len(users) == 0 {
		t.Error("the final stage sets no USER; it would run as root")
	} else if u := args(users[len(users)-1])[0]; u == "root" || u == "0" || strings.HasPrefix(u, "0:") || strings.HasPrefix(u, "root:") {
		t.Errorf("USER %s, want an unprivileged user", u)
	}
	if len(final.find("healthcheck")) == 0 {
		t.Error("no HEALTHCHECK")
	}

	var build string
	for _, s := range stages[:len(stages)-1] {
		for _, run := range s.find("run") {
			if cmd := strings.Join(args(run), " "); strings.Contains(cmd, "go build") {
				build = cmd
			}
		}
	}
	if !strings.Contains(build, "CGO_ENABLED=0") || !strings.Contains(build, "./cmd/homeward") {
		t.Errorf("go build: %q, want a static build (CGO_ENABLED=0) of ./cmd/homeward", build)
	}
	if strings.Contains(build, "-tags") {
		t.Errorf("go build: %q, want the production build, with no build tags (dev links the development server)", build)
	}
	out := fieldAfter(build, "-o")
	copies := final.find("copy")
	if len(copies) == 0 || !slices.Contains(args(copies[0]), out) || !slices.ContainsFunc(copies[0].Flags, func(f string) bool { return strings.HasPrefix(f, "--from=") }) {
		t.Errorf("the final stage copies %v, want the built %s from the build stage", copies, out)
	}
	entry := final.find("entrypoint")
	if len(entry) == 0 || !strings.HasSuffix(args(entry[0])[0], "/homeward") {
		t.Error("ENTRYPOINT is not the homeward binary")
	}
}

func fieldAfter(cmd, flag string) string {
	f := strings.Fields(cmd)
	if i := slices.Index(f, flag); i >= 0 && i+1 < len(f) {
		return f[i+1]
	}
	return ""
}
