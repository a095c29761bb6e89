package main

import (
	"context"
	"fmt"
	"io"
)

// runAudit runs `homeward audit verify`: it walks the audit trail's hash
// chain and says whether it is intact and how many rows are not chained yet.
// A broken chain, or a row left unchained too long (no chainer running), is
// an error naming the row, so the command exits non-zero.
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
	if res.Stalled {
		return fmt.Errorf("audit rows not chained, the oldest row %d: %s (%d rows chained, %d not yet)", res.FirstBroken, res.Reason, res.Rows, res.Unchained)
	}
	if !res.OK {
		return fmt.Errorf("audit chain broken at row %d: %s (%d rows read)", res.FirstBroken, res.Reason, res.Rows)
	}
	fmt.Fprintf(stdout, "audit chain intact: %d rows chained, %d not chained yet\n", res.Rows, res.Unchained)
	return nil
}
