package install

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"

	// The metrics the scheduler binary registers besides kube-scheduler's
	// and the plugin's: the same blank imports as
	// cmd/volume-topology-scheduler/main.go (TestMonitoringMetricsExist
	// checks the lists agree).
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"

	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
)

// metricImports are the metric-registering packages this test imports, as
// the binary does.
var metricImports = []string{
	"k8s.io/component-base/metrics/prometheus/clientgo",
	"k8s.io/component-base/metrics/prometheus/version",
}

// The values that turn on each monitoring object, and the objects they add.
var (
	monitoringOn  = []string{"--set", "monitoring.serviceMonitor.enabled=true,monitoring.prometheusRule.enabled=true,monitoring.dashboard.enabled=true"}
	monitoringIDs = []string{
		"ServiceMonitor/" + namespace + "/" + releaseName,
		"PrometheusRule/" + namespace + "/" + releaseName,
		"ConfigMap/" + namespace + "/" + releaseName + "-dashboard",
	}
	// monitoringComponent is the kustomize component with the same objects.
	monitoringComponent = filepath.Join("deploy", "kustomize", "components", "monitoring")
	// dashboardKey is the dashboard's key in its ConfigMap.
	dashboardKey = "volume-topology-scheduler.json"
)

// prometheusSeries are series a rule may use that Prometheus records itself,
// not the scheduler.
var prometheusSeries = map[string]string{"up": "Prometheus records it for every scrape target"}

// TestMonitoringRenders renders the chart for every minor: the defaults
// render no monitoring object (the ServiceMonitor and PrometheusRule are
// custom resources whose CRDs the chart must never require); with the
// monitoring values on, the three objects render, fit the metrics Service,
// pass monitoring-check (Prometheus' rule and PromQL parsers, the
// Prometheus Operator's types, the dashboard's JSON) and helm lint.
func TestMonitoringRenders(t *testing.T) {
	for _, minor := range kubeMinors(t) {
		t.Run(minor, func(t *testing.T) {
			for _, o := range helmTemplate(t, minor) {
				if slices.Contains(monitoringIDs, o.id()) || strings.HasPrefix(str(o, "apiVersion"), "monitoring.coreos.com/") {
					t.Errorf("the default values render %s", o.id())
				}
			}
			objs := helmTemplate(t, minor, monitoringOn...)
			byID := map[string]object{}
			for _, o := range objs {
				byID[o.id()] = o
			}
			for _, id := range monitoringIDs {
				if byID[id] == nil {
					t.Fatalf("no %s with the monitoring values on; objects: %v", id, ids(objs))
				}
			}
			service := typed[v1.Service](t, byID["Service/"+namespace+"/"+releaseName+"-metrics"])
			sm := byID[monitoringIDs[0]]
			selector, _ := get(sm, "spec", "selector", "matchLabels").(map[string]any)
			if len(selector) == 0 {
				t.Errorf("the ServiceMonitor selects no labels")
			}
			for k, v := range selector {
				if service.Labels[k] != v {
					t.Errorf("the ServiceMonitor selects %s=%v; the metrics Service has %v", k, v, service.Labels)
				}
			}
			endpoints, _ := get(sm, "spec", "endpoints").([]any)
			if len(endpoints) != 1 || str(endpoints[0].(map[string]any), "port") != service.Spec.Ports[0].Name || str(endpoints[0].(map[string]any), "scheme") != "https" {
				t.Errorf("the ServiceMonitor's endpoints %v, want https on the Service's port %s", endpoints, service.Spec.Ports[0].Name)
			}
			dash := typed[v1.ConfigMap](t, byID[monitoringIDs[2]])
			if dash.Labels["grafana_dashboard"] != "1" {
				t.Errorf("the dashboard ConfigMap's labels %v lack grafana_dashboard: \"1\"", dash.Labels)
			}
			if !json.Valid([]byte(dash.Data[dashboardKey])) {
				t.Errorf("the dashboard %s is not JSON", dashboardKey)
			}
			monitoringCheck(t, renderedYAML(t, minor, monitoringOn...))
			lint := append([]string{"lint", "--strict", "--kube-version", minor, chartDir()}, monitoringOn...)
			if out, _ := helm(t, false, lint...); !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("helm lint with the monitoring values on:\n%s", out)
			}
		})
	}
}

