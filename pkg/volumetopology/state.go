package volumetopology

import (
	"errors"
	"maps"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

const preFilterStateKey fwk.StateKey = "PreFilter" + Name

// stateData is what PreFilter resolves once per pod.
type stateData struct {
	// claims hold the zone rule of each managed claim; read-only.
	claims []claimRule
	// disks are the pod's shared disks; their attach counts change in
	// AddPod/RemovePod, so Clone copies them.
	disks []*sharedDisk
	// zoneScore ranks zones for a pod with an unbound shared claim; nil when
	// Score has nothing to say.
	zoneScore map[string]int64
	// candidates are the nodes PreFilter narrowed the search to; nil when it
	// did not narrow. Read-only.
	candidates sets.Set[string]
	// slots are the node index's slots of the NVMe-capable nodes PreFilter
	// chose the candidates from, for a cheap look-up of their facts
	// (factsOf); nil when there are none. Read-only.
	slots map[string]*nodeSlot
	// inUse are the pod's single-attach disks that pods use somewhere;
	// nil when there are none or the rule is off. Read-only: preemption
	// evicts pods on the node it examines, and the users of a disk in use
	// elsewhere are on other nodes.
	inUse []diskInUse
	// attached is DiskLocality's score of each node a disk of the pod is
	// attached to; nil when none is. Read-only.
	attached map[string]int64
}

// Clone copies the mutable attach counts; everything else is read-only.
func (s *stateData) Clone() fwk.StateData {
	c := *s
	c.disks = make([]*sharedDisk, len(s.disks))
	for i, d := range s.disks {
		dc := *d
		dc.zoneCount = maps.Clone(d.zoneCount)
		dc.users = maps.Clone(d.users)
		c.disks[i] = &dc
	}
	return &c
}

// factsOf returns the facts of a node object the scheduler hands a plugin:
// from the candidates' slots when one holds that very object, else from the
// index. Both are the same facts; the slot is one plain map look-up.
func (pl *VolumeTopology) factsOf(s *stateData, node *v1.Node) *disk.NodeFacts {
	if f := slotFacts(s.slots, node); f != nil {
		return f
	}
	return pl.nodes.get(node)
}

func getState(cs fwk.CycleState) (*stateData, error) {
	raw, err := cs.Read(preFilterStateKey)
	if err != nil {
		return nil, err
	}
	s, ok := raw.(*stateData)
	if !ok {
		return nil, errors.New("VolumeTopology: cycle state holds an unexpected type")
	}
	return s, nil
}

// sharedDisk is one multi-attach disk the pod uses, with who holds it.
type sharedDisk struct {
	// key identifies the disk (see disk.Claim.DiskKey).
	key string
	// name names the disk in messages.
	name string
	// claimKeys are every claim ("namespace/name") that reaches this disk:
	// two static PVs can point at one disk.
	claimKeys []string
	// vaNodes are the nodes a VolumeAttachment of the disk names; read-only.
	vaNodes map[string]struct{}
	// pvs are the disk's volumes; read-only.
	pvs []*v1.PersistentVolume
	// zoneCount is how many nodes of each zone the disk is attached to or
	// about to be (pods, assumed pods, VolumeAttachments).
	zoneCount map[string]int
	// users counts, per node, the claim volumes of pods there that reach
	// the disk (bound, assumed, nominated with at least the pod's
	// priority), as the scheduler's claim reference counts count them.
	// AddPod and RemovePod change it by the pod's own node, so the node
	// counts as attached exactly while it has users, whatever NodeInfo the
	// framework hands them.
	users map[string]int
	// anyZone counts VolumeAttachments on nodes the scheduler has no Node
	// for (a node lost or deleted before the disk detached) when the disk's
	// volumes pin no zone: the instance may be in any zone, so they count
	// in every zone. Read-only.
	anyZone int
}

// attachedIn returns how many nodes of a zone the disk is attached to.
func (d *sharedDisk) attachedIn(zone string) int {
	return d.zoneCount[zone] + d.anyZone
}

// countOn returns how many pods on a node use the disk, from the node's
// claim reference counts.
func (d *sharedDisk) countOn(refs map[string]int) int {
	n := 0
	for _, k := range d.claimKeys {
		n += refs[k]
	}
	return n
}

// usedBy returns how many of a pod's claim volumes reach the disk; it counts
// what the scheduler's claim reference counts count.
func (d *sharedDisk) usedBy(pod *v1.Pod) int {
	n := 0
	for i := range pod.Spec.Volumes {
		pvc := pod.Spec.Volumes[i].PersistentVolumeClaim
		if pvc == nil {
			continue
		}
		for _, k := range d.claimKeys {
			if len(k) == len(pod.Namespace)+1+len(pvc.ClaimName) && k[:len(pod.Namespace)] == pod.Namespace && k[len(pod.Namespace)+1:] == pvc.ClaimName {
				n++
				break
			}
		}
	}
	return n
}

func (d *sharedDisk) hasVA(node string) bool {
	_, ok := d.vaNodes[node]
	return ok
}

// claimRule is where one managed claim lets the pod go.
type claimRule struct {
	// claim is the claim's "namespace/name".
	claim string

	// usesZone is true when the rule reads the node's zone.
	usesZone bool

	// Bound claims: the disk's topology.
	bound       bool
	topology    disk.Topology
	topologyMsg string

	// Unbound WaitForFirstConsumer claims: the selected node's zone, if
	// that node still exists, and the class's rule, with a message for each
	// way it can reject a node.
	pinZone    string
	pinMsg     string
	class      disk.ClassRule
	allowedMsg string
	zoneIDMsg  string
	typeMsg    string
	noZoneMsg  string
}
