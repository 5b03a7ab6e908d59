//go:build !linux

package localcluster

import "syscall"

// childProcAttr returns the defaults: only Linux can tie a child's life to
// its parent's.
func childProcAttr() *syscall.SysProcAttr { return nil }