// TestMonitoringValues: the monitoring values reach the objects.
func TestMonitoringValues(t *testing.T) {
	minor := kubeMinors(t)[len(kubeMinors(t))-1]
	objs := helmTemplate(t, minor, append(monitoringOn,
		"--set", "monitoring.serviceMonitor.labels.release=kps,monitoring.serviceMonitor.interval=1m,monitoring.serviceMonitor.bearerTokenFile=",
		"--set", "monitoring.serviceMonitor.authorization.credentials.name=scraper,monitoring.serviceMonitor.authorization.credentials.key=token",
		"--set", "monitoring.prometheusRule.labels.release=kps,monitoring.prometheusRule.alertLabels.team=storage,monitoring.prometheusRule.runbookURL=https://wiki.example.com/vts",
		"--set", "monitoring.prometheusRule.for.sharedDiskAtAttachLimit=1h",
		"--set", "monitoring.dashboard.namespace=monitoring,monitoring.dashboard.annotations.grafana_folder=Scheduling",
		"--set", "fullnameOverride=vts",
	)...)
	sm := findObject(t, objs, "ServiceMonitor", "vts")
	ep := get(sm, "spec", "endpoints").([]any)[0].(map[string]any)
	if str(sm, "metadata", "labels", "release") != "kps" || ep["interval"] != "1m" || ep["bearerTokenFile"] != nil || str(ep, "authorization", "credentials", "name") != "scraper" {
		t.Errorf("ServiceMonitor %v does not carry the values", sm)
	}
	rule := findObject(t, objs, "PrometheusRule", "vts")
	if str(rule, "metadata", "labels", "release") != "kps" {
		t.Errorf("PrometheusRule labels %v lack release: kps", get(rule, "metadata", "labels"))
	}
	alerts := get(rule, "spec", "groups").([]any)[0].(map[string]any)["rules"].([]any)
	for _, a := range alerts {
		a := a.(map[string]any)
		name := a["alert"].(string)
		if str(a, "labels", "team") != "storage" || !strings.HasPrefix(str(a, "annotations", "runbook_url"), "https://wiki.example.com/vts#") {
			t.Errorf("alert %s: labels %v, runbook_url %s; want team: storage and the runbook URL set", name, a["labels"], str(a, "annotations", "runbook_url"))
		}
		// The renamed release's job label.
		if !strings.Contains(a["expr"].(string), `job="vts-metrics"`) {
			t.Errorf("alert %s does not select job=\"vts-metrics\": %s", name, a["expr"])
		}
		if name == "VolumeTopologySharedDiskAtAttachLimit" && a["for"] != "1h" {
			t.Errorf("alert %s: for %v, want 1h", name, a["for"])
		}
	}
	dash := findObject(t, objs, "ConfigMap", "vts-dashboard")
	if dash.namespace() != "monitoring" || str(dash, "metadata", "annotations", "grafana_folder") != "Scheduling" {
		t.Errorf("dashboard ConfigMap %s/%s, annotations %v; want namespace monitoring and grafana_folder", dash.namespace(), dash.name(), get(dash, "metadata", "annotations"))
	}
}

