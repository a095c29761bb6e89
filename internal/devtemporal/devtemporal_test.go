package devtemporal

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

const (
	testTaskQueue  = "devtemporal-test"
	testSignalName = "release"
)

// waitForSignal blocks until it receives one signal and returns its value.
func waitForSignal(ctx workflow.Context) (string, error) {
	var v string
	workflow.GetSignalChannel(ctx, testSignalName).Receive(ctx, &v)
	return "got " + v, nil
}

func startServer(t *testing.T, ctx context.Context, dbFile string) *Server {
	t.Helper()
	begin := time.Now()
	srv, err := Start(ctx, Options{
		DBFile:       dbFile,
		FrontendPort: 0,
		Logger:       slog.New(slog.NewTextHandler(os.Stderr, nil)),
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("server up at %s (namespace %q) in %s", srv.FrontendHostPort(), srv.Namespace(), time.Since(begin).Round(time.Millisecond))
	return srv
}

func dial(t *testing.T, srv *Server) client.Client {
	t.Helper()
	c, err := client.Dial(client.Options{
		HostPort:  srv.FrontendHostPort(),
		Namespace: srv.Namespace(),
		Logger:    sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)),
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return c
}

func startWorker(t *testing.T, c client.Client) worker.Worker {
	t.Helper()
	w := worker.New(c, testTaskQueue, worker.Options{})
	w.RegisterWorkflow(waitForSignal)
	if err := w.Start(); err != nil {
		t.Fatalf("worker start: %v", err)
	}
	return w
}

func TestDurableAcrossRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	dbFile := filepath.Join(t.TempDir(), "nested", "temporal.db")
	const workflowID = "devtemporal-durability"

	// --- First life: start a workflow that waits for a signal. ---
	srv1 := startServer(t, ctx, dbFile)
	stopped1 := false
	defer func() {
		if !stopped1 {
			_ = srv1.Stop()
		}
	}()
	if srv1.Namespace() != "default" {
		t.Fatalf("namespace = %q, want default", srv1.Namespace())
	}
	c1 := dial(t, srv1)
	w1 := startWorker(t, c1)

	run, err := c1.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        workflowID,
		TaskQueue: testTaskQueue,
	}, waitForSignal)
	if err != nil {
		t.Fatalf("ExecuteWorkflow: %v", err)
	}
	runID := run.GetRunID()

	// Wait until the first workflow task has been processed so the workflow
	// is really parked on the signal (not merely scheduled).
	waitFor(t, ctx, "first workflow task completed", func() (bool, error) {
		desc, err := c1.DescribeWorkflowExecution(ctx, workflowID, runID)
		if err != nil {
			return false, err
		}
		return desc.GetPendingWorkflowTask() == nil && desc.GetWorkflowExecutionInfo().GetHistoryLength() >= 4, nil
	})

	w1.Stop()
	c1.Close()
	stopBegin := time.Now()
	if err := srv1.Stop(); err != nil {
		t.Fatalf("Stop #1: %v", err)
	}
	stopped1 = true
	t.Logf("server #1 stopped in %s", time.Since(stopBegin).Round(time.Millisecond))

	if fi, err := os.Stat(dbFile); err != nil || fi.Size() == 0 {
		t.Fatalf("DB file missing or empty after stop: %v", err)
	}

	// --- Second life: same DB file, new process-level server. ---
	srv2 := startServer(t, ctx, dbFile)
	defer func() { _ = srv2.Stop() }()
	c2 := dial(t, srv2)
	defer c2.Close()

	desc, err := c2.DescribeWorkflowExecution(ctx, workflowID, "")
	if err != nil {
		t.Fatalf("describe after restart: %v", err)
	}
	info := desc.GetWorkflowExecutionInfo()
	if got := info.GetStatus(); got != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status after restart = %s, want Running", got)
	}
	if got := info.GetExecution().GetRunId(); got != runID {
		t.Fatalf("run ID after restart = %q, want %q", got, runID)
	}
	t.Logf("after restart: workflow %s/%s is %s", workflowID, runID, info.GetStatus())

	w2 := startWorker(t, c2)
	defer w2.Stop()

	if err := c2.SignalWorkflow(ctx, workflowID, "", testSignalName, "hello"); err != nil {
		t.Fatalf("SignalWorkflow: %v", err)
	}
	var result string
	if err := c2.GetWorkflow(ctx, workflowID, runID).Get(ctx, &result); err != nil {
		t.Fatalf("workflow result: %v", err)
	}
	if result != "got hello" {
		t.Fatalf("result = %q, want %q", result, "got hello")
	}
	t.Logf("workflow completed after restart with %q", result)
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s (last error: %v)", what, lastErr)
}

func TestStartFailsFastWhenPortTaken(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	_, err = Start(context.Background(), Options{
		DBFile:       filepath.Join(t.TempDir(), "temporal.db"),
		FrontendPort: port,
	})
	if err == nil {
		t.Fatal("Start succeeded on an occupied port")
	}
	t.Logf("got expected error: %v", err)
}
