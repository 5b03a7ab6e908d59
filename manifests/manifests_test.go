package manifests

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	schedvalidation "k8s.io/kubernetes/pkg/scheduler/apis/config/validation"
	"sigs.k8s.io/yaml"

	vtconfig "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	vtscheme "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/scheme"
	vtvalidation "github.com/volume-topology/volume-topology-scheduler/pkg/apis/config/validation"
)

const (
	schedulerName = "volume-topology-scheduler"
	namespace     = "volume-topology-system"
	driverName    = "diskplugin.csi.alibabacloud.com"
	servingPort   = 10259
	nonRootID     = int64(65532)
)

// strictDecoder decodes built-in API objects and fails on unknown or
// duplicated fields.
var strictDecoder = serializer.NewCodecFactory(clientgoscheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// kustomization is the part of a Kustomization this directory uses. It is
// decoded strictly, so a field added to kustomization.yaml must be added here
// and checked.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

func readKustomization(t *testing.T) kustomization {
	t.Helper()
	data, err := FS.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		t.Fatalf("kustomization.yaml: %v", err)
	}
	return k
}

// installFiles are the manifests kubectl apply -k installs.
func installFiles(t *testing.T) []string {
	t.Helper()
	return readKustomization(t).Resources
}

// exampleFiles are the example workloads, applied with kubectl apply -f.
func exampleFiles(t *testing.T) []string {
	t.Helper()
	files, err := fs.Glob(FS, "examples/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no examples embedded")
	}
	return files
}

// decodeFile splits a YAML file into documents and decodes each strictly into
// its typed object. Documents holding only comments are skipped.
func decodeFile(t *testing.T, name string) []runtime.Object {
	t.Helper()
	data, err := FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []runtime.Object
	for i := 0; ; i++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: reading document %d: %v", name, i, err)
		}
		var fields map[string]any
		if err := yaml.Unmarshal(doc, &fields); err != nil {
			t.Fatalf("%s: document %d is not YAML: %v", name, i, err)
		}
		if len(fields) == 0 {
			continue
		}
		obj, _, err := strictDecoder.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: document %d: %v", name, i, err)
		}
		objs = append(objs, obj)
	}
	if len(objs) == 0 {
		t.Fatalf("%s: no objects", name)
	}
	return objs
}

// decodeFiles decodes every object of the named files.
func decodeFiles(t *testing.T, names []string) []runtime.Object {
	t.Helper()
	var objs []runtime.Object
	for _, name := range names {
		objs = append(objs, decodeFile(t, name)...)
	}
	return objs
}

// find returns the one object of type T named name.
func find[T runtime.Object](t *testing.T, objs []runtime.Object, name string) T {
	t.Helper()
	var found []T
	for _, obj := range objs {
		typed, ok := obj.(T)
		if !ok {
			continue
		}
		m, err := meta.Accessor(typed)
		if err != nil {
			t.Fatal(err)
		}
		if m.GetName() == name {
			found = append(found, typed)
		}
	}
	if len(found) != 1 {
		var zero T
		t.Fatalf("want exactly one %T named %q, found %d", zero, name, len(found))
	}
	return found[0]
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	k := readKustomization(t)
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		t.Errorf("kustomization.yaml is %s %s, want kustomize.config.k8s.io/v1beta1 Kustomization", k.APIVersion, k.Kind)
	}
	listed := map[string]bool{}
	for _, r := range k.Resources {
		if listed[r] {
			t.Errorf("kustomization.yaml lists %s twice", r)
		}
		listed[r] = true
		if strings.HasPrefix(path.Clean(r), "examples") {
			t.Errorf("kustomization.yaml lists %s: examples are not part of the install", r)
		}
		if _, err := fs.Stat(FS, r); err != nil {
			t.Errorf("kustomization.yaml lists %s: %v", r, err)
		}
	}
	files, err := fs.Glob(FS, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f != "kustomization.yaml" && !listed[f] {
			t.Errorf("%s is not listed in kustomization.yaml resources", f)
		}
	}
}