// TestMonitoringMetricsExist: every metric the alerts and the dashboard
// name is one the scheduler exports. It runs volume-topology-scheduler in
// this process against a local control plane, as the binary runs (app.Setup
// with the plugin, plus the binary's metric imports), schedules one pod so
// the latency histograms have samples, and asks the process' metrics
// registry about each name monitoring-check lists. A histogram's _bucket,
// _sum and _count series count as the histogram.
func TestMonitoringMetricsExist(t *testing.T) {
	checkBinaryImports(t)
	minor := kubeMinors(t)[len(kubeMinors(t))-1]
	used := monitoringCheck(t, renderedYAML(t, minor, monitoringOn...))

	ctx, e := startCluster(t)
	configPath := filepath.Join(t.TempDir(), "config.yaml")
	if err := localcluster.WriteSchedulerConfig(configPath, localcluster.SchedulerConfig{Kubeconfig: e.cluster.KubeconfigPath}); err != nil {
		t.Fatal(err)
	}
	s, err := localcluster.StartScheduler(ctx, e.cluster.KubeconfigPath, configPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	pod := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-probe", Namespace: "default"},
		Spec: v1.PodSpec{
			SchedulerName: localcluster.SchedulerName,
			Containers:    []v1.Container{{Name: "c", Image: "busybox"}},
		},
	}
	if _, err := e.cluster.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, time.Minute, "the pod to be scheduled", func() (bool, string, error) {
		p, err := e.cluster.Client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, "", err
		}
		return p.Spec.NodeName != "", "node " + strconv.Quote(p.Spec.NodeName), nil
	})
	// The binary runs with leader election (as both installs configure
	// it), and client-go registers its leader election metrics when the
	// elector is built. An in-process scheduler cannot elect (kube-scheduler
	// exits the process when it stops leading), so build one as
	// kube-scheduler does, without running it.
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: "kube-system", Name: localcluster.SchedulerName},
		Client:     e.cluster.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: "metrics-probe"},
	}
	if _, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		Callbacks: leaderelection.LeaderCallbacks{OnStartedLeading: func(context.Context) {}, OnStoppedLeading: func() {}},
		Name:      "kube-scheduler",
	}); err != nil {
		t.Fatal(err)
	}
	types := gatheredTypes(t)

	var missing []string
	for _, name := range slices.Sorted(maps.Keys(used)) {
		if _, ok := prometheusSeries[name]; ok {
			continue
		}
		if err := exported(t, name, types); err != nil {
			missing = append(missing, fmt.Sprintf("%s (used by %s): %v", name, strings.Join(used[name], "; "), err))
		}
	}
	if len(missing) > 0 {
		t.Errorf("the monitoring objects use metrics the Kubernetes %s scheduler does not export:\n%s", buildMinor(t), strings.Join(missing, "\n"))
	}
	// The check is not vacuous: our plugin's metric and kube-scheduler's
	// are among those checked.
	for _, name := range []string{"volume_topology_rejected_nodes_total", "scheduler_pending_pods", "leader_election_master_status"} {
		if _, ok := used[name]; !ok {
			t.Errorf("the monitoring objects do not use %s", name)
		}
	}
}

// exported says why name is not a metric this process exports, or nil.
func exported(t *testing.T, name string, types map[string]string) error {
	t.Helper()
	if registered(t, name) {
		return nil
	}
	for suffix, kinds := range map[string][]string{"_bucket": {"HISTOGRAM"}, "_sum": {"HISTOGRAM", "SUMMARY"}, "_count": {"HISTOGRAM", "SUMMARY"}} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok || !registered(t, base) {
			continue
		}
		switch typ := types[base]; {
		case typ == "":
			return fmt.Errorf("%s is registered but has no samples, so its type is unknown", base)
		case !slices.Contains(kinds, typ):
			return fmt.Errorf("%s is a %s, which has no %s series", base, typ, suffix)
		}
		return nil
	}
	return fmt.Errorf("no such metric is registered")
}

// registered asks the process' metrics registry (legacyregistry, where
// kube-scheduler, client-go and the plugin register theirs) whether a metric
// named name is registered, whether or not it has samples yet: registering
// a probe of that name fails exactly when one is.
func registered(t *testing.T, name string) bool {
	t.Helper()
	probe := metrics.NewGauge(&metrics.GaugeOpts{Name: name, Help: "test/install probe for an existing metric name"})
	if err := legacyregistry.Register(probe); err != nil {
		if strings.Contains(err.Error(), "is invalid") {
			t.Fatalf("%q is not a valid metric name: %v", name, err)
		}
		return true
	}
	legacyregistry.Registerer().Unregister(probe)
	return false
}

