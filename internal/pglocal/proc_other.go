//go:build !linux

package pglocal

import "syscall"

// dieWithParent is a no-op without Linux's parent-death signal: a test
// cluster whose test binary was killed keeps running until stopped by hand
// (the temp-dir sweep leaves its files alone while its postmaster lives).
func dieWithParent(attr *syscall.SysProcAttr) {}

// Without /proc we cannot tell; pg_ctl's own liveness check stands.
func isZombie(pid int) bool      { return false }
func notPostmaster(pid int) bool { return false }
