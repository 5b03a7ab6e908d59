package install

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	compbaseversion "k8s.io/component-base/version"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"sigs.k8s.io/yaml"

	vtconfig "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
	"github.com/volume-topology/volume-topology-scheduler/pkg/simcloud"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
	"github.com/volume-topology/volume-topology-scheduler/test/testutil"
)

// The fleet of each install test: zone a has the most NVMe-capable nodes, so
// the lease workload's disk is created there.
const (
	region = "cn-hangzhou"
	zoneA  = "cn-hangzhou-h"
	zoneB  = "cn-hangzhou-i"
)

var fleet = []localcluster.ZonePlan{
	{Zone: zoneA, Nodes: 8, NVMe: 6},
	{Zone: zoneB, Nodes: 6, NVMe: 2},
}

// TestHelmInstall runs helm install against a local control plane (the API
// server of this build's minor, with RBAC), with two values changed from
// their defaults so that their effect is visible: the attach limit and the
// leader-election Lease. The scheduler started from what was installed must
// place the lease workload and hold the fifth replica back at the limit.
// helm upgrade then changes a value, and helm uninstall removes every
// object, cluster-scoped ones included.
func TestHelmInstall(t *testing.T) {
	ctx, e := startCluster(t)
	const limit, lease = 4, "vts-leader"
	notes, _ := helm(t, false, "install", releaseName, chartDir(), "--kubeconfig", e.cluster.KubeconfigPath,
		"--namespace", namespace, "--create-namespace",
		"--set", fmt.Sprintf("pluginArgs.maxNodesPerZone=%d,leaderElection.resourceName=%s", limit, lease))
	if want := "the build for Kubernetes " + buildMinor(t); !strings.Contains(notes, want) {
		t.Errorf("helm install's notes do not say %q:\n%s", want, notes)
	}

	inst := readInstall(ctx, t, e, namespace, releaseName)
	inst.checkImage(ctx, t, e)
	inst.checkRBAC(ctx, t, e, lease)
	if got := inst.args(t).MaxNodesPerZone; got != limit {
		t.Errorf("installed maxNodesPerZone %d, want %d", got, limit)
	}
	le := inst.config.LeaderElection
	if le.ResourceName != lease || le.ResourceNamespace != namespace {
		t.Errorf("installed leader election Lease %s/%s, want %s/%s", le.ResourceNamespace, le.ResourceName, namespace, lease)
	}

	sched := inst.startScheduler(ctx, t, e)
	waitLeader(ctx, t, e, namespace, lease)
	runLeaseWorkload(ctx, t, e, limit+1, limit)
	checkMetrics(ctx, t, e, sched.Address)
	sched.Stop()
	e.checkAudit(t)

	// helm upgrade keeps the values given at install, re-reads the cluster's
	// minor, and a changed configuration changes the pod template, so the
	// Deployment rolls its pods.
	helm(t, false, "upgrade", releaseName, chartDir(), "--kubeconfig", e.cluster.KubeconfigPath,
		"--namespace", namespace, "--reset-then-reuse-values", "--set", "pluginArgs.maxNodesPerZone=5")
	up := readInstall(ctx, t, e, namespace, releaseName)
	up.checkImage(ctx, t, e)
	if got := up.args(t).MaxNodesPerZone; got != 5 {
		t.Errorf("after helm upgrade, maxNodesPerZone %d, want 5", got)
	}
	if got := up.config.LeaderElection.ResourceName; got != lease {
		t.Errorf("after helm upgrade, the Lease is %s, want %s (the install's value kept)", got, lease)
	}
	const checksum = "checksum/config"
	if a, b := inst.deployment.Spec.Template.Annotations[checksum], up.deployment.Spec.Template.Annotations[checksum]; a == "" || a == b {
		t.Errorf("pod annotation %s was %q and is %q after a configuration change; want a new value, so the pods roll", checksum, a, b)
	}

	out, _ := helm(t, false, "uninstall", releaseName, "--kubeconfig", e.cluster.KubeconfigPath, "--namespace", namespace, "--wait")
	t.Logf("helm uninstall: %s", strings.TrimSpace(out))
	rbac := e.cluster.Client.RbacV1()
	for what, err := range map[string]error{
		"ClusterRole":        getErr(rbac.ClusterRoles().Get(ctx, inst.deployment.Name, metav1.GetOptions{})),
		"ClusterRoleBinding": getErr(rbac.ClusterRoleBindings().Get(ctx, inst.deployment.Name+":kube-scheduler", metav1.GetOptions{})),
		"RoleBinding":        getErr(rbac.RoleBindings(metav1.NamespaceSystem).Get(ctx, inst.deployment.Name+":extension-apiserver-authentication-reader", metav1.GetOptions{})),
		"Deployment":         getErr(e.cluster.Client.AppsV1().Deployments(namespace).Get(ctx, inst.deployment.Name, metav1.GetOptions{})),
	} {
		if !apierrors.IsNotFound(err) {
			t.Errorf("after helm uninstall, getting the %s: %v, want not found", what, err)
		}
	}
}

