package neverworse

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/simcloud"
)

const (
	ns     = "default"
	region = "cn-r"
)

var zones = []string{"cn-a", "cn-b", "cn-c"}

// world is one cluster's objects, and the pods to place in it.
type world struct {
	nodes   []*v1.Node
	classes []*storagev1.StorageClass
	claims  []*v1.PersistentVolumeClaim
	pvs     []*v1.PersistentVolume
	pods    []*v1.Pod // pods already on nodes
	vas     []*storagev1.VolumeAttachment
	pending []*v1.Pod // pods to place, not in the cluster
}

func pick[T any](r *rand.Rand, list ...T) T { return list[r.IntN(len(list))] }

// someZones is a random non-empty subset of the zones, in random order.
func someZones(r *rand.Rand) []string {
	out := slices.Clone(zones)
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:1+r.IntN(len(out))]
}

func genNode(r *rand.Rand, i int) *v1.Node {
	name := fmt.Sprintf("node-%d", i)
	labels := map[string]string{v1.LabelHostname: name}
	zone := pick(r, zones...)
	switch r.IntN(10) {
	case 0: // no zone at all
	case 1:
		labels[v1.LabelTopologyZone] = zone
	case 2:
		labels[v1.LabelFailureDomainBetaZone] = zone
	default: // as the driver and the cloud controller label it
		labels[disk.LabelDriverZone] = zone
		labels[v1.LabelTopologyZone] = zone
	}
	if r.IntN(8) != 0 {
		labels[v1.LabelTopologyRegion] = region
	}
	switch r.IntN(6) {
	case 0:
	case 1, 2:
		labels[v1.LabelInstanceTypeStable] = "ecs.g6.large"
	case 3:
		labels[v1.LabelInstanceTypeStable] = "ecs.c8y.large"
	default:
		labels[v1.LabelInstanceTypeStable] = "ecs.g7se.xlarge"
	}
	switch r.IntN(8) {
	case 0:
		labels[disk.LabelNVMeMultiAttach] = "true"
	case 1:
		labels[disk.LabelNVMeMultiAttach] = "false"
	}
	if r.IntN(2) == 0 {
		for _, t := range []string{disk.CategoryESSD, disk.CategorySSD, disk.CategoryEfficiency, "cloud_auto", disk.CategoryRegional} {
			if r.IntN(2) == 0 {
				labels[disk.LabelDiskTypePrefix+t] = "available"
			}
		}
	}
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status: v1.NodeStatus{
			Allocatable: v1.ResourceList{v1.ResourcePods: resource.MustParse("110"), v1.ResourceCPU: resource.MustParse("4"), v1.ResourceMemory: resource.MustParse("16Gi")},
			Conditions:  []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
		},
	}
	n.Status.Capacity = n.Status.Allocatable
	switch r.IntN(12) {
	case 0:
		n.Spec.Taints = []v1.Taint{{Key: "dedicated", Value: "db", Effect: v1.TaintEffectNoSchedule}}
	case 1:
		n.Spec.Unschedulable = true
	case 2: // NotReady, as the node lifecycle controller taints it
		n.Status.Conditions[0].Status = v1.ConditionUnknown
		n.Spec.Taints = []v1.Taint{{Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoSchedule}}
	}
	return n
}

// genZoneList spells a zoneId value from the driver-conformance grammar.
func genZoneList(r *rand.Rand) string {
	var parts []string
	for _, z := range someZones(r) {
		switch r.IntN(10) {
		case 0:
			z = " " + z
		case 1:
			z = strings.ToUpper(z)
		}
		parts = append(parts, z)
		if r.IntN(8) == 0 {
			parts = append(parts, z) // repeated
		}
		if r.IntN(8) == 0 {
			parts = append(parts, "") // empty element
		}
	}
	if r.IntN(4) == 0 {
		parts = append(parts, "") // trailing comma
	}
	if r.IntN(30) == 0 {
		return pick(r, "", ",")
	}
	return strings.Join(parts, ",")
}

func genClass(r *rand.Rand, i int) *storagev1.StorageClass {
	p := map[string]string{}
	// Spellings the driver refuses come up about one class in ten: the
	// property says nothing about them, beyond the default profile's verdict.
	t := pick(r, "-", "available", "cloud_essd", "cloud_essd", "cloud_ssd,cloud_efficiency", "cloud_auto", "cloud_essd,cloud_essd",
		"cloud_regional_disk_auto", "cloud_regional_disk_auto,cloud_essd", "cloud_essd_entry,cloud_auto")
	if r.IntN(20) == 0 {
		t = pick(r, "cloud_essd,", "CLOUD_ESSD", "cloud_essd, cloud_ssd", "")
	}
	if t != "-" {
		p[disk.ParamType] = t
	}
	switch r.IntN(6) {
	case 0, 1:
	case 2:
		p["zoneid"] = genZoneList(r)
	case 3:
		p["zoneId"] = genZoneList(r)
		p["zoneid"] = genZoneList(r)
	default:
		p["zoneId"] = genZoneList(r)
	}
	if m := pick(r, "-", "-", "-", "true", "TRUE", "Enabled", "enabled", "yes", "1", " true", "enabled ", "false", "disabled", ""); m != "-" {
		p[disk.ParamMultiAttach] = m
	}
	l := pick(r, "-", "-", "-", "", "PL0", "PL1", "PL2,PL1", "PL1,PL1")
	if r.IntN(20) == 0 {
		l = pick(r, "pl1", "PL1,", "PL0, PL1")
	}
	if l != "-" {
		p["performanceLevel"] = l
	}
	if r.IntN(8) == 0 {
		p["volumeSizeAutoAvailable"] = pick(r, "true", "Yes", "1", "no")
	}
	c := &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: fmt.Sprintf("class-%d", i)},
		Provisioner:       disk.DriverName,
		Parameters:        p,
		VolumeBindingMode: ptr.To(storagev1.VolumeBindingWaitForFirstConsumer),
	}
	if r.IntN(4) == 0 {
		key := pick(r, v1.LabelTopologyZone, disk.LabelDriverZone)
		c.AllowedTopologies = []v1.TopologySelectorTerm{{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{{Key: key, Values: someZones(r)}}}}
	}
	return c
}

