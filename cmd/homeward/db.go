package main

import (
	"context"
	"io"

	"homeward/store"
)

// openStore opens the configured database for an administration command,
// or with no DATABASE_URL the development cluster in the data folder, and
// migrates it when migrate is set. done closes what it opened.
func openStore(ctx context.Context, stderr io.Writer, migrate bool) (*store.Store, func(), error) {
	cfg, _, err := loadConfig("text")
	if err != nil {
		return nil, nil, err
	}
	// Only problems are worth saying around what the command prints.
	log := newLogger(stderr, "warn", cfg.LogFormat)
	stopDB := func() {}
	if cfg.DatabaseURL == "" {
		url, stop, err := devDatabase(ctx, cfg, log)
		if err != nil {
			return nil, nil, err
		}
		stopDB = stop
		cfg.DatabaseURL = url
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		stopDB()
		return nil, nil, err
	}
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			stopDB()
			return nil, nil, err
		}
	}
	return st, func() { st.Close(); stopDB() }, nil
}
