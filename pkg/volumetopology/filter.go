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
	var failed Verdict
	f := pl.evaluate(s, nodeInfo, func(v Verdict) bool {
		failed = v
		return v.Reason == ""
	})
	if failed.Reason == "" {
		return nil
	}
	countRejection(failed.Rule, f.Zone)
	if failed.Rule == RuleNVMe {
		if logger := klog.FromContext(ctx).V(5); logger.Enabled() {
			logger.Info("Node cannot attach shared disks", "pod", klog.KObj(pod), "node", klog.KObj(nodeInfo.Node()), "why", f.NVMeWhy)
		}
	}
	return failed.Status()
}

// Verdict is one rule's decision about one node.
type Verdict struct {
	// Rule is RuleZone, RuleInUse, RuleNVMe, RuleHolder or RuleAttachLimit.
	Rule string
	// Claim is the claim ("namespace/name") of a zone verdict.
	Claim string
	// Disk names the disk of an in-use, NVMe, holder or attach-limit verdict.
	Disk string
	// Reason is why the node fails the rule; "" when it passes.
	Reason string
	// Code is the status code Filter returns for a failing verdict.
	Code fwk.Code
}

// Status is the status Filter returns for the verdict; nil when it passes.
func (v Verdict) Status() *fwk.Status {
	if v.Reason == "" {
		return nil
	}
	return fwk.NewStatus(v.Code, v.Reason)
}

// evaluate applies the rules to a node in the order Filter does and calls
// visit with each verdict, passing or failing, until visit returns false. It
// returns the node's facts. Filter and Explain both go through it, so they
// cannot disagree.
func (pl *VolumeTopology) evaluate(s *stateData, nodeInfo fwk.NodeInfo, visit func(Verdict) bool) *disk.NodeFacts {
	node := nodeInfo.Node()
	f := pl.factsOf(s, node)

	for i := range s.claims {
		r := &s.claims[i]
		if !visit(Verdict{Rule: RuleZone, Claim: r.claim, Reason: r.reject(node, f), Code: fwk.UnschedulableAndUnresolvable}) {
			return f
		}
	}
	// A disk in use elsewhere cannot come here while its users run there;
	// evicting pods of this node cannot change that.
	for i := range s.inUse {
		d := &s.inUse[i]
		v := Verdict{Rule: RuleInUse, Disk: d.name, Code: fwk.UnschedulableAndUnresolvable}
		if !d.allows(node.Name) {
			v.Reason = d.reason
		}
		if !visit(v) {
			return f
		}
	}
	if len(s.disks) == 0 {
		return f
	}
	v := Verdict{Rule: RuleNVMe, Disk: s.disks[0].name, Code: fwk.UnschedulableAndUnresolvable}
	if !f.NVMe {
		v.Reason = fmt.Sprintf(ErrReasonNotNVMe, s.disks[0].name)
	}
	if !visit(v) {
		return f
	}
	refs := nodeInfo.GetPVCRefCounts()
	limit := int(pl.args.MaxNodesPerZone)
	for _, d := range s.disks {
		held := d.countOn(refs) > 0
		v := Verdict{Rule: RuleHolder, Disk: d.name, Code: fwk.Unschedulable}
		if held {
			v.Reason = fmt.Sprintf(ErrReasonHolder, d.name)
		}
		if !visit(v) {
			return f
		}
		// A node already in the disk's attached set (a holder, or a
		// VolumeAttachment) takes no new attach slot.
		v = Verdict{Rule: RuleAttachLimit, Disk: d.name, Code: fwk.UnschedulableAndUnresolvable}
		if n := d.attachedIn(f.Zone); n >= limit && !held && !d.hasVA(node.Name) {
			v.Reason = fmt.Sprintf(ErrReasonAttachLimit, d.name, n, zoneName(f.Zone), limit)
		}
		if !visit(v) {
			return f
		}
	}
	return f
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
