package config

import (
	"strings"
	"testing"
	"time"
)

func TestWebDefaultsAndValues(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Web.PublicURL != "http://localhost:8080" || c.Web.IdleTimeout != 30*time.Minute || c.Web.SessionMax != 12*time.Hour {
		t.Fatalf("web defaults = %+v", c.Web)
	}
	c, err = Load(env(map[string]string{"HOMEWARD_PUBLIC_URL": "https://hw.example.org/",
		"HOMEWARD_WEB_IDLE_TIMEOUT": "15m", "HOMEWARD_WEB_SESSION_MAX": "8h"}))
	if err != nil || c.Web.PublicURL != "https://hw.example.org" || c.Web.IdleTimeout != 15*time.Minute || c.Web.SessionMax != 8*time.Hour {
		t.Fatalf("web = %+v, %v", c.Web, err)
	}
	_, err = Load(env(map[string]string{"HOMEWARD_PUBLIC_URL": "hw.example.org",
		"HOMEWARD_WEB_IDLE_TIMEOUT": "2h", "HOMEWARD_WEB_SESSION_MAX": "1h"}))
	for _, want := range []string{"HOMEWARD_PUBLIC_URL", "HOMEWARD_WEB_SESSION_MAX"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
}
