package main

import (
	"fmt"
	"syscall"
)

// raiseOpenFiles raises this process's open-file limit, soft and hard, to
// want, so that the watchers' connections fit; children started afterwards
// (the server) inherit it. Without the privilege to raise the hard limit it
// raises the soft one as far as the hard one allows. It returns the soft
// limit in force and, when that is below want, why.
func raiseOpenFiles(want uint64) (uint64, string) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Sprintf("cannot read the open-file limit: %v", err)
	}
	if lim.Cur >= want {
		return lim.Cur, ""
	}
	err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: max(want, lim.Max)})
	if err == nil {
		return want, ""
	}
	note := fmt.Sprintf("could not raise the open-file limit to %d (%v): the hard limit is %d", want, err, lim.Max)
	if lim.Cur < lim.Max {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: lim.Max, Max: lim.Max}); err == nil {
			lim.Cur = lim.Max
		}
	}
	return lim.Cur, note + fmt.Sprintf(", soft limit now %d; raise it with `ulimit -Hn %d` as root (needs CAP_SYS_RESOURCE)", lim.Cur, want)
}
