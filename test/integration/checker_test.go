package integration

import (
	"github.com/volume-topology/volume-topology-scheduler/pkg/audit"
	"github.com/volume-topology/volume-topology-scheduler/pkg/volumetopology"

	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	volumehelpers "k8s.io/component-helpers/storage/volume"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/simcloud"
)

// maxNodesPerZone is the cloud's multi-attach limit the rules enforce.
const maxNodesPerZone = 16

// The checker reads the API state (and the simulated cloud's disks) as an
// auditor would, independently of the plugin: node zones from the
// topology.kubernetes.io/zone label, PV affinity through Kubernetes' own
// matcher, NVMe capability from the instance family list or the explicit
// label.

// clusterState is what the checker reads.
type clusterState struct {
	pods   []v1.Pod
	pvcs   map[string]*v1.PersistentVolumeClaim // by name, in the namespace
	pvs    map[string]*v1.PersistentVolume
	nodes  map[string]*v1.Node
	vas    []storagev1.VolumeAttachment
	events []v1.Event
}

func readState(ctx context.Context, ns string) (*clusterState, error) {
	c := cluster.Client
	s := &clusterState{pvcs: map[string]*v1.PersistentVolumeClaim{}, pvs: map[string]*v1.PersistentVolume{}, nodes: map[string]*v1.Node{}}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	s.pods = pods.Items
	pvcs, err := c.CoreV1().PersistentVolumeClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range pvcs.Items {
		s.pvcs[pvcs.Items[i].Name] = &pvcs.Items[i]
	}
	pvs, err := c.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range pvs.Items {
		s.pvs[pvs.Items[i].Name] = &pvs.Items[i]
	}
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for i := range nodes.Items {
		s.nodes[nodes.Items[i].Name] = &nodes.Items[i]
	}
	vas, err := c.StorageV1().VolumeAttachments().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	s.vas = vas.Items
	events, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	s.events = events.Items
	return s, nil
}

func nodeZone(n *v1.Node) string {
	if z := n.Labels[v1.LabelTopologyZone]; z != "" {
		return z
	}
	return n.Labels[disk.LabelDriverZone]
}

func nvmeCapable(n *v1.Node) bool {
	if v, ok := n.Labels[disk.LabelNVMeMultiAttach]; ok {
		return v == "true"
	}
	it := strings.TrimPrefix(n.Labels[v1.LabelInstanceTypeStable], "ecs.")
	family, _, _ := strings.Cut(it, ".")
	return slices.Contains(disk.DefaultNVMeInstanceFamilies, family)
}

func isMultiAttach(pv *v1.PersistentVolume, pvc *v1.PersistentVolumeClaim) bool {
	switch strings.ToLower(pv.Spec.CSI.VolumeAttributes[disk.ParamMultiAttach]) {
	case "true", "enabled":
		return true
	}
	for _, modes := range [][]v1.PersistentVolumeAccessMode{pv.Spec.AccessModes, pvc.Spec.AccessModes} {
		if slices.Contains(modes, v1.ReadWriteMany) || slices.Contains(modes, v1.ReadOnlyMany) {
			return true
		}
	}
	return false
}

// diskUse is who uses one disk of the namespace.
type diskUse struct {
	multiAttach bool
	pvNames     sets.Set[string]
	podsByNode  map[string][]string
}

// disksInUse maps each driver disk (volume handle) used by a live, bound pod
// of the namespace to its users; it also returns zone violations.
func (s *clusterState) disksInUse() (map[string]*diskUse, []string) {
	uses := map[string]*diskUse{}
	var violations []string
	for i := range s.pods {
		pod := &s.pods[i]
		if pod.Spec.NodeName == "" || pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
			continue
		}
		node := s.nodes[pod.Spec.NodeName]
		if node == nil {
			violations = append(violations, fmt.Sprintf("pod %s is bound to missing node %s", pod.Name, pod.Spec.NodeName))
			continue
		}
		for _, name := range disk.ClaimNames(pod) {
			pvc := s.pvcs[name]
			if pvc == nil || pvc.Spec.VolumeName == "" {
				violations = append(violations, fmt.Sprintf("pod %s runs on %s but its claim %s is not bound", pod.Name, node.Name, name))
				continue
			}
			pv := s.pvs[pvc.Spec.VolumeName]
			if pv == nil || pv.Spec.CSI == nil || pv.Spec.CSI.Driver != disk.DriverName {
				continue
			}
			// Rule 1: the pod is inside its disk's topology.
			if err := volumehelpers.CheckNodeAffinity(pv, node.Labels); err != nil {
				violations = append(violations, fmt.Sprintf("pod %s on node %s (zone %s) is outside the node affinity of pv %s: %v", pod.Name, node.Name, nodeZone(node), pv.Name, err))
			}
			for _, k := range []string{v1.LabelTopologyZone, v1.LabelFailureDomainBetaZone} {
				if v, ok := pv.Labels[k]; ok && !slices.Contains(strings.Split(v, "__"), nodeZone(node)) {
					violations = append(violations, fmt.Sprintf("pod %s on node %s (zone %s) is outside zone label %s=%s of pv %s", pod.Name, node.Name, nodeZone(node), k, v, pv.Name))
				}
			}
			if d, ok := cloud.Disk(pv.Spec.CSI.VolumeHandle); ok && d.Zone != "" && d.Zone != nodeZone(node) {
				violations = append(violations, fmt.Sprintf("pod %s on node %s (zone %s) uses disk %s, which the cloud created in zone %s", pod.Name, node.Name, nodeZone(node), d.ID, d.Zone))
			}
			id := pv.Spec.CSI.VolumeHandle
			u := uses[id]
			if u == nil {
				u = &diskUse{pvNames: sets.New[string](), podsByNode: map[string][]string{}}
				uses[id] = u
			}
			u.pvNames.Insert(pv.Name)
			u.multiAttach = u.multiAttach || isMultiAttach(pv, pvc)
			u.podsByNode[node.Name] = append(u.podsByNode[node.Name], pod.Name)
		}
	}
	return uses, violations
}

