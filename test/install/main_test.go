// Package install tests the two ways operators install
// volume-topology-scheduler, with the real tools:
//
//   - the Helm chart (deploy/helm/volume-topology-scheduler) with the
//     helm binary built from its Go module (make helm): helm lint, helm
//     template for every Kubernetes minor, and helm install on a local
//     control plane;
//   - the kustomize overlays (deploy/kustomize/k8s<minor>) rendered with
//     kustomize's Go module (krusty, what kubectl apply -k runs) and applied
//     server-side to a local control plane.
//
// After each install the RBAC objects and the scheduler configuration are
// read back from the API server, a scheduler is started with the installed
// ServiceAccount's token and the installed configuration, and it must place
// the lease workload (manifests/examples/lease.yaml). A test also renders
// both installs and fails on any difference but the documented ones
// (drift_test.go).
//
// etcd and helm come from bin/ (make etcd helm); the test puts bin/ on PATH.
package install

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/component-base/cli"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/volume-topology/volume-topology-scheduler/pkg/command"
	"github.com/volume-topology/volume-topology-scheduler/test/testutil"
)

// envRunScheduler makes the test binary run the scheduler command instead of
// the tests: the schedulers the tests start use leader election, as the
// installed configuration says, and run as child processes.
const envRunScheduler = "VOLUME_TOPOLOGY_INSTALL_RUN_SCHEDULER"

// The names a default install uses.
const (
	releaseName   = "volume-topology-scheduler"
	namespace     = "volume-topology-system"
	schedulerName = "volume-topology-scheduler"
)

// root is the module's root directory; set by TestMain.
var root string

func TestMain(m *testing.M) {
	if os.Getenv(envRunScheduler) == "1" {
		os.Exit(cli.Run(command.New()))
	}
	// Quiet by default (importing the test API server raises it to 5);
	// -v on the command line still wins.
	_ = flag.Set("v", "0")
	flag.Parse()
	var err error
	if root, err = testutil.PutBinOnPath(); err != nil {
		fmt.Fprintln(os.Stderr, "install:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func chartDir() string { return filepath.Join(root, "deploy", "helm", "volume-topology-scheduler") }

func overlayDir(minor string) string {
	return filepath.Join(root, "deploy", "kustomize", "k8s"+minor)
}

// helm runs bin/helm with its state directories in a temporary directory
// (nothing is read from or written to the user's helm configuration). It
// returns stdout, and fails the test on a non-zero exit unless wantErr.
func helm(t *testing.T, wantErr bool, args ...string) (stdout, stderr string) {
	t.Helper()
	path := filepath.Join(root, "bin", "helm")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("helm is not built (run make helm): %v", err)
	}
	home := t.TempDir()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"),
	)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err != nil && !errors.As(err, &exit):
		t.Fatalf("running helm %s: %v", strings.Join(args, " "), err)
	case err != nil && !wantErr:
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
	case err == nil && wantErr:
		t.Fatalf("helm %s succeeded, want an error; output:\n%s", strings.Join(args, " "), out.String())
	}
	return out.String(), errOut.String()
}

// helmTemplate renders the chart as release releaseName in namespace for a
// cluster at kubeVersion, with extra helm flags (--set ...).
func helmTemplate(t *testing.T, kubeVersion string, extra ...string) []object {
	t.Helper()
	args := append([]string{"template", releaseName, chartDir(), "--namespace", namespace, "--kube-version", kubeVersion}, extra...)
	out, _ := helm(t, false, args...)
	return decodeObjects(t, "helm template", []byte(out))
}

// kustomizeBuild renders a kustomization directory the way kubectl apply -k
// does (krusty with kubectl's options: the legacy resource order).
func kustomizeBuild(t *testing.T, dir string) []byte {
	t.Helper()
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy
	m, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := m.AsYaml()
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	return out
}

// object is one rendered Kubernetes object, as generic YAML.
type object map[string]any

func (o object) kind() string { return str(o, "kind") }
func (o object) name() string { return str(o, "metadata", "name") }
func (o object) namespace() string {
	return str(o, "metadata", "namespace")
}

// id is kind/namespace/name.
func (o object) id() string { return o.kind() + "/" + o.namespace() + "/" + o.name() }

// str reads a string at a path of map keys ("" when absent).
func str(o map[string]any, path ...string) string {
	v, _ := get(o, path...).(string)
	return v
}

func get(o map[string]any, path ...string) any {
	var v any = o
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// decodeObjects splits a YAML stream into objects; empty documents are
// skipped.
func decodeObjects(t *testing.T, source string, data []byte) []object {
	t.Helper()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out []object
	for i := 1; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: document %d: %v", source, i, err)
		}
		var o object
		if err := yaml.Unmarshal(doc, &o); err != nil {
			t.Fatalf("%s: document %d: %v", source, i, err)
		}
		if len(o) > 0 {
			out = append(out, o)
		}
	}
}

// findObject returns the one object of kind named name.
func findObject(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	var found []object
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			found = append(found, o)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s %s, found %d", kind, name, len(found))
	}
	return found[0]
}

// chartAppVersion is "our version", Chart.yaml's appVersion.
func chartAppVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(chartDir(), "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(data, &c); err != nil {
		t.Fatalf("Chart.yaml: %v", err)
	}
	if c.AppVersion == "" {
		t.Fatal("Chart.yaml has no appVersion")
	}
	return c.AppVersion
}

// kubeMinors are the Kubernetes minors the scheduler is built for: KUBE_MINORS
// in the Makefile.
func kubeMinors(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^KUBE_MINORS\s*:=\s*(.+)$`).FindSubmatch(data)
	if m == nil {
		t.Fatal("no KUBE_MINORS := line in the Makefile")
	}
	return strings.Fields(string(m[1]))
}

// imageFor is the image both installs name for a cluster minor's build.
func imageFor(t *testing.T, minor string) string {
	return "volume-topology-scheduler:" + chartAppVersion(t) + "-k8s" + minor
}
