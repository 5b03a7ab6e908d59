package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/localcluster"
)

// What the default scheduler does right must stay right: the seeds' static
// and dynamic disks, ReadWriteOncePod, allowedTopologies, local volumes, and
// pods with no disk of ours.
func TestDefaultBehaviourKept(t *testing.T) {
	t.Parallel()
	t.Run("static-disks-pod-follows-disk", testStaticDisks)
	t.Run("dynamic-disks-disk-follows-pod", testDynamicDisks)
	t.Run("read-write-once-pod", testReadWriteOncePod)
	t.Run("allowed-topologies", testAllowedTopologies)
	t.Run("local-volume", testLocalVolume)
	t.Run("pods-without-our-claims", testPodsWithoutOurClaims)
}

// diskID returns a fresh disk ID for a static volume.
func diskID() string { return "d-" + strings.ToLower(rand.String(20)) }

// Seed 002, "pod follows disk": static PVs pinned to zones a and b by node
// affinity on the driver's key and to zone c by the legacy beta zone label
// only; each replica runs in its disk's zone, and again after its pod is
// deleted.
func testStaticDisks(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "static")
	zones := []string{zoneA, zoneB, zoneC}
	for i, zone := range zones {
		pvName := fmt.Sprintf("pv-disk-ssd-web-%d-%s", i, ns)
		pv := &v1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: pvName, Labels: map[string]string{"alicloud-pvname": pvName}},
			Spec: v1.PersistentVolumeSpec{
				Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse("25Gi")},
				AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
					Driver: disk.DriverName, VolumeHandle: diskID(),
				}},
			},
		}
		if zone == zoneC {
			pv.Labels[v1.LabelFailureDomainBetaZone] = zone
			pv.Labels[v1.LabelFailureDomainBetaRegion] = region
		} else {
			pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: disk.LabelDriverZone, Operator: v1.NodeSelectorOpIn, Values: []string{zone}}},
			}}}}
		}
		if _, err := cluster.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pvc := &v1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("disk-ssd-web-%d", i)},
			Spec: v1.PersistentVolumeClaimSpec{
				AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
				StorageClassName: ptr.To(""),
				Selector:         &metav1.LabelSelector{MatchLabels: map[string]string{"alicloud-pvname": pvName}},
				Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("25Gi")}},
			},
		}
		if _, err := cluster.Client.CoreV1().PersistentVolumeClaims(ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The template's class is never used: the claims exist.
	apply(ctx, t, ns, withClaimTemplate(statefulSet("web", localcluster.SchedulerName, 3), "disk-ssd", "csi-disk-topology"))

	check := func() {
		t.Helper()
		c := waitPods(ctx, t, ns, "app=web", 3, 0, 60*time.Second)
		for _, p := range c.running {
			var i int
			if _, err := fmt.Sscanf(p.Name, "web-%d", &i); err != nil {
				t.Fatal(err)
			}
			if z := zoneOfNode(node(ctx, t, p.Spec.NodeName)); z != zones[i] {
				t.Errorf("pod %s runs in zone %s, want the zone of its disk, %s", p.Name, z, zones[i])
			}
		}
		checkRules(ctx, t, ns)
	}
	check()
	if err := cluster.Client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=web"}); err != nil {
		t.Fatal(err)
	}
	// Wait for the old pods to go before counting the new ones.
	waitFor(ctx, t, 30*time.Second, "recreated pods", func() (bool, string, error) {
		pods, err := cluster.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return false, "", err
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				return false, p.Name + " terminating", nil
			}
		}
		return len(pods.Items) == 3, fmt.Sprintf("%d pods", len(pods.Items)), nil
	})
	check()
}

// Seed 002, "disk follows pod": WaitForFirstConsumer disks are created in
// the zone of the node each replica was scheduled to.
func testDynamicDisks(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "dynamic")
	class := "topology-" + ns
	apply(ctx, t, ns,
		wffcClass(class, map[string]string{disk.ParamType: disk.CategorySSD}),
		withClaimTemplate(statefulSet("web", localcluster.SchedulerName, 3), "disk-ssd", class))
	c := waitPods(ctx, t, ns, "app=web", 3, 0, 60*time.Second)
	assertDisksNextToPods(ctx, t, ns, c.running)
	for _, p := range c.running {
		if n := node(ctx, t, p.Spec.NodeName); n.Labels[disk.DiskTypeLabel(disk.CategorySSD)] != disk.DiskTypeAvailable {
			t.Errorf("pod %s runs on %s, which does not offer %s", p.Name, n.Name, disk.CategorySSD)
		}
	}
	checkRules(ctx, t, ns)
}

