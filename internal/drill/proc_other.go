//go:build !linux

package drill

import "syscall"

func dieWithParent(attr *syscall.SysProcAttr) {}
