package volumetopology

import (
	"context"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/helper"
)

// PreScore skips scoring unless the pod has an unbound shared claim: only then
// is the zone still open.
func (pl *VolumeTopology) PreScore(_ context.Context, cs fwk.CycleState, _ *v1.Pod, _ []fwk.NodeInfo) *fwk.Status {
	s, err := getState(cs)
	if err != nil || s.zoneScore == nil {
		return fwk.NewStatus(fwk.Skip)
	}
	return nil
}

// Score ranks a node by how many eligible nodes its zone has (NVMe-capable,
// allowed, not holding the disk), so a replica set sharing a new disk lands in
// the zone where the whole set fits under the attach limit.
func (pl *VolumeTopology) Score(_ context.Context, cs fwk.CycleState, _ *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	s, err := getState(cs)
	if err != nil {
		return 0, fwk.AsStatus(err)
	}
	if s.zoneScore == nil {
		return 0, nil
	}
	return s.zoneScore[pl.factsOf(s, nodeInfo.Node()).Zone], nil
}

// ScoreExtensions scales the zone sizes to the scheduler's score range.
func (pl *VolumeTopology) ScoreExtensions() fwk.ScoreExtensions { return pl }

// NormalizeScore maps the largest zone to MaxNodeScore.
func (pl *VolumeTopology) NormalizeScore(_ context.Context, _ fwk.CycleState, _ *v1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	return helper.DefaultNormalizeScore(fwk.MaxNodeScore, false, scores)
}
