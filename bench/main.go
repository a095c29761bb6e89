// Command bench measures Homeward against the Temporal SDK on its own, in
// one run on one machine: one embedded Temporal server, one local
// PostgreSQL, the same callers and the same count for both.
//
//	go run ./bench                       # 2,000 episodes, 50 callers
//	go run ./bench -count 200 -concurrency 10 -cpuprofile cpu.pprof
//	go run ./bench -count 200 -concurrency 10 -sleeping 100000 -rate 35   # the scale run
//	go run ./bench -storm 1000           # the deadline storm
//
// It prints rate, p50 and p99 of (a) starting an episode-shaped workflow
// and sending it one update through the SDK, with its own worker, and (b)
// opening an episode and recording one outcome through Homeward's HTTP API
// (auth, audit and projection included) with Homeward's worker; then the
// ratios Homeward / raw. Figures, never assertions: see the README's
// performance section.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	_ "net/http/pprof" // served only with -pprof
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"homeward/internal/devtemporal"
	"homeward/internal/pglocal"
	"homeward/internal/smtptest"
	"homeward/mail"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type config struct {
	count, concurrency int
	sleeping           int     // scale run: episodes left sleeping; 0 skips it
	openRate           float64 // scale run: episodes opened a second; 0 as fast as the callers go
	storm              int     // deadline storm: episodes due in one second; 0 skips it
	cpuProfile         string
	pprofListen        string
}

func parseFlags(args []string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.IntVar(&c.count, "count", 2000, "episodes per measurement")
	fs.IntVar(&c.concurrency, "concurrency", 50, "callers at once")
	fs.IntVar(&c.sleeping, "sleeping", 0, "scale run: open this many episodes, then measure RSS and the board query")
	fs.Float64Var(&c.openRate, "rate", 0, "scale run: open this many episodes a second (0: as fast as the callers go)")
	fs.IntVar(&c.storm, "storm", 0, "deadline storm: this many episodes whose offer deadlines fall in the same second")
	fs.StringVar(&c.cpuProfile, "cpuprofile", "", "write a CPU profile of the Homeward measurement here")
	fs.StringVar(&c.pprofListen, "pprof", "", "serve net/http/pprof at this address (e.g. 127.0.0.1:6060) to profile a long run while it runs")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.count < 1 || c.concurrency < 1 || c.sleeping < 0 || c.storm < 0 || c.openRate < 0 {
		return c, errors.New("count and concurrency must be at least 1, sleeping, rate and storm not negative")
	}
	return c, nil
}

func run(ctx context.Context, args []string, out io.Writer) error {
	cfg, err := parseFlags(args, out)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if cfg.pprofListen != "" {
		// Everything runs in this process, so one profile shows the Temporal
		// server, the API, the worker and the load together.
		go func() { log.Warn("pprof stopped", "error", http.ListenAndServe(cfg.pprofListen, nil)) }()
	}
	dir, err := os.MkdirTemp("", "homeward-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// As root, PostgreSQL runs as its own OS user, who must enter the folder.
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(out, "Starting PostgreSQL and Temporal (%d CPUs, GOMAXPROCS %d)\n", runtime.NumCPU(), runtime.GOMAXPROCS(0))
	pg, err := pglocal.Start(ctx, pglocal.Options{DataDir: filepath.Join(dir, "pg"), Database: "homeward", Relocate: true, Logger: log})
	if err != nil {
		return fmt.Errorf("starting PostgreSQL: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = pg.Stop(sctx)
	}()
	// The server's own logs are left out: it complains of work cut short when
	// the run stops.
	ts, err := devtemporal.Start(ctx, devtemporal.Options{DBFile: filepath.Join(dir, "temporal.db")})
	if err != nil {
		return fmt.Errorf("starting Temporal: %w", err)
	}
	defer ts.Stop() //nolint:errcheck
	tc, err := client.DialContext(ctx, client.Options{HostPort: ts.FrontendHostPort(), Namespace: ts.Namespace(), Logger: sdklog.NewStructuredLogger(log)})
	if err != nil {
		return fmt.Errorf("connecting to Temporal: %w", err)
	}
	defer tc.Close()

	fmt.Fprintf(out, "\n%d episodes, %d callers at once, one process (%d CPUs)\n", cfg.count, cfg.concurrency, runtime.NumCPU())
	printHeader(out)
	rawStart, rawUpdate, err := measureRaw(ctx, tc, cfg, out)
	if err != nil {
		return err
	}
	smtp, err := smtptest.Listen(func(string, ...any) {})
	if err != nil {
		return fmt.Errorf("starting the SMTP server: %w", err)
	}
	defer smtp.Close()
	mailer, err := mail.New(smtp.URL(), "Homeward <homeward@bench>", "")
	if err != nil {
		return err
	}
	hw, err := startHomeward(ctx, pg.URL(), tc, homewardOptions{mailer: mailer, concurrency: cfg.concurrency}, log)
	if err != nil {
		return err
	}
	defer hw.close()
	open, outcome, err := measureHomeward(ctx, hw, cfg, out)
	if err != nil {
		return err
	}
	printRatios(out, rawStart, rawUpdate, open, outcome)
	if cfg.sleeping > 0 {
		if err := runScale(ctx, hw, cfg, out); err != nil {
			return err
		}
	}
	if cfg.storm > 0 {
		if err := runStorm(ctx, hw, smtp, cfg, out); err != nil {
			return err
		}
	}
	return nil
}

func measureRaw(ctx context.Context, tc client.Client, cfg config, out io.Writer) (start, update figures, err error) {
	stop, err := startRawWorker(tc)
	if err != nil {
		return start, update, err
	}
	defer stop()
	runID := fmt.Sprint(time.Now().UnixNano())
	ids := make([]string, cfg.count)
	start = measure(ctx, "raw: start workflow", cfg.count, cfg.concurrency, func(ctx context.Context, i int) error {
		id, err := rawStart(ctx, tc, runID, i)
		ids[i] = id
		return err
	})
	printFigures(out, start)
	update = measure(ctx, "raw: update (contact attempt)", cfg.count, cfg.concurrency, func(ctx context.Context, i int) error {
		return rawUpdate(ctx, tc, ids[i])
	})
	printFigures(out, update)
	return start, update, ctx.Err()
}

func measureHomeward(ctx context.Context, hw *homeward, cfg config, out io.Writer) (open, outcome figures, err error) {
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return open, outcome, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return open, outcome, err
		}
		defer pprof.StopCPUProfile()
	}
	ids := make([]string, cfg.count)
	returned := time.Now().Add(-time.Hour)
	open = measure(ctx, "Homeward: POST /v1/episodes", cfg.count, cfg.concurrency, func(ctx context.Context, i int) error {
		id, err := hw.open(ctx, i, returned)
		ids[i] = id
		return err
	})
	printFigures(out, open)
	outcome = measure(ctx, "Homeward: POST .../contact-attempts", cfg.count, cfg.concurrency, func(ctx context.Context, i int) error {
		if ids[i] == "" {
			return errNoEpisode
		}
		return hw.outcome(ctx, ids[i])
	})
	printFigures(out, outcome)
	return open, outcome, ctx.Err()
}
