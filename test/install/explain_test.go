package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/volume-topology/volume-topology-scheduler/pkg/command"
	"github.com/volume-topology/volume-topology-scheduler/pkg/explain"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// When kubectl runs this test binary as its plugin (through a link named
// kubectl-volume_topology on PATH), it is the plugin: the same function the
// volume-topology-scheduler binary's main calls, which picks the operators'
// commands from the name it was run as.
func init() {
	if filepath.Base(os.Args[0]) == command.KubectlPlugin {
		os.Exit(command.Main(os.Args, os.Stdout, os.Stderr))
	}
}

// TestExplainThroughKubectl installs the chart with a non-default attach
// limit (3) and runs "kubectl volume-topology explain" through a real
// kubectl (make kubectl) as an operator bound to the chart's explain roles
// only. explain must read the installed configuration: with the default
// limit (16) the what-if placement would fit all 5 replicas in the zone's 6
// NVMe-capable nodes; with the installed one, 3 fit.
func TestExplainThroughKubectl(t *testing.T) {
	kubectl := filepath.Join(root, "bin", "kubectl")
	if _, err := os.Stat(kubectl); err != nil {
		t.Fatalf("kubectl is not built (run make kubectl): %v", err)
	}
	ctx, e := startCluster(t)
	const limit = 3
	helm(t, false, "install", releaseName, chartDir(), "--kubeconfig", e.cluster.KubeconfigPath,
		"--namespace", namespace, "--create-namespace", "--set", fmt.Sprintf("pluginArgs.maxNodesPerZone=%d", limit))
	inst := readInstall(ctx, t, e, namespace, releaseName)
	sched := inst.startScheduler(ctx, t, e)
	defer sched.Stop()
	waitLeader(ctx, t, e, namespace, schedulerName)
	runLeaseWorkload(ctx, t, e, limit+1, limit)
	ns, pending := leaseNamespace(ctx, t, e)

	plugins := t.TempDir()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(plugins, command.KubectlPlugin)); err != nil {
		t.Fatal(err)
	}
	kubeconfig := operator(ctx, t, e)
	run := func(wantCode int, args ...string) (string, string) {
		t.Helper()
		cmd := exec.CommandContext(ctx, kubectl, args...)
		cmd.Env = append(os.Environ(), "PATH="+plugins+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+kubeconfig)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatalf("kubectl %s: %v", strings.Join(args, " "), err)
		}
		if code != wantCode {
			t.Fatalf("kubectl %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, wantCode, stdout.String(), stderr.String())
		}
		return stdout.String(), stderr.String()
	}
	lines := func(s string) []string { return strings.Split(s, "\n") }

	out, _ := run(0, "plugin", "list", "--name-only")
	if !slices.Contains(lines(out), command.KubectlPlugin) {
		t.Errorf("kubectl plugin list does not find %s:\n%s", command.KubectlPlugin, out)
	}
	out, _ = run(0, "volume-topology", "explain", "--help")
	if !slices.Contains(lines(out), "  kubectl volume-topology explain (pod NAME [-n NAMESPACE] | -f MANIFEST [--replicas N]) [flags]") {
		t.Errorf("kubectl volume-topology explain --help shows no usage of its own:\n%s", out)
	}

	configuration := explain.LineConfiguration + "ConfigMap volume-topology-system/volume-topology-scheduler-config, profile volume-topology-scheduler"
	pvc, err := e.cluster.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "data-disk", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pv, err := e.cluster.Client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := pv.Spec.CSI.VolumeHandle
	out, _ = run(0, "volume-topology", "explain", "pod", pending.Name, "-n", ns)
	for _, line := range []string{
		configuration,
		fmt.Sprintf("Shared disk %s attached to: %s %d/%d", d, zoneA, limit, limit),
		"Fits now: no node",
		explain.LineSchedulerSays + unschedulable(&pending).Message,
	} {
		if !slices.Contains(lines(out), line) {
			t.Errorf("kubectl volume-topology explain pod %s -n %s lacks the line %q:\n%s", pending.Name, ns, line, out)
		}
	}
	if reason := fmt.Sprintf(volumetopology.ErrReasonAttachLimit, d, limit, zoneA, limit); !strings.Contains(out, reason) {
		t.Errorf("explain pod does not give the attach limit's reason %q:\n%s", reason, out)
	}

	whatIf, err := e.cluster.Client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "whatif-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, _ = run(0, "volume-topology", "explain", "-f", filepath.Join(root, "manifests", "examples", "lease.yaml"), "--replicas", "5", "-n", whatIf.Name)
	if fits, stays := strings.Count(out, ": fits "), strings.Count(out, ": would stay Pending: "); fits != limit || stays != 5-limit {
		t.Errorf("explain -f --replicas 5: %d replicas fit and %d stay Pending, want %d and %d (the installed limit):\n%s", fits, stays, limit, 5-limit, out)
	}
	if !slices.Contains(lines(out), configuration) {
		t.Errorf("explain -f does not say it used %q:\n%s", configuration, out)
	}

	// A failure: one line, exit status 1, through kubectl too.
	_, errOut := run(1, "volume-topology", "explain", "pod", "nope", "-n", ns)
	if want := "error: " + fmt.Sprintf(command.ErrPodNotFound, ns, "nope") + "\n"; errOut != want {
		t.Errorf("explain of a missing pod: stderr %q, want %q", errOut, want)
	}
}

