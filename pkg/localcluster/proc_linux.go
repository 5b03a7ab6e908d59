package localcluster

import "syscall"

// childProcAttr makes child processes (etcd, scheduler replicas) die with
// this process, so a killed test or demo leaves nothing behind.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
