package command

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	"k8s.io/klog/v2"
)

// KubectlPlugin is the file name kubectl looks for on PATH to run
// "kubectl volume-topology ...": kubectl-<name>, with the dashes of the
// command written as underscores.
const KubectlPlugin = "kubectl-volume_topology"

// Main runs the program with its command line (args[0] is the name it was
// run as) and returns its exit status:
//   - run as kubectl-volume_topology (kubectl's plugin, or a link of that
//     name to the binary): the operators' commands, explain and audit;
//   - "volume-topology-scheduler explain|audit ...": the same commands;
//   - anything else: the scheduler (kube-scheduler's command line).
func Main(args []string, stdout, stderr io.Writer) int {
	if tool, use := toolName(args); tool {
		// The operators' commands print what they mean to; the plugin's
		// and the framework's logs (informers of the in-memory snapshot)
		// are not their output.
		quietKlog()
		rest := args[1:]
		return RunTool(use, rest, stdout, stderr)
	}
	cmd := New()
	cmd.SetArgs(args[1:])
	return cli.Run(cmd)
}

// quietKlog sends klog's output nowhere: not to stderr, not to files.
func quietKlog() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for name, value := range map[string]string{"logtostderr": "false", "alsologtostderr": "false", "stderrthreshold": "FATAL", "v": "0"} {
		_ = fs.Set(name, value)
	}
	klog.SetOutput(io.Discard)
}

// toolName tells whether the command line is one of the operators' commands,
// and the name to show in their usage.
func toolName(args []string) (bool, string) {
	if len(args) == 0 {
		return false, ""
	}
	if strings.TrimSuffix(filepath.Base(args[0]), ".exe") == KubectlPlugin {
		return true, "kubectl volume-topology"
	}
	if len(args) > 1 && (args[1] == "explain" || args[1] == "audit") {
		return true, "volume-topology-scheduler"
	}
	return false, ""
}

// NewTool returns the operators' commands (explain, audit) under a root
// named use ("kubectl volume-topology" or "volume-topology-scheduler"). They
// have their own help and flags, not kube-scheduler's.
func NewTool(use string) *cobra.Command {
	root := &cobra.Command{
		Use:   strings.ReplaceAll(use, " ", "-"),
		Short: "Explain and audit the placement of pods using cloud block disks",
		Long: `The operators' commands of volume-topology-scheduler: explain why a pod using
Alibaba Cloud block disks is Pending and where it could go, and audit a
cluster for placements that break the disks' rules.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: use},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newExplainCommand(), newAuditCommand())
	return root
}

// RunTool runs the operators' commands with args and returns the exit
// status. A failure is one line on stderr ("error: ..."); audit's findings
// are its output, so ErrViolations only sets the status.
func RunTool(use string, args []string, stdout, stderr io.Writer) int {
	cmd := NewTool(use)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.Execute()
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrViolations):
		return 1
	}
	fmt.Fprintf(stderr, "error: %s\n", oneLine(err.Error()))
	return 1
}

// oneLine joins the lines of a message (an aggregate of several errors).
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ")), " ")
}
