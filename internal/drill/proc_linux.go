package drill

import "syscall"

// dieWithParent kills the child when the test binary dies, even by SIGKILL.
func dieWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
