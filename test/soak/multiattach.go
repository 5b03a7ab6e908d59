package soak

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/volume-topology/volume-topology-scheduler/pkg/apis/config"
	"github.com/volume-topology/volume-topology-scheduler/pkg/disk"
	"github.com/volume-topology/volume-topology-scheduler/pkg/simcloud"
)

// Kinds of Multi-Attach errors (the attach-detach controller waiting for a
// single-attach disk to leave another node), by what the other node's
// attachment was when the pod was placed.
const (
	// MultiAttachInUse: a pod that is not terminating uses the disk on the
	// other node. The ReadWriteOnce rule lets the pod go only there: a
	// failure.
	MultiAttachInUse = "in use on another node"
	// MultiAttachAttachedFits: the disk is attached to the other node, no
	// longer used but not being detached, and that node still fits (it
	// exists, is Ready, not cordoned, has no NoSchedule or NoExecute taint
	// and is inside the disk's topology). The attached-node score sends the
	// pod back there: a failure.
	MultiAttachAttachedFits = "attached to another node that still fits"
	// MultiAttachAttachedNoFit: as above, but the other node no longer fits;
	// reported only.
	MultiAttachAttachedNoFit = "attached to another node that no longer fits"
	// MultiAttachDetaching: the other attachment is already being detached
	// (the pod came after its predecessor's disk had started to leave);
	// reported only.
	MultiAttachDetaching = "detaching from another node"
)

// failingMultiAttach are the kinds that fail a run.
var failingMultiAttach = []string{MultiAttachInUse, MultiAttachAttachedFits}

// classifyMultiAttach says what kind a Multi-Attach error is, with a detail.
// pv is the pod's volume (nil when unknown: its topology is then not
// checked).
func classifyMultiAttach(e simcloud.MultiAttachError, pv *v1.PersistentVolume, args *config.VolumeTopologyArgs) (string, string) {
	classifier := disk.NewNodeClassifier(args.ZoneLabelKeys, args.NVMeInstanceFamilies, args.NVMeLabelKey)
	var fits, noFit, detaching []string
	for _, o := range e.Others {
		switch {
		case len(o.UsedBy) > 0:
			return MultiAttachInUse, fmt.Sprintf("pod %s placed on %s while %s use(s) disk %s on %s", e.Pod, e.Node, strings.Join(o.UsedBy, ", "), e.Disk, o.Node)
		case o.Detaching:
			detaching = append(detaching, o.Node)
		default:
			if why := nodeUnfit(o.NodeObject, pv, classifier, args); why != "" {
				noFit = append(noFit, o.Node+" ("+why+")")
			} else {
				fits = append(fits, o.Node)
			}
		}
	}
	switch {
	case len(fits) > 0:
		return MultiAttachAttachedFits, fmt.Sprintf("pod %s placed on %s while disk %s stayed attached to %s, which still fits", e.Pod, e.Node, e.Disk, strings.Join(fits, ", "))
	case len(noFit) > 0:
		return MultiAttachAttachedNoFit, fmt.Sprintf("pod %s placed on %s while disk %s is attached to %s", e.Pod, e.Node, e.Disk, strings.Join(noFit, ", "))
	default:
		return MultiAttachDetaching, fmt.Sprintf("pod %s placed on %s while disk %s detaches from %s", e.Pod, e.Node, e.Disk, strings.Join(detaching, ", "))
	}
}

// nodeUnfit says why a node cannot take a pod of the soak's workload (which
// has no tolerations, node affinity or resource requests), or "".
func nodeUnfit(n *v1.Node, pv *v1.PersistentVolume, classifier *disk.NodeClassifier, args *config.VolumeTopologyArgs) string {
	if n == nil {
		return "no Node object"
	}
	if n.Spec.Unschedulable {
		return "cordoned"
	}
	ready := false
	for _, c := range n.Status.Conditions {
		if c.Type == v1.NodeReady && c.Status == v1.ConditionTrue {
			ready = true
		}
	}
	if !ready {
		return "not Ready"
	}
	for _, t := range n.Spec.Taints {
		if t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute {
			return "taint " + t.Key
		}
	}
	if pv != nil {
		f := classifier.Describe(n.Labels)
		if t, err := disk.PVTopology(pv, args.ZoneLabelKeys); err == nil && !t.Admits(disk.NodeView{Name: n.Name, Zone: f.Zone, Region: f.Region, Labels: n.Labels}) {
			return "outside the topology of persistentvolume " + pv.Name
		}
	}
	return ""
}
