//go:build kube1.35

package volumetopology

import (
	"context"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
)

// PreBindPreFlight skips pods without claims of ours (Kubernetes 1.35: no
// result, and PreBind plugins run one after another, VolumeBinding's first).
func (pl *VolumeTopology) PreBindPreFlight(_ context.Context, cs fwk.CycleState, _ *v1.Pod, _ string) *fwk.Status {
	if !preBindNeeded(cs) {
		return skip
	}
	return nil
}
