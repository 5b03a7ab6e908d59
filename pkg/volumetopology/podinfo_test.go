//go:build !kube1.35

package volumetopology

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// mustNewPodInfo wraps a pod for the PreFilter extensions. scheduler-plugins'
// test/util (MustNewPodInfo) compiles against Kubernetes 1.35 only: from 1.36
// its fake shared lister lacks the pod-group methods and its
// controller-runtime lacks HasSyncedChecker.
func mustNewPodInfo(t testing.TB, pod *v1.Pod) fwk.PodInfo {
	t.Helper()
	pi, err := framework.NewPodInfo(pod)
	if err != nil {
		t.Fatalf("NewPodInfo: %v", err)
	}
	return pi
}