func TestDecoderIsStrict(t *testing.T) {
	doc := []byte("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\nautomountToken: false\n")
	if _, _, err := strictDecoder.Decode(doc, nil, nil); !runtime.IsStrictDecodingError(err) {
		t.Fatalf("decoding a misspelled field: got error %v, want a strict decoding error", err)
	}
}

func TestNamespaces(t *testing.T) {
	for _, obj := range decodeFiles(t, installFiles(t)) {
		m, err := meta.Accessor(obj)
		if err != nil {
			t.Fatal(err)
		}
		want := namespace
		switch obj.(type) {
		case *v1.Namespace, *rbacv1.ClusterRole, *rbacv1.ClusterRoleBinding:
			want = ""
		case *rbacv1.RoleBinding:
			want = "kube-system"
		}
		if m.GetNamespace() != want {
			t.Errorf("%T %s: namespace %q, want %q", obj, m.GetName(), m.GetNamespace(), want)
		}
	}
	for _, obj := range decodeFiles(t, exampleFiles(t)) {
		m, err := meta.Accessor(obj)
		if err != nil {
			t.Fatal(err)
		}
		if m.GetNamespace() != "" {
			t.Errorf("example %T %s sets namespace %q; examples apply to the current namespace", obj, m.GetName(), m.GetNamespace())
		}
	}
}

