package volumetopology

import (
	"context"
	"slices"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// LocalityName is the DiskLocality plugin's name in the registry and in
// scheduler configurations.
const LocalityName = "DiskLocality"

// DiskLocality is a score plugin: among the nodes that pass every filter it
// prefers the node a disk of the pod is already attached to, as
// ImageLocality prefers nodes that already have the image. For a
// single-attach disk that saves a detach from the old node and an attach to
// a new one (seconds to minutes on ECS, and the driver refuses to attach a
// disk that is still detaching); for a shared disk it saves an attach and a
// slot of the zone's attach limit.
//
// It reads what VolumeTopology's PreFilter found (the pod's disks and their
// VolumeAttachments), so it scores only in a profile that runs
// VolumeTopology; it has no filter and cannot send a pod to a node another
// plugin rejected.
type DiskLocality struct{}

var (
	_ fwk.PreScorePlugin = &DiskLocality{}
	_ fwk.ScorePlugin    = &DiskLocality{}
	_ fwk.SignPlugin     = &DiskLocality{}
)

// Scores for a node a disk of the pod is attached to, before they are
// averaged over the pod's disks. A single-attach disk scores the most: with
// the shipped weight it outweighs spreading and resource balance, since the
// alternative is a detach and attach round trip. A shared disk scores less:
// it saves only an attach and a slot, and VolumeTopology's zone score (which
// keeps a new shared disk's replicas in one zone) comes first.
const (
	AttachedSingleAttachScore = fwk.MaxNodeScore
	AttachedSharedScore       = fwk.MaxNodeScore * 2 / 5
)

// NewDiskLocality builds the plugin; it takes no args.
func NewDiskLocality(_ context.Context, _ runtime.Object, _ fwk.Handle) (fwk.Plugin, error) {
	return &DiskLocality{}, nil
}

// Name returns the plugin's name.
func (pl *DiskLocality) Name() string { return LocalityName }

// PreScore skips scoring unless a disk of the pod is attached somewhere.
func (pl *DiskLocality) PreScore(_ context.Context, cs fwk.CycleState, _ *v1.Pod, _ []fwk.NodeInfo) *fwk.Status {
	s, err := getState(cs)
	if err != nil || len(s.attached) == 0 {
		return skip
	}
	return nil
}

// Score is the share of the pod's disks attached to the node, each weighted
// by AttachedSingleAttachScore or AttachedSharedScore.
func (pl *DiskLocality) Score(_ context.Context, cs fwk.CycleState, _ *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	s, err := getState(cs)
	if err != nil {
		return 0, fwk.AsStatus(err)
	}
	return s.attached[nodeInfo.Node().Name], nil
}

// ScoreExtensions returns nil: scores are already in [0, MaxNodeScore].
func (pl *DiskLocality) ScoreExtensions() fwk.ScoreExtensions { return nil }

// SignPod adds nothing to a pod's signature. Without VolumeTopology's state
// the plugin scores 0 on every node; with it, VolumeTopology's SignPod refuses
// every pod whose disks are attached anywhere, the only pods this plugin
// scores.
func (pl *DiskLocality) SignPod(_ context.Context, _ *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	return nil, nil
}

// attachedNodes scores the nodes the pod's disks are attached to: nodes with
// a VolumeAttachment of any volume of the disk that is not being deleted
// (attached, or still attaching). A detaching one is no use: the disk must
// leave the node before it can come back. nil when no disk is attached.
func (pl *VolumeTopology) attachedNodes(claims []disk.Claim) (map[string]int64, error) {
	var scores map[string]int64
	seen := make([]string, 0, len(claims))
	for i := range claims {
		c := &claims[i]
		key := c.DiskKey()
		if slices.Contains(seen, key) {
			continue
		}
		seen = append(seen, key)
		if !c.Bound() {
			continue
		}
		nodes, err := pl.attachments(c.PV.Spec.CSI.Driver, c.DiskID, c.PV)
		if err != nil {
			return nil, err
		}
		score := AttachedSingleAttachScore
		if c.MultiAttach {
			score = AttachedSharedScore
		}
		for _, n := range nodes {
			if scores == nil {
				scores = map[string]int64{}
			}
			scores[n] += score
		}
	}
	// Average over the pod's disks, so a node with every disk attached
	// scores the most and the score stays within MaxNodeScore.
	for n := range scores {
		scores[n] /= int64(len(seen))
	}
	return scores, nil
}

// attachments returns the nodes a disk is attached or attaching to, from the
// VolumeAttachments of each of its volumes; a node appears once.
func (pl *VolumeTopology) attachments(driver, handle string, pv *v1.PersistentVolume) ([]string, error) {
	pvs := []*v1.PersistentVolume{pv}
	if pl.resolver.Volumes != nil {
		all, err := pl.resolver.Volumes.DiskVolumes(driver, handle)
		if err != nil {
			return nil, err
		}
		if len(all) > 0 {
			pvs = all
		}
	}
	var nodes []string
	for _, v := range pvs {
		objs, err := pl.vaIndexer.ByIndex(vaByPVIndex, v.Name)
		if err != nil {
			return nil, err
		}
		for _, obj := range objs {
			va, ok := obj.(*storagev1.VolumeAttachment)
			if !ok || va.DeletionTimestamp != nil || va.Spec.Attacher != driver || slices.Contains(nodes, va.Spec.NodeName) {
				continue
			}
			nodes = append(nodes, va.Spec.NodeName)
		}
	}
	return nodes, nil
}
