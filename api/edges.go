package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// EdgeConfig guards the API's edges.
type EdgeConfig struct {
	// RateLimit is the requests per second each signed-in user may make on
	// average: 0 means the default 10, a negative value turns it off.
	RateLimit float64
	// RateBurst is how many requests a user may make at once; default 40.
	RateBurst int
	// TrustedProxies (IPs or CIDRs) are the only peers whose
	// X-Forwarded-For and X-Real-IP set the client's IP; default none.
	TrustedProxies []string
	// CORSOrigins are the browser origins allowed to call the API, matched
	// exactly; default none.
	CORSOrigins []string
}

// Limits of the per-user rate limiter's memory.
const (
	limiterIdle       = 10 * time.Minute // a user idle this long is forgotten
	limiterMaxEntries = 10000            // past this many users, the idle are swept at once
	limiterSweepEvery = time.Minute
)

// corsMethods and corsHeaders are what a preflight allows.
const (
	corsMethods = "GET, POST, OPTIONS"
	corsHeaders = "Authorization, Content-Type, Idempotency-Key, X-Namespace, X-Request-ID"
	corsExpose  = "Retry-After, X-Request-ID"
)

// setupEdges applies the EdgeConfig to the engine and to h. A list of
// trusted proxies that does not parse is a configuration mistake that
// config.Load reports first, so it panics here.
func (h *handlers) setupEdges(r *gin.Engine) {
	e := h.Edges
	var proxies []string
	if len(e.TrustedProxies) > 0 {
		proxies = e.TrustedProxies
	}
	// nil trusts no proxy: a forged X-Forwarded-For never becomes ClientIP.
	if err := r.SetTrustedProxies(proxies); err != nil {
		panic(fmt.Sprintf("api: trusted proxies: %v", err))
	}
	h.corsOrigins = map[string]bool{}
	for _, o := range e.CORSOrigins {
		h.corsOrigins[o] = true
	}
	if e.RateLimit >= 0 {
		limit, burst := e.RateLimit, e.RateBurst
		if limit == 0 {
			limit = 10
		}
		if burst <= 0 {
			burst = 40
		}
		h.limiter = newUserLimiter(rate.Limit(limit), burst, limiterIdle, limiterMaxEntries)
	}
	if h.OIDC != nil && h.OIDC.Issuer != "" {
		h.oidc = newOIDCAuth(*h.OIDC)
	}
}

// securityHeaders are on every response, errors and preflights included.
func (h *handlers) securityHeaders(c *gin.Context) {
	hd := c.Writer.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	hd.Set("Cache-Control", "no-store")
	hd.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
	c.Next()
}

// cors lets the configured origins, and only they, call the API from a
// browser. A preflight from an allowed origin is answered here.
func (h *handlers) cors(c *gin.Context) {
	origin := c.GetHeader("Origin")
	if origin == "" {
		c.Next()
		return
	}
	c.Writer.Header().Add("Vary", "Origin")
	if !h.corsOrigins[origin] {
		c.Next()
		return
	}
	hd := c.Writer.Header()
	hd.Set("Access-Control-Allow-Origin", origin)
	hd.Set("Access-Control-Expose-Headers", corsExpose)
	if c.Request.Method == http.MethodOptions && c.GetHeader("Access-Control-Request-Method") != "" {
		hd.Add("Vary", "Access-Control-Request-Method")
		hd.Add("Vary", "Access-Control-Request-Headers")
		hd.Set("Access-Control-Allow-Methods", corsMethods)
		hd.Set("Access-Control-Allow-Headers", corsHeaders)
		hd.Set("Access-Control-Max-Age", "600")
		c.AbortWithStatus(http.StatusNoContent)
		return
	}
	c.Next()
}

// rateLimit holds each signed-in user to the configured rate.
func (h *handlers) rateLimit(c *gin.Context) {
	if h.limiter == nil {
		c.Next()
		return
	}
	id := currentUser(c).ID
	if id == "" {
		c.Next()
		return
	}
	if wait, ok := h.limiter.allow(id, time.Now()); !ok {
		secs := int(math.Ceil(wait.Seconds()))
		if secs < 1 {
			secs = 1
		}
		c.Header("Retry-After", strconv.Itoa(secs))
		abort(c, http.StatusTooManyRequests, "Too many requests; try again in "+strconv.Itoa(secs)+" s.",
			Detail{Field: "Authorization", Reason: "this user's request rate is over the limit"})
		return
	}
	c.Next()
}

