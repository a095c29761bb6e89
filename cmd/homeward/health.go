package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// runHealth asks this container's API whether it is ready (GET /readyz on
// HOMEWARD_LISTEN), for the image's health check: distroless has no shell
// or curl, so the binary checks itself.
func runHealth(ctx context.Context) error {
	url := "http://" + localAddress(os.Getenv("HOMEWARD_LISTEN")) + "/readyz"
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %s", url, resp.Status)
	}
	return nil
}

// localAddress is where a listen address is reached from the same host:
// ":8080" and "0.0.0.0:8080" at 127.0.0.1:8080.
func localAddress(listen string) string {
	if listen == "" {
		listen = ":8080"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
