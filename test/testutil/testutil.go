// Package testutil holds the few helpers the integration, install, soak and
// perf test packages share: finding the module root (where make puts bin/)
// and polling a condition with a deadline.
package testutil

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// ModuleRoot returns the nearest directory at or above the working directory
// that holds go.mod: go test runs a test binary in its package's directory.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod at or above %s: run the tests from inside the module", dir)
		}
		dir = parent
	}
}

// PutBinOnPath puts the module's bin/ (where make builds etcd, helm and the
// scheduler) first on PATH and returns the module root.
func PutBinOnPath() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return root, os.Setenv("PATH", filepath.Join(root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
}

// WaitFor polls cond every 100ms until it reports true, failing the test when
// cond returns an error, when ctx ends, or when timeout passes; the failure
// names what was awaited and the last state cond described.
func WaitFor(ctx context.Context, t testing.TB, timeout time.Duration, what string, cond func() (bool, string, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state, err := cond()
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last state: %s", timeout, what, state)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