func TestDeployment(t *testing.T) {
	objs := decodeFiles(t, installFiles(t))
	find[*v1.Namespace](t, objs, namespace)
	d := find[*appsv1.Deployment](t, objs, schedulerName)
	sa := find[*v1.ServiceAccount](t, objs, schedulerName)

	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != sa.Name || d.Namespace != sa.Namespace {
		t.Errorf("pod runs as service account %s/%s, want %s/%s", d.Namespace, pod.ServiceAccountName, sa.Namespace, sa.Name)
	}
	if pod.PriorityClassName != "" {
		t.Errorf("priorityClassName %q: system-* classes are quota-limited outside kube-system in many clusters", pod.PriorityClassName)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != "volume-topology-scheduler:latest" {
		t.Errorf("image %q, want volume-topology-scheduler:latest (the overlays name each minor's build)", c.Image)
	}

	t.Run("config mount", func(t *testing.T) {
		var configPath string
		for _, a := range c.Args {
			if p, ok := strings.CutPrefix(a, "--config="); ok {
				configPath = p
			}
		}
		if configPath == "" {
			t.Fatalf("args %q have no --config", c.Args)
		}
		var volumeName string
		for _, m := range c.VolumeMounts {
			if m.MountPath == path.Dir(configPath) {
				volumeName = m.Name
			}
		}
		if volumeName == "" {
			t.Fatalf("no volume is mounted at %s, the directory of --config=%s", path.Dir(configPath), configPath)
		}
		var cmName string
		for _, v := range pod.Volumes {
			if v.Name == volumeName && v.ConfigMap != nil {
				cmName = v.ConfigMap.Name
			}
		}
		if cmName == "" {
			t.Fatalf("volume %s is not a ConfigMap volume", volumeName)
		}
		cm := find[*v1.ConfigMap](t, objs, cmName)
		if _, ok := cm.Data[path.Base(configPath)]; !ok {
			t.Errorf("ConfigMap %s has no key %s for --config=%s", cm.Name, path.Base(configPath), configPath)
		}
		if !slices.Contains(c.Args, "--v=2") {
			t.Errorf("args %q lack --v=2", c.Args)
		}
	})

	t.Run("security", func(t *testing.T) {
		psc := pod.SecurityContext
		if psc == nil {
			psc = &v1.PodSecurityContext{}
		}
		csc := c.SecurityContext
		if csc == nil {
			t.Fatal("container has no securityContext")
		}
		// A container setting overrides the pod setting.
		runAsNonRoot := or(csc.RunAsNonRoot, psc.RunAsNonRoot)
		runAsUser := or(csc.RunAsUser, psc.RunAsUser)
		runAsGroup := or(csc.RunAsGroup, psc.RunAsGroup)
		seccomp := or(csc.SeccompProfile, psc.SeccompProfile)
		if runAsNonRoot == nil || !*runAsNonRoot {
			t.Error("runAsNonRoot is not true")
		}
		if runAsUser == nil || *runAsUser != nonRootID {
			t.Errorf("runAsUser = %v, want %d", runAsUser, nonRootID)
		}
		if runAsGroup == nil || *runAsGroup != nonRootID {
			t.Errorf("runAsGroup = %v, want %d", runAsGroup, nonRootID)
		}
		if seccomp == nil || seccomp.Type != v1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("seccompProfile = %v, want RuntimeDefault", seccomp)
		}
		if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
			t.Error("readOnlyRootFilesystem is not true")
		}
		if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation {
			t.Error("allowPrivilegeEscalation is not false")
		}
		if csc.Privileged != nil && *csc.Privileged {
			t.Error("container is privileged")
		}
		if csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []v1.Capability{"ALL"}) || len(csc.Capabilities.Add) != 0 {
			t.Errorf("capabilities = %+v, want drop [ALL] and no add", csc.Capabilities)
		}
		if pod.HostNetwork || pod.HostPID || pod.HostIPC {
			t.Error("pod shares a host namespace")
		}
		var tmp string
		for _, m := range c.VolumeMounts {
			if m.MountPath == "/tmp" {
				tmp = m.Name
			}
		}
		if i := slices.IndexFunc(pod.Volumes, func(v v1.Volume) bool { return v.Name == tmp }); tmp == "" || pod.Volumes[i].EmptyDir == nil {
			t.Error("/tmp is not a writable emptyDir")
		}
	})

	t.Run("probes", func(t *testing.T) {
		for _, p := range []struct {
			name  string
			probe *v1.Probe
			path  string
		}{
			{"startupProbe", c.StartupProbe, "/livez"},
			{"livenessProbe", c.LivenessProbe, "/livez"},
			{"readinessProbe", c.ReadinessProbe, "/readyz"},
		} {
			if p.probe == nil || p.probe.HTTPGet == nil {
				t.Errorf("%s is not an HTTP GET probe", p.name)
				continue
			}
			g := p.probe.HTTPGet
			if g.Path != p.path || g.Port.IntValue() != servingPort || g.Scheme != v1.URISchemeHTTPS {
				t.Errorf("%s probes %s %s on port %s, want HTTPS %s on %d", p.name, g.Scheme, g.Path, g.Port.String(), p.path, servingPort)
			}
		}
	})

	t.Run("resources", func(t *testing.T) {
		for _, q := range []struct {
			name string
			got  resource.Quantity
			want string
		}{
			{"cpu request", c.Resources.Requests[v1.ResourceCPU], "100m"},
			{"memory request", c.Resources.Requests[v1.ResourceMemory], "256Mi"},
			{"memory limit", c.Resources.Limits[v1.ResourceMemory], "1Gi"},
		} {
			if q.got.Cmp(resource.MustParse(q.want)) != 0 {
				t.Errorf("%s = %s, want %s", q.name, q.got.String(), q.want)
			}
		}
		if _, ok := c.Resources.Limits[v1.ResourceCPU]; ok {
			t.Error("a CPU limit throttles the scheduler under load; leave it out")
		}
	})

	t.Run("anti-affinity", func(t *testing.T) {
		a := pod.Affinity
		if a == nil || a.PodAntiAffinity == nil || len(a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution) != 1 {
			t.Fatal("want one preferred podAntiAffinity term")
		}
		term := a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution[0].PodAffinityTerm
		if term.TopologyKey != v1.LabelHostname {
			t.Errorf("anti-affinity topologyKey %q, want %s", term.TopologyKey, v1.LabelHostname)
		}
		if term.LabelSelector == nil {
			t.Fatal("anti-affinity term has no labelSelector")
		}
		for k, v := range term.LabelSelector.MatchLabels {
			if d.Spec.Template.Labels[k] != v {
				t.Errorf("anti-affinity selects %s=%s, which the scheduler pods do not carry", k, v)
			}
		}
	})
}