// attachedByZone is the attached set of a disk: every node with a live pod
// using it plus every node named by a VolumeAttachment of one of its PVs
// (being detached or not), by zone.
func (s *clusterState) attachedByZone(u *diskUse) map[string]sets.Set[string] {
	out := map[string]sets.Set[string]{}
	add := func(nodeName string) {
		z := "<no zone>"
		if n := s.nodes[nodeName]; n != nil {
			z = nodeZone(n)
		}
		if out[z] == nil {
			out[z] = sets.New[string]()
		}
		out[z].Insert(nodeName)
	}
	for n := range u.podsByNode {
		add(n)
	}
	for _, va := range s.vas {
		if va.Spec.Source.PersistentVolumeName != nil && u.pvNames.Has(*va.Spec.Source.PersistentVolumeName) {
			add(va.Spec.NodeName)
		}
	}
	return out
}

// ruleViolations checks the rules of DESIGN.md for the namespace's pods.
func ruleViolations(ctx context.Context, ns string) ([]string, error) {
	s, err := readState(ctx, ns)
	if err != nil {
		return nil, err
	}
	uses, violations := s.disksInUse()
	ids := sets.List(sets.KeySet(uses))
	for _, id := range ids {
		u := uses[id]
		if !u.multiAttach {
			if len(u.podsByNode) > 1 {
				violations = append(violations, fmt.Sprintf("single-attach disk %s is used on %d nodes: %v", id, len(u.podsByNode), u.podsByNode))
			}
			continue
		}
		// Rule 2: the per-zone cap, counting VolumeAttachments.
		for zone, nodes := range s.attachedByZone(u) {
			if nodes.Len() > maxNodesPerZone {
				violations = append(violations, fmt.Sprintf("multi-attach disk %s is attached to %d nodes in zone %s (limit %d): %v", id, nodes.Len(), zone, maxNodesPerZone, sets.List(nodes)))
			}
		}
		for nodeName, pods := range u.podsByNode {
			// Rule 3: one reservation holder per node.
			if len(pods) > 1 {
				sort.Strings(pods)
				violations = append(violations, fmt.Sprintf("node %s runs %d pods of shared disk %s: %v", nodeName, len(pods), id, pods))
			}
			// Rule 4: NVMe-capable nodes only.
			if n := s.nodes[nodeName]; n != nil && !nvmeCapable(n) {
				violations = append(violations, fmt.Sprintf("pods %v of shared disk %s run on node %s (%s), which does not support NVMe multi-attach", pods, id, nodeName, n.Labels[v1.LabelInstanceTypeStable]))
			}
		}
	}
	// The cloud never refused an attach of the namespace's disks.
	for _, va := range s.vas {
		if va.Status.AttachError == nil || va.Spec.Source.PersistentVolumeName == nil {
			continue
		}
		for _, id := range ids {
			if uses[id].pvNames.Has(*va.Spec.Source.PersistentVolumeName) {
				violations = append(violations, fmt.Sprintf("the cloud refused to attach disk %s to node %s: %s", id, va.Spec.NodeName, va.Status.AttachError.Message))
			}
		}
	}
	// No disk was created in a zone its pod cannot reach.
	for _, e := range s.events {
		if e.Reason == simcloud.ReasonConflictingZone {
			violations = append(violations, fmt.Sprintf("%s %s: %s: %s", e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Reason, e.Message))
		}
	}
	return violations, nil
}

// checkRules fails the test for every rule the namespace's placements break.
func checkRules(ctx context.Context, t *testing.T, ns string) {
	t.Helper()
	violations, err := ruleViolations(ctx, ns)
	if err != nil {
		t.Fatalf("checking rules: %v", err)
	}
	for _, v := range violations {
		t.Errorf("rule violated: %s", v)
	}
	// The operators' audit must agree: it reads the whole cluster with the
	// plugin's domain facts.
	state, err := audit.Read(ctx, cluster.Client)
	if err != nil {
		t.Fatalf("audit: %v", err)
	}
	report := audit.Check(state, volumetopology.DefaultArgs())
	for _, v := range report.Violations {
		t.Errorf("audit: %s %s %s %s: %s", v.Rule, v.Disk, v.Zone, v.Node, v.Detail)
	}
}

// maxAttachedInZone returns, for the namespace's multi-attach disks, the
// largest attached set in any zone, with the disk and zone.
func maxAttachedInZone(ctx context.Context, ns string) (int, string, error) {
	s, err := readState(ctx, ns)
	if err != nil {
		return 0, "", err
	}
	uses, _ := s.disksInUse()
	best, where := 0, ""
	for id, u := range uses {
		if !u.multiAttach {
			continue
		}
		for zone, nodes := range s.attachedByZone(u) {
			if nodes.Len() > best {
				best, where = nodes.Len(), id+" in "+zone
			}
		}
	}
	return best, where, nil
}
