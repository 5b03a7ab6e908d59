//go:build !kube1.35

package volumetopology

import (
	"context"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
)

// PreBindPreFlight skips pods without claims of ours. Its nil result keeps
// AllowParallel false, so PreBind runs after VolumeBinding's, which waits for
// the disk to be provisioned.
func (pl *VolumeTopology) PreBindPreFlight(_ context.Context, cs fwk.CycleState, _ *v1.Pod, _ string) (*fwk.PreBindPreFlightResult, *fwk.Status) {
	if !preBindNeeded(cs) {
		return nil, skip
	}
	return nil, nil
}
