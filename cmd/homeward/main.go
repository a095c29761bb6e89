// Command homeward runs the Homeward service and its administration tasks.
//
//	homeward dev                 everything in one process for trying it: embedded Temporal, local PostgreSQL, outbox email
//	homeward serve               API and worker against existing Temporal, PostgreSQL and SMTP
//	homeward api | worker        one of the two, to scale them separately
//	homeward migrate             apply database migrations
//	homeward health              exit 0 when the API here is ready (container health check)
//	homeward user add --name N --email E --role R   create a user and print its token once, and a sign-in link
//	homeward user link --email E  print a new one-time web sign-in link
//	homeward keys new            print a fresh payload encryption key line (id:base64)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `usage: homeward <command> [flags]

commands:
  dev        run everything in one process for trying Homeward (embedded Temporal,
             local PostgreSQL in HOMEWARD_DATA_DIR, email to the outbox)
  serve      run the API and the worker against TEMPORAL_ADDRESS and DATABASE_URL
  api        run only the API
  worker     run only the worker
  migrate    apply the database migrations and exit
  health     exit 0 when the API on HOMEWARD_LISTEN is ready (the image's health check)
  user add   --name NAME --email EMAIL --role coordinator|interviewer|manager|admin
             create a user and print its API token (shown once); --commissioner NAME
             for a commissioner's staff (created if missing); also prints a one-time
             web sign-in link
  user link  --email EMAIL
             print a new one-time web sign-in link (15 minutes, HOMEWARD_PUBLIC_URL)
  commissioner add --name NAME
             create a commissioner (a local authority the provider works for)
  keys new   print a fresh payload encryption key line (id:base64) for HOMEWARD_PAYLOAD_KEYS_FILE

Configuration comes from environment variables; see the README.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, errUsage) {
			fmt.Fprint(os.Stderr, usage)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "homeward:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "dev":
		return runDev(ctx, stdout, stderr)
	case "serve":
		return runServer(ctx, stderr, true, true)
	case "api":
		return runServer(ctx, stderr, true, false)
	case "worker":
		return runServer(ctx, stderr, false, true)
	case "migrate":
		return runMigrate(ctx, stderr)
	case "health":
		return runHealth(ctx)
	case "keys":
		return runKeys(args[1:], stdout)
	case "user":
		if len(args) < 2 {
			return errUsage
		}
		switch args[1] {
		case "add":
			return runUserAdd(ctx, args[2:], stdout, stderr)
		case "link":
			return runUserLink(ctx, args[2:], stdout, stderr)
		}
		return errUsage
	case "commissioner":
		if len(args) < 2 || args[1] != "add" {
			return errUsage
		}
		return runCommissionerAdd(ctx, args[2:], stdout, stderr)
	case "audit":
		return runAudit(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return errUsage
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: l}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
