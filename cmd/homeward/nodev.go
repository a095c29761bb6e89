//go:build !dev

// The production build: no embedded Temporal server (go.temporal.io/server)
// and no local PostgreSQL manager are linked, so the binary and its
// dependencies are those of a service. TestProductionBuildLinksNoDevelopmentServer
// keeps it so.

package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"homeward/config"
)

var errNoDevBuild = errors.New("this is the production build of homeward, without the embedded Temporal server " +
	"and the local PostgreSQL: try Homeward with make run (go run -tags dev ./cmd/homeward dev)")

func runDev(context.Context, io.Writer, io.Writer) error { return errNoDevBuild }

// devDatabase: the production build has no development cluster to fall back on.
func devDatabase(context.Context, config.Config, *slog.Logger) (string, func(), error) {
	return "", nil, errors.New("DATABASE_URL is not set (the development cluster needs the development build: " +
		"make user, or go run -tags dev ./cmd/homeward ...)")
}
