package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"homeward/api"
	"homeward/internal/testenv"
	"homeward/store"
	"homeward/web"
)

// Behind a trusted proxy, the audit rows of what a page asked the API for
// record the person's address, as the API's own rows do, not the proxy's.
func TestPageAuditRowsRecordTheClientBehindAProxy(t *testing.T) {
	s := &site{clock: &clock{}}
	s.env = testenv.Start(t, testenv.Options{
		Edges: &api.EdgeConfig{TrustedProxies: []string{"127.0.0.1"}},
		Mount: func(r *gin.Engine, e *testenv.Env) {
			web.Mount(r, web.Deps{API: r, Store: e.Store, Clock: s.clock.now, Logger: e.Logger})
		}})
	u, _ := s.env.AddUser(t, store.RoleCoordinator)
	b := s.signIn(t, u)
	req, err := http.NewRequest("GET", s.env.URL+"/board", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("board: %d", resp.StatusCode)
	}
	testenv.Eventually(t, 10*time.Second, "the board's API read audited with the client's address", func() bool {
		var ips []string
		rows, err := s.env.Store.Pool.Query(t.Context(),
			`SELECT client_ip FROM audit_log WHERE user_id = $1 AND resource = 'GET /v1/episodes' ORDER BY id`, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var ip string
			_ = rows.Scan(&ip)
			ips = append(ips, ip)
		}
		if len(ips) > 0 && ips[len(ips)-1] != "203.0.113.9" {
			t.Fatalf("audit rows of the board's read record %v, want the client's 203.0.113.9", ips)
		}
		return len(ips) > 0
	})
}
