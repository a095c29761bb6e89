package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"homeward/store"
)

// runCommissionerAdd creates a commissioner (a local authority the provider
// runs interviews for) and prints its id.
func runCommissionerAdd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("commissioner add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the commissioner's name, such as the local authority's")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if strings.TrimSpace(*name) == "" {
		return errors.New("--name is required")
	}
	st, done, err := openStore(ctx, stderr, true)
	if err != nil {
		return err
	}
	defer done()
	c, err := st.CreateCommissioner(ctx, *name)
	if errors.Is(err, store.ErrConflict) {
		return fmt.Errorf("a commissioner named %q already exists", strings.TrimSpace(*name))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Created commissioner %s (id %s).\n", c.Name, c.ID)
	return nil
}
