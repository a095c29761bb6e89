package drill

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
	buildOut  []byte
)

// Homeward builds the production binary (cmd/homeward, no build tags) once
// per test binary and returns its path. Call RemoveBuild from TestMain.
func Homeward(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "homeward-drill-")
		if buildErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(buildDir, "homeward"), "homeward/cmd/homeward")
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN=local")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("drill: go build homeward: %v\n%s", buildErr, buildOut)
	}
	return filepath.Join(buildDir, "homeward")
}

// RemoveBuild removes the binary Homeward built.
func RemoveBuild() {
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
}

// Process is a Homeward command running as its own OS process.
type Process struct {
	cmd  *exec.Cmd
	out  *bytes.Buffer
	done chan struct{}
}

// Run starts bin with args and env (added to this process's environment).
// It is killed in t.Cleanup if still running; its output is logged when
// the test fails.
func Run(t testing.TB, bin string, env []string, args ...string) *Process {
	t.Helper()
	p := &Process{cmd: exec.Command(bin, args...), out: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	w := &lockedWriter{b: p.out}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	p.cmd.SysProcAttr = &syscall.SysProcAttr{}
	dieWithParent(p.cmd.SysProcAttr)
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("drill: start %s: %v", bin, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("output of %s %v (pid %d):\n%s", filepath.Base(bin), args, p.cmd.Process.Pid, w.tail(8<<10))
		}
	})
	return p
}

// Kill sends SIGKILL and waits for the process to end: no shutdown, no
// finishing of running activities.
func (p *Process) Kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Exited reports whether the process ended by itself.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

type lockedWriter struct {
	mu sync.Mutex
	b  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedWriter) tail(n int) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.b.Bytes()
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