// gatheredTypes are the types of the metric families with samples.
func gatheredTypes(t *testing.T) map[string]string {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, f := range families {
		types[f.GetName()] = f.GetType().String()
	}
	return types
}

// checkBinaryImports fails if cmd/volume-topology-scheduler/main.go imports
// a metrics package this test does not (so the test would miss metrics the
// binary exports), or no longer imports one it does.
func checkBinaryImports(t *testing.T) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(root, "cmd", "volume-topology-scheduler", "main.go"), nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var imports []string
	for _, spec := range f.Imports {
		path, _ := strconv.Unquote(spec.Path.Value)
		if strings.HasPrefix(path, "k8s.io/component-base/metrics/") {
			imports = append(imports, path)
		}
	}
	slices.Sort(imports)
	if !slices.Equal(imports, metricImports) {
		t.Errorf("the binary imports the metrics packages %v, this test %v: update metricImports and the blank imports", imports, metricImports)
	}
}

// renderedYAML is helm template's output.
func renderedYAML(t *testing.T, minor string, flags ...string) []byte {
	t.Helper()
	args := append([]string{"template", releaseName, chartDir(), "--namespace", namespace, "--kube-version", minor}, flags...)
	out, _ := helm(t, false, args...)
	return []byte(out)
}

// monitoringCheck runs bin/monitoring-check (make monitoring-check) on the
// rendered objects, failing the test on any problem it reports, and returns
// the metric names it lists with where each is used.
func monitoringCheck(t *testing.T, rendered []byte) map[string][]string {
	t.Helper()
	path := filepath.Join(root, "bin", "monitoring-check")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("monitoring-check is not built (run make monitoring-check): %v", err)
	}
	cmd := exec.Command(path)
	cmd.Stdin = bytes.NewReader(rendered)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("monitoring-check: %v\n%s", err, errOut.String())
	}
	used := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		name, where, ok := strings.Cut(line, "\t")
		if !ok {
			t.Fatalf("monitoring-check printed %q, want NAME<TAB>WHERE...", line)
		}
		used[name] = strings.Split(where, "\t")
	}
	if len(used) == 0 {
		t.Fatal("monitoring-check lists no metric")
	}
	return used
}

// TestMonitoringMatchesKustomize: the chart with its monitoring values on
// installs what an overlay with the monitoring component installs, with the
// differences TestHelmMatchesKustomize allows.
func TestMonitoringMatchesKustomize(t *testing.T) {
	for _, minor := range kubeMinors(t) {
		t.Run(minor, func(t *testing.T) {
			fromHelm := normalize(t, helmTemplate(t, minor, monitoringOn...), true)
			// A kustomization of the user's own: the overlay plus the
			// component, as the README shows.
			dir := t.TempDir()
			// kustomize takes only relative paths.
			rel := func(path string) string {
				r, err := filepath.Rel(dir, path)
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			k := fmt.Sprintf("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- %s\ncomponents:\n- %s\n",
				rel(overlayDir(minor)), rel(filepath.Join(root, monitoringComponent)))
			if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o600); err != nil {
				t.Fatal(err)
			}
			fromKustomize := normalize(t, decodeObjects(t, "kustomize build", kustomizeBuild(t, dir)), false)
			for _, id := range onlyKustomize {
				delete(fromKustomize, id)
			}
			for _, id := range monitoringIDs {
				if fromKustomize[id] == nil {
					t.Errorf("the component does not install %s", id)
				}
			}
			if diff := cmp.Diff(fromKustomize, fromHelm); diff != "" {
				t.Errorf("the Helm chart with monitoring on and the overlay k8s%s with the monitoring component install different objects (-kustomize +helm):\n%s", minor, diff)
			}
		})
	}
}