func genClaim(r *rand.Rand, i int, class string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("claim-%d", i), UID: types.UID(fmt.Sprintf("uid-claim-%d", i))},
		Spec: v1.PersistentVolumeClaimSpec{
			StorageClassName: ptr.To(class),
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse(pick(r, "20Gi", "20Gi", "5Gi", "500Gi"))}},
			VolumeMode:       ptr.To(v1.PersistentVolumeFilesystem),
		},
	}
	switch r.IntN(10) {
	case 0, 1:
		c.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteMany}
		c.Spec.VolumeMode = ptr.To(pick(r, v1.PersistentVolumeBlock, v1.PersistentVolumeBlock, v1.PersistentVolumeFilesystem))
	case 2:
		c.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadOnlyMany}
	case 3:
		c.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOncePod}
	default:
		c.Spec.AccessModes = []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce}
	}
	return c
}

// bind binds a claim to a volume the simulated provisioner made for a pod on
// node; it tells whether the driver could.
func (w *world) bind(c *v1.PersistentVolumeClaim, class *storagev1.StorageClass, node *v1.Node, id string) bool {
	pv, _, err := simcloud.ProvisionFor(c, class, node, id)
	if err != nil {
		return false
	}
	pv.Spec.ClaimRef.UID = c.UID
	pv.Status.Phase = v1.VolumeBound
	c.Spec.VolumeName = pv.Name
	c.Status.Phase = v1.ClaimBound
	c.Status.AccessModes = c.Spec.AccessModes
	c.Status.Capacity = pv.Spec.Capacity
	c.Annotations = map[string]string{"pv.kubernetes.io/bind-completed": "yes"}
	w.pvs = append(w.pvs, pv)
	return true
}

func podUsing(name, node string, claims ...string) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec: v1.PodSpec{
			NodeName:      node,
			SchedulerName: "default-scheduler",
			Containers:    []v1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10"}},
		},
	}
	for i, c := range claims {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: fmt.Sprintf("vol-%d", i), VolumeSource: v1.VolumeSource{
			PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: c},
		}})
	}
	if node != "" {
		p.Status.Phase = v1.PodRunning
	}
	return p
}

// someClaims is 1 to max distinct claim names of the list.
func someClaims(r *rand.Rand, list []*v1.PersistentVolumeClaim, max int) []string {
	var out []string
	for range 1 + r.IntN(max) {
		if n := pick(r, list...).Name; !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func genWorld(r *rand.Rand, pending int) *world {
	w := &world{}
	for i := range 3 + r.IntN(6) {
		w.nodes = append(w.nodes, genNode(r, i))
	}
	for i := range 1 + r.IntN(3) {
		w.classes = append(w.classes, genClass(r, i))
	}
	var bound []*v1.PersistentVolumeClaim
	for i := range 1 + r.IntN(5) {
		class := pick(r, w.classes...)
		c := genClaim(r, i, class.Name)
		// Half are bound to a disk provisioned for some node (the driver
		// may refuse: the claim stays unbound).
		if r.IntN(2) == 0 && w.bind(c, class, pick(r, w.nodes...), fmt.Sprintf("d-%d", i)) {
			bound = append(bound, c)
		} else if r.IntN(20) == 0 {
			c.Annotations = map[string]string{disk.AnnSelectedNode: pick(r, w.nodes...).Name}
		}
		w.claims = append(w.claims, c)
	}
	// Pods already using the bound disks, and their attachments.
	if len(bound) > 0 {
		for i := range r.IntN(5) {
			node := pick(r, w.nodes...).Name
			p := podUsing(fmt.Sprintf("user-%d", i), node, someClaims(r, bound, 2)...)
			switch r.IntN(10) {
			case 0:
				p.DeletionTimestamp = &metav1.Time{}
				p.Finalizers = []string{"example.com/hold"}
			case 1:
				p.Status.Phase = v1.PodSucceeded
			}
			w.pods = append(w.pods, p)
		}
		for _, c := range bound {
			if r.IntN(3) == 0 {
				node := pick(r, w.nodes...).Name
				w.vas = append(w.vas, &storagev1.VolumeAttachment{
					ObjectMeta: metav1.ObjectMeta{Name: simcloud.AttachmentName(c.Spec.VolumeName, node)},
					Spec: storagev1.VolumeAttachmentSpec{Attacher: disk.DriverName, NodeName: node,
						Source: storagev1.VolumeAttachmentSource{PersistentVolumeName: ptr.To(c.Spec.VolumeName)}},
					Status: storagev1.VolumeAttachmentStatus{Attached: r.IntN(2) == 0},
				})
			}
		}
	}
	for i := range pending {
		p := podUsing(fmt.Sprintf("pending-%d", i), "", someClaims(r, w.claims, 2)...)
		if r.IntN(3) == 0 {
			p.Spec.Tolerations = []v1.Toleration{{Key: "dedicated", Operator: v1.TolerationOpExists}}
		}
		w.pending = append(w.pending, p)
	}
	return w
}