// userLimiter is a token bucket per user, forgetting users idle for long.
type userLimiter struct {
	limit      rate.Limit
	burst      int
	idle       time.Duration
	maxEntries int

	mu        sync.Mutex
	users     map[string]*limiterEntry
	lastSweep time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newUserLimiter(limit rate.Limit, burst int, idle time.Duration, maxEntries int) *userLimiter {
	return &userLimiter{limit: limit, burst: burst, idle: idle, maxEntries: maxEntries, users: map[string]*limiterEntry{}}
}

// allow takes a token of key's bucket, or says how long until there is one.
func (l *userLimiter) allow(key string, now time.Time) (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) >= limiterSweepEvery || len(l.users) >= l.maxEntries {
		l.sweep(now)
	}
	e := l.users[key]
	if e == nil {
		if len(l.users) >= l.maxEntries {
			// Still full of active users: forget the longest idle one.
			var oldest string
			var oldestSeen time.Time
			for k, v := range l.users {
				if oldest == "" || v.seen.Before(oldestSeen) {
					oldest, oldestSeen = k, v.seen
				}
			}
			delete(l.users, oldest)
		}
		e = &limiterEntry{lim: rate.NewLimiter(l.limit, l.burst)}
		l.users[key] = e
	}
	e.seen = now
	r := e.lim.ReserveN(now, 1)
	if !r.OK() {
		return time.Second, false
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}

// sweep forgets users idle for longer than idle. A forgotten user's bucket
// would be full again by then anyway.
func (l *userLimiter) sweep(now time.Time) {
	l.lastSweep = now
	for k, e := range l.users {
		if now.Sub(e.seen) > l.idle {
			delete(l.users, k)
		}
	}
}

func (l *userLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.users)
}

// rejectNUL refuses a JSON body with a NUL character (\u0000) in any
// string, naming the field: PostgreSQL text cannot hold NUL, so such a
// value would fail the store (500) or, sent on to the workflow, fail the
// activity that records it again and again. Bodies are read at most to
// maxBody here; decode answers anything larger.
func (h *handlers) rejectNUL(c *gin.Context) {
	r := c.Request
	if r.Body == nil || r.Body == http.NoBody || r.Method == http.MethodGet {
		c.Next()
		return
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
	if err != nil || !bytes.Contains(buf, []byte(`\u0000`)) {
		c.Next()
		return
	}
	if field, ok := nulField(buf); ok {
		abort(c, http.StatusBadRequest, "The request is not valid: "+field+" must not contain the NUL character.",
			Detail{Field: field, Reason: "must not contain the NUL character"})
		return
	}
	c.Next()
}

// nulField finds the first string of the JSON document b holding a NUL,
// and names it by its object keys joined with dots ("body" at the top).
func nulField(b []byte) (string, bool) {
	type frame struct {
		obj, wantKey bool
		key          string
	}
	var stack []*frame
	path := func(extra string) string {
		var keys []string
		for _, f := range stack {
			if f.obj && f.key != "" {
				keys = append(keys, f.key)
			}
		}
		if extra != "" {
			keys = append(keys, extra)
		}
		if len(keys) == 0 {
			return "body"
		}
		return strings.Join(keys, ".")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", false // not JSON (decode says so) or the end
		}
		var top *frame
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				if top != nil && top.obj {
					top.wantKey = true // after this value, a key
				}
				stack = append(stack, &frame{obj: v == '{', wantKey: v == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			if top != nil && top.obj && top.wantKey {
				if strings.ContainsRune(v, 0) {
					return path(""), true // named by its object, never echoed
				}
				top.key, top.wantKey = v, false
				continue
			}
			if strings.ContainsRune(v, 0) {
				return path(""), true
			}
			if top != nil && top.obj {
				top.wantKey = true
			}
		default:
			if top != nil && top.obj {
				top.wantKey = true
			}
		}
	}
}
