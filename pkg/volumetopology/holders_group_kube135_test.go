//go:build kube1.35

package volumetopology

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
)

// podGroups: 1.35 has no pod-group cycles.
const podGroups = false

func assumeInSnapshot(t *testing.T, _ klog.Logger, _ cache.Cache, _ *cache.Snapshot, _ *v1.Pod) {
	t.Fatal("no pod groups in 1.35")
}

func forgetInSnapshot(t *testing.T, _ klog.Logger, _ cache.Cache, _ *cache.Snapshot, _ *v1.Pod) {
	t.Fatal("no pod groups in 1.35")
}
