package volumetopology

import (
	"context"
	"maps"
	"slices"
	"strings"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// Explanation is what VolumeTopology decides about a pod on every node, rule
// by rule: the same PreFilter and the same rule code (evaluate) as
// scheduling, without stopping at a node's first failing rule.
type Explanation struct {
	// Skipped is true when the pod has none of our claims: PreFilter
	// returns Skip and the plugin has nothing to say.
	Skipped bool
	// Rejected is PreFilter's status when it stops the pod on every node
	// (a missing claim, class or volume; a malformed class parameter).
	Rejected *fwk.Status
	// Disks are the pod's shared disks with their attach counts.
	Disks []DiskExplanation
	// Candidates are the nodes PreFilter narrowed the search to (NVMe-capable
	// nodes of the disks' zones); nil when it did not narrow.
	Candidates sets.Set[string]
	// ZoneScore is Score's rank of each zone for a pod with an unbound
	// shared claim (eligible NVMe nodes); nil when Score has nothing to say.
	ZoneScore map[string]int64
	// Nodes are the verdicts on each node, in the order given.
	Nodes []NodeExplanation
	// Attachments are the VolumeAttachments of the pod's disks, single-attach
	// and shared, with the state of each and of its node.
	Attachments []Attachment
	// InUse are the pod's single-attach disks that other pods use, and
	// where (the in-use rule's view).
	InUse []InUse
	// Locality is DiskLocality's score of each node a disk of the pod is
	// attached to; nil when none is.
	Locality map[string]int64
}

// Attachment states.
const (
	AttachmentAttached  = "attached"
	AttachmentAttaching = "attaching"
	AttachmentDetaching = "detaching"
)

// Node states of an attachment's node.
const (
	NodeReady    = "Ready"
	NodeNotReady = "NotReady"
	NodeGone     = "gone"
)

// Attachment is one VolumeAttachment of a disk of the pod.
type Attachment struct {
	Disk string
	Node string
	// State is AttachmentAttached, AttachmentAttaching or AttachmentDetaching.
	State string
	// NodeState is NodeReady, NodeNotReady or NodeGone.
	NodeState string
}

// InUse is a single-attach disk of the pod and the pods using it, by node.
type InUse struct {
	Disk  string
	Users map[string]string
}

// DiskExplanation is one shared disk of the pod.
type DiskExplanation struct {
	// Name is the volume handle, or "of claim <namespace/name>" while the
	// claim is unbound.
	Name string
	// AttachedInZone counts, per zone, the nodes the disk is attached to or
	// about to be (pods, assumed pods, VolumeAttachments).
	AttachedInZone map[string]int
	// AnyZone counts VolumeAttachments on nodes that are gone, counted in
	// every zone because the disk's volumes pin none.
	AnyZone int
	// VolumeAttachmentNodes are the nodes a VolumeAttachment of the disk names.
	VolumeAttachmentNodes []string
	// Limit is maxNodesPerZone.
	Limit int
}

// Attached returns how many nodes of a zone the disk counts as attached to.
func (d *DiskExplanation) Attached(zone string) int { return d.AttachedInZone[zone] + d.AnyZone }

// NodeExplanation is every verdict on one node.
type NodeExplanation struct {
	Node  string
	Facts disk.NodeFacts
	// Verdicts are in the order Filter checks them; Filter returns the
	// status of the first failing one.
	Verdicts []Verdict
}

// Fits tells whether the node passes every rule.
func (n *NodeExplanation) Fits() bool { return n.FirstFailure() == nil }

// FirstFailure is the verdict Filter rejects the node with; nil when it fits.
func (n *NodeExplanation) FirstFailure() *Verdict {
	for i := range n.Verdicts {
		if n.Verdicts[i].Reason != "" {
			return &n.Verdicts[i]
		}
	}
	return nil
}

// Failures are the failing verdicts.
func (n *NodeExplanation) Failures() []Verdict {
	var out []Verdict
	for _, v := range n.Verdicts {
		if v.Reason != "" {
			out = append(out, v)
		}
	}
	return out
}

// Explain runs PreFilter for the pod on the nodes (the scheduler's view: each
// NodeInfo's pods, assumed ones included) and evaluates every rule on every
// node. It changes nothing; it is not on the scheduling path.
func (pl *VolumeTopology) Explain(ctx context.Context, pod *v1.Pod, nodes []fwk.NodeInfo) *Explanation {
	cs := framework.NewCycleState()
	res, st := pl.PreFilter(ctx, cs, pod, nodes)
	e := &Explanation{}
	switch {
	case st.IsSkip():
		e.Skipped = true
		return e
	case !st.IsSuccess():
		e.Rejected = st
		return e
	}
	s, err := getState(cs)
	if err != nil {
		e.Rejected = fwk.AsStatus(err)
		return e
	}
	if res != nil {
		e.Candidates = res.NodeNames
	}
	e.ZoneScore = maps.Clone(s.zoneScore)
	for _, d := range s.disks {
		e.Disks = append(e.Disks, DiskExplanation{
			Name:                  d.name,
			AttachedInZone:        maps.Clone(d.zoneCount),
			AnyZone:               d.anyZone,
			VolumeAttachmentNodes: slices.Sorted(maps.Keys(d.vaNodes)),
			Limit:                 int(pl.args.MaxNodesPerZone),
		})
	}
	e.Locality = maps.Clone(s.attached)
	for _, d := range s.inUse {
		e.InUse = append(e.InUse, InUse{Disk: d.name, Users: maps.Clone(d.nodes)})
	}
	if claims, err := pl.resolver.PodClaims(pod); err == nil {
		e.Attachments = pl.attachmentStates(claims, nodes)
	}
	e.Nodes = make([]NodeExplanation, 0, len(nodes))
	for _, ni := range nodes {
		if ni.Node() == nil {
			continue
		}
		n := NodeExplanation{Node: ni.Node().Name}
		f := pl.evaluate(s, ni, func(v Verdict) bool {
			n.Verdicts = append(n.Verdicts, v)
			return true
		})
		n.Facts = *f
		e.Nodes = append(e.Nodes, n)
	}
	return e
}

// HasSynced tells whether the plugin's node index has seen every node of the
// informer's first list.
func (pl *VolumeTopology) HasSynced() bool { return pl.nodesSynced() }

// PodClaims returns the pod's claims that are the plugin's, as PreFilter
// resolves them.
func (pl *VolumeTopology) PodClaims(pod *v1.Pod) ([]disk.Claim, error) {
	return pl.resolver.PodClaims(pod)
}

// attachmentStates lists every VolumeAttachment of the pod's bound disks.
func (pl *VolumeTopology) attachmentStates(claims []disk.Claim, nodes []fwk.NodeInfo) []Attachment {
	nodeState := map[string]string{}
	for _, ni := range nodes {
		if n := ni.Node(); n != nil {
			nodeState[n.Name] = NodeNotReady
			for _, c := range n.Status.Conditions {
				if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
					nodeState[n.Name] = NodeReady
				}
			}
		}
	}
	var out []Attachment
	seen := map[string]bool{}
	for i := range claims {
		c := &claims[i]
		if !c.Bound() || seen[c.DiskKey()] {
			continue
		}
		seen[c.DiskKey()] = true
		pvs := []*v1.PersistentVolume{c.PV}
		if all, err := pl.resolver.Volumes.DiskVolumes(c.PV.Spec.CSI.Driver, c.DiskID); err == nil && len(all) > 0 {
			pvs = all
		}
		for _, pv := range pvs {
			objs, err := pl.vaIndexer.ByIndex(vaByPVIndex, pv.Name)
			if err != nil {
				continue
			}
			for _, obj := range objs {
				va, ok := obj.(*storagev1.VolumeAttachment)
				if !ok {
					continue
				}
				a := Attachment{Disk: c.DiskName(), Node: va.Spec.NodeName, State: AttachmentAttaching, NodeState: nodeState[va.Spec.NodeName]}
				switch {
				case va.DeletionTimestamp != nil:
					a.State = AttachmentDetaching
				case va.Status.Attached:
					a.State = AttachmentAttached
				}
				if a.NodeState == "" {
					a.NodeState = NodeGone
				}
				out = append(out, a)
			}
		}
	}
	slices.SortFunc(out, func(a, b Attachment) int {
		if a.Disk != b.Disk {
			return strings.Compare(a.Disk, b.Disk)
		}
		return strings.Compare(a.Node, b.Node)
	})
	return out
}