// TestPodDisruptionBudget: a drain evicts one replica at a time, and a
// single replica can still be drained.
func TestPodDisruptionBudget(t *testing.T) {
	objs := decodeFiles(t, installFiles(t))
	d := find[*appsv1.Deployment](t, objs, schedulerName)
	pdb := find[*policyv1.PodDisruptionBudget](t, objs, schedulerName)
	if pdb.Namespace != d.Namespace {
		t.Errorf("PodDisruptionBudget in %s, the Deployment in %s", pdb.Namespace, d.Namespace)
	}
	if pdb.Spec.MinAvailable != nil {
		t.Errorf("minAvailable %s blocks draining the node of a single replica; use maxUnavailable", pdb.Spec.MinAvailable.String())
	}
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
		t.Errorf("maxUnavailable = %v, want 1", pdb.Spec.MaxUnavailable)
	}
	assertSelectsPods(t, "PodDisruptionBudget", pdb.Spec.Selector.MatchLabels, d)
}

// TestMetricsService: the Service reaches the scheduler's secure port, where
// /metrics is served.
func TestMetricsService(t *testing.T) {
	objs := decodeFiles(t, installFiles(t))
	d := find[*appsv1.Deployment](t, objs, schedulerName)
	svc := find[*v1.Service](t, objs, schedulerName+"-metrics")
	if svc.Namespace != d.Namespace {
		t.Errorf("Service in %s, the Deployment in %s", svc.Namespace, d.Namespace)
	}
	assertSelectsPods(t, "Service", svc.Spec.Selector, d)
	if len(svc.Spec.Ports) != 1 {
		t.Fatalf("%d ports, want 1", len(svc.Spec.Ports))
	}
	p := svc.Spec.Ports[0]
	var target *v1.ContainerPort
	for _, c := range d.Spec.Template.Spec.Containers {
		for i, cp := range c.Ports {
			if cp.Name == p.TargetPort.String() || cp.ContainerPort == p.TargetPort.IntVal {
				target = &c.Ports[i]
			}
		}
	}
	if target == nil || target.ContainerPort != servingPort {
		t.Errorf("Service targets port %s, which is not the container's secure port %d", p.TargetPort.String(), servingPort)
	}
	if p.Port != servingPort || !strings.HasPrefix(p.Name, "https") {
		t.Errorf("Service port %s %d, want an https port %d", p.Name, p.Port, servingPort)
	}
}

// assertSelectsPods fails unless selector is non-empty and matches the pod
// template of d.
func assertSelectsPods(t *testing.T, what string, selector map[string]string, d *appsv1.Deployment) {
	t.Helper()
	if len(selector) == 0 {
		t.Errorf("%s selects every pod of the namespace", what)
		return
	}
	if !labels.SelectorFromSet(selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("%s selector %v does not match the scheduler pods %v", what, selector, d.Spec.Template.Labels)
	}
}

func or[T any](first, second *T) *T {
	if first != nil {
		return first
	}
	return second
}

