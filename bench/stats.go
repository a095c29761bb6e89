package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// figures are one measured operation: how many per second, and how long
// each took.
type figures struct {
	name     string
	n        int
	errors   int
	elapsed  time.Duration
	p50, p99 time.Duration
	firstErr error
	samples  []time.Duration // sorted
}

func (f figures) rate() float64 {
	if f.elapsed <= 0 {
		return 0
	}
	return float64(f.n-f.errors) / f.elapsed.Seconds()
}

// measure runs op for i in [0, count) from concurrency callers at once.
func measure(ctx context.Context, name string, count, concurrency int, op func(ctx context.Context, i int) error) figures {
	lat := make([]time.Duration, count)
	var next atomic.Int64
	var mu sync.Mutex
	f := figures{name: name, n: count}
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= count || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				err := op(ctx, i)
				lat[i] = time.Since(t0)
				if err != nil {
					mu.Lock()
					f.errors++
					if f.firstErr == nil {
						f.firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	f.elapsed = time.Since(start)
	f.p50, f.p99 = percentile(lat, 0.50), percentile(lat, 0.99)
	f.samples = lat
	return f
}

// percentile of d (nearest rank); d is sorted in place.
func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	i := int(float64(len(d))*p+0.5) - 1
	return d[max(0, min(i, len(d)-1))]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

func printHeader(w io.Writer) {
	fmt.Fprintf(w, "%-34s %8s %10s %10s %10s %7s\n", "operation", "count", "rate/s", "p50", "p99", "errors")
}

func printFigures(w io.Writer, fs ...figures) {
	for _, f := range fs {
		fmt.Fprintf(w, "%-34s %8d %10.1f %10s %10s %7d\n", f.name, f.n, f.rate(), ms(f.p50), ms(f.p99), f.errors)
		if f.firstErr != nil {
			fmt.Fprintf(w, "  first error: %v\n", f.firstErr)
		}
	}
}

// printRatios prints Homeward / raw for rates and p99s.
func printRatios(w io.Writer, rawStart, rawUpdate, open, outcome figures) {
	ratio := func(a, b float64) float64 {
		if b == 0 {
			return 0
		}
		return a / b
	}
	fmt.Fprintf(w, "\nHomeward / raw                        rate    p99   (goals: rate >= 0.8, p99 <= 1.5)\n")
	fmt.Fprintf(w, "%-34s %6.2fx %6.2fx\n", "open episode vs start workflow", ratio(open.rate(), rawStart.rate()), ratio(float64(open.p99), float64(rawStart.p99)))
	fmt.Fprintf(w, "%-34s %6.2fx %6.2fx\n", "record outcome vs update", ratio(outcome.rate(), rawUpdate.rate()), ratio(float64(outcome.p99), float64(rawUpdate.p99)))
}
