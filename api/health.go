package api

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"go.temporal.io/sdk/client"
)

// readyTimeout bounds each readiness check.
const readyTimeout = 2 * time.Second

func (h *handlers) healthz(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"status": "ok"})
}

// readyz checks PostgreSQL and Temporal at the same time. Failures are
// logged; the answer only says which one is unavailable.
func (h *handlers) readyz(c *gin.Context) {
	ctx := c.Request.Context()
	var pgErr, tErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		cctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		pgErr = h.Store.Ping(cctx)
	}()
	go func() {
		defer wg.Done()
		cctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		_, tErr = h.Temporal.CheckHealth(cctx, &client.CheckHealthRequest{})
	}()
	wg.Wait()

	checks := map[string]string{"postgres": "ok", "temporal": "ok"}
	if pgErr != nil {
		checks["postgres"] = "unavailable"
		h.log.WarnContext(ctx, "Readiness: PostgreSQL unavailable", "request_id", requestID(c), "error", pgErr)
	}
	if tErr != nil {
		checks["temporal"] = "unavailable"
		h.log.WarnContext(ctx, "Readiness: Temporal unavailable", "request_id", requestID(c), "error", tErr)
	}
	if pgErr != nil || tErr != nil {
		c.Header("Retry-After", retryAfter)
		c.JSON(http.StatusServiceUnavailable, gin.H{"status": "unavailable", "checks": checks})
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready", "checks": checks})
}