func TestRBAC(t *testing.T) {
	objs := decodeFiles(t, installFiles(t))
	sa := find[*v1.ServiceAccount](t, objs, schedulerName)
	isSA := func(subjects []rbacv1.Subject) bool {
		return len(subjects) == 1 && subjects[0].Kind == rbacv1.ServiceAccountKind &&
			subjects[0].Name == sa.Name && subjects[0].Namespace == sa.Namespace
	}

	wantClusterRoles := map[string]bool{"system:kube-scheduler": false, "system:volume-scheduler": false, schedulerName: false}
	for _, obj := range objs {
		b, ok := obj.(*rbacv1.ClusterRoleBinding)
		if !ok {
			continue
		}
		if !isSA(b.Subjects) {
			t.Errorf("ClusterRoleBinding %s binds %+v, want only the service account %s/%s", b.Name, b.Subjects, sa.Namespace, sa.Name)
		}
		if _, ok := wantClusterRoles[b.RoleRef.Name]; !ok || b.RoleRef.Kind != "ClusterRole" {
			t.Errorf("ClusterRoleBinding %s binds unexpected %s %s", b.Name, b.RoleRef.Kind, b.RoleRef.Name)
			continue
		}
		wantClusterRoles[b.RoleRef.Name] = true
	}
	for role, bound := range wantClusterRoles {
		if !bound {
			t.Errorf("no ClusterRoleBinding to %s", role)
		}
	}

	var authReader bool
	for _, obj := range objs {
		if b, ok := obj.(*rbacv1.RoleBinding); ok {
			authReader = authReader || (b.Namespace == "kube-system" && b.RoleRef.Kind == "Role" &&
				b.RoleRef.Name == "extension-apiserver-authentication-reader" && isSA(b.Subjects))
		}
	}
	if !authReader {
		t.Error("no RoleBinding in kube-system of the service account to extension-apiserver-authentication-reader")
	}

	role := find[*rbacv1.ClusterRole](t, objs, schedulerName)
	writable := map[string]bool{"leases": true, "events": true}
	var leaseCreate, leaseGetUpdate bool
	for _, r := range role.Rules {
		for _, list := range [][]string{r.APIGroups, r.Resources, r.Verbs, r.ResourceNames} {
			if slices.Contains(list, "*") {
				t.Errorf("rule %+v uses a wildcard", r)
			}
		}
		for _, verb := range r.Verbs {
			if verb == "get" || verb == "list" || verb == "watch" {
				continue
			}
			for _, res := range r.Resources {
				if !writable[res] {
					t.Errorf("rule %+v lets the scheduler %s %s; it only writes leases and events", r, verb, res)
				}
			}
		}
		if slices.Contains(r.Verbs, "create") && len(r.ResourceNames) > 0 {
			t.Errorf("rule %+v restricts create by name, which never matches a create", r)
		}
		if slices.Contains(r.Resources, "leases") {
			switch {
			case slices.Equal(r.Verbs, []string{"create"}) && len(r.ResourceNames) == 0:
				leaseCreate = true
			case slices.Equal(r.Verbs, []string{"get", "update"}) && slices.Equal(r.ResourceNames, []string{schedulerName}):
				leaseGetUpdate = true
			default:
				t.Errorf("unexpected lease rule %+v", r)
			}
		}
	}
	if !leaseCreate || !leaseGetUpdate {
		t.Errorf("want lease create (unnamed) and get/update on %s; have create=%v get/update=%v", schedulerName, leaseCreate, leaseGetUpdate)
	}
}

