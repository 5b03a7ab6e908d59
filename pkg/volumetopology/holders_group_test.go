//go:build !kube1.35

package volumetopology

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// podGroups: since 1.36 the scheduler assumes the members of a pod group
// into the snapshot during the group's cycle.
const podGroups = true

func assumeInSnapshot(t *testing.T, _ klog.Logger, _ cache.Cache, snap *cache.Snapshot, pod *v1.Pod) {
	t.Helper()
	pi, err := framework.NewPodInfo(pod)
	if err != nil {
		t.Fatal(err)
	}
	if err := snap.AssumePod(pi); err != nil {
		t.Fatal(err)
	}
}

func forgetInSnapshot(t *testing.T, logger klog.Logger, _ cache.Cache, snap *cache.Snapshot, pod *v1.Pod) {
	t.Helper()
	if err := snap.ForgetPod(logger, pod); err != nil {
		t.Fatal(err)
	}
}