// TestKustomizeApply does what kubectl apply --server-side -k
// deploy/kustomize/k8s<minor> does, for this build's minor: kustomize
// renders the overlay and every object is applied server-side. The scheduler
// started from what was installed must place the lease workload.
func TestKustomizeApply(t *testing.T) {
	ctx, e := startCluster(t)
	minor := buildMinor(t)
	objs, err := localcluster.DecodeManifests("kustomize build "+overlayDir(minor), kustomizeBuild(t, overlayDir(minor)))
	if err != nil {
		t.Fatal(err)
	}
	applier, err := localcluster.NewApplier(e.cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	applier.FieldManager = "kubectl"
	var list []runtime.Object
	for _, m := range objs {
		list = append(list, m.Object)
	}
	applied, err := applier.Apply(ctx, "", list...)
	if err != nil {
		t.Fatalf("server-side apply: %v", err)
	}
	t.Logf("applied %s", strings.Join(applied, ", "))

	inst := readInstall(ctx, t, e, namespace, schedulerName)
	inst.checkImage(ctx, t, e)
	inst.checkRBAC(ctx, t, e, schedulerName)
	ns, err := e.cluster.Client.CoreV1().Namespaces().Get(ctx, namespace, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("namespace %s labels %v, want the restricted Pod Security Standard enforced", namespace, ns.Labels)
	}

	sched := inst.startScheduler(ctx, t, e)
	waitLeader(ctx, t, e, namespace, schedulerName)
	runLeaseWorkload(ctx, t, e, 2, 16)
	checkMetrics(ctx, t, e, sched.Address)
	sched.Stop()
	e.checkAudit(t)
}

// env is one local control plane with its fleet and disk cloud.
type env struct {
	cluster *localcluster.Cluster
	audit   *localcluster.AuditLog
	// user is the scheduler's ServiceAccount user, whose requests the API
	// server logs.
	user string
}

// startCluster starts a local control plane with RBAC and an audit log of
// the scheduler's ServiceAccount, the fleet and the simulated disk cloud.
// Everything stops when the test ends.
func startCluster(t *testing.T) (context.Context, *env) {
	t.Helper()
	// Logs go to the test (shown when it fails or with -v), errors and
	// the local control plane's progress only.
	ctx := klog.NewContext(context.Background(), ktesting.NewLogger(t, ktesting.NewConfig(ktesting.Verbosity(0))))
	start := time.Now()
	e := &env{user: localcluster.ServiceAccountUser(namespace, schedulerName)}
	var err error
	if e.audit, err = localcluster.NewAuditLog(t.TempDir(), e.user); err != nil {
		t.Fatal(err)
	}
	flags := append(slices.Clone(localcluster.AuthorizationFlags), e.audit.Flags...)
	if e.cluster, err = localcluster.Start(ctx, localcluster.Options{APIServerFlags: flags}); err != nil {
		t.Fatalf("starting the local control plane: %v", err)
	}
	t.Cleanup(e.cluster.Stop)
	// Clients stop before the API server (cleanups run last first).
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	if err := localcluster.CreateNodes(ctx, e.cluster.Client, localcluster.PlanNodes(region, fleet)); err != nil {
		t.Fatal(err)
	}
	if _, err := simcloud.Start(ctx, e.cluster.Client, simcloud.Options{Seed: 11, RetryInterval: time.Second}); err != nil {
		t.Fatal(err)
	}
	t.Logf("local control plane up in %s", time.Since(start).Round(time.Millisecond))
	return ctx, e
}

// buildMinor is the Kubernetes minor this test binary, and so the scheduler
// it runs and the API server it starts, is built for (the minor of the
// k8s.io/component-base release it links), e.g. "1.36".
func buildMinor(t *testing.T) string {
	t.Helper()
	if strings.Count(compbaseversion.DefaultKubeBinaryVersion, ".") != 1 {
		t.Fatalf("cannot read the Kubernetes minor from %q", compbaseversion.DefaultKubeBinaryVersion)
	}
	return compbaseversion.DefaultKubeBinaryVersion
}

// installation is what an install left in the API server: the scheduler's
// Deployment and the configuration its pods mount.
type installation struct {
	deployment *appsv1.Deployment
	configYAML string
	config     *schedconfig.KubeSchedulerConfiguration
}

func readInstall(ctx context.Context, t *testing.T, e *env, ns, name string) *installation {
	t.Helper()
	d, err := e.cluster.Client.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the installed Deployment: %v", err)
	}
	inst := &installation{deployment: d}
	c := inst.container(t)
	configPath := ""
	for _, a := range c.Args {
		if p, ok := strings.CutPrefix(a, "--config="); ok {
			configPath = p
		}
	}
	var cmName string
	for _, m := range c.VolumeMounts {
		if m.MountPath != filepath.Dir(configPath) {
			continue
		}
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == m.Name && v.ConfigMap != nil {
				cmName = v.ConfigMap.Name
			}
		}
	}
	if cmName == "" {
		t.Fatalf("the Deployment mounts no ConfigMap at the directory of --config=%s", configPath)
	}
	cm, err := e.cluster.Client.CoreV1().ConfigMaps(ns).Get(ctx, cmName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("reading the installed configuration: %v", err)
	}
	var ok bool
	if inst.configYAML, ok = cm.Data[filepath.Base(configPath)]; !ok {
		t.Fatalf("ConfigMap %s has no key %s", cmName, filepath.Base(configPath))
	}
	inst.config = decodeSchedulerConfig(t, inst.configYAML)
	return inst
}

