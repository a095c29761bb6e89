package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"homeward/internal/smtptest"
)

// runScale opens cfg.sleeping episodes (they sleep towards their 72-hour
// deadlines), then reports the process's RSS and the board query's p95 with
// them all open. Everything runs in this one process (Temporal server,
// PostgreSQL client, API and worker), so the RSS is an upper bound on the
// worker's; Homeward's worker runs with the SDK's default sticky cache
// (10,000 workflows) and pollers.
func runScale(ctx context.Context, hw *homeward, cfg config, out io.Writer) error {
	returned := time.Now().Add(-time.Hour)
	var done atomic.Int64
	stop := reportProgress(ctx, hw, out, &done)
	limit := rate.NewLimiter(rate.Inf, 1)
	if cfg.openRate > 0 {
		limit = rate.NewLimiter(rate.Limit(cfg.openRate), 1)
	}
	opened := measure(ctx, "scale: POST /v1/episodes", cfg.sleeping, cfg.concurrency, func(ctx context.Context, i int) error {
		if err := limit.Wait(ctx); err != nil {
			return err
		}
		_, err := hw.open(ctx, 1_000_000+i, returned)
		done.Add(1)
		return err
	})
	// The board reads the records: let the projections catch up first, for
	// as long as they make progress.
	open, err := waitForRecords(ctx, hw, int64(cfg.sleeping-opened.errors))
	stop()
	if err != nil {
		return err
	}
	boards := []string{"/v1/episodes?open=true&limit=50", "/v1/episodes?status=awaiting_contact&limit=50"}
	var board []figures
	for _, q := range boards {
		board = append(board, measure(ctx, "board: GET "+q, 200, 1, func(ctx context.Context, i int) error {
			return hw.do(ctx, "GET", q, hw.coordinator, nil, 200, nil)
		}))
	}
	runtime.GC()
	fmt.Fprintf(out, "\nScale: %d episodes opened at %.1f/s (%d errors); %d open in the records\n", cfg.sleeping, opened.rate(), opened.errors, open)
	fmt.Fprintf(out, "process RSS %s, peak %s (Temporal server, API and worker together); Go heap in use %s\n", rss(), procStatus("VmHWM:"), heapInUse())
	for i, q := range boards {
		fmt.Fprintf(out, "board GET %s, one caller, 200 times: p50 %s, p95 %s (goal p95 < 100 ms)\n", q, ms(board[i].p50), ms(percentileOf(board[i], 0.95)))
	}
	return ctx.Err()
}

// waitForRecords waits until the records hold want open episodes, or
// stop growing for two minutes, and returns how many they hold.
func waitForRecords(ctx context.Context, hw *homeward, want int64) (int64, error) {
	var open, before int64
	moved := time.Now()
	for ctx.Err() == nil {
		if err := hw.store.Pool.QueryRow(ctx, `SELECT count(*) FROM episodes WHERE status <> 'closed'`).Scan(&open); err != nil {
			return open, err
		}
		if open > before {
			before, moved = open, time.Now()
		}
		if open >= want || time.Since(moved) > 2*time.Minute {
			break
		}
		time.Sleep(time.Second)
	}
	return open, ctx.Err()
}

// reportProgress prints, every 30 seconds of a long scale run, how many
// episodes are opened, the rate over those 30 seconds, how many the records
// hold and the process's RSS, so a slowdown shows when it starts.
func reportProgress(ctx context.Context, hw *homeward, out io.Writer, done *atomic.Int64) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(30 * time.Second)
		defer tick.Stop()
		start, last := time.Now(), int64(0)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			n := done.Load()
			var records int64
			_ = hw.store.Pool.QueryRow(ctx, `SELECT count(*) FROM episodes`).Scan(&records)
			fmt.Fprintf(out, "  %s: %d opened, %.1f/s in the last 30 s; %d in the records; RSS %s\n",
				time.Since(start).Round(time.Second), n, float64(n-last)/30, records, rss())
			last = n
		}
	}()
	return func() { cancel(); <-finished }
}

// percentileOf is kept by measure only for p50 and p99; the board needs
// p95, so it is measured again from the figures' own samples.
func percentileOf(f figures, p float64) time.Duration {
	if len(f.samples) == 0 {
		return 0
	}
	return percentile(f.samples, p)
}

func rss() string { return procStatus("VmRSS:") }

// procStatus is a memory figure of this process's /proc status (VmRSS:
// resident now, VmHWM: the most it has been).
func procStatus(field string) string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return fmt.Sprintf("%.0f MiB", float64(kb)/1024)
		}
	}
	return "unknown"
}

func heapInUse() string {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return fmt.Sprintf("%.0f MiB", float64(m.HeapInuse)/(1<<20))
}

// runStorm opens cfg.storm episodes whose offer deadlines all fall in the
// same second, and measures when each breach email reaches SMTP after its
// deadline, and that each goes once (the bench's commissioner has one
// manager).
func runStorm(ctx context.Context, hw *homeward, smtp *smtptest.Server, cfg config, out io.Writer) error {
	// Far enough ahead that every episode is open before it falls due.
	lead := 30*time.Second + time.Duration(cfg.storm)*100*time.Millisecond
	deadline := time.Now().Add(lead).Truncate(time.Second)
	returned := deadline.Add(-72 * time.Hour)
	before := len(breaches(smtp.Messages()))
	opened := measure(ctx, "storm: POST /v1/episodes", cfg.storm, cfg.concurrency, func(ctx context.Context, i int) error {
		_, err := hw.open(ctx, 2_000_000+i, returned)
		return err
	})
	fmt.Fprintf(out, "\nDeadline storm: %d episodes due at %s, opened at %.1f/s (%d errors), the last %s before the deadline\n",
		cfg.storm, deadline.Format(time.TimeOnly), opened.rate(), opened.errors, time.Until(deadline).Round(time.Second))
	want := before + cfg.storm - opened.errors
	giveUp := time.Now().Add(time.Until(deadline) + 2*time.Minute)
	for len(breaches(smtp.Messages())) < want && time.Now().Before(giveUp) && ctx.Err() == nil {
		time.Sleep(time.Second)
	}
	time.Sleep(5 * time.Second) // room for a duplicate to show
	all := breaches(smtp.Messages())[before:]
	per := map[string]int{}
	late := make([]time.Duration, 0, len(all))
	for _, m := range all {
		per[m.Header.Get("X-Homeward-Reference")+" "+strings.Join(m.To, ",")]++
		late = append(late, m.At.Sub(deadline))
	}
	twice := 0
	for _, n := range per {
		if n > 1 {
			twice++
		}
	}
	within := 0
	for _, l := range late {
		if l <= 30*time.Second {
			within++
		}
	}
	fmt.Fprintf(out, "breach emails: %d of %d, %d sent more than once, %d within 30 s of the deadline\n", len(all), want-before, twice, within)
	fmt.Fprintf(out, "lateness: p50 %s, p90 %s, p99 %s, max %s\n",
		ms(percentile(late, 0.5)), ms(percentile(late, 0.9)), ms(percentile(late, 0.99)), ms(percentile(late, 1)))
	return ctx.Err()
}

func breaches(msgs []smtptest.Received) []smtptest.Received {
	var out []smtptest.Received
	for _, m := range msgs {
		if m.Header.Get("X-Homeward-Escalation") == "deadline_breached" {
			out = append(out, m)
		}
	}
	return out
}