func TestLeaseExample(t *testing.T) {
	objs := decodeFile(t, "examples/lease.yaml")
	sc := find[*storagev1.StorageClass](t, objs, "alicloud-disk-shared")
	pvc := find[*v1.PersistentVolumeClaim](t, objs, "data-disk")
	sts := find[*appsv1.StatefulSet](t, objs, "lease-test")

	if sc.Provisioner != driverName {
		t.Errorf("StorageClass provisioner %q, want %s", sc.Provisioner, driverName)
	}
	if sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		t.Error("StorageClass is not WaitForFirstConsumer")
	}
	if sc.Parameters["type"] != "cloud_essd" || sc.Parameters["multiAttach"] != "true" {
		t.Errorf("StorageClass parameters %v, want type cloud_essd and multiAttach \"true\"", sc.Parameters)
	}

	if !slices.Equal(pvc.Spec.AccessModes, []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}) {
		t.Errorf("PVC access modes %v, want [ReadWriteMany]", pvc.Spec.AccessModes)
	}
	if pvc.Spec.VolumeMode == nil || *pvc.Spec.VolumeMode != v1.PersistentVolumeBlock {
		t.Error("PVC volumeMode is not Block")
	}
	if pvc.Spec.StorageClassName == nil || *pvc.Spec.StorageClassName != sc.Name {
		t.Errorf("PVC storageClassName %v, want %s", pvc.Spec.StorageClassName, sc.Name)
	}
	if got := pvc.Spec.Resources.Requests[v1.ResourceStorage]; got.Cmp(resource.MustParse("20Gi")) != 0 {
		t.Errorf("PVC requests %s, want 20Gi", got.String())
	}

	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", sts.Spec.Replicas)
	}
	pod := sts.Spec.Template.Spec
	if pod.SchedulerName != schedulerName {
		t.Errorf("schedulerName %q, want %s", pod.SchedulerName, schedulerName)
	}
	// The scheduler replaces the guide's podAntiAffinity and NVMe nodeAffinity.
	if pod.Affinity != nil || len(pod.NodeSelector) != 0 {
		t.Errorf("pod has affinity %+v / nodeSelector %v; the scheduler enforces placement itself", pod.Affinity, pod.NodeSelector)
	}
	var volume string
	for _, c := range pod.Containers {
		for _, d := range c.VolumeDevices {
			if d.DevicePath == "/dev/data-disk" {
				volume = d.Name
			}
		}
		if len(c.VolumeMounts) != 0 {
			t.Errorf("container %s mounts a filesystem; the shared disk is a raw block device", c.Name)
		}
	}
	if volume == "" {
		t.Fatal("no container uses a volumeDevice at /dev/data-disk")
	}
	i := slices.IndexFunc(pod.Volumes, func(v v1.Volume) bool { return v.Name == volume })
	if i < 0 || pod.Volumes[i].PersistentVolumeClaim == nil || pod.Volumes[i].PersistentVolumeClaim.ClaimName != pvc.Name {
		t.Errorf("volume %s does not use the claim %s", volume, pvc.Name)
	}
}

func TestMultiZoneExample(t *testing.T) {
	objs := decodeFile(t, "examples/multi-zone.yaml")
	sc := find[*storagev1.StorageClass](t, objs, "alicloud-disk-zoned")
	sts := find[*appsv1.StatefulSet](t, objs, "zoned-app")

	if sc.Provisioner != driverName {
		t.Errorf("StorageClass provisioner %q, want %s", sc.Provisioner, driverName)
	}
	if sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		t.Error("StorageClass is not WaitForFirstConsumer")
	}
	if sc.Parameters["type"] != "cloud_essd,cloud_ssd" {
		t.Errorf("type = %q, want cloud_essd,cloud_ssd", sc.Parameters["type"])
	}
	// The driver compares zoneId entries verbatim: the example must not put
	// spaces around its commas.
	if sc.Parameters["zoneId"] != "cn-beijing-a,cn-beijing-b" {
		t.Errorf("zoneId = %q, want cn-beijing-a,cn-beijing-b", sc.Parameters["zoneId"])
	}

	if sts.Spec.Replicas == nil || *sts.Spec.Replicas != 3 {
		t.Errorf("replicas = %v, want 3", sts.Spec.Replicas)
	}
	if sts.Spec.Template.Spec.SchedulerName != schedulerName {
		t.Errorf("schedulerName %q, want %s", sts.Spec.Template.Spec.SchedulerName, schedulerName)
	}
	if len(sts.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("%d volumeClaimTemplates, want 1", len(sts.Spec.VolumeClaimTemplates))
	}
	claim := sts.Spec.VolumeClaimTemplates[0].Spec
	if !slices.Equal(claim.AccessModes, []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}) {
		t.Errorf("claim access modes %v, want [ReadWriteOnce]", claim.AccessModes)
	}
	if claim.StorageClassName == nil || *claim.StorageClassName != sc.Name {
		t.Errorf("claim storageClassName %v, want %s", claim.StorageClassName, sc.Name)
	}
	if got := claim.Resources.Requests[v1.ResourceStorage]; got.Cmp(resource.MustParse("20Gi")) != 0 {
		t.Errorf("claim requests %s, want 20Gi", got.String())
	}
}

