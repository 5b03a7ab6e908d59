package command

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/volume-topology/volume-topology-scheduler/pkg/explain"
)

// run runs Main with a command line and returns its exit status, stdout
// and stderr.
func run(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestExplainHelp: explain's help shows explain's own flags, whether the
// binary runs as itself or as the kubectl plugin, and none of
// kube-scheduler's flag sets.
func TestExplainHelp(t *testing.T) {
	for _, tt := range []struct{ argv0, usage string }{
		{"/usr/local/bin/volume-topology-scheduler", "  volume-topology-scheduler explain (pod NAME [-n NAMESPACE] | -f MANIFEST [--replicas N]) [flags]"},
		{"/home/op/.krew/bin/" + KubectlPlugin, "  kubectl volume-topology explain (pod NAME [-n NAMESPACE] | -f MANIFEST [--replicas N]) [flags]"},
	} {
		t.Run(filepath.Base(tt.argv0), func(t *testing.T) {
			code, out, errOut := run(tt.argv0, "explain", "--help")
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			lines := strings.Split(out, "\n")
			if !contains(lines, tt.usage) {
				t.Errorf("no usage line %q:\n%s", tt.usage, out)
			}
			for _, flag := range []string{
				"  -f, --filename string ", "  -n, --namespace string ", "  -o, --output string ", "      --replicas int ",
				"      --kubeconfig string ", "      --context string ", "      --config string ",
				"      --scheduler-config-map string ", "      --scheduler-namespace string ",
			} {
				if !hasPrefix(lines, flag) {
					t.Errorf("no flag line starting %q:\n%s", flag, out)
				}
			}
			for _, theirs := range []string{"--leader-elect", "--secure-port", "--feature-gates", "Misc flags", "--max-nodes-per-zone", "--log-flush-frequency"} {
				if strings.Contains(out, theirs) {
					t.Errorf("explain's help shows %s, not one of its flags:\n%s", theirs, out)
				}
			}
		})
	}
}

// TestPluginName: run as kubectl-volume_topology, the binary is the
// operators' commands (explain, audit), not the scheduler.
func TestPluginName(t *testing.T) {
	code, out, _ := run("/tmp/"+KubectlPlugin, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, line := range []string{"  kubectl volume-topology [command]", "  explain     Explain, node by node, where a pod using cloud disks can go and why not elsewhere"} {
		if !contains(strings.Split(out, "\n"), line) {
			t.Errorf("plugin help lacks %q:\n%s", line, out)
		}
	}
	if strings.Contains(out, "--leader-elect") {
		t.Errorf("the plugin shows kube-scheduler's flags:\n%s", out)
	}
}

// TestExplainFailures: every failure is one line on stderr and exit status
// 1, and the checks that need no cluster come before any request (the
// kubeconfig names a server nothing listens on).
func TestExplainFailures(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := write(t, dir, "kubeconfig", `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: ops}}]
users: [{name: u, user: {token: x}}]
current-context: c
`)
	noKind := write(t, dir, "nokind.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\nmetadata: {name: b}\n")
	noPods := write(t, dir, "nopods.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
	lease := filepath.Join("..", "..", "manifests", "examples", "lease.yaml")
	badConfig := write(t, dir, "config.yaml", "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofile: []\n")
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no pod", []string{"explain"}, ErrExplainArgs},
		{"two pods", []string{"explain", "pod", "a", "b"}, ErrExplainArgs},
		{"pod and file", []string{"explain", "pod", "a", "-f", lease}, ErrExplainArgs},
		{"output", []string{"explain", "pod", "a", "-o", "yaml"}, `unknown output format "yaml" (want table or json)`},
		{"config flags", []string{"explain", "pod", "a", "--config", badConfig, "--scheduler-namespace", "x"}, ErrConfigFlags},
		{"namespace conflict", []string{"explain", "pod", "ns1/a", "-n", "ns2"}, fmt.Sprintf(ErrNamespaceConflict, "ns1/a", "ns2")},
		{"unknown flag", []string{"explain", "pod", "a", "--max-nodes-per-zone", "3"}, "unknown flag: --max-nodes-per-zone"},
		{"manifest without kind", []string{"explain", "-f", noKind}, noKind + ": document 2: not a Kubernetes object: it has no apiVersion or no kind"},
		{"manifest without pods", []string{"explain", "-f", noPods}, noPods + ": " + explain.ErrNoPods.Error()},
		{"missing manifest", []string{"explain", "-f", filepath.Join(dir, "none.yaml")}, "open " + filepath.Join(dir, "none.yaml") + ": no such file or directory"},
		{"bad config file", []string{"explain", "-f", lease, "--config", badConfig}, badConfig + `: decoding the KubeSchedulerConfiguration: strict decoding error: unknown field "profile"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(append([]string{"volume-topology-scheduler"}, append(tt.args, "--kubeconfig", kubeconfig)...)...)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
			if want := "error: " + tt.want + "\n"; errOut != want {
				t.Errorf("stderr\n  %q\nwant\n  %q", errOut, want)
			}
		})
	}

	// The cluster cannot be reached: still one line, naming what explain
	// was reading and how to point it elsewhere.
	code, _, errOut := run("volume-topology-scheduler", "explain", "pod", "a", "--kubeconfig", kubeconfig)
	prefix := "error: reading the scheduler's configuration from ConfigMap volume-topology-system/volume-topology-scheduler-config: "
	if code != 1 || !strings.HasPrefix(errOut, prefix) || strings.Count(errOut, "\n") != 1 ||
		!strings.HasSuffix(errOut, "; name the ConfigMap the scheduler mounts with --scheduler-config-map and --scheduler-namespace, or give its KubeSchedulerConfiguration with --config FILE\n") {
		t.Errorf("unreachable cluster: exit %d, stderr %q", code, errOut)
	}
}

func write(t *testing.T, dir, name, data string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func contains(lines []string, line string) bool {
	for _, l := range lines {
		if l == line {
			return true
		}
	}
	return false
}

func hasPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}
