package localcluster

import (
	"flag"
	"fmt"
	"os"

	"k8s.io/klog/v2"
)

// LogToFile sends every klog message (the control plane's, the scheduler's
// and this package's) to the file at path instead of stderr, so a command's
// own output stays readable. The returned function flushes and closes it.
func LogToFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening log file: %w", err)
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for name, value := range map[string]string{
		"logtostderr":     "false",
		"alsologtostderr": "false",
		"stderrthreshold": "FATAL",
		"one_output":      "true",
	} {
		if err := fs.Set(name, value); err != nil {
			f.Close()
			return nil, fmt.Errorf("configuring klog: %w", err)
		}
	}
	klog.SetOutput(f)
	return func() {
		klog.Flush()
		f.Close()
	}, nil
}