func (inst *installation) container(t *testing.T) *v1.Container {
	t.Helper()
	cs := inst.deployment.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("the Deployment has %d containers, want 1", len(cs))
	}
	return &cs[0]
}

func (inst *installation) args(t *testing.T) *vtconfig.VolumeTopologyArgs {
	t.Helper()
	for _, p := range inst.config.Profiles {
		for _, pc := range p.PluginConfig {
			if a, ok := pc.Args.(*vtconfig.VolumeTopologyArgs); ok {
				return a
			}
		}
	}
	t.Fatal("the installed configuration has no VolumeTopology args")
	return nil
}

// checkImage: the installed image is the build of the API server's minor,
// which is this test binary's minor.
func (inst *installation) checkImage(ctx context.Context, t *testing.T, e *env) {
	t.Helper()
	sv, err := e.cluster.Client.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	minor := buildMinor(t)
	if got := sv.Major + "." + strings.TrimSuffix(sv.Minor, "+"); got != minor {
		t.Fatalf("the API server reports Kubernetes %s (%s), this build is %s", got, sv.GitVersion, minor)
	}
	if got := inst.container(t).Image; got != imageFor(t, minor) {
		t.Errorf("installed image %s, want %s, the build for the cluster's minor", got, imageFor(t, minor))
	}
}

