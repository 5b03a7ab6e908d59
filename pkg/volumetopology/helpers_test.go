package volumetopology

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8scache "k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	plugintesting "k8s.io/kubernetes/pkg/scheduler/framework/plugins/testing"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

const (
	zoneA  = "cn-a"
	zoneB  = "cn-b"
	zoneC  = "cn-c"
	region = "cn-r"
	ns     = "default"

	nvmeType  = "ecs.g7se.xlarge"
	plainType = "ecs.g6.large"
)

// makeNode returns a node with the given labels (key, value pairs).
func makeNode(name string, kv ...string) *v1.Node {
	labels := map[string]string{v1.LabelHostname: name}
	for i := 0; i+1 < len(kv); i += 2 {
		labels[kv[i]] = kv[i+1]
	}
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

// zoneNode is a node labelled the way the driver labels it.
func zoneNode(name, zone, instanceType string, kv ...string) *v1.Node {
	return makeNode(name, append([]string{
		disk.LabelDriverZone, zone, v1.LabelTopologyZone, zone, v1.LabelTopologyRegion, region,
		v1.LabelInstanceTypeStable, instanceType,
	}, kv...)...)
}

func wffcClass(name string, params map[string]string) *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       disk.DriverName,
		Parameters:        params,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
}

func makeClaim(name, class string, mode v1.PersistentVolumeAccessMode) *v1.PersistentVolumeClaim {
	return &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To(class),
			AccessModes:      []v1.PersistentVolumeAccessMode{mode},
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("20Gi")}},
		},
	}
}

func sharedClaim(name, class string) *v1.PersistentVolumeClaim {
	c := makeClaim(name, class, v1.ReadWriteMany)
	c.Spec.VolumeMode = ptr.To(v1.PersistentVolumeBlock)
	return c
}

// sized sets the storage a claim requests.
func sized(c *v1.PersistentVolumeClaim, size string) *v1.PersistentVolumeClaim {
	c = c.DeepCopy()
	c.Spec.Resources.Requests = v1.ResourceList{v1.ResourceStorage: resource.MustParse(size)}
	return c
}

func boundTo(c *v1.PersistentVolumeClaim, pv string) *v1.PersistentVolumeClaim {
	c = c.DeepCopy()
	c.Spec.VolumeName = pv
	return c
}

func selected(c *v1.PersistentVolumeClaim, node string) *v1.PersistentVolumeClaim {
	c = c.DeepCopy()
	c.Annotations = map[string]string{disk.AnnSelectedNode: node}
	return c
}

// diskPV is a driver PV bound to a claim, with node affinity on the given key.
func diskPV(name, handle, claim string, multi bool, zoneKey, zone string) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeSource: v1.PersistentVolumeSource{CSI: &v1.CSIPersistentVolumeSource{
				Driver: disk.DriverName, VolumeHandle: handle, VolumeAttributes: map[string]string{},
			}},
			AccessModes: []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
		},
	}
	if claim != "" {
		pv.Spec.ClaimRef = &v1.ObjectReference{Namespace: ns, Name: claim}
	}
	if multi {
		pv.Spec.CSI.VolumeAttributes[disk.ParamMultiAttach] = "true"
		pv.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}
	}
	if zoneKey != "" {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: zoneKey, Operator: v1.NodeSelectorOpIn, Values: []string{zone}}},
		}}}}
	}
	return pv
}

func volumeAttachment(pv, node string) *storagev1.VolumeAttachment {
	return &storagev1.VolumeAttachment{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("csi-%s-%s", pv, node)},
		Spec: storagev1.VolumeAttachmentSpec{
			Attacher: disk.DriverName, NodeName: node,
			Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To(pv)},
		},
	}
}

// makePod returns a pod using the claims; on is its node ("" when pending).
func makePod(name, on string, claims ...string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(name)}, Spec: v1.PodSpec{NodeName: on}}
	for i, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{
			Name:         fmt.Sprintf("vol-%d", i),
			VolumeSource: v1.VolumeSource{PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: c}},
		})
	}
	return p
}

// cluster is the world a test schedules into.
type cluster struct {
	nodes   []*v1.Node
	pods    []*v1.Pod // pods bound to nodes
	assumed []*v1.Pod // pods assumed by the scheduler, not bound yet
	objs    []runtime.Object
}

// setup builds the plugin with informers holding the objects and the nodes,
// and a snapshot made the way the scheduler makes it: a scheduler cache fed
// the informers' node objects and the pods (assumed pods through AssumePod).
func (c cluster) setup(t testing.TB, args *config.VolumeTopologyArgs) (*VolumeTopology, *cache.Snapshot) {
	t.Helper()
	logger, ctx := ktesting.NewTestContext(t)
	snap := cache.NewEmptySnapshot()
	var obj runtime.Object
	if args != nil {
		obj = args
	}
	objs := append([]runtime.Object{}, c.objs...)
	for _, n := range c.nodes {
		objs = append(objs, n)
	}
	// Bound pods are in the pod informer too, as in the scheduler.
	for _, p := range c.pods {
		objs = append(objs, p)
	}
	p := plugintesting.SetupPluginWithInformers(ctx, t, New, obj, snap, objs)
	pl := p.(*VolumeTopology)
	// The scheduler starts scheduling once its own handlers have synced; the
	// plugin's node index may still be catching up (see nodesSynced). Tests
	// that need it whole wait here.
	if !k8scache.WaitForCacheSync(ctx.Done(), pl.nodesSynced) {
		t.Fatal("node index did not sync")
	}

	schedCache := newSchedulerCache(ctx)
	for _, n := range c.nodes {
		// The informer's object, so the index and the snapshot agree as they do in the scheduler.
		informed, err := pl.handle.SharedInformerFactory().Core().V1().Nodes().Lister().Get(n.Name)
		if err != nil {
			t.Fatal(err)
		}
		schedCache.AddNode(logger, informed)
	}
	for _, p := range c.pods {
		if err := schedCache.AddPod(logger, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range c.assumed {
		if err := schedCache.AssumePod(logger, p); err != nil {
			t.Fatal(err)
		}
		// The scheduler reserves every pod it assumes.
		if st := pl.Reserve(ctx, framework.NewCycleState(), p, p.Spec.NodeName); !st.IsSuccess() {
			t.Fatal(st)
		}
	}
	if err := schedCache.UpdateSnapshot(logger, snap); err != nil {
		t.Fatal(err)
	}
	return pl, snap
}

// outcome is what PreFilter and Filter said about a pod.
type outcome struct {
	preFilter *fwk.Status
	result    *fwk.PreFilterResult
	filter    map[string]*fwk.Status // by node; nil when PreFilter stopped the cycle
	state     fwk.CycleState
}

func run(t testing.TB, pl *VolumeTopology, snap *cache.Snapshot, pod *v1.Pod) outcome {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	cs := framework.NewCycleState()
	nodes, err := snap.NodeInfos().List()
	if err != nil {
		t.Fatal(err)
	}
	res, st := pl.PreFilter(ctx, cs, pod, nodes)
	o := outcome{preFilter: st, result: res, state: cs}
	if !st.IsSuccess() {
		return o
	}
	o.filter = map[string]*fwk.Status{}
	for _, ni := range nodes {
		o.filter[ni.Node().Name] = pl.Filter(ctx, cs, pod, ni)
	}
	return o
}

func unresolvable(format string, a ...any) *fwk.Status {
	return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(format, a...))
}

func unschedulable(format string, a ...any) *fwk.Status {
	return fwk.NewStatus(fwk.Unschedulable, fmt.Sprintf(format, a...))
}

type klogLogger = klog.Logger
