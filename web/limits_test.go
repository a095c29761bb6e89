package web_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"homeward/store"
)

// Pages read a form as the API reads a body: none larger than 2 MB, with
// or without a Content-Length, and no multipart body, at sign-in or after.
func TestFormsHaveABodyLimit(t *testing.T) {
	s := start(t)
	u, _ := s.env.AddUser(t, store.RoleCoordinator)
	b := s.signIn(t, u)
	send := func(path, contentType string, body io.Reader, length int64) (int, string) {
		t.Helper()
		req, err := http.NewRequest("POST", s.env.URL+path, body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = length
		req.Header.Set("Content-Type", contentType)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(raw)
	}
	huge := "token=" + strings.Repeat("Ł", 1<<20) // just over 2 MB
	form := "application/x-www-form-urlencoded"
	for _, path := range []string{"/sign-in/link", "/referrals/new"} {
		if st, body := send(path, form, strings.NewReader(huge), int64(len(huge))); st != http.StatusRequestEntityTooLarge || !strings.Contains(body, "2 MB") {
			t.Errorf("POST %s, %d bytes: %d, want 413 with the limit in words", path, len(huge), st)
		}
		// Chunked: no Content-Length to refuse it by.
		if st, _ := send(path, form, io.MultiReader(strings.NewReader(huge)), -1); st != http.StatusRequestEntityTooLarge {
			t.Errorf("POST %s, chunked: %d, want 413", path, st)
		}
		var mp bytes.Buffer
		w := multipart.NewWriter(&mp)
		_ = w.WriteField("token", "x")
		_ = w.Close()
		if st, body := send(path, w.FormDataContentType(), &mp, int64(mp.Len())); st != http.StatusUnsupportedMediaType || !strings.Contains(body, "plain forms") {
			t.Errorf("POST %s, multipart: %d, want 415", path, st)
		}
	}
}
