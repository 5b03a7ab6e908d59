package volumetopology

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
)

// Filter checks one node against the rules PreFilter compiled: map look-ups
// and comparisons only.
//
// Zone, NVMe and attach-limit rejections are UnschedulableAndUnresolvable:
// evicting pods from the node cannot change them. A holder of the same shared
// disk on the node is Unschedulable: evicting it would help.
func (pl *VolumeTopology) Filter(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	s, err := getState(cs)
	if err != nil {
		return fwk.AsStatus(err)
	}
	node := nodeInfo.Node()
	f := pl.nodes.get(node)

	for i := range s.claims {
		if msg := s.claims[i].reject(node, f); msg != "" {
			countRejection(ruleZone)
			return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, msg)
		}
	}
	if len(s.disks) == 0 {
		return nil
	}
	if !f.NVMe {
		countRejection(ruleNVMe)
		if logger := klog.FromContext(ctx).V(5); logger.Enabled() {
			logger.Info("Node cannot attach shared disks", "pod", klog.KObj(pod), "node", klog.KObj(node), "why", f.NVMeWhy)
		}
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(ErrReasonNotNVMe, s.disks[0].name))
	}
	refs := nodeInfo.GetPVCRefCounts()
	limit := int(pl.args.MaxNodesPerZone)
	for _, d := range s.disks {
		if d.countOn(refs) > 0 {
			countRejection(ruleHolder)
			return fwk.NewStatus(fwk.Unschedulable, fmt.Sprintf(ErrReasonHolder, d.name))
		}
		if n := d.attachedIn(f.Zone); n >= limit && !d.hasVA(node.Name) {
			countRejection(ruleAttachLimit)
			return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(ErrReasonAttachLimit, d.name, n, zoneName(f.Zone), limit))
		}
	}
	return nil
}

func zoneName(z string) string {
	if z == "" {
		return "<none>"
	}
	return z
}

// reject returns why the claim cannot be used on the node, or "".
func (r *claimRule) reject(node *v1.Node, f *disk.NodeFacts) string {
	if r.usesZone && f.ZoneConflict != "" {
		return ErrReasonZoneConflict
	}
	view := disk.NodeView{Name: node.Name, Zone: f.Zone, Region: f.Region, Labels: node.Labels}
	if r.bound {
		if !r.topology.Admits(view) {
			return r.topologyMsg
		}
		return ""
	}
	if r.pinZone != "" && f.Zone != r.pinZone {
		return r.pinMsg
	}
	switch r.class.Check(f, view) {
	case disk.Fits:
		return ""
	case disk.ZoneLabelsConflict:
		return ErrReasonZoneConflict
	case disk.OutsideAllowedTopologies:
		return r.allowedMsg
	case disk.NoOfferedType:
		return r.typeMsg
	case disk.NoZone:
		return r.noZoneMsg
	default: // disk.OutsideZoneID
		return r.zoneIDMsg
	}
}
