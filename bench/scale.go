package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"go.temporal.io/sdk/client"
)

func runScale(ctx context.Context, hw *homeward, cfg config, out io.Writer) error {
	return fmt.Errorf("scale run: not implemented yet")
}

func runStorm(ctx context.Context, dbURL string, tc client.Client, cfg config, out io.Writer, log *slog.Logger) error {
	return fmt.Errorf("deadline storm: not implemented yet")
}
