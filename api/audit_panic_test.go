package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"homeward/api"
	"homeward/internal/pglocal"
	"homeward/store"
)

// TestAuditTrailPanic: a handler that panics still leaves its outcome row
// (500, "error") in the trail, and the client gets the 500 in the error shape.
func TestAuditTrailPanic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := store.Open(ctx, pglocal.NewTestDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	token, hash, err := api.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	u, err := st.CreateUser(ctx, "Pat Manager", "pat@test.homeward", store.RoleManager, hash)
	if err != nil {
		t.Fatal(err)
	}
	r := api.NewRouterWith(api.Deps{Store: st}, func(v1 *gin.RouterGroup) {
		boom := func(*gin.Context) { panic("a handler fault") }
		v1.GET("/faulty", boom)
		v1.POST("/faulty", boom)
	})
	for _, method := range []string{"GET", "POST"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, "/v1/faulty", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		r.ServeHTTP(rec, req)
		e := wantError(t, rec.Code, rec.Body.Bytes(), http.StatusInternalServerError, "internal", "")
		if e.Error.Message != "internal error" {
			t.Fatalf("%s: message %q", method, e.Error.Message)
		}
		noGoErrorText(t, rec.Body.Bytes())
		rows, err := st.ListAudit(ctx, store.AuditFilter{UserID: u.ID, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		var outcome *store.AuditEntry
		for i := range rows {
			if rows[i].RequestID == rec.Header().Get("X-Request-ID") && rows[i].Outcome != "attempt" {
				outcome = &rows[i]
			}
		}
		if outcome == nil {
			t.Fatalf("%s: no outcome row for the request that panicked among %+v", method, rows)
		}
		if outcome.Status != 500 || outcome.Outcome != "error" || outcome.Resource != method+" /v1/faulty" {
			t.Fatalf("%s: outcome row %+v, want status 500, outcome error", method, *outcome)
		}
	}
	if res, err := st.VerifyAudit(ctx); err != nil || !res.OK {
		t.Fatalf("VerifyAudit = %+v, %v", res, err)
	}
}
