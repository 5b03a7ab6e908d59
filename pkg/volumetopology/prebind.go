package volumetopology

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
)

var _ fwk.PreBindPlugin = &VolumeTopology{}

// ErrReasonNodeChanged: the node's labels changed between the scheduling
// cycle and binding so that it fails a rule that reads them. Args: node,
// the rule's reason.
const ErrReasonNodeChanged = "node %s changed after it was chosen: %s"

// PreBind checks the chosen node's labels once more, right before the pod is
// bound. The binding cycle of a pod with a WaitForFirstConsumer claim waits
// in VolumeBinding's PreBind until the disk is provisioned, seconds on ECS;
// a node relabelled meanwhile (no longer NVMe-capable, moved to another
// zone) would otherwise get a pod its disks cannot attach to. A failure sends
// the pod back to the queue, and its next cycle sees the new labels. The
// rules that read other pods (holder, attach limit, in use) need no second
// look: the pods assumed since are counted by the scheduler's cache.
//
// The shipped profile runs it after VolumeBinding's PreBind (multiPoint
// keeps the default plugins first, and PreBindPreFlight does not let it run
// in parallel with them).
func (pl *VolumeTopology) PreBind(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeName string) *fwk.Status {
	s, err := getState(cs)
	if err != nil {
		return nil
	}
	node, err := pl.nodeLister.Get(nodeName)
	if apierrors.IsNotFound(err) {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf("node %s was deleted after it was chosen", nodeName))
	}
	if err != nil {
		return fwk.AsStatus(err)
	}
	if reason := pl.labelRuleReject(s, node); reason != "" {
		klog.FromContext(ctx).V(2).Info("Chosen node no longer fits the pod's disks", "pod", klog.KObj(pod), "node", klog.KObj(node), "reason", reason)
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(ErrReasonNodeChanged, nodeName, reason))
	}
	return nil
}

// preBindNeeded tells PreBindPreFlight whether PreBind has anything to check:
// only pods whose PreFilter found claims of ours.
func preBindNeeded(cs fwk.CycleState) bool {
	_, err := getState(cs)
	return err == nil
}

// labelRuleReject returns why the node, as its labels are now, fails a rule
// that reads only its labels (zone, NVMe); "" when it passes them.
func (pl *VolumeTopology) labelRuleReject(s *stateData, node *v1.Node) string {
	f := pl.nodes.classifier.Describe(node.Labels)
	for i := range s.claims {
		if reason := s.claims[i].reject(node, &f); reason != "" {
			return reason
		}
	}
	if len(s.disks) > 0 && !f.NVMe {
		return fmt.Sprintf(ErrReasonNotNVMe, s.disks[0].name)
	}
	return ""
}
