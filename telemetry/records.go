package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"homeward/store"
)

// WorkloadReader is what the records collector asks on a scrape.
type WorkloadReader interface {
	Workload(ctx context.Context, now time.Time) (store.Workload, error)
}

// WorkloadOptions bound what a scrape costs the database.
type WorkloadOptions struct {
	// Timeout bounds the query; default 2s. A scrape past it reports
	// homeward_records_up 0 rather than wait.
	Timeout time.Duration
	// CacheFor keeps an answer for scrapes that come soon after; default 10s.
	CacheFor time.Duration
}

// WatchWorkload adds the case records' figures (open episodes by status,
// offers due within 24 hours, projection lag) to the metrics, read from r
// when scraped.
func (m *Metrics) WatchWorkload(r WorkloadReader, opts WorkloadOptions) {
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.CacheFor <= 0 {
		opts.CacheFor = 10 * time.Second
	}
	m.registry.MustRegister(&workloadCollector{r: r, opts: opts, log: m.log})
}

var (
	openDesc = prometheus.NewDesc("homeward_open_episodes",
		"Open episodes (not completed, declined or closed), by status.", []string{"status"}, nil)
	offersDueDesc = prometheus.NewDesc("homeward_offers_due_24h",
		"Open episodes with no offer made whose offer deadline falls within the next 24 hours.", nil, nil)
	lagDesc = prometheus.NewDesc("homeward_projection_lag_seconds",
		"How long the most recently projected episode's latest change took to reach the case records.", nil, nil)
	upDesc = prometheus.NewDesc("homeward_records_up",
		"1 when the case records answered the last scrape's figures in time, else 0.", nil, nil)
)

type workloadCollector struct {
	r    WorkloadReader
	opts WorkloadOptions
	log  *slog.Logger

	mu   sync.Mutex
	at   time.Time // when last read; zero: never
	last store.Workload
	err  error
}

func (c *workloadCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{openDesc, offersDueDesc, lagDesc, upDesc} {
		ch <- d
	}
}

func (c *workloadCollector) Collect(ch chan<- prometheus.Metric) {
	w, err := c.read()
	if err != nil {
		ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, 1)
	for status, n := range w.OpenByStatus {
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(n), string(status))
	}
	ch <- prometheus.MustNewConstMetric(offersDueDesc, prometheus.GaugeValue, float64(w.OffersDueSoon))
	ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, w.ProjectionLag.Seconds())
}

// read answers from the cache while it is fresh; scrapes that come
// together wait for one query.
func (c *workloadCollector) read() (store.Workload, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < c.opts.CacheFor {
		return c.last, c.err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	c.last, c.err = c.r.Workload(ctx, time.Now())
	c.at = time.Now()
	if c.err != nil {
		c.log.Warn("Reading the workload for metrics", "error", c.err)
	}
	return c.last, c.err
}