// checkRBAC reads back the bindings of the Deployment's ServiceAccount and
// the rules of its own ClusterRole, and compares them with
// manifests/rbac.yaml (the Lease name being the configured one).
func (inst *installation) checkRBAC(ctx context.Context, t *testing.T, e *env, lease string) {
	t.Helper()
	saName, ns := inst.deployment.Spec.Template.Spec.ServiceAccountName, inst.deployment.Namespace
	if _, err := e.cluster.Client.CoreV1().ServiceAccounts(ns).Get(ctx, saName, metav1.GetOptions{}); err != nil {
		t.Fatalf("the pods' ServiceAccount: %v", err)
	}
	if got := localcluster.ServiceAccountUser(ns, saName); got != e.user {
		t.Fatalf("the scheduler runs as %s, the audit log records %s", got, e.user)
	}
	ms, err := localcluster.ReadManifestFile(filepath.Join(root, "manifests", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bindingOf := func(kind, ns string, ref rbacv1.RoleRef) string {
		return fmt.Sprintf("%s in %q to %s %s", kind, ns, ref.Kind, ref.Name)
	}
	var want []string
	var wantRules []rbacv1.PolicyRule
	for _, m := range ms {
		switch o := m.Object.(type) {
		case *rbacv1.ClusterRoleBinding:
			want = append(want, bindingOf("ClusterRoleBinding", "", o.RoleRef))
		case *rbacv1.RoleBinding:
			want = append(want, bindingOf("RoleBinding", o.Namespace, o.RoleRef))
		case *rbacv1.ClusterRole:
			for _, r := range o.Rules {
				if slices.Contains(r.Resources, "leases") && len(r.ResourceNames) > 0 {
					r.ResourceNames = []string{lease}
				}
				wantRules = append(wantRules, r)
			}
		}
	}
	isSA := func(subjects []rbacv1.Subject) bool {
		return slices.ContainsFunc(subjects, func(s rbacv1.Subject) bool {
			return s.Kind == rbacv1.ServiceAccountKind && s.Name == saName && s.Namespace == ns
		})
	}
	rbac := e.cluster.Client.RbacV1()
	var got []string
	var ownRole string
	crbs, err := rbac.ClusterRoleBindings().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range crbs.Items {
		if isSA(b.Subjects) {
			got = append(got, bindingOf("ClusterRoleBinding", "", b.RoleRef))
			if !strings.HasPrefix(b.RoleRef.Name, "system:") {
				ownRole = b.RoleRef.Name
			}
		}
	}
	rbs, err := rbac.RoleBindings("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range rbs.Items {
		if isSA(b.Subjects) {
			got = append(got, bindingOf("RoleBinding", b.Namespace, b.RoleRef))
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the ServiceAccount's bindings:\n  installed %q\n  manifests/rbac.yaml %q", got, want)
	}
	role, err := rbac.ClusterRoles().Get(ctx, ownRole, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the scheduler's own ClusterRole %q: %v", ownRole, err)
	}
	if !equalRules(role.Rules, wantRules) {
		t.Errorf("ClusterRole %s rules:\n  installed %+v\n  manifests/rbac.yaml %+v", ownRole, role.Rules, wantRules)
	}
}

func equalRules(a, b []rbacv1.PolicyRule) bool {
	return slices.EqualFunc(a, b, func(x, y rbacv1.PolicyRule) bool {
		return slices.Equal(x.APIGroups, y.APIGroups) && slices.Equal(x.Resources, y.Resources) &&
			slices.Equal(x.Verbs, y.Verbs) && slices.Equal(x.ResourceNames, y.ResourceNames) &&
			slices.Equal(x.NonResourceURLs, y.NonResourceURLs)
	})
}

// startScheduler runs the scheduler as its pod would: the installed
// configuration, the container's arguments, and a token of the pod's
// ServiceAccount. The one change is clientConnection.kubeconfig, a file
// with that token: a pod gets the same from its mounted token and the
// in-cluster environment, which a process here does not have. It runs in a
// child process (this test binary running the scheduler command), since the
// configuration turns on leader election; its log is shown if the test fails.
func (inst *installation) startScheduler(ctx context.Context, t *testing.T, e *env) *localcluster.SchedulerProcess {
	t.Helper()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := e.cluster.ServiceAccountKubeconfig(ctx, inst.deployment.Namespace, inst.deployment.Spec.Template.Spec.ServiceAccountName, kubeconfig, time.Hour); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(inst.configYAML), &cfg); err != nil {
		t.Fatal(err)
	}
	if _, ok := cfg["clientConnection"]; ok {
		t.Fatalf("the installed configuration sets clientConnection; the scheduler must use its pod's in-cluster credentials")
	}
	cfg["clientConnection"] = map[string]any{"kubeconfig": kubeconfig}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	configPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(configPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	command := []string{self}
	verbosity := 0
	for _, a := range inst.container(t).Args {
		switch {
		case strings.HasPrefix(a, "--config="):
		case strings.HasPrefix(a, "--v="):
			if verbosity, err = strconv.Atoi(strings.TrimPrefix(a, "--v=")); err != nil {
				t.Fatalf("container argument %s: %v", a, err)
			}
		default:
			command = append(command, a)
		}
	}
	logPath := filepath.Join(dir, "scheduler.log")
	p, err := localcluster.StartSchedulerProcess(ctx, localcluster.ProcessOptions{
		Command:    command,
		Env:        []string{envRunScheduler + "=1"},
		Kubeconfig: kubeconfig,
		ConfigPath: configPath,
		LogPath:    logPath,
		Verbosity:  verbosity,
	})
	if err != nil {
		showLog(t, logPath)
		t.Fatalf("starting the scheduler with the installed configuration: %v", err)
	}
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			showLog(t, logPath)
		}
	})
	return p
}

