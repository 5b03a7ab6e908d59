package volumetopology

import (
	"context"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
)

var _ fwk.SignPlugin = &VolumeTopology{}

// Reasons SignPod gives when it refuses to sign a pod; the pod is then
// scheduled on its own, outside opportunistic batching.
const (
	signRefusedShared     = "pod uses a shared disk: placing one replica changes which nodes the next can take (attach limit, reservation holder)"
	signRefusedUnresolved = "pod's claims cannot be resolved yet"
	signRefusedAttached   = "pod's disk is attached to a node, which DiskLocality prefers for this pod only"
)

// SignPod lets kube-scheduler's opportunistic batching reuse one pod's
// filtered and scored nodes for the next pod with the same signature. The
// framework turns batching off for the whole profile when a Filter or Score
// plugin does not sign, so every pod that opts into this scheduler would pay
// for it.
//
//   - A pod with none of our claims adds no fragment: it signs exactly as in
//     a profile without VolumeTopology, and PreFilter skips it.
//   - A pod with a shared (multi-attach) disk is refused. Placing it adds a
//     holder on its node and may fill the disk's attach slots in a zone, so
//     the next replica's feasible nodes are not the previous pod's minus
//     the chosen node.
//   - A pod whose managed claims are all single-attach signs by its volumes,
//     as VolumeZone and VolumeBinding do. That is sound for our rules: such
//     a pod's verdict on a node reads only the node's labels and the claims'
//     zone rules (bound PV topology; class allowedTopologies, zoneId, types
//     and selected node), never other pods, so placing one pod changes no
//     verdict for the next. Pods with equal volume sources name the same
//     claims or the same ephemeral template, hence the same class. Where
//     that is not enough (equal claim names in two namespaces, a selected
//     node set on one ephemeral claim only) the hinted node still runs every
//     Filter, ours included, and a rejected hint falls back to a full
//     scheduling cycle, so a hint can cost time but never place a pod where
//     it cannot go.
//   - A pod whose disk is attached somewhere is refused: DiskLocality
//     scores that node for this pod alone, so another pod's scores are
//     no guide. A pod whose single-attach disk is in use somewhere has
//     it attached there too, once the attach has happened; before that
//     the pods of one claim sign alike, and the in-use rule, which runs
//     on the hinted node like every Filter, sends a hint for another
//     node back to a full cycle.
func (pl *VolumeTopology) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	if !hasClaimVolume(pod) {
		return nil, nil
	}
	// The queue signs a pod when it is added or updated, before the ephemeral
	// volume controller creates its claims: those are read from the
	// templates, or such pods would never be batched.
	claims, err := pl.resolver.PodClaimsOrTemplates(pod)
	if err != nil {
		return nil, fwk.NewStatus(fwk.Unschedulable, signRefusedUnresolved)
	}
	if len(claims) == 0 {
		return nil, nil
	}
	if pl.hasShared(claims) {
		return nil, fwk.NewStatus(fwk.Unschedulable, signRefusedShared)
	}
	if attached, err := pl.attachedNodes(claims); err != nil || len(attached) > 0 {
		return nil, fwk.NewStatus(fwk.Unschedulable, signRefusedAttached)
	}
	return []fwk.SignFragment{{Key: fwk.VolumesSignerName, Value: fwk.VolumesSigner(pod)}}, nil
}