// podWithClaim is a pause pod for our scheduler using a claim.
func podWithClaim(name, claimName string) *v1.Pod {
	return &v1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: v1.PodSpec{
			SchedulerName: localcluster.SchedulerName,
			Containers: []v1.Container{{
				Name: "app", Image: "registry.k8s.io/pause:3.10",
				VolumeMounts: []v1.VolumeMount{{Name: "data", MountPath: "/data"}},
			}},
			Volumes: []v1.Volume{{Name: "data", VolumeSource: v1.VolumeSource{
				PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claimName},
			}}},
		},
	}
}

// Seed 003: a ReadWriteOncePod claim is used by one pod at a time; the
// second waits with the VolumeRestrictions reason and runs once the first is
// gone.
func testReadWriteOncePod(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "rwop")
	class := "rwop-" + ns
	apply(ctx, t, ns,
		wffcClass(class, map[string]string{disk.ParamType: disk.CategoryESSD}),
		claim("single-writer-only", class, v1.PersistentVolumeFilesystem, v1.ReadWriteOncePod),
		podWithClaim("writer-1", "single-writer-only"))
	waitPods(ctx, t, ns, "app=writer-1", 1, 0, 30*time.Second)
	apply(ctx, t, ns, podWithClaim("writer-2", "single-writer-only"))
	c := waitPods(ctx, t, ns, "app=writer-2", 0, 1, 30*time.Second)
	if msg := scheduledCondition(&c.unschedulable[0]).Message; !strings.Contains(msg, "ReadWriteOncePod") {
		t.Errorf("writer-2 waits with %q, want the ReadWriteOncePod conflict", msg)
	}
	if err := cluster.Client.CoreV1().Pods(ns).Delete(ctx, "writer-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// Waits for the disk to detach from writer-1's node if it goes elsewhere.
	waitPods(ctx, t, ns, "app=writer-2", 1, 0, 30*time.Second)
	checkRules(ctx, t, ns)
}

// Seed 004: allowedTopologies restricts the zone; a class allowing only a
// zone without nodes leaves the pod Pending.
func testAllowedTopologies(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "allowed")
	allowed := func(name, zone string) *storagev1.StorageClass {
		sc := wffcClass(name, map[string]string{disk.ParamType: disk.CategoryESSD})
		sc.AllowedTopologies = []v1.TopologySelectorTerm{{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{
			{Key: v1.LabelTopologyZone, Values: []string{zone}},
		}}}
		return sc
	}
	inB, nowhere := "zone-b-"+ns, "zone-x-"+ns
	apply(ctx, t, ns,
		allowed(inB, zoneB), allowed(nowhere, "cn-beijing-x"),
		claim("in-b", inB, v1.PersistentVolumeFilesystem, v1.ReadWriteOnce),
		claim("nowhere", nowhere, v1.PersistentVolumeFilesystem, v1.ReadWriteOnce),
		podWithClaim("in-b", "in-b"), podWithClaim("nowhere", "nowhere"))
	c := waitPods(ctx, t, ns, "app=in-b", 1, 0, 30*time.Second)
	if z := zoneOfNode(node(ctx, t, c.running[0].Spec.NodeName)); z != zoneB {
		t.Errorf("pod in-b runs in zone %s, want %s", z, zoneB)
	}
	assertDisksNextToPods(ctx, t, ns, c.running)
	waitPods(ctx, t, ns, "app=nowhere", 0, 1, 30*time.Second)
	checkRules(ctx, t, ns)
}

