package main

import (
	"context"
	"fmt"
	"io"
)

// runAudit runs `homeward audit verify`: it walks the audit trail's hash
// chain and says whether it is intact. A broken chain is an error naming the
// first broken row, so the command exits non-zero.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] != "verify" {
		return errUsage
	}
	st, done, err := openStore(ctx, stderr, false)
	if err != nil {
		return err
	}
	defer done()
	res, err := st.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("cannot verify the audit chain (has `homeward migrate` run?): %w", err)
	}
	if !res.OK {
		return fmt.Errorf("audit chain broken at row %d: %s (%d rows read)", res.FirstBroken, res.Reason, res.Rows)
	}
	fmt.Fprintf(stdout, "audit chain intact: %d rows\n", res.Rows)
	return nil
}
