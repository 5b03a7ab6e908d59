package localcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/klog/v2"
)

// EtcdBinary is the name of the etcd executable.
const EtcdBinary = "etcd"

// ErrEtcdNotFound says that no etcd executable was found. The error returned by
// FindEtcd wraps it and tells the user how to build one.
var ErrEtcdNotFound = errors.New("etcd not found")

// FindEtcd returns the etcd executable to run: explicit when it is set (it
// must exist), else etcd on PATH, else bin/etcd in the working directory or
// one of its parents (so a `go run` from inside the repository finds the one
// `make etcd` builds).
func FindEtcd(explicit string) (string, error) {
	if explicit != "" {
		p, err := exec.LookPath(explicit)
		if err != nil {
			return "", fmt.Errorf("%w at %s: %v; run \"make etcd\" to build bin/etcd (from the Go module proxy)", ErrEtcdNotFound, explicit, err)
		}
		return filepath.Abs(p)
	}
	if p, err := exec.LookPath(EtcdBinary); err == nil {
		return filepath.Abs(p)
	}
	looked := []string{"$PATH"}
	if dir, err := os.Getwd(); err == nil {
		for {
			candidate := filepath.Join(dir, "bin", EtcdBinary)
			looked = append(looked, candidate)
			if st, err := os.Stat(candidate); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
				return candidate, nil
			}
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break // the module root: do not look above it
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", fmt.Errorf("%w (looked in %s): run \"make etcd\" to build bin/etcd (from the Go module proxy), then put bin/ on PATH or pass its path explicitly",
		ErrEtcdNotFound, strings.Join(looked, ", "))
}

// Etcd is a running etcd server that listens on a unix socket in a temporary
// data directory. It is for a throw-away control plane: fsync is off.
type Etcd struct {
	// URL is the client URL, unix://<data dir>/etcd.sock.
	URL string
	// DataDir is the data directory, removed by Stop.
	DataDir string

	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit error, valid once done is closed
}

// StartEtcd starts the etcd executable at binary (see FindEtcd) and returns
// once it accepts connections.
func StartEtcd(ctx context.Context, binary string) (*Etcd, error) {
	logger := klog.FromContext(ctx).WithName("etcd")
	dir, err := os.MkdirTemp("", "volume-topology-etcd-")
	if err != nil {
		return nil, fmt.Errorf("creating etcd data directory: %w", err)
	}
	socket := filepath.Join(dir, "etcd.sock")
	e := &Etcd{URL: "unix://" + socket, DataDir: dir, done: make(chan struct{})}
	args := []string{
		"--data-dir", dir,
		"--listen-client-urls", e.URL,
		// etcd insists on a host:port here; nobody connects to it, so it
		// points at an address that is never served.
		"--advertise-client-urls", "http://127.0.0.1:1",
		"--listen-peer-urls", "http://127.0.0.1:0",
		"--log-level", "error",
		"--unsafe-no-fsync",
		"--quota-backend-bytes", fmt.Sprint(int64(4) << 30),
	}
	e.cmd = exec.Command(binary, args...)
	e.cmd.SysProcAttr = childProcAttr()
	stderr, err := e.cmd.StderrPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("etcd stderr pipe: %w", err)
	}
	e.cmd.Stdout = io.Discard
	logger.V(2).Info("Starting etcd", "binary", binary, "url", e.URL)
	if err := e.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", binary, err)
	}
	lastLines := make(chan []string, 1)
	go func() {
		// Keep the last lines of output for the error message should etcd
		// exit early; log everything at V(3).
		var lines []string
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			logger.V(3).Info("etcd output", "line", sc.Text())
			lines = append(lines, sc.Text())
			if len(lines) > 10 {
				lines = lines[1:]
			}
		}
		lastLines <- lines
	}()
	go func() {
		e.err = e.cmd.Wait()
		close(e.done)
	}()

	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := net.DialTimeout("unix", socket, time.Second)
		if err == nil {
			conn.Close()
			logger.V(2).Info("etcd is ready", "url", e.URL)
			return e, nil
		}
		select {
		case <-e.done:
			var out []string
			select {
			case out = <-lastLines:
			case <-time.After(time.Second):
			}
			os.RemoveAll(dir)
			return nil, fmt.Errorf("etcd (%s) exited before accepting connections: %v; output:\n%s", binary, e.err, strings.Join(out, "\n"))
		case <-ctx.Done():
			e.Stop()
			return nil, fmt.Errorf("waiting for etcd: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			e.Stop()
			return nil, fmt.Errorf("etcd did not accept connections on %s within 30s", socket)
		}
	}
}

// Stop terminates etcd (SIGTERM, SIGKILL after 5 seconds) and removes its data.
func (e *Etcd) Stop() {
	if e == nil || e.cmd == nil || e.cmd.Process == nil {
		return
	}
	_ = e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.done
	}
	os.RemoveAll(e.DataDir)
}