// Seed 004: a local volume with hostname affinity takes its pod to its node.
func testLocalVolume(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "local")
	class, target := "local-"+ns, zoneC+"-05"
	sc := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: class},
		Provisioner:       "kubernetes.io/no-provisioner",
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "local-" + ns},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")},
			AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			StorageClassName:              class,
			PersistentVolumeSource:        v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: "/mnt/disks/ssd1"}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{target}}},
			}}}},
		},
	}
	if _, err := cluster.Client.StorageV1().StorageClasses().Create(ctx, sc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	apply(ctx, t, ns, claim("local", class, v1.PersistentVolumeFilesystem, v1.ReadWriteOnce), podWithClaim("local", "local"))
	c := waitPods(ctx, t, ns, "app=local", 1, 0, 30*time.Second)
	if got := c.running[0].Spec.NodeName; got != target {
		t.Errorf("pod with a local volume of node %s runs on %s", target, got)
	}
	pvc, err := cluster.Client.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "local", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pvc.Spec.VolumeName != pv.Name {
		t.Errorf("claim local is bound to %q, want %s", pvc.Spec.VolumeName, pv.Name)
	}
	checkRules(ctx, t, ns)
}

// Pods with no claim of ours are placed as the default profile places them:
// a zone with no NVMe node is fine, shared disks of another driver get no
// NVMe or one-pod-per-node rule, and resources still count.
func testPodsWithoutOurClaims(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	ns := newNamespace(ctx, t, "plain")
	plain := func(name string) *v1.Pod {
		return &v1.Pod{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
			Spec: v1.PodSpec{
				SchedulerName: localcluster.SchedulerName,
				Containers:    []v1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}},
			},
		}
	}
	inC := plain("in-c")
	inC.Spec.NodeSelector = map[string]string{v1.LabelTopologyZone: zoneC}
	huge := plain("huge")
	huge.Spec.Containers[0].Resources.Requests = v1.ResourceList{v1.ResourceCPU: resource.MustParse("64")}

	// A ReadWriteMany volume of another driver, on one zone-c node: both
	// pods using it go there, although it is not NVMe-capable.
	target := zoneC + "-02"
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: "nas-" + ns},
		Spec: v1.PersistentVolumeSpec{
			Capacity:                      v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")},
			AccessModes:                   []v1.PersistentVolumeAccessMode{v1.ReadWriteMany},
			PersistentVolumeReclaimPolicy: v1.PersistentVolumeReclaimRetain,
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
				Driver: "nasplugin.csi.alibabacloud.com", VolumeHandle: "nas-" + ns,
			}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{Key: v1.LabelHostname, Operator: v1.NodeSelectorOpIn, Values: []string{target}}},
			}}}},
		},
	}
	if _, err := cluster.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// NAS needs no attaching, so the kubelets do not wait for it.
	nasDriver := &storagev1.CSIDriver{
		ObjectMeta: metav1.ObjectMeta{Name: pv.Spec.CSI.Driver},
		Spec:       storagev1.CSIDriverSpec{AttachRequired: ptr.To(false)},
	}
	if _, err := cluster.Client.StorageV1().CSIDrivers().Create(ctx, nasDriver, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	nas := claim("nas", "", v1.PersistentVolumeFilesystem, v1.ReadWriteMany)
	nas.Spec.VolumeName = pv.Name
	share1, share2 := podWithClaim("share-1", "nas"), podWithClaim("share-2", "nas")
	share2.Labels["app"] = "share-1"

	apply(ctx, t, ns, inC, huge, nas, share1, share2)
	c := waitPods(ctx, t, ns, "app=in-c", 1, 0, 30*time.Second)
	if z := zoneOfNode(node(ctx, t, c.running[0].Spec.NodeName)); z != zoneC {
		t.Errorf("pod in-c runs in zone %s, want %s", z, zoneC)
	}
	c = waitPods(ctx, t, ns, "app=huge", 0, 1, 30*time.Second)
	if msg := scheduledCondition(&c.unschedulable[0]).Message; !strings.Contains(msg, "Insufficient cpu") {
		t.Errorf("pod huge waits with %q, want Insufficient cpu", msg)
	}
	c = waitPods(ctx, t, ns, "app=share-1", 2, 0, 30*time.Second)
	for _, p := range c.running {
		if p.Spec.NodeName != target {
			t.Errorf("pod %s runs on %s, want %s, the only node its volume reaches", p.Name, p.Spec.NodeName, target)
		}
	}
	checkRules(ctx, t, ns)
}
