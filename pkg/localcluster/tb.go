package localcluster

import (
	"fmt"
	"os"
	"sync"

	"k8s.io/klog/v2"
)

// logTB is the small part of testing.TB that Kubernetes' in-process test
// servers need, for use outside of tests: messages go to klog, cleanups run
// when the cluster stops, and a fatal error panics with *fatalError, which the
// caller recovers into an ordinary error.
type logTB struct {
	name   string
	logger klog.Logger

	mu       sync.Mutex
	cleanups []func()
	failed   bool
	tempDirs []string
}

type fatalError struct{ msg string }

func (e *fatalError) Error() string { return e.msg }

func newLogTB(name string, logger klog.Logger) *logTB {
	return &logTB{name: name, logger: logger.WithName(name)}
}

// Attr records a test attribute; outside of tests it is only logged.
func (t *logTB) Attr(key, value string) { t.logger.V(2).Info("Attribute", "key", key, "value", value) }

// Chdir is refused: the process's working directory is shared by everything
// else running in it.
func (t *logTB) Chdir(dir string) { t.Fatalf("chdir %s: not supported outside of tests", dir) }

func (t *logTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// runCleanups runs the registered cleanups, last registered first.
func (t *logTB) runCleanups() {
	t.mu.Lock()
	cleanups := t.cleanups
	t.cleanups = nil
	dirs := t.tempDirs
	t.tempDirs = nil
	t.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i]()
	}
	for _, d := range dirs {
		os.RemoveAll(d)
	}
}

func (t *logTB) Error(args ...any) {
	t.logger.Error(nil, fmt.Sprint(args...))
	t.Fail()
}

func (t *logTB) Errorf(format string, args ...any) {
	t.logger.Error(nil, fmt.Sprintf(format, args...))
	t.Fail()
}

func (t *logTB) Fail() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = true
}

func (t *logTB) FailNow() {
	t.Fail()
	panic(&fatalError{msg: t.name + " failed"})
}

func (t *logTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *logTB) Fatal(args ...any) {
	t.Fail()
	panic(&fatalError{msg: fmt.Sprint(args...)})
}

func (t *logTB) Fatalf(format string, args ...any) {
	t.Fail()
	panic(&fatalError{msg: fmt.Sprintf(format, args...)})
}

func (t *logTB) Helper() {}

func (t *logTB) Log(args ...any) { t.logger.V(2).Info(fmt.Sprint(args...)) }

func (t *logTB) Logf(format string, args ...any) { t.logger.V(2).Info(fmt.Sprintf(format, args...)) }

func (t *logTB) Name() string { return t.name }

func (t *logTB) Setenv(key, value string) {
	prev, had := os.LookupEnv(key)
	if err := os.Setenv(key, value); err != nil {
		t.Fatalf("setenv %s: %v", key, err)
	}
	t.Cleanup(func() {
		if had {
			os.Setenv(key, prev)
		} else {
			os.Unsetenv(key)
		}
	})
}

func (t *logTB) Skip(args ...any)                 { t.Fatal(append([]any{"skip: "}, args...)...) }
func (t *logTB) SkipNow()                         { t.Fatal("skipped") }
func (t *logTB) Skipf(format string, args ...any) { t.Fatalf("skip: "+format, args...) }
func (t *logTB) Skipped() bool                    { return false }

func (t *logTB) TempDir() string {
	d, err := os.MkdirTemp("", "volume-topology-"+t.name+"-")
	if err != nil {
		t.Fatalf("creating temporary directory: %v", err)
	}
	t.mu.Lock()
	t.tempDirs = append(t.tempDirs, d)
	t.mu.Unlock()
	return d
}

// recoverFatal turns a *fatalError panic into *err; other panics go on.
func recoverFatal(err *error) {
	r := recover()
	if r == nil {
		return
	}
	if fe, ok := r.(*fatalError); ok {
		*err = fe
		return
	}
	panic(r)
}
