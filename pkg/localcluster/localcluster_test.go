package localcluster

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	restclient "k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"
)

// The configuration is read the way kube-scheduler reads --config.
func TestSchedulerConfigLoads(t *testing.T) {
	logger, _ := ktesting.NewTestContext(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	err := WriteSchedulerConfig(path, SchedulerConfig{
		Kubeconfig:    "/tmp/kubeconfig",
		LeaderElect:   true,
		LeaseDuration: 4 * time.Second,
		RenewDeadline: 3 * time.Second,
		RetryPeriod:   500 * time.Millisecond,
		PluginArgs:    map[string]any{"maxNodesPerZone": 8},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := options.LoadConfigFromFile(logger, path)
	if err != nil {
		t.Fatalf("kube-scheduler cannot load the configuration: %v", err)
	}
	if cfg.ClientConnection.Kubeconfig != "/tmp/kubeconfig" {
		t.Errorf("kubeconfig %q", cfg.ClientConnection.Kubeconfig)
	}
	le := cfg.LeaderElection
	if !le.LeaderElect || le.ResourceName != SchedulerName || le.ResourceNamespace != "kube-system" || le.LeaseDuration.Duration != 4*time.Second {
		t.Errorf("leader election %+v, want lease %s/%s of 4s", le, "kube-system", SchedulerName)
	}
	if len(cfg.Profiles) != 1 || cfg.Profiles[0].SchedulerName != SchedulerName {
		t.Fatalf("profiles %+v, want one named %s", cfg.Profiles, SchedulerName)
	}
	p := cfg.Profiles[0]
	var enabled []string
	if p.Plugins != nil {
		for _, pl := range p.Plugins.MultiPoint.Enabled {
			enabled = append(enabled, pl.Name)
		}
	}
	if !slices.Contains(enabled, volumetopology.Name) || !slices.Contains(enabled, "VolumeBinding") || !slices.Contains(enabled, "DefaultBinder") {
		t.Errorf("multiPoint plugins %v, want %s added to the defaults", enabled, volumetopology.Name)
	}
	var args *config.VolumeTopologyArgs
	for _, pc := range p.PluginConfig {
		if pc.Name == volumetopology.Name {
			args, _ = pc.Args.(*config.VolumeTopologyArgs)
		}
	}
	if args == nil || args.MaxNodesPerZone != 8 {
		t.Errorf("plugin args %+v, want maxNodesPerZone 8", args)
	}
}

func TestSchedulerConfigWithoutLeaderElection(t *testing.T) {
	logger, _ := ktesting.NewTestContext(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := WriteSchedulerConfig(path, SchedulerConfig{Kubeconfig: "k", SchedulerName: "other"}); err != nil {
		t.Fatal(err)
	}
	cfg, err := options.LoadConfigFromFile(logger, path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.LeaderElection.LeaderElect || cfg.Profiles[0].SchedulerName != "other" {
		t.Errorf("leaderElect %v, profile %s", cfg.LeaderElection.LeaderElect, cfg.Profiles[0].SchedulerName)
	}
}

func TestDecodeManifests(t *testing.T) {
	objs, err := DecodeManifests("test.yaml", []byte(`# only a comment
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: shared
provisioner: diskplugin.csi.alibabacloud.com
---
# a comment, then a document
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: s
spec:
  replicas: 2
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 2 {
		t.Fatalf("decoded %d objects, want 2", len(objs))
	}
	if sc, ok := objs[0].Object.(*storagev1.StorageClass); !ok || sc.Name != "shared" {
		t.Errorf("first object %#v, want StorageClass shared", objs[0].Object)
	}
	if sts, ok := objs[1].Object.(*appsv1.StatefulSet); !ok || ptr.Deref(sts.Spec.Replicas, 0) != 2 || objs[1].Source != "test.yaml:3" {
		t.Errorf("second object %#v from %s, want StatefulSet s from test.yaml:3", objs[1].Object, objs[1].Source)
	}
	if _, err := DecodeManifests("bad.yaml", []byte("apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n")); err == nil || !strings.Contains(err.Error(), "bad.yaml: document 1") {
		t.Errorf("unknown kind: err %v, want one naming bad.yaml: document 1", err)
	}
}

// The examples the demo applies decode.
func TestExamplesDecode(t *testing.T) {
	ms, err := ReadManifestDir(filepath.Join("..", "..", "manifests", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, m := range ms {
		if sts, ok := m.Object.(*appsv1.StatefulSet); ok && sts.Name == "lease-test" {
			found = true
		}
	}
	if !found {
		t.Error("no StatefulSet lease-test in the examples: the demo has nothing to scale")
	}
}

func TestPlanNodes(t *testing.T) {
	specs := PlanNodes(DemoRegion, DemoZones)
	classifier := disk.NewNodeClassifier(disk.DefaultZoneLabelKeys, disk.DefaultNVMeInstanceFamilies, disk.LabelNVMeMultiAttach)
	nodes, nvme := map[string]int{}, map[string]int{}
	names := map[string]bool{}
	for _, s := range specs {
		n, err := s.Node()
		if err != nil {
			t.Fatal(err)
		}
		if names[n.Name] {
			t.Errorf("node name %s used twice", n.Name)
		}
		names[n.Name] = true
		f := classifier.Describe(n.Labels)
		if f.ZoneConflict != "" || f.Region != DemoRegion || !f.DescribesDiskTypes {
			t.Errorf("node %s: facts %+v", n.Name, f)
		}
		nodes[f.Zone]++
		if f.NVMe {
			nvme[f.Zone]++
		}
		if c := n.Status.Conditions; len(c) != 1 || c[0].Type != v1.NodeReady || c[0].Status != v1.ConditionTrue {
			t.Errorf("node %s conditions %+v, want Ready", n.Name, c)
		}
		csi := s.CSINode(n)
		if len(csi.Spec.Drivers) != 1 || csi.Spec.Drivers[0].Name != disk.DriverName || !cmp.Equal(csi.Spec.Drivers[0].TopologyKeys, []string{disk.LabelDriverZone}) {
			t.Errorf("csinode %s drivers %+v", n.Name, csi.Spec.Drivers)
		}
	}
	for _, z := range DemoZones {
		if nodes[z.Zone] != z.Nodes || nvme[z.Zone] != z.NVMe {
			t.Errorf("zone %s: %d nodes of which %d NVMe, want %d and %d", z.Zone, nodes[z.Zone], nvme[z.Zone], z.Nodes, z.NVMe)
		}
	}
}

func TestFindEtcdExplicitMissing(t *testing.T) {
	_, err := FindEtcd(filepath.Join(t.TempDir(), "etcd"))
	if !errors.Is(err, ErrEtcdNotFound) || !strings.Contains(err.Error(), "make etcd") {
		t.Errorf("err %v, want ErrEtcdNotFound telling to run make etcd", err)
	}
}

func TestWriteKubeconfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kubeconfig")
	in := &restclient.Config{
		Host:            "https://127.0.0.1:6443",
		BearerToken:     "token",
		TLSClientConfig: restclient.TLSClientConfig{CAData: []byte("ca"), ServerName: "apiserver-loopback-client"},
	}
	if err := WriteKubeconfig(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	if out.Host != in.Host || out.BearerToken != in.BearerToken || out.TLSClientConfig.ServerName != in.TLSClientConfig.ServerName || string(out.TLSClientConfig.CAData) != "ca" {
		t.Errorf("kubeconfig reads back as host %s token %q server name %q", out.Host, out.BearerToken, out.TLSClientConfig.ServerName)
	}
}

// DefaultProfile puts kube-scheduler's default profile, without our plugin,
// before ours, and kube-scheduler accepts the pair.
func TestSchedulerConfigDefaultProfile(t *testing.T) {
	logger, _ := ktesting.NewTestContext(t)
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := WriteSchedulerConfig(path, SchedulerConfig{Kubeconfig: "k", DefaultProfile: true}); err != nil {
		t.Fatal(err)
	}
	cfg, err := options.LoadConfigFromFile(logger, path)
	if err != nil {
		t.Fatalf("kube-scheduler cannot load the configuration: %v", err)
	}
	var names []string
	for _, p := range cfg.Profiles {
		names = append(names, p.SchedulerName)
	}
	if !slices.Equal(names, []string{DefaultSchedulerName, SchedulerName}) {
		t.Fatalf("profiles %v, want %s and %s", names, DefaultSchedulerName, SchedulerName)
	}
	if p := cfg.Profiles[0]; p.Plugins != nil && slices.ContainsFunc(p.Plugins.MultiPoint.Enabled, func(pl schedconfig.Plugin) bool { return pl.Name == volumetopology.Name }) {
		t.Errorf("profile %s enables %s", DefaultSchedulerName, volumetopology.Name)
	}
}

// The rollout demo's nodes are one node pool: one instance type and size.
func TestRolloutNodesAreUniform(t *testing.T) {
	specs := rolloutNodes()
	if len(specs) != 60 {
		t.Fatalf("%d nodes, want 60", len(specs))
	}
	zones := map[string]int{}
	for _, s := range specs {
		zones[s.Zone]++
		if s.InstanceType != RolloutInstanceType || s.CPU != "4" || s.Memory != "8Gi" || !slices.Contains(s.DiskTypes, disk.CategoryESSD) {
			t.Errorf("node %s: %s %s CPU %s memory, disk types %v", s.Name, s.InstanceType, s.CPU, s.Memory, s.DiskTypes)
		}
	}
	if len(zones) != 3 {
		t.Errorf("zones %v, want 3 of 20 nodes", zones)
	}
}