// leaseNamespace finds the namespace runLeaseWorkload made, and its pending
// replica.
func leaseNamespace(ctx context.Context, t *testing.T, e *env) (string, v1.Pod) {
	t.Helper()
	list, err := e.cluster.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range list.Items {
		if !strings.HasPrefix(n.Name, "lease-") {
			continue
		}
		pods, err := e.cluster.Client.CoreV1().Pods(n.Name).List(ctx, metav1.ListOptions{LabelSelector: "app=lease-test"})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if unschedulable(&p) != nil {
				return n.Name, p
			}
		}
	}
	t.Fatal("no pending lease-test replica")
	return "", v1.Pod{}
}

// operator is an operator who may run explain and nothing else: a
// ServiceAccount bound to the chart's explain ClusterRole and Role. It
// returns a kubeconfig with its token.
func operator(ctx context.Context, t *testing.T, e *env) string {
	t.Helper()
	c := e.cluster.Client
	const name = "operator"
	if _, err := c.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Create(ctx, &v1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	subjects := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: metav1.NamespaceDefault, Name: name}}
	role := releaseName + "-explain"
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name + ":explain"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   subjects,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.RbacV1().RoleBindings(namespace).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name + ":explain"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
		Subjects:   subjects,
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "operator.kubeconfig")
	if err := e.cluster.ServiceAccountKubeconfig(ctx, metav1.NamespaceDefault, name, path, time.Hour); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestKrewManifest: the krew plugin manifest names the plugin as kubectl
// runs it and installs the binary under the name that makes it the plugin.
func TestKrewManifest(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "deploy", "krew", "volume-topology.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Version          string `json:"version"`
			ShortDescription string `json:"shortDescription"`
			Description      string `json:"description"`
			Homepage         string `json:"homepage"`
			Platforms        []struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				} `json:"selector"`
				URI    string `json:"uri"`
				Sha256 string `json:"sha256"`
				Bin    string `json:"bin"`
				Files  []struct {
					From string `json:"from"`
					To   string `json:"to"`
				} `json:"files"`
			} `json:"platforms"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(data, &p); err != nil {
		t.Fatalf("deploy/krew/volume-topology.yaml: %v", err)
	}
	if p.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || p.Kind != "Plugin" {
		t.Errorf("apiVersion %s kind %s, want krew.googlecontainertools.github.com/v1alpha2 Plugin", p.APIVersion, p.Kind)
	}
	// krew links the binary as kubectl-<name with _ for ->, the file name
	// Main recognises.
	if got := "kubectl-" + strings.ReplaceAll(p.Metadata.Name, "-", "_"); got != command.KubectlPlugin {
		t.Errorf("plugin %s is run as %s, want %s", p.Metadata.Name, got, command.KubectlPlugin)
	}
	if want := chartAppVersion(t); p.Spec.Version != want {
		t.Errorf("plugin version %s, want the chart's appVersion %s", p.Spec.Version, want)
	}
	if len(p.Spec.Platforms) == 0 {
		t.Fatal("no platforms")
	}
	for _, pl := range p.Spec.Platforms {
		os, arch := pl.Selector.MatchLabels["os"], pl.Selector.MatchLabels["arch"]
		archive := fmt.Sprintf("volume-topology-scheduler_%s_%s_%s.tar.gz", p.Spec.Version, os, arch)
		if !strings.HasSuffix(pl.URI, "/"+p.Spec.Version+"/"+archive) {
			t.Errorf("%s/%s: uri %s, want the release's %s", os, arch, pl.URI, archive)
		}
		if pl.Bin != "volume-topology-scheduler" || len(pl.Files) == 0 {
			t.Errorf("%s/%s: bin %q files %+v, want the volume-topology-scheduler binary", os, arch, pl.Bin, pl.Files)
		}
	}
}
