//go:build linux

package pglocal

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// dieWithParent makes the kernel send postgres SIGQUIT (immediate shutdown)
// when our process dies, however it dies.
func dieWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGQUIT }

// isZombie reports whether pid has exited but was never reaped; kill(pid, 0)
// still succeeds for such a process, so it looks alive to pg_ctl.
func isZombie(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may contain ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return false
	}
	fields := strings.Fields(string(b[i+1:]))
	return len(fields) > 0 && (fields[0] == "Z" || fields[0] == "X")
}

// notPostmaster reports whether the pid recorded in postmaster.pid, which
// pg_ctl believes alive, is certainly not a running server: a zombie left by
// a killed postmaster, or a pid reused by another program after a reboot.
// When unsure it returns false.
func notPostmaster(pid int) bool {
	if isZombie(pid) {
		return true
	}
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return false
	}
	switch strings.TrimSpace(string(comm)) {
	case "postgres", "postmaster":
		return false
	}
	return true
}