// TestSchedulerConfig decodes config.yaml the way the scheduler does (strictly,
// with the VolumeTopology args registered, defaults applied) and validates it
// with kube-scheduler's own validation and the plugin's.
func TestSchedulerConfig(t *testing.T) {
	objs := decodeFiles(t, installFiles(t))
	cm := find[*v1.ConfigMap](t, objs, "volume-topology-scheduler-config")
	data, ok := cm.Data["config.yaml"]
	if !ok {
		t.Fatalf("ConfigMap %s has no config.yaml", cm.Name)
	}
	obj, _, err := vtscheme.Codecs.UniversalDecoder().Decode([]byte(data), nil, nil)
	if err != nil {
		t.Fatalf("decoding config.yaml: %v", err)
	}
	cfg, ok := obj.(*schedconfig.KubeSchedulerConfiguration)
	if !ok {
		t.Fatalf("config.yaml decoded to %T, want *KubeSchedulerConfiguration", obj)
	}
	if err := schedvalidation.ValidateKubeSchedulerConfiguration(cfg); err != nil {
		t.Errorf("invalid configuration: %v", err)
	}

	le := cfg.LeaderElection
	if !le.LeaderElect || le.ResourceName != schedulerName || le.ResourceNamespace != namespace {
		t.Errorf("leaderElection = {leaderElect: %v, resource: %s/%s}, want true and %s/%s", le.LeaderElect, le.ResourceNamespace, le.ResourceName, namespace, schedulerName)
	}
	// The ClusterRole grants get/update on exactly this Lease name.
	role := find[*rbacv1.ClusterRole](t, objs, schedulerName)
	if !slices.ContainsFunc(role.Rules, func(r rbacv1.PolicyRule) bool {
		return slices.Contains(r.Resources, "leases") && slices.Contains(r.ResourceNames, le.ResourceName)
	}) {
		t.Errorf("ClusterRole %s grants nothing on the Lease %s", role.Name, le.ResourceName)
	}

	if len(cfg.Profiles) != 1 {
		t.Fatalf("%d profiles, want 1", len(cfg.Profiles))
	}
	p := cfg.Profiles[0]
	if p.SchedulerName != schedulerName {
		t.Errorf("profile schedulerName %q, want %s", p.SchedulerName, schedulerName)
	}
	if p.Plugins == nil || !slices.Contains(p.Plugins.MultiPoint.Enabled, schedconfig.Plugin{Name: "VolumeTopology", Weight: 5}) {
		t.Errorf("VolumeTopology is not enabled at multiPoint with weight 5")
	}
	i := slices.IndexFunc(p.PluginConfig, func(pc schedconfig.PluginConfig) bool { return pc.Name == "VolumeTopology" })
	if i < 0 {
		t.Fatal("no pluginConfig for VolumeTopology")
	}
	args, ok := p.PluginConfig[i].Args.(*vtconfig.VolumeTopologyArgs)
	if !ok {
		t.Fatalf("VolumeTopology args decoded to %T, want *config.VolumeTopologyArgs", p.PluginConfig[i].Args)
	}
	// kube-scheduler validates only in-tree args; the plugin validates its own
	// when it is built, so a bad value would crash the scheduler at start.
	if err := vtvalidation.ValidateVolumeTopologyArgs(field.NewPath("args"), args); err != nil {
		t.Errorf("invalid VolumeTopology args: %v", err)
	}
	if args.MaxNodesPerZone != 16 {
		t.Errorf("maxNodesPerZone = %d, want 16", args.MaxNodesPerZone)
	}
	if !slices.Equal(args.Drivers, []string{driverName}) {
		t.Errorf("drivers = %v, want [%s]", args.Drivers, driverName)
	}
}