func showLog(t *testing.T, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		return
	}
	if len(data) > 20000 {
		data = data[len(data)-20000:]
	}
	t.Logf("scheduler log, last 20kB:\n%s", bytes.TrimSpace(data))
}

// waitLeader waits until a scheduler holds the Lease ns/name.
func waitLeader(ctx context.Context, t *testing.T, e *env, ns, name string) {
	t.Helper()
	waitFor(ctx, t, time.Minute, "the scheduler to take the Lease "+ns+"/"+name, func() (bool, string, error) {
		l, err := e.cluster.Client.CoordinationV1().Leases(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, "no Lease", nil
		}
		if err != nil {
			return false, "", err
		}
		holder := ""
		if l.Spec.HolderIdentity != nil {
			holder = *l.Spec.HolderIdentity
		}
		return holder != "", "holder " + strconv.Quote(holder), nil
	})
}

// runLeaseWorkload applies manifests/examples/lease.yaml to a new namespace
// and scales it to replicas: min(replicas, limit) must run on distinct
// NVMe-capable nodes of one zone, and the rest stay Pending with the attach
// limit's reason.
func runLeaseWorkload(ctx context.Context, t *testing.T, e *env, replicas, limit int) {
	t.Helper()
	client := e.cluster.Client
	ns, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "lease-"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := localcluster.ReadManifestFile(filepath.Join(root, "manifests", "examples", "lease.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	applier, err := localcluster.NewApplier(e.cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if _, err := applier.Apply(ctx, ns.Name, m.Object); err != nil {
			t.Fatal(err)
		}
	}
	if replicas != 2 {
		patch := fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)
		if _, err := client.AppsV1().StatefulSets(ns.Name).Patch(ctx, "lease-test", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	running, pending := min(replicas, limit), max(replicas-limit, 0)
	var pods []v1.Pod
	waitFor(ctx, t, 90*time.Second, fmt.Sprintf("%d running and %d unschedulable lease-test pods", running, pending), func() (bool, string, error) {
		list, err := client.CoreV1().Pods(ns.Name).List(ctx, metav1.ListOptions{LabelSelector: "app=lease-test"})
		if err != nil {
			return false, "", err
		}
		pods = list.Items
		r, u := 0, 0
		var state []string
		for _, p := range pods {
			switch {
			case p.Status.Phase == v1.PodRunning:
				r++
			case unschedulable(&p) != nil:
				u++
			}
			state = append(state, p.Name+"@"+p.Spec.NodeName+":"+string(p.Status.Phase))
		}
		return r == running && u == pending && len(pods) == replicas, strings.Join(state, " "), nil
	})

	classifier := disk.NewNodeClassifier(disk.DefaultZoneLabelKeys, disk.DefaultNVMeInstanceFamilies, disk.LabelNVMeMultiAttach)
	nodes := map[string]bool{}
	zones := map[string]bool{}
	var placed []string
	for _, p := range pods {
		if p.Spec.NodeName == "" {
			continue
		}
		n, err := client.CoreV1().Nodes().Get(ctx, p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		facts := classifier.Describe(n.Labels)
		if !facts.NVMe {
			t.Errorf("pod %s runs on %s: %s", p.Name, n.Name, facts.NVMeWhy)
		}
		if nodes[n.Name] {
			t.Errorf("two replicas on node %s", n.Name)
		}
		nodes[n.Name], zones[facts.Zone] = true, true
		placed = append(placed, p.Name+"@"+n.Name)
	}
	if len(zones) != 1 || !zones[zoneA] {
		t.Errorf("replicas run in zones %v, want only %s, the zone with the most NVMe-capable nodes", zones, zoneA)
	}
	t.Logf("placed %s", strings.Join(placed, " "))
	if pending == 0 {
		return
	}
	pvc, err := client.CoreV1().PersistentVolumeClaims(ns.Name).Get(ctx, "data-disk", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pv, err := client.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reason := fmt.Sprintf(volumetopology.ErrReasonAttachLimit, pv.Spec.CSI.VolumeHandle, limit, zoneA, limit)
	for _, p := range pods {
		if c := unschedulable(&p); c != nil && !strings.Contains(c.Message, reason) {
			t.Errorf("pending pod %s: %q does not say %q", p.Name, c.Message, reason)
		}
	}
}

func unschedulable(p *v1.Pod) *v1.PodCondition {
	for i, c := range p.Status.Conditions {
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// checkMetrics reads /metrics from the scheduler's secure port, as a scraper
// behind the metrics Service would: refused without a token, served to a
// user allowed to get /metrics (here the cluster administrator).
func checkMetrics(ctx context.Context, t *testing.T, e *env, address string) {
	t.Helper()
	client := &http.Client{
		Timeout: 10 * time.Second,
		// The scheduler serves a self-signed certificate.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec
	}
	defer client.CloseIdleConnections()
	get := func(token string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+address+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET /metrics: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get(""); code != http.StatusUnauthorized && code != http.StatusForbidden {
		t.Errorf("GET /metrics without a token: %d, want 401 or 403", code)
	}
	code, body := get(e.cluster.Config.BearerToken)
	if code != http.StatusOK || !strings.Contains(body, "scheduler_schedule_attempts_total") {
		t.Errorf("GET /metrics as the administrator: %d, want 200 with scheduler_schedule_attempts_total; body starts %.300q", code, body)
	}
}

// checkAudit fails the test if the API server refused the scheduler anything:
// the installed RBAC lacks a permission. It also makes sure the scheduler's
// requests were made with the ServiceAccount's token at all.
func (e *env) checkAudit(t *testing.T) {
	t.Helper()
	events, err := e.audit.Events()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	refused := map[string]bool{}
	for _, ev := range events {
		if ev.User.Username != e.user {
			continue
		}
		n++
		if ev.ResponseStatus != nil && ev.ResponseStatus.Code == http.StatusForbidden {
			o := ev.ObjectRef
			what := ev.RequestURI
			if o != nil {
				what = fmt.Sprintf("%s/%s %s/%s", o.APIGroup, o.Resource, o.Namespace, o.Name)
			}
			msg := fmt.Sprintf("the API server refused %s %s to the scheduler: the installed RBAC lacks it", ev.Verb, what)
			if !refused[msg] {
				refused[msg] = true
				t.Error(msg)
			}
		}
	}
	if n == 0 {
		t.Errorf("the audit log has no request of %s: the scheduler did not use the ServiceAccount's token", e.user)
	}
	t.Logf("%d requests of %s in the audit log", n, e.user)
}

func getErr[T any](_ T, err error) error { return err }

// waitFor polls cond until it is true, failing the test with the last state
// cond described when timeout passes.
func waitFor(ctx context.Context, t *testing.T, timeout time.Duration, what string, cond func() (bool, string, error)) {
	t.Helper()
	testutil.WaitFor(ctx, t, timeout, what, cond)
}
